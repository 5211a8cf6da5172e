"""Structured errors: every 4xx says what was wrong and where; a bug is a logged 500.

Two dialects, chosen by path:

- ``/v1/...``: ``{"error": {"code": "...", "message": "...", "field": "turns[0].text"}}``
- ``/v1alpha1/...``: Google's ``{"error": {"code": 400, "message": "...", "status": "..."}}``,
  so Perspective clients parse our errors exactly as they parsed Google's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("tonewatch.api")

PERSPECTIVE_PREFIX = "/v1alpha1"

# HTTP status -> google.rpc.Code name, as Google's JSON errors carry it.
GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    413: "INVALID_ARGUMENT",
    415: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """The body of every 4xx/5xx answer of the /v1 API."""

    error: ErrorDetail


class GoogleErrorDetail(BaseModel):
    code: int
    message: str
    status: str
    details: list[dict[str, Any]] | None = None


class GoogleErrorBody(BaseModel):
    """The body of every 4xx/5xx answer of the Perspective-compatible API."""

    error: GoogleErrorDetail


class ApiError(Exception):
    """A request the API refuses. ``code`` is the /v1 machine code; ``google_status`` and
    ``details`` are used on Perspective routes."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        *,
        google_status: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.google_status = google_status or GOOGLE_STATUS.get(status, "UNKNOWN")
        self.details = details
        self.headers = headers


def is_perspective(path: str) -> bool:
    return path.startswith(PERSPECTIVE_PREFIX)


def error_response(path: str, error: ApiError) -> JSONResponse:
    if is_perspective(path):
        body: dict[str, Any] = {
            "code": error.status,
            "message": error.message,
            "status": error.google_status,
        }
        if error.details:
            body["details"] = error.details
    else:
        body = {"code": error.code, "message": error.message}
        if error.field is not None:
            body["field"] = error.field
    return JSONResponse({"error": body}, status_code=error.status, headers=error.headers)


def field_path(loc: Sequence[str | int]) -> str:
    """``("body", "turns", 0, "text")`` -> ``turns[0].text``."""
    out = ""
    for part in loc:
        if part in ("body", "query", "header", "path") and not out:
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": ""}
    field = field_path(first.get("loc", ()))
    if first.get("type") == "json_invalid":
        error = ApiError(400, "invalid_json", f"request body is not valid JSON: {first['msg']}")
        return error_response(request.url.path, error)
    if not field and isinstance(first.get("input"), bytes | bytearray):
        # FastAPI parses a body as JSON only when the request says it is JSON.
        error = ApiError(
            415,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        )
        return error_response(request.url.path, error)
    message = str(first.get("msg", "invalid value"))
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    if is_perspective(request.url.path):
        # Google names the field in the message: "Invalid value at 'comment.text' ...".
        where = f"Invalid value at '{field}': " if field else "Invalid JSON payload received. "
        return error_response(request.url.path, ApiError(400, "validation_error", where + message))
    return error_response(
        request.url.path, ApiError(422, "validation_error", message, field or None)
    )


def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    error = ApiError(exc.status_code, code, str(exc.detail), headers=exc.headers)
    return error_response(request.url.path, error)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    error = ApiError(500, "internal", "internal error; the server log has the details")
    return error_response(request.url.path, error)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, lambda r, e: error_response(r.url.path, e))  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for a /v1 route."""
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS[s]} for s in statuses}


def google_error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for a Perspective route."""
    return {s: {"model": GoogleErrorBody, "description": _DESCRIPTIONS[s]} for s in statuses}


_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing or unknown API key",
    403: "Revoked API key",
    413: "Request body too large",
    415: "Body is not JSON",
    422: "Request does not match the schema",
    429: "Rate limit exceeded; see Retry-After",
}
