"""Leads: the audit log and the reviews export. Admins: accounts, loads, re-ranking."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from tonewatch.errors import DataError
from tonewatch.serve.deps import AdminUser, DbSession, LeadUser, State
from tonewatch.serve.pages import render
from tonewatch.serve.store import models as m
from tonewatch.serve.store.export import reviewed_records
from tonewatch.serve.store.loading import recompute_clients
from tonewatch.serve.store.queries import audit_log, load_runs
from tonewatch.serve.store.users import add_user, list_users, update_user

router = APIRouter()
Name = Annotated[str, Query(max_length=80)]


@router.get("/audit", response_class=HTMLResponse)
def audit(
    request: Request,
    state: State,
    db: DbSession,
    _user: LeadUser,
    user: Name = "",
    action: Name = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    action = action if action in m.ACTIONS else ""
    found = audit_log(
        db, user=user or None, action=action or None, page=page,
        per_page=state.config.serve.page_size,
    )  # fmt: skip
    users = [u.name for u, _ in list_users(db)]
    return render(
        request,
        "audit.html",
        {
            "page": found,
            "users": users,
            "who": user,
            "action": action,
            "actions": m.ACTIONS,
            "params": {k: v for k, v in (("user", user), ("action", action)) if v},
        },
    )


@router.get("/export/reviews.jsonl")
def export_reviews(state: State, _user: LeadUser) -> StreamingResponse:
    """The same records as ``tonewatch export-reviews``, as a download."""

    def lines() -> Iterator[bytes]:
        with state.sessions() as session:
            for record in reviewed_records(session):
                yield (json.dumps(record, ensure_ascii=False) + "\n").encode()

    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"content-disposition": 'attachment; filename="reviews.jsonl"'},
    )


def _admin_page(
    request: Request, db: DbSession, message: str = "", error: str = "", status: int = 200
) -> HTMLResponse:
    context = {
        "users": list_users(db),
        "loads": load_runs(db),
        "roles": m.ROLES,
        "message": message,
        "error": error,
    }
    return render(request, "admin.html", context, status)


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, db: DbSession, _user: AdminUser) -> HTMLResponse:
    return _admin_page(request, db)


@router.post("/admin/users", response_model=None)
def create_user(
    request: Request,
    db: DbSession,
    _user: AdminUser,
    name: Annotated[str, Form(max_length=80)],
    role: Annotated[str, Form(max_length=16)],
    password: Annotated[str, Form(max_length=1000)],
) -> HTMLResponse | RedirectResponse:
    try:
        add_user(db, name.strip(), role, password)
    except DataError as exc:
        db.rollback()
        return _admin_page(request, db, error=exc.args[0], status=400)
    db.commit()
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/users/{user_id}", response_model=None)
def change_user(
    request: Request,
    db: DbSession,
    admin_user: AdminUser,
    user_id: int,
    role: Annotated[str, Form(max_length=16)] = "",
    active: Annotated[str, Form(max_length=8)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
) -> HTMLResponse | RedirectResponse:
    user = db.get(m.User, user_id)
    if user is None:
        raise HTTPException(404, f"user {user_id} does not exist")
    if user.id == admin_user.id and (active == "no" or (role and role != "admin")):
        return _admin_page(request, db, error="You cannot demote or lock yourself.", status=400)
    try:
        update_user(
            db, user, role=role or None, active={"yes": True, "no": False}.get(active),
            password=password or None,
        )  # fmt: skip
    except DataError as exc:
        db.rollback()
        return _admin_page(request, db, error=exc.args[0], status=400)
    db.commit()
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/recompute", response_class=HTMLResponse)
def recompute(request: Request, state: State, db: DbSession, _user: AdminUser) -> HTMLResponse:
    clients = recompute_clients(db, state.config.aggregate)
    return _admin_page(request, db, message=f"Re-ranked {clients} clients with every review.")
