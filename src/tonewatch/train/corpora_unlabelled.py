"""Corpora without red-flag labels, kept for evaluation: real customer-care tweets (how often
real support traffic gets flagged), CaSiNo negotiation dialogues (ordinary bargaining, a weak
proxy for demands) and AESLC Enron business email (non-commercial: false flags only).

Their GoldTurns annotate nothing (``known`` is empty); ``CORPUS_INFO`` marks them not trainable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tonewatch.train.corpus_io import from_generator, gold_turn, need
from tonewatch.train.gold import GoldTurn

if TYPE_CHECKING:
    from datasets import Dataset

DIALOGUE_COLUMNS = ("id", "conversation", "role", "text", "meta", "source_split")


def _twitter_rows(paths: list[str]) -> Iterator[dict[str, str]]:
    for path in paths:
        split = Path(path).stem  # dev | test
        for dialogue in json.loads(Path(path).read_text(encoding="utf-8")):
            session = dialogue["dialogHeader"]["sessionID"]
            company = dialogue["dialogHeader"]["company"]
            for k, message in enumerate(dialogue["dialogContent"]):
                role = "agent" if "agent" in message else "client"
                yield {
                    "id": f"{session}-{k}",  # tweet ids repeat across dialogues
                    "conversation": session,
                    "role": role,
                    "text": message["message"],
                    "meta": company,
                    "source_split": split,
                }
            final = dialogue.get("agentURL") or {}
            if final.get("url_utterance"):
                yield {
                    "id": f"{session}-url",
                    "conversation": session,
                    "role": "agent",
                    "text": final["url_utterance"],
                    "meta": company,
                    "source_split": split,
                }


def raw_twitter_care(root: Path) -> Dataset:
    paths = [str(need(root / f"{split}.json")) for split in ("dev", "test")]
    ds = from_generator(_twitter_rows, DIALOGUE_COLUMNS, paths=paths)
    return ds.rename_column("meta", "company")


def gold_twitter_care(ds: Dataset, root: Path) -> list[GoldTurn]:
    return [
        gold_turn(
            "twitter_care",
            r["id"],
            r["text"],
            set(),
            frozenset(),
            r["source_split"],
            conversation=r["conversation"],
            role=r["role"],
            company=r["company"],
        )
        for r in ds.to_list()
    ]


DEAL_MARKERS = frozenset({"Submit-Deal", "Accept-Deal", "Reject-Deal", "Walk-Away"})


def _casino_rows(paths: list[str]) -> Iterator[dict[str, str]]:
    for path in paths:
        split = {"train": "train", "valid": "dev", "test": "test"}[
            Path(path).stem.removeprefix("casino_")
        ]
        for dialogue in json.loads(Path(path).read_text(encoding="utf-8")):
            # Strategy labels exist for 396 dialogues, listed utterance by utterance in order.
            pending = list(dialogue.get("annotations") or [])
            for k, message in enumerate(dialogue["chat_logs"]):
                if message["text"] in DEAL_MARKERS:
                    continue
                strategies = ""
                if pending and pending[0][0] == message["text"]:
                    strategies = pending.pop(0)[1]
                yield {
                    "id": f"{dialogue['dialogue_id']}-{k}",
                    "conversation": str(dialogue["dialogue_id"]),
                    "role": "client",
                    "text": message["text"],
                    "meta": strategies,
                    "source_split": split,
                }


def raw_casino(root: Path) -> Dataset:
    paths = [str(need(root / f"casino_{s}.json")) for s in ("train", "valid", "test")]
    ds = from_generator(_casino_rows, DIALOGUE_COLUMNS, paths=paths)
    return ds.rename_column("meta", "strategies")


def gold_casino(ds: Dataset, root: Path) -> list[GoldTurn]:
    return [
        gold_turn(
            "casino",
            r["id"],
            r["text"],
            set(),
            frozenset(),
            r["source_split"],
            conversation=r["conversation"],
            strategies=r["strategies"],
        )
        for r in ds.to_list()
    ]


AESLC_COLUMNS = ("split", "file", "body", "subject", "ann0", "ann1", "ann2")


def _aeslc_rows(path: str) -> Iterator[dict[str, str | None]]:
    # A few records of the derived JSONL carry a stray key cut from a body (see SOURCE.txt):
    # keep the documented columns only, so one schema fits every record.
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                yield {c: record.get(c) for c in AESLC_COLUMNS}


def raw_aeslc_enron(root: Path) -> Dataset:
    path = str(need(root / "aeslc_enron_emails.jsonl"))
    ds = from_generator(_aeslc_rows, AESLC_COLUMNS, path=path)
    return ds.rename_columns({"body": "text", "split": "source_split"})


def gold_aeslc_enron(ds: Dataset, root: Path) -> list[GoldTurn]:
    # Bodies are sentence-split lines; one email is one turn, as an ingested email would be.
    return [
        gold_turn(
            "aeslc_enron",
            r["file"],
            r["text"],
            set(),
            frozenset(),
            r["source_split"],
            subject=r["subject"] or "",
        )
        for r in ds.to_list()
    ]
