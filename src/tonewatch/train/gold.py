"""Gold turns: the one record every corpus loader produces and every trainer reads."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from tonewatch.errors import DataError
from tonewatch.schema import LABELS, TONES


@dataclass(frozen=True)
class GoldSpan:
    label: str
    start: int
    end: int


@dataclass(frozen=True)
class GoldTurn:
    """One labelled turn. ``known`` lists the labels this corpus really annotates: a public
    insult corpus says nothing about ``legal_threat``, so that head never sees its rows."""

    id: str
    text: str
    lang: str
    labels: frozenset[str]
    known: frozenset[str]
    corpus: str
    conversation: str
    split: str  # train | dev | test
    tone: str | None = None
    role: str = "client"
    channel: str | None = None
    hard_negative: bool = False
    evidence: tuple[GoldSpan, ...] = ()
    weight: float = 1.0
    meta: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


def conversation_split(conversation: str, dev: float = 0.15, test: float = 0.15) -> str:
    """Deterministic split by conversation, so turns of one conversation never straddle splits."""
    bucket = int(hashlib.sha256(conversation.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if bucket < test else "dev" if bucket < test + dev else "train"


def read_annotations(path: str | Path, corpus: str | None = None) -> list[GoldTurn]:
    """Read the project's annotation JSONL (``data/annotations/*.jsonl``, also what the review UI
    exports) and check every record: known labels and tones, evidence offsets matching text."""
    path = Path(path)
    turns = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path}:{line_no}"
            try:
                rec = json.loads(line)
                text, labels = rec["text"], frozenset(rec.get("labels", []))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataError(f"{where}: not an annotation record ({exc})") from exc
            unknown = labels - set(LABELS)
            if unknown:
                raise DataError(f"{where}: unknown labels {sorted(unknown)}; expected {LABELS}")
            tone = rec.get("tone")
            if tone is not None and tone not in TONES:
                raise DataError(f"{where}: tone {tone!r} is not one of {TONES}")
            spans = []
            for ev in rec.get("evidence", []):
                start, end = int(ev["start"]), int(ev["end"])
                if "text" in ev and text[start:end] != ev["text"]:
                    raise DataError(f"{where}: evidence {start}-{end} is not {ev['text']!r}")
                spans.append(GoldSpan(ev["label"], start, end))
            conversation = str(rec.get("conversation") or rec["id"])
            turns.append(
                GoldTurn(
                    id=str(rec["id"]),
                    text=text,
                    lang=rec.get("lang", "und"),
                    labels=labels,
                    known=frozenset(LABELS),
                    corpus=corpus or f"tonewatch-{path.stem}",
                    conversation=conversation,
                    split=rec.get("split") or conversation_split(conversation),
                    tone=tone,
                    role=rec.get("role", "client"),
                    channel=rec.get("channel"),
                    hard_negative=bool(rec.get("hard_negative", False)),
                    evidence=tuple(spans),
                )
            )
    return turns


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
