"""Error analysis on gold turns: the most confident false flags and the clearest misses per
label, written as ``errors.json`` beside a model so its card can show real failure examples."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tonewatch.classify.model import RedFlagModel
from tonewatch.schema import LABELS
from tonewatch.train.gold import GoldTurn
from tonewatch.train.public_eval import score_turns


def _example(turn: GoldTurn, label: str, score: float, threshold: float) -> dict[str, Any]:
    return {
        "id": turn.id,
        "lang": turn.lang,
        "label": label,
        "score": round(score, 3),
        "threshold": round(threshold, 3),
        "hard_negative": turn.hard_negative,
        "gold": sorted(turn.labels),
        "text": turn.text if len(turn.text) <= 240 else turn.text[:237] + "...",
    }


def collect_errors(
    model: RedFlagModel,
    turns: Sequence[GoldTurn],
    *,
    per_label: int = 2,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """False positives (flagged, not gold; highest scores first) and false negatives (gold, not
    flagged; lowest scores first) per label, over client turns with every label annotated."""
    turns = [t for t in turns if set(LABELS) <= t.known and t.role == "client" and t.text]
    if not turns:
        return {"turns": 0, "counts": {}, "false_positives": [], "false_negatives": []}
    scored = score_turns(model, turns, cache_dir)
    gold = np.array([[label in t.labels for label in LABELS] for t in turns])
    counts, false_pos, false_neg = {}, [], []
    for j, label in enumerate(LABELS):
        threshold = model.thresholds[label]
        fp = np.flatnonzero(scored.flagged[:, j] & ~gold[:, j])
        fn = np.flatnonzero(~scored.flagged[:, j] & gold[:, j])
        counts[label] = {"false_positives": int(len(fp)), "false_negatives": int(len(fn))}
        for i in fp[np.argsort(-scored.flags[fp, j])][:per_label]:
            false_pos.append(_example(turns[i], label, scored.flags[i, j], threshold))
        for i in fn[np.argsort(scored.flags[fn, j])][:per_label]:
            false_neg.append(_example(turns[i], label, scored.flags[i, j], threshold))
    return {
        "turns": len(turns),
        "counts": counts,
        "false_positives": false_pos,
        "false_negatives": false_neg,
    }


def write_errors(errors: dict[str, Any], directory: str | Path) -> Path:
    path = Path(directory) / "errors.json"
    path.write_text(json.dumps(errors, indent=2, ensure_ascii=False), encoding="utf-8")
    return path
