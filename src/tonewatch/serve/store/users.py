"""Accounts and server-side login sessions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tonewatch.errors import DataError
from tonewatch.serve.security import (
    hash_password,
    needs_rehash,
    new_token,
    token_digest,
    verify_password,
)
from tonewatch.serve.store.db import utcnow
from tonewatch.serve.store.models import ROLES, LoginSession, User

NAME = re.compile(r"^[\w.@+-]{2,80}$")
MIN_PASSWORD = 10
SEEN_EVERY = timedelta(minutes=5)  # refresh a session's expiry at most this often (no write storm)


def role_at_least(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)


def check_new_user(name: str, role: str, password: str) -> None:
    if not NAME.match(name):
        raise DataError(f"user name {name!r}: use 2-80 letters, digits or . _ @ + -")
    if role not in ROLES:
        raise DataError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise DataError(f"password for {name!r} is shorter than {MIN_PASSWORD} characters")


def add_user(session: Session, name: str, role: str, password: str) -> User:
    """Create an account; DataError if the name is taken or anything is malformed."""
    check_new_user(name, role, password)
    if session.scalar(select(User.id).where(func.lower(User.name) == name.lower())) is not None:
        raise DataError(f"user {name!r} already exists")
    user = User(name=name, role=role, password_hash=hash_password(password), created_at=utcnow())
    session.add(user)
    session.flush()
    return user


def update_user(
    session: Session,
    user: User,
    *,
    role: str | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> None:
    """Change role, active flag or password; ending access also ends the user's sessions."""
    if role is not None:
        if role not in ROLES:
            raise DataError(f"role {role!r} is not one of {', '.join(ROLES)}")
        user.role = role
    if password:
        check_new_user(user.name, user.role, password)
        user.password_hash = hash_password(password)
    if active is not None:
        user.active = active
    if active is False or password:
        session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


def authenticate(session: Session, name: str, password: str) -> User | None:
    user = session.scalar(select(User).where(func.lower(User.name) == name.strip().lower()))
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str  # goes into the cookie; never stored
    csrf: str


def open_session(session: Session, user: User, lifetime: timedelta) -> NewSession:
    now = utcnow()
    token, csrf = new_token(), new_token()
    session.add(
        LoginSession(
            id=token_digest(token),
            user_id=user.id,
            csrf=csrf,
            created_at=now,
            seen_at=now,
            expires_at=now + lifetime,
        )
    )
    # Housekeeping: expired sessions of anyone go when someone logs in.
    session.execute(delete(LoginSession).where(LoginSession.expires_at < now))
    return NewSession(token, csrf)


def find_session(session: Session, token: str | None, lifetime: timedelta) -> LoginSession | None:
    """The live session of a cookie token (sliding expiry), or None."""
    if not token:
        return None
    found = session.get(LoginSession, token_digest(token))
    now = utcnow()
    if found is None or found.expires_at < now or not found.user.active:
        return None
    if now - found.seen_at > SEEN_EVERY:
        found.seen_at, found.expires_at = now, now + lifetime
        session.commit()
    return found


def close_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(LoginSession).where(LoginSession.id == token_digest(token)))


def list_users(session: Session) -> list[tuple[User, datetime | None]]:
    """Every account with its latest session activity."""
    seen = (
        select(LoginSession.user_id, func.max(LoginSession.seen_at).label("seen"))
        .group_by(LoginSession.user_id)
        .subquery()
    )
    rows = session.execute(
        select(User, seen.c.seen).outerjoin(seen, seen.c.user_id == User.id).order_by(User.name)
    )
    return [(user, last) for user, last in rows]
