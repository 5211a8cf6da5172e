"""Turn text -> the feature matrix the heads read.

Three blocks, each for a reason: the sentence embedding carries meaning across languages and
paraphrase; character n-grams catch masked profanity ("f***", "k*rwa"), misspellings and
inflection the embedding smooths away; lexicon counts carry rare, precise phrasing.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from tonewatch.classify.encoder import get_encoder
from tonewatch.classify.lexicon import Hit, Lexicon
from tonewatch.classify.lexicon_scan import LexiconScanner, counts
from tonewatch.errors import NotFittedError

WORD_CACHE_SIZE = 200_000


class CharNgrams:
    """``TfidfVectorizer(analyzer="char_wb").transform`` of a fitted vectorizer, the same
    matrix several times faster: a word's n-grams do not depend on its neighbours, so each
    distinct word is analysed once and its vocabulary indices remembered; counting, sublinear
    tf, idf and l2 norm then run on whole arrays (the same float32 operations, in the same
    order, as scikit-learn's)."""

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        params = vectorizer.get_params()
        assert params["analyzer"] == "char_wb" and params["preprocessor"] is None
        assert params["strip_accents"] is None and params["input"] == "content"
        self.vocabulary = vectorizer.vocabulary_
        self.min_n, self.max_n = params["ngram_range"]
        self.lowercase = params["lowercase"]
        self.sublinear_tf = params["sublinear_tf"]
        self.norm = params["norm"]
        self.dtype = params["dtype"]
        self.idf = vectorizer.idf_ if params["use_idf"] else None
        self._words: dict[str, array[int]] = {}

    def _word(self, word: str) -> array[int]:
        # sklearn's _char_wb_ngrams for one word: a word shorter than n is one n-gram, once.
        w = f" {word} "
        grams: list[str] = []
        for n in range(self.min_n, self.max_n + 1):
            if len(w) <= n:
                grams.append(w)
                break
            grams += [w[i : i + n] for i in range(len(w) - n + 1)]
        get = self.vocabulary.get
        return array("q", [j for j in map(get, grams) if j is not None])

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        words, cols, indptr = self._words, array("q"), [0]
        if len(words) > WORD_CACHE_SIZE:  # bounded memory in long-running processes
            words.clear()
        for text in texts:
            for word in (text.lower() if self.lowercase else text).split():
                ids = words.get(word)
                if ids is None:
                    ids = words[word] = self._word(word)
                cols += ids
            indptr.append(len(cols))
        n_vocab = len(self.vocabulary)
        rows = np.repeat(np.arange(len(texts), dtype=np.int64), np.diff(indptr))
        keys, tf = np.unique(
            rows * n_vocab + np.frombuffer(cols, dtype=np.int64), return_counts=True
        )
        row_of = keys // n_vocab
        data = tf.astype(self.dtype)
        if self.sublinear_tf:
            np.log(data, data)
            data += 1.0
        indices = (keys - row_of * n_vocab).astype(np.int32)
        if self.idf is not None:
            data *= self.idf[indices]
        row_ptr = np.zeros(len(texts) + 1, dtype=np.int32)
        np.cumsum(np.bincount(row_of, minlength=len(texts)), out=row_ptr[1:])
        X = sparse.csr_matrix((data, indices, row_ptr), shape=(len(texts), n_vocab))
        return normalize(X, norm=self.norm, copy=False) if self.norm else X


class TurnFeaturizer:
    def __init__(
        self,
        encoder: str | None,
        lexicon: Lexicon,
        *,
        ngram_features: int = 60000,
        embedding_weight: float = 1.0,
        lexicon_weight: float = 1.0,
    ) -> None:
        self.encoder = encoder
        self.lexicon = lexicon
        self.ngram_features = ngram_features
        self.embedding_weight = embedding_weight
        self.lexicon_weight = lexicon_weight

    def fit(self, texts: Sequence[str]) -> TurnFeaturizer:
        self.ngrams_ = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 5),
            min_df=2,
            max_features=self.ngram_features,
            sublinear_tf=True,
            lowercase=True,
            dtype=np.float32,
        ).fit(texts)
        return self

    def __getstate__(self) -> dict[str, object]:
        # The fast paths are rebuilt from the fitted parts; they are not saved with a model.
        return {k: v for k, v in self.__dict__.items() if k not in ("_fast_ngrams", "_scanner")}

    def embed(self, texts: Sequence[str]) -> np.ndarray | None:
        return None if self.encoder is None else get_encoder(self.encoder).encode(texts)

    def ngrams(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The char n-gram block: ``ngrams_.transform(texts)``, computed by ``CharNgrams``."""
        fast = getattr(self, "_fast_ngrams", None)
        if fast is None or fast[0] is not self.ngrams_:
            fast = self._fast_ngrams = (self.ngrams_, CharNgrams(self.ngrams_))
        return fast[1].transform(texts)

    def find_hits(self, texts: Sequence[str], langs: Sequence[str]) -> list[list[Hit]]:
        """``lexicon.find`` of each text (the same hits, through ``LexiconScanner``)."""
        scanner = getattr(self, "_scanner", None)
        if scanner is None or scanner.lexicon is not self.lexicon:
            scanner = self._scanner = LexiconScanner(self.lexicon)
        return [scanner.find(t, lang) for t, lang in zip(texts, langs, strict=True)]

    def transform(
        self,
        texts: Sequence[str],
        langs: Sequence[str],
        embeddings: np.ndarray | None = None,
        hits: Sequence[Sequence[Hit]] | None = None,
    ) -> sparse.csr_matrix:
        """Features of ``texts``; ``hits``, when given, are their lexicon hits."""
        if not hasattr(self, "ngrams_"):
            raise NotFittedError("TurnFeaturizer.transform called before fit")
        if hits is None:
            hits = self.find_hits(texts, langs)
        blocks = [self.ngrams(texts)]
        lex = np.array([counts(h) for h in hits], dtype=np.float32).reshape(len(texts), -1)
        blocks.append(sparse.csr_matrix(np.log1p(lex) * self.lexicon_weight))
        if self.encoder is not None:
            if embeddings is None:
                embeddings = self.embed(texts)
            blocks.append(sparse.csr_matrix(embeddings * self.embedding_weight))
        return sparse.hstack(blocks, format="csr", dtype=np.float32)
