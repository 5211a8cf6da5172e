"""Turns -> TurnResults: scores, thresholds, roles, evidence. The classify stage's component."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tonewatch.classify.evidence import evidence_for
from tonewatch.classify.model import RedFlagModel
from tonewatch.schema import LABELS, TONES, Flag, Tone, ToneResult, Turn, TurnResult


@dataclass
class TurnText:
    """What classify needs of a turn; ``Turn`` objects and plain JSONL records both map here."""

    id: str
    text: str
    lang: str = "und"
    role: str = "client"

    @classmethod
    def from_turn(cls, turn: Turn) -> TurnText:
        return cls(turn.id, turn.text, turn.lang, turn.role.value)


class Classifier:
    """``predict(turns)`` returns one TurnResult per turn, in order. Turns whose role is not in
    ``score_roles`` (staff) are scored but never flagged."""

    def __init__(
        self,
        model: RedFlagModel,
        *,
        score_roles: Sequence[str] = ("client", "unknown"),
        batch_size: int = 64,
    ) -> None:
        self.model = model
        self.score_roles = set(score_roles)
        self.batch_size = batch_size

    @property
    def model_id(self) -> str:
        return self.model.model_id

    def predict(self, turns: Sequence[Turn | TurnText]) -> list[TurnResult]:
        items = [t if isinstance(t, TurnText) else TurnText.from_turn(t) for t in turns]
        results: list[TurnResult] = []
        for i in range(0, len(items), self.batch_size):
            results += self._predict_batch(items[i : i + self.batch_size])
        return results

    def _predict_batch(self, items: Sequence[TurnText]) -> list[TurnResult]:
        texts, langs = [t.text for t in items], [t.lang for t in items]
        flags, tone = self.model.predict_scores(texts, langs)
        return [self._result(item, flags[k], tone[k]) for k, item in enumerate(items)]

    def _result(self, item: TurnText, flag_p: np.ndarray, tone_p: np.ndarray) -> TurnResult:
        thresholds = self.model.thresholds
        if not item.text.strip():
            flag_p = np.zeros_like(flag_p)  # nothing said, nothing to flag
        scores = {label: round(float(flag_p[j]), 4) for j, label in enumerate(LABELS)}
        reported = [
            label
            for label in LABELS
            if item.text.strip()
            and scores[label] >= thresholds[label]
            and item.role in self.score_roles
        ]
        flags: tuple[Flag, ...] = ()
        if reported:
            hits = self.model.lexicon.find(item.text, item.lang)
            spans = evidence_for(
                item.text,
                item.lang,
                reported,
                hits,
                flag_p,
                lambda texts: self.model.score_windows(texts, [item.lang] * len(texts))[0],
            )
            flags = tuple(
                Flag(label=label, score=scores[label], evidence=spans[label])
                for label in reported
                if spans.get(label)
            )
        if item.text.strip():
            tone_label = Tone(TONES[int(np.argmax(tone_p))])
            tone_scores = {t: round(float(tone_p[k]), 4) for k, t in enumerate(TONES)}
        else:
            tone_label, tone_scores = Tone.neutral, {t: float(t == "neutral") for t in TONES}
        return TurnResult(
            id=item.id,
            lang=item.lang,
            tone=ToneResult(label=tone_label, level=tone_label.level, scores=tone_scores),
            scores=scores,
            flags=flags,
            model=self.model_id,
        )
