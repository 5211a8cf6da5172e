"""What the routes call: one loaded classifier, language ID and the micro-batcher around them.

Two kinds of batched work share the model thread:

- ``turns``:    TurnText -> TurnResult (the classify contract, with evidence)
- ``comments``: CommentJob -> CommentScores (raw flag and tone probabilities of a comment and,
  when span annotations are asked for, of each of its sentences; no evidence search)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tonewatch.api.batching import MicroBatcher
from tonewatch.classify.pipeline import Classifier, TurnText
from tonewatch.classify.segment import sentences
from tonewatch.ingest.langid import UND, LanguageIdentifier
from tonewatch.schema import LABELS, TONES, TurnResult


@dataclass
class CommentJob:
    text: str
    lang: str
    spans: bool = False


@dataclass
class CommentScores:
    flags: np.ndarray  # (12,) flag probabilities, LABELS order
    tone: np.ndarray  # (4,) tone probabilities, TONES order
    spans: list[tuple[int, int]] = field(default_factory=list)  # sentence (start, end)
    span_flags: np.ndarray = field(default_factory=lambda: np.zeros((0, len(LABELS))))
    span_tone: np.ndarray = field(default_factory=lambda: np.zeros((0, len(TONES))))


class Engine:
    def __init__(
        self,
        classifier: Classifier,
        identifier: LanguageIdentifier,
        *,
        max_batch: int = 64,
        max_wait: float = 0.004,
    ) -> None:
        self.classifier = classifier
        self.identifier = identifier
        self.languages = sorted(identifier.languages)
        self.batcher = MicroBatcher(
            {"turns": self._turns, "comments": self._comments},
            max_items=max_batch,
            max_wait=max_wait,
        )

    @property
    def model_id(self) -> str:
        return self.classifier.model_id

    def detect(self, text: str) -> str:
        return self.identifier(text).lang

    async def score_turns(self, items: Sequence[TurnText]) -> list[TurnResult]:
        return await self.batcher.submit("turns", items)

    async def score_comments(self, jobs: Sequence[CommentJob]) -> list[CommentScores]:
        return await self.batcher.submit("comments", jobs)

    def warm_up(self) -> None:
        """Load lazily built parts (spaCy pipelines, the encoder, fastText) before serving."""
        self.detect("Thank you, the invoice looks right now.")
        self._turns([TurnText("warm-up", "You are useless, fix it now!", "en")])

    # -- run on the model thread ---------------------------------------------------------

    def _turns(self, items: list[TurnText]) -> list[TurnResult]:
        for item in items:
            if not item.lang:
                item.lang = self.identifier(item.text).lang
        return self.classifier.predict(items)

    def _comments(self, jobs: list[CommentJob]) -> list[CommentScores]:
        texts, langs, owners = [], [], []
        spans_of: list[list[tuple[int, int]]] = []
        for k, job in enumerate(jobs):
            texts.append(job.text)
            langs.append(job.lang)
            owners.append(k)
            spans = sentences(job.text, job.lang or UND) if job.spans else []
            spans_of.append(spans)
            if len(spans) > 1:  # one sentence: its span score is the summary score
                texts += [job.text[s:e] for s, e in spans]
                langs += [job.lang] * len(spans)
                owners += [k] * len(spans)
        flags, tone = self.classifier.model.predict_scores(texts, langs)
        blank = np.array([not t.strip() for t in texts])
        flags[blank] = 0.0  # nothing said, nothing to flag (as Classifier does)
        out = []
        cursor = 0
        for k in range(len(jobs)):
            spans = spans_of[k]
            result = CommentScores(flags[cursor], tone[cursor], spans)
            if len(spans) > 1:
                rows = slice(cursor + 1, cursor + 1 + len(spans))
                result.span_flags, result.span_tone = flags[rows], tone[rows]
            elif spans:
                result.span_flags, result.span_tone = (
                    flags[cursor : cursor + 1],
                    tone[cursor : cursor + 1],
                )
            cursor += 1 + (len(spans) if len(spans) > 1 else 0)
            out.append(result)
        return out
