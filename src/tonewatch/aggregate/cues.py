"""Multilingual surface cues for the behavioural signals, read from ``cues.toml``.

The cues are data, not code: a team adds a phrase for its own language by editing the TOML.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CUES_FILE = Path(__file__).with_name("cues.toml")

# Bracketed annotations a transcript or chat export uses for non-speech events.
_BRACKETED = re.compile(r"\[([^\[\]\n]{1,120})\]|\(([^()\n]{1,120})\)")
# A sentence that is a question (Latin, Arabic and full-width question marks).
_SENTENCE = re.compile(r"[^.!?؟？\n]*[?؟？]")


@functools.cache
def _compiled() -> dict[str, re.Pattern[str]]:
    with CUES_FILE.open("rb") as handle:
        data: dict[str, Any] = tomllib.load(handle)
    return {
        name: re.compile("|".join(f"(?:{p})" for p in section["patterns"]), re.IGNORECASE)
        for name, section in data.items()
    }


def _cue(name: str) -> re.Pattern[str]:
    return _compiled()[name]


def asks_client(text: str) -> bool:
    """Whether a staff turn asks the client for something that needs an answer.

    True for an explicit request ("please send the signed form") anywhere in the turn, or a
    question among its last three sentences that is not a courtesy closer ("anything else?").
    """
    if _cue("ask").search(text):
        return True
    questions = _SENTENCE.findall(text[-600:])
    return any(not _cue("courtesy").search(q) for q in questions[-3:])


def demands_now(text: str) -> bool:
    """Whether a client turn insists on an immediate reply ("answer me right now")."""
    return _cue("urgency").search(text) is not None


def annotations(text: str) -> list[str]:
    """Bracketed non-speech annotations in a turn: "[no answer]", "(client did not join)"."""
    return [a or b for a, b in _BRACKETED.findall(text)]


def no_show(markers: Iterable[str]) -> list[str]:
    """The markers that record a missed call or meeting."""
    return [m for m in markers if _cue("no_show").search(m)]


def strip_annotations(text: str) -> str:
    """The turn text without bracketed annotations (empty for a marker-only turn)."""
    return _BRACKETED.sub(" ", text).strip()
