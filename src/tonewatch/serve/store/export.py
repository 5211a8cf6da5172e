"""Reviewed turns as training data: the project's annotation JSONL (``train/gold.py``).

A turn is exported once a reviewer has acted on it and none of its flags is left undecided:
its ``labels`` are then complete (confirmed, relabelled and added flags), which is what the
trainer assumes of an annotation. A turn whose every model flag was rejected is a
``hard_negative``, the kind of example that teaches a model the most. ``tone`` is the
reviewer's tone, or null when nobody set it (the trainer then ignores the turn's tone).

    tonewatch export-reviews -o data/annotations/reviews.jsonl
    # then add its path to a training config's ``annotations`` list and train
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tonewatch.serve.store import models as m
from tonewatch.serve.store.convert import valid_spans


@dataclass
class ExportStats:
    written: int = 0
    undecided: int = 0  # reviewed turns left out: a flag still open


def _reviewers(session: Session, turn_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, set[str]] = {}
    rows = session.execute(
        select(m.Review.turn_id, m.User.name)
        .join(m.User, m.User.id == m.Review.user_id)
        .where(m.Review.turn_id.in_(turn_ids))
    )
    for turn_id, name in rows:
        found.setdefault(turn_id, set()).add(name)
    return {k: sorted(v) for k, v in found.items()}


def record(turn: m.Turn, conversation: str, flags: list[m.Flag]) -> dict[str, Any]:
    """One annotation record of a reviewed turn (every flag decided)."""
    kept = [f for f in flags if f.status == "confirmed"]
    evidence = [
        {"label": f.label, "start": s, "end": e, "text": turn.text[s:e]}
        for f in sorted(kept, key=lambda f: f.label)
        for s, e in valid_spans(turn.text, f.evidence)
    ]
    return {
        "id": turn.key,
        "conversation": conversation,
        "lang": turn.lang,
        "channel": turn.channel,
        # classify scores "unknown" speakers as clients; the annotation format has two roles
        "role": "agent" if turn.role == "agent" else "client",
        "text": turn.text,
        "labels": sorted({f.label for f in kept}),
        "evidence": evidence,
        "tone": turn.reviewed_tone,
        "hard_negative": not kept and any(f.model_label for f in flags),
        "source": "review",
        "model": turn.model,
    }


def reviewed_records(
    session: Session, stats: ExportStats | None = None, chunk: int = 500
) -> Iterator[dict[str, Any]]:
    """Every exportable reviewed turn as an annotation record, in conversation order."""
    stats = stats if stats is not None else ExportStats()
    last = 0
    while True:
        rows = session.execute(
            select(m.Turn, m.Conversation.key)
            .join(m.Conversation, m.Conversation.id == m.Turn.conversation_id)
            .where(m.Turn.reviewed_at.is_not(None), m.Turn.id > last)
            .order_by(m.Turn.id)
            .limit(chunk)
        ).all()
        if not rows:
            return
        ids = [t.id for t, _ in rows]
        flags: dict[int, list[m.Flag]] = {}
        for flag in session.scalars(select(m.Flag).where(m.Flag.turn_id.in_(ids))):
            flags.setdefault(flag.turn_id, []).append(flag)
        reviewers = _reviewers(session, ids)
        for turn, conversation in rows:
            own = flags.get(turn.id, [])
            if any(f.status == "open" for f in own):
                stats.undecided += 1
                continue
            stats.written += 1
            yield record(turn, conversation, own) | {"reviewers": reviewers.get(turn.id, [])}
        last = ids[-1]


def write_reviews(session: Session, path: str | Path) -> ExportStats:
    """Write the reviewed turns to ``path`` (JSONL, replaced only when complete)."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    stats = ExportStats()
    try:
        with partial.open("w", encoding="utf-8") as handle:
            for item in reviewed_records(session, stats):
                handle.write(json.dumps(item, ensure_ascii=False) + "\n")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return stats
