"""Review actions. Each answers an htmx request with the re-rendered turn, and a plain form
post (no JavaScript) with a redirect back to the turn. The router is included with the
CSRF check (app.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from tonewatch.serve.deps import CurrentUser, DbSession, is_htmx
from tonewatch.serve.pages import render
from tonewatch.serve.store import models as m
from tonewatch.serve.store import reviews
from tonewatch.serve.store.queries import turn_view

router = APIRouter()
Label = Annotated[str, Form(max_length=40)]


def _answer(request: Request, db: DbSession, turn_id: int) -> Response:
    view = turn_view(db, turn_id)
    if view is None:
        raise HTTPException(404, f"turn {turn_id} does not exist")
    if is_htmx(request):
        return render(request, "_turn.html", {"view": view})
    url = f"/conversations/{view.turn.conversation_id}#turn-{turn_id}"
    return RedirectResponse(url, status_code=303)


def _turn_of(db: DbSession, flag_id: int) -> int:
    flag = db.get(m.Flag, flag_id)
    if flag is None:
        raise HTTPException(404, f"flag {flag_id} does not exist")
    return flag.turn_id


@router.post("/flags/{flag_id}/confirm")
def confirm(request: Request, db: DbSession, user: CurrentUser, flag_id: int) -> Response:
    reviews.set_status(db, user, flag_id, "confirmed")
    return _answer(request, db, _turn_of(db, flag_id))


@router.post("/flags/{flag_id}/reject")
def reject(request: Request, db: DbSession, user: CurrentUser, flag_id: int) -> Response:
    reviews.set_status(db, user, flag_id, "rejected")
    return _answer(request, db, _turn_of(db, flag_id))


@router.post("/flags/{flag_id}/relabel")
def relabel(
    request: Request, db: DbSession, user: CurrentUser, flag_id: int, label: Label
) -> Response:
    reviews.relabel(db, user, flag_id, label)
    return _answer(request, db, _turn_of(db, flag_id))


@router.post("/turns/{turn_id}/flags")
def add_flag(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    turn_id: int,
    label: Label,
    start: Annotated[int, Form(ge=0)],
    end: Annotated[int, Form(ge=0)],
    quote: Annotated[str, Form(max_length=20_000)],
) -> Response:
    reviews.add_flag(db, user, turn_id, label, start, end, quote)
    return _answer(request, db, turn_id)


@router.post("/turns/{turn_id}/tone")
def tone(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    turn_id: int,
    tone: Annotated[str, Form(max_length=20)],
) -> Response:
    reviews.set_tone(db, user, turn_id, tone)
    return _answer(request, db, turn_id)
