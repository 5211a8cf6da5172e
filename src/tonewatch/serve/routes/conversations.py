"""A conversation, every turn with its flags, tone, scores and review history."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tonewatch.serve.deps import CurrentUser, DbSession, is_htmx
from tonewatch.serve.pages import render
from tonewatch.serve.store import models as m
from tonewatch.serve.store.queries import conversation_page, next_conversation

router = APIRouter()


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
def conversation(
    request: Request, db: DbSession, _user: CurrentUser, conversation_id: int
) -> HTMLResponse:
    found = conversation_page(db, conversation_id)
    if found is None:
        raise HTTPException(404, f"conversation {conversation_id} does not exist")
    row, client, turns = found
    open_flags = sum(f.status == "open" for view in turns for f in view.flags)
    return render(
        request,
        "conversation.html",
        {"conversation": row, "client": client, "turns": turns, "open_flags": open_flags},
    )


@router.get("/conversations/{conversation_id}/next")
def next_to_review(db: DbSession, _user: CurrentUser, conversation_id: int) -> RedirectResponse:
    """The next conversation with unreviewed flags (the same client's first)."""
    found = next_conversation(db, conversation_id)
    target = f"/conversations/{found}" if found is not None else "/clients?review=open"
    return RedirectResponse(target, status_code=303)


@router.get("/turns/{turn_id}/scores", response_class=HTMLResponse)
def turn_scores(request: Request, db: DbSession, _user: CurrentUser, turn_id: int) -> HTMLResponse:
    """All twelve scores and the tone scores of a turn: the conversation page's table, loaded
    when it is opened (or a page of its own without JavaScript)."""
    turn = db.get(m.Turn, turn_id)
    if turn is None or not turn.scores:
        raise HTTPException(404, f"turn {turn_id} has no scores")
    return render(request, "_scores.html" if is_htmx(request) else "scores.html", {"turn": turn})
