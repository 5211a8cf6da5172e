"""Passwords, session tokens, CSRF tokens and the security headers of every response.

- Passwords: argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile); hashes are
  upgraded on login when the parameters change.
- Sessions: the cookie holds 32 random bytes; the database keeps only their SHA-256, with the
  user, an expiry and the session's CSRF token (``store/users.py``).
- CSRF: every state-changing request carries the session's token, in the form field
  ``csrf_token`` or the ``X-CSRF-Token`` header (htmx sends it, see base.html); the login
  form, which has no session yet, uses a double-submit cookie.
- Headers: a strict Content-Security-Policy (no inline script or style, nothing remote),
  nosniff, no framing, no referrer. Message text is hostile input: templates escape it, and
  should anything slip through, the browser refuses to run or fetch it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; img-src 'self' data:; style-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The timeline SVG is drawn by matplotlib (counts and dates only, no message text) and styles
# itself inline; loaded through <img> it can never run script either way.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; an unknown user (``None``) costs the same time."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the sessions table stores for a cookie token."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_token(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))


def safe_next(path: str | None) -> str:
    """A post-login redirect target that stays on this site (no ``//host`` or scheme)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/clients"
    return path


class SecurityHeaders:
    """Pure ASGI middleware: add the security headers to every HTTP response, static files
    and error pages included. HTML is never cached (it shows client data)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                kind = dict(headers).get(b"content-type", b"")
                csp = SVG_CSP if kind.startswith(b"image/svg+xml") else CSP
                extra = {**HEADERS, "content-security-policy": csp}
                if not static:
                    extra["cache-control"] = "no-store"
                headers += [
                    (name.encode(), value.encode())
                    for name, value in extra.items()
                    if name.encode() not in present
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
