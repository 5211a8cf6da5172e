"""Turns -> TurnResults: scores, thresholds, roles, evidence. The classify stage's component."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tonewatch.classify.encoder import get_encoder, token_counts
from tonewatch.classify.evidence import (
    WORD_LABELS,
    lexicon_evidence,
    occlusion_variants,
    pick_spans,
)
from tonewatch.classify.lexicon import Hit
from tonewatch.classify.model import RedFlagModel
from tonewatch.classify.segment import pipeline
from tonewatch.schema import LABELS, TONES, Evidence, Flag, Tone, ToneResult, Turn, TurnResult


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
    ``score_roles`` (staff) are scored but never flagged. Lexicon evidence of
    ``word_evidence_labels`` is the matched word; of other labels, its clause."""

    def __init__(
        self,
        model: RedFlagModel,
        *,
        score_roles: Sequence[str] = ("client", "unknown"),
        batch_size: int = 64,
        exact_occlusion: bool = False,
        word_evidence_labels: Sequence[str] = WORD_LABELS,
    ) -> None:
        self.model = model
        self.word_evidence_labels = frozenset(word_evidence_labels)
        self.exact_occlusion = exact_occlusion
        self.score_roles = set(score_roles)
        self.batch_size = batch_size

    @property
    def model_id(self) -> str:
        return self.model.model_id

    def warm(self) -> None:
        """Load now what a first call would load lazily: the encoder, every language's spaCy
        pipeline, the lexicon scanner."""
        langs = self.model.lexicon.languages
        for lang in langs:
            pipeline(lang)
        self.predict([TurnText(f"warm-{lang}", "Hello, thanks. Bye!", lang) for lang in langs])

    def predict(self, turns: Sequence[Turn | TurnText]) -> list[TurnResult]:
        items = [t if isinstance(t, TurnText) else TurnText.from_turn(t) for t in turns]
        results: list[TurnResult] = []
        for i in range(0, len(items), self.batch_size):
            results += self._predict_batch(items[i : i + self.batch_size])
        return results

    def _predict_batch(self, items: Sequence[TurnText]) -> list[TurnResult]:
        texts, langs = [t.text for t in items], [t.lang for t in items]
        flags, tone, text_hits = self.model.predict_scores_and_hits(texts, langs)
        flags[[not t.strip() for t in texts]] = 0.0  # nothing said, nothing to flag
        # Flags are decided on the scores as reported (rounded), as users read them.
        scores = [
            dict(zip(LABELS, [round(p, 4) for p in row], strict=True)) for row in flags.tolist()
        ]
        reported = [self._reported(item, s) for item, s in zip(items, scores, strict=True)]
        evidence = self._evidence(items, flags, reported, text_hits)
        return [
            self._result(item, scores[k], reported[k], tone[k], evidence[k])
            for k, item in enumerate(items)
        ]

    def _reported(self, item: TurnText, scores: dict[str, float]) -> list[str]:
        if not item.text.strip() or item.role not in self.score_roles:
            return []
        thresholds = self.model.thresholds
        return [label for label in LABELS if scores[label] >= thresholds[label]]

    def _evidence(
        self,
        items: Sequence[TurnText],
        flags: np.ndarray,
        reported: Sequence[list[str]],
        text_hits: Sequence[list[Hit] | None],
    ) -> list[dict[str, tuple[Evidence, ...]]]:
        """Each turn's evidence per reported label: lexicon hits first; the occlusion texts of
        all the batch's remaining labels are scored together, in one call of the model."""
        evidence: list[dict[str, tuple[Evidence, ...]]] = [{} for _ in items]
        plans, variants, variant_langs = [], [], []
        for k, item in enumerate(items):
            if not reported[k]:
                continue
            hits = text_hits[k]
            if hits is None:  # a windowed turn: its hits were found per window
                hits = self.model.featurizer.find_hits([item.text], [item.lang])[0]
            evidence[k], missing = lexicon_evidence(
                item.text,
                reported[k],
                hits,
                lang=item.lang,
                word_labels=self.word_evidence_labels,
            )
            if missing:
                spans, texts = occlusion_variants(item.text, item.lang)
                plans.append((k, missing, spans, len(variants), len(texts)))
                variants += texts
                variant_langs += [item.lang] * len(texts)
        scores = self._score_variants(plans, variants, variant_langs)
        for k, missing, spans, start, count in plans:
            chosen = pick_spans(spans, missing, flags[k], scores[start : start + count])
            text = items[k].text
            for label, (s, e) in chosen.items():
                evidence[k][label] = (Evidence.from_span(text, s, e),)
        return evidence

    def _score_variants(
        self,
        plans: list[tuple[int, list[str], list[tuple[int, int]], int, int]],
        variants: list[str],
        langs: list[str],
    ) -> np.ndarray:
        """Flag scores of the occlusion texts. Without an encoder they are scored as they
        are. With one, re-encoding each turn once per clause would cost more than the turn
        itself, so only the clauses are encoded (each alone, short); the embedding of a
        turn without clause i is the token-weighted mean of its other clauses' embeddings,
        as e5 mean-pools its tokens. N-gram and lexicon features are those of the real
        ablated text. ``exact_occlusion=True`` encodes every ablated text instead."""
        if not variants:
            return np.zeros((0, len(LABELS)))
        featurizer = self.model.featurizer
        if featurizer.encoder is None or self.exact_occlusion:
            return self.model.score_windows(variants, langs)[0]
        encoder = get_encoder(featurizer.encoder)
        embeddings = np.zeros((len(variants), encoder.dim), dtype=np.float32)
        clause_rows = [
            row
            for _, _, spans, start, count in plans
            for row in range(start + len(spans), start + count)
        ]
        clause_texts = [variants[row] for row in clause_rows]
        embeddings[clause_rows] = encoder.encode(clause_texts)
        weights = np.zeros(len(variants), dtype=np.float32)
        weights[clause_rows] = token_counts(encoder, clause_texts)
        for _, _, spans, start, count in plans:
            if not count:
                continue
            n = len(spans)
            clause = embeddings[start + n : start + count]
            w = weights[start + n : start + count, None]
            ablated = (w * clause).sum(axis=0)[None, :] - w * clause
            norm = np.linalg.norm(ablated, axis=1, keepdims=True)
            embeddings[start : start + n] = ablated / np.maximum(norm, 1e-12)
        X = featurizer.transform(variants, langs, embeddings=embeddings)
        return self.model.heads.predict_proba(X)[0]

    def _result(
        self,
        item: TurnText,
        scores: dict[str, float],
        reported: Sequence[str],
        tone_p: np.ndarray,
        evidence: dict[str, tuple[Evidence, ...]],
    ) -> TurnResult:
        flags = tuple(
            Flag(label=label, score=scores[label], evidence=evidence[label])
            for label in reported
            if evidence.get(label)
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
