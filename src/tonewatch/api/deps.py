"""Shared state and the dependencies routes declare: the engine, the caller, rate limits."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer

from tonewatch.api.engine import Engine
from tonewatch.api.errors import ApiError, is_perspective
from tonewatch.api.keys import KeyStore
from tonewatch.api.perspective_map import PerspectiveMap
from tonewatch.api.ratelimit import RateLimiter, retry_after_header
from tonewatch.config import Config


@dataclass
class ApiState:
    """Everything a worker builds once: the model is loaded here, never per request."""

    config: Config
    engine: Engine
    keys: KeyStore
    limiter: RateLimiter
    perspective: PerspectiveMap | None
    started: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Caller:
    id: str  # key id, or "anon:<address>" when keys are not required
    name: str
    rate_limit_per_minute: int | None = None


async def get_state(request: Request) -> ApiState:
    # async: a plain def dependency would cost a thread-pool hop on every request
    return request.app.state.tonewatch  # type: ignore[no-any-return]


State = Annotated[ApiState, Depends(get_state)]

_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="tonewatch API key.")
_query = APIKeyQuery(name="key", auto_error=False, description="API key, as Perspective takes it.")
_bearer = HTTPBearer(auto_error=False, description="API key as a bearer token.")


def _refuse(request: Request, status: int, message: str, reason: str) -> ApiError:
    if is_perspective(request.url.path):
        # Google's answers: no key -> 403 PERMISSION_DENIED, a bad key -> 400 API_KEY_INVALID.
        google = {401: 400}.get(status, status)
        details = [{"@type": _ERROR_INFO, "reason": reason}]
        return ApiError(google, reason.lower(), message, details=details)
    return ApiError(status, "unauthenticated" if status == 401 else "forbidden", message)


async def authenticate(
    request: Request,
    state: State,
    header: Annotated[str | None, Security(_header)],
    query: Annotated[str | None, Security(_query)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Caller:
    key = header or (bearer.credentials if bearer else None) or query
    if not key:
        if not state.config.api.require_key:
            host = request.client.host if request.client else "unknown"
            return Caller(f"anon:{host}", "anonymous")
        raise _refuse(
            request,
            403 if is_perspective(request.url.path) else 401,
            "The request is missing a valid API key: send it as X-API-Key, "
            "Authorization: Bearer or ?key= (create one with `tonewatch api-key create`).",
            "API_KEY_MISSING",
        )
    record = state.keys.verify(key)
    if record is None:
        raise _refuse(
            request, 401, "API key not valid. Please pass a valid API key.", "API_KEY_INVALID"
        )
    if not record.active:
        raise _refuse(
            request, 403, f"API key {record.id} was revoked on {record.revoked}.", "API_KEY_REVOKED"
        )
    return Caller(record.id, record.name, record.rate_limit_per_minute)


AuthCaller = Annotated[Caller, Depends(authenticate)]


def charge(request: Request, state: ApiState, caller: Caller, turns: int) -> None:
    """Take one token per turn from the caller's bucket, or refuse with 429 and Retry-After."""
    wait = state.limiter.acquire(caller.id, turns, caller.rate_limit_per_minute)
    if wait <= 0:
        return
    rate = caller.rate_limit_per_minute or state.limiter.rate_per_minute
    message = (
        f"Quota exceeded: {rate} turns per minute for key {caller.id} "
        f"(burst {state.limiter.burst}); retry in {wait:.1f} s."
    )
    headers = {"Retry-After": retry_after_header(wait)}
    details = None
    if is_perspective(request.url.path):
        details = [{"@type": _ERROR_INFO, "reason": "RATE_LIMIT_EXCEEDED"}]
    raise ApiError(429, "rate_limited", message, headers=headers, details=details)
