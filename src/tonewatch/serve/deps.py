"""Dependencies of the routes, as ``Annotated`` aliases (the FastAPI template's ``deps.py``).

    def page(db: DbSession, user: CurrentUser) -> ...      any logged-in user
    def audit(db: DbSession, user: LeadUser) -> ...        lead or admin
    def users(db: DbSession, user: AdminUser) -> ...       admin only

Every route but the login page depends on ``CurrentUser``; every router with state-changing
routes is included with ``Depends(check_csrf)`` (see app.py), so no POST goes unchecked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session, sessionmaker

from tonewatch.config import Config
from tonewatch.serve.security import CSRF_FIELD, CSRF_HEADER, same_token
from tonewatch.serve.store import models as m
from tonewatch.serve.store.users import find_session, role_at_least

SESSION_COOKIE = "tonewatch_session"
LOGIN_COOKIE = "tonewatch_login_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class AppState:
    sessions: sessionmaker[Session]
    config: Config

    @property
    def lifetime(self) -> timedelta:
        return timedelta(hours=self.config.serve.session_hours)


class LoginRequired(Exception):
    """No valid session: pages redirect to the login form, other requests get 401."""


# Dependencies without I/O are ``async def``: FastAPI runs sync ones in its thread pool, a
# hop per dependency per request that costs more than the work they do.
async def get_state(request: Request) -> AppState:
    return request.app.state.tonewatch


State = Annotated[AppState, Depends(get_state)]


async def get_db(state: State) -> AsyncIterator[Session]:
    with state.sessions() as session:  # connects lazily, on the first query (in a thread)
        yield session


DbSession = Annotated[Session, Depends(get_db)]


async def current_login(request: Request, state: State, db: DbSession) -> m.LoginSession:
    """The request's live login session, or LoginRequired.

    Runs on the event loop: it is one primary-key lookup, cheaper than the thread-pool hop a
    sync dependency costs. The commit then hands the connection back to the pool at once
    (the rows stay loaded: ``expire_on_commit=False``), so a request waiting for a thread
    never holds a connection; otherwise 20 waiting requests exhaust a pool of 15."""
    found = find_session(db, request.cookies.get(SESSION_COOKIE), state.lifetime)
    db.commit()
    if found is None:
        raise LoginRequired()
    request.state.login = found  # pages show the user and carry the CSRF token
    return found


Login = Annotated[m.LoginSession, Depends(current_login)]


async def current_user(login: Login) -> m.User:
    return login.user


CurrentUser = Annotated[m.User, Depends(current_user)]


async def check_csrf(request: Request, login: Login) -> None:
    """Refuse a state-changing request without the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not same_token(login.csrf, given):
        raise HTTPException(403, "CSRF token missing or wrong: reload the page and try again")


def require(role: str):  # noqa: ANN201 (a dependency factory)
    async def dependency(user: CurrentUser) -> m.User:
        if not role_at_least(user.role, role):
            raise HTTPException(403, f"this page needs the {role} role")
        return user

    return dependency


LeadUser = Annotated[m.User, Depends(require("lead"))]
AdminUser = Annotated[m.User, Depends(require("admin"))]


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"
