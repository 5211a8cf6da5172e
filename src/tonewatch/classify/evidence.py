"""Evidence spans for a reported flag: the words a support lead reads to check it.

Lexicon hits come first: they locate the flag. A hit is shown grown to its clause ("I'll post
1-star reviews everywhere", not "1-star"), as the annotation guideline marks evidence, except
for labels whose cue is the word itself (profanity). Without a hit, occlusion finds the clause
whose removal lowers the flag's score the most; a flag always gets a non-empty span.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from tonewatch.classify.lexicon import Hit
from tonewatch.classify.segment import clauses, sentences
from tonewatch.schema import LABELS, Evidence

MAX_CANDIDATES = 24
# Labels whose lexicon hit is itself the cue, shown as matched ([classify] word_evidence_labels).
WORD_LABELS = ("profanity",)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def candidates(text: str, lang: str) -> list[tuple[int, int]]:
    spans = clauses(text, lang)
    if len(spans) > MAX_CANDIDATES:
        spans = sentences(text, lang)
    if len(spans) > MAX_CANDIDATES:
        spans = spans[:MAX_CANDIDATES]  # occlusion cost is bounded; lexicon hits cover the rest
    stripped = text.strip()
    if not spans and stripped:
        start = text.index(stripped)
        spans = [(start, start + len(stripped))]
    return spans


def occlusion_variants(text: str, lang: str) -> tuple[list[tuple[int, int]], list[str]]:
    """The candidate spans of ``text`` and the texts occlusion scores for them: the text
    without each span, then each span alone (none when there is at most one candidate)."""
    spans = candidates(text, lang)
    if len(spans) <= 1:
        return spans, []
    ablated = [text[:s] + " " + text[e:] for s, e in spans]
    return spans, ablated + [text[s:e] for s, e in spans]


def pick_spans(
    spans: Sequence[tuple[int, int]], labels: Sequence[str], full: np.ndarray, scores: np.ndarray
) -> dict[str, tuple[int, int]]:
    """For each label, the candidate span whose removal drops that label's score the most
    (ties and no drop: the span that scores highest alone); ``scores`` are the flag scores of
    ``occlusion_variants``' texts."""
    if len(spans) <= 1:
        return dict.fromkeys(labels, spans[0]) if spans else {}
    drop, solo = full[None, :] - scores[: len(spans)], scores[len(spans) :]
    out = {}
    for label in labels:
        j = LABELS.index(label)
        best = int(np.argmax(drop[:, j] + 1e-3 * solo[:, j]))
        out[label] = spans[best]
    return out


def grow_to_clause(
    span: tuple[int, int], clause_spans: Sequence[tuple[int, int]]
) -> tuple[int, int]:
    """``span`` widened to the clauses (``segment.clauses`` of its text) it touches."""
    start, end = span
    for c_start, c_end in clause_spans:
        if c_start < span[1] and span[0] < c_end:
            start, end = min(start, c_start), max(end, c_end)
    return start, end


def lexicon_evidence(
    text: str,
    labels: Sequence[str],
    hits: Sequence[Hit],
    *,
    lang: str = "xx",
    word_labels: Collection[str] = WORD_LABELS,
) -> tuple[dict[str, tuple[Evidence, ...]], list[str]]:
    """Evidence from lexicon hits, and the labels left without any (occlusion's job). Hits of
    ``word_labels`` are shown as they are; the others grown to their clause."""
    result: dict[str, tuple[Evidence, ...]] = {}
    missing = []
    clause_spans: list[tuple[int, int]] | None = None  # segmented once, only when needed
    for label in labels:
        spans = [(h.start, h.end) for h in hits if h.label == label]
        if spans and label not in word_labels:
            if clause_spans is None:
                clause_spans = clauses(text, lang)
            spans = [grow_to_clause(span, clause_spans) for span in spans]
        spans = _merge(spans)
        if spans:
            result[label] = tuple(Evidence.from_span(text, s, e) for s, e in spans)
        else:
            missing.append(label)
    return result, missing
