"""Turn text -> the feature matrix the heads read.

Three blocks, each for a reason: the sentence embedding carries meaning across languages and
paraphrase; character n-grams catch masked profanity ("f***", "k*rwa"), misspellings and
inflection the embedding smooths away; lexicon counts carry rare, precise phrasing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from tonewatch.classify.encoder import get_encoder
from tonewatch.classify.lexicon import Lexicon
from tonewatch.errors import NotFittedError


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

    def embed(self, texts: Sequence[str]) -> np.ndarray | None:
        return None if self.encoder is None else get_encoder(self.encoder).encode(texts)

    def transform(
        self, texts: Sequence[str], langs: Sequence[str], embeddings: np.ndarray | None = None
    ) -> sparse.csr_matrix:
        if not hasattr(self, "ngrams_"):
            raise NotFittedError("TurnFeaturizer.transform called before fit")
        blocks = [self.ngrams_.transform(texts)]
        lex = np.array(
            [self.lexicon.counts(t, lang) for t, lang in zip(texts, langs, strict=True)],
            dtype=np.float32,
        ).reshape(len(texts), -1)
        blocks.append(sparse.csr_matrix(np.log1p(lex) * self.lexicon_weight))
        if self.encoder is not None:
            if embeddings is None:
                embeddings = self.embed(texts)
            blocks.append(sparse.csr_matrix(embeddings * self.embedding_weight))
        return sparse.hstack(blocks, format="csr", dtype=np.float32)
