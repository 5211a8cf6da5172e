"""Reviewer actions: confirm, reject or relabel a flag, add a missing one, set the tone.

Each action changes the flag or turn and appends one row to ``reviews`` (the audit log) with
the reviewer, the time and the model whose output was judged. Nothing is ever deleted: a
reviewer who changes their mind makes another action, and the log keeps both.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tonewatch.errors import TonewatchError
from tonewatch.schema import FAMILY_OF, LABELS, TONES
from tonewatch.serve.store import models as m
from tonewatch.serve.store.db import utcnow


class ReviewError(TonewatchError):
    """An action that cannot be applied; ``status`` is the HTTP status to answer with."""

    code = "S100"

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _log(
    session: Session,
    user: m.User,
    action: str,
    turn: m.Turn,
    flag: m.Flag | None = None,
    *,
    label: str | None = None,
    before: str | None = None,
    after: str | None = None,
    detail: dict[str, Any] | None = None,
) -> m.Review:
    now = utcnow()
    turn.reviewed_at = now
    review = m.Review(
        at=now,
        user_id=user.id,
        action=action,
        conversation_id=turn.conversation_id,
        turn_id=turn.id,
        flag_id=flag.id if flag else None,
        label=label,
        before=before,
        after=after,
        model=turn.model,
        detail=detail or {},
    )
    session.add(review)
    return review


def _flag(session: Session, flag_id: int) -> tuple[m.Flag, m.Turn]:
    flag = session.get(m.Flag, flag_id)
    if flag is None:
        raise ReviewError(f"flag {flag_id} does not exist", 404)
    return flag, session.get_one(m.Turn, flag.turn_id)


def _turn(session: Session, turn_id: int) -> m.Turn:
    turn = session.get(m.Turn, turn_id)
    if turn is None:
        raise ReviewError(f"turn {turn_id} does not exist", 404)
    return turn


def _label(label: str) -> str:
    if label not in LABELS:
        raise ReviewError(f"label {label!r} is not one of {', '.join(LABELS)}")
    return label


def set_status(session: Session, user: m.User, flag_id: int, status: str) -> m.Flag:
    """Confirm (``confirmed``) or reject (``rejected``) a flag."""
    if status not in ("confirmed", "rejected"):
        raise ReviewError(f"status {status!r} is not confirmed or rejected")
    flag, turn = _flag(session, flag_id)
    action = "confirm" if status == "confirmed" else "reject"
    _log(session, user, action, turn, flag, label=flag.label, before=flag.status, after=status)
    flag.status = status
    session.commit()
    return flag


def relabel(session: Session, user: m.User, flag_id: int, label: str) -> m.Flag:
    """The flag is right about the span but names the wrong red flag: a confirmed ``label``."""
    flag, turn = _flag(session, flag_id)
    label = _label(label)
    if label == flag.label:
        raise ReviewError(f"the flag is already {label}")
    clash = session.scalar(select(m.Flag).where(m.Flag.turn_id == turn.id, m.Flag.label == label))
    if clash is not None:
        raise ReviewError(
            f"this turn already has a {label} flag: confirm that one and reject this one", 409
        )
    _log(session, user, "relabel", turn, flag, label=label, before=flag.label, after=label)
    flag.label, flag.family, flag.status = label, FAMILY_OF[label], "confirmed"
    session.commit()
    return flag


def locate(text: str, start: int, end: int, quote: str) -> tuple[int, int]:
    """The span of ``quote`` in ``text`` nearest to ``start``.

    Offsets come from the browser's selection; browsers turn CR LF into LF and a selection
    may carry surrounding blanks, so the quote decides and the offsets only choose among
    repeats.
    """
    core = quote.strip()
    if not core:
        raise ReviewError("select some text of the turn first")
    if 0 <= start < end <= len(text) and text[start:end] == quote:
        lead = len(quote) - len(quote.lstrip())
        return start + lead, start + lead + len(core)
    pattern = r"\r?\n".join(re.escape(part) for part in core.split("\n"))
    found = [match.span() for match in re.finditer(pattern, text)]
    if not found:
        raise ReviewError("the selected text is not in this turn's text")
    return min(found, key=lambda span: abs(span[0] - start))


def add_flag(
    session: Session, user: m.User, turn_id: int, label: str, start: int, end: int, quote: str
) -> m.Flag:
    """Mark a red flag the model missed, with the selected span as evidence. If the turn
    already has that label, the span is added to it and the flag confirmed."""
    turn = _turn(session, turn_id)
    label = _label(label)
    start, end = locate(turn.text, start, end, quote)
    flag = session.scalar(select(m.Flag).where(m.Flag.turn_id == turn.id, m.Flag.label == label))
    before = flag.status if flag else None
    if flag is None:
        flag = m.Flag(
            turn_id=turn.id,
            conversation_id=turn.conversation_id,
            client_id=turn.client_id,
            label=label,
            family=FAMILY_OF[label],
            model_label=None,
            score=None,
            evidence=[],
            lang=turn.lang,
            channel=turn.channel,
            at=turn.at,
        )
        session.add(flag)
    if [start, end] not in flag.evidence:
        flag.evidence = sorted([*flag.evidence, [start, end]])
    flag.status = "confirmed"
    session.flush()
    detail = {"start": start, "end": end, "text": turn.text[start:end]}
    _log(session, user, "add", turn, flag, label=label, before=before, after="confirmed",
         detail=detail)  # fmt: skip
    session.commit()
    return flag


def set_tone(session: Session, user: m.User, turn_id: int, tone: str) -> m.Turn:
    turn = _turn(session, turn_id)
    if tone not in TONES:
        raise ReviewError(f"tone {tone!r} is not one of {', '.join(TONES)}")
    _log(session, user, "tone", turn, before=turn.reviewed_tone or turn.tone, after=tone)
    turn.reviewed_tone = tone
    session.commit()
    return turn
