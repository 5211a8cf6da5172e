"""Login and logout. The login form is the one page reachable without a session; its CSRF
token is a double-submit cookie (there is no session to keep it in yet)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tonewatch.serve.deps import LOGIN_COOKIE, SESSION_COOKIE, DbSession, Login, State, check_csrf
from tonewatch.serve.pages import render
from tonewatch.serve.security import new_token, safe_next, same_token
from tonewatch.serve.store.users import authenticate, close_session, open_session

router = APIRouter()


def _login_form(
    request: Request, state: State, next_: str, error: str = "", status: int = 200
) -> HTMLResponse:
    token = new_token()
    response = render(
        request, "login.html", {"token": token, "next": next_, "error": error}, status
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=state.config.serve.secure_cookies,
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, state: State, next: str = "") -> HTMLResponse:
    return _login_form(request, state, safe_next(next))


@router.post("/login", response_model=None)
def login(
    request: Request,
    state: State,
    db: DbSession,
    name: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    if not same_token(request.cookies.get(LOGIN_COOKIE), csrf_token):
        return _login_form(
            request, state, safe_next(next), "The form expired; please log in again.", 403
        )
    user = authenticate(db, name, password)
    if user is None:
        return _login_form(request, state, safe_next(next), "Wrong name or password.", 401)
    close_session(db, request.cookies.get(SESSION_COOKIE))  # never reuse a session id
    opened = open_session(db, user, state.lifetime)
    db.commit()
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        max_age=int(state.lifetime.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=state.config.serve.secure_cookies,
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request, db: DbSession, _login: Login) -> RedirectResponse:
    close_session(db, request.cookies.get(SESSION_COOKIE))
    db.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
