"""A conversation, every turn with its flags, tone, scores and review history."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tonewatch.serve.deps import CurrentUser, DbSession
from tonewatch.serve.pages import render
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
