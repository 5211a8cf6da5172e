"""The API application: ``create_app(config, classifier=None)``.

The model is loaded (and warmed up) once when the app is built, i.e. once per uvicorn worker
process; every request shares it through the micro-batcher. With ``[api] model_process`` it is
scored in one child process of the worker, so the event loop never waits for the GIL.

    tonewatch api --port 8080                       # one worker
    tonewatch api --workers 2 --tier fast           # each worker builds its own app
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tonewatch import __version__
from tonewatch.api import errors
from tonewatch.api.deps import ApiState
from tonewatch.api.engine import Engine
from tonewatch.api.errors import log
from tonewatch.api.keys import KeyStore
from tonewatch.api.perspective_map import PerspectiveMap
from tonewatch.api.ratelimit import RateLimiter
from tonewatch.api.routes import clients, meta, perspective, score
from tonewatch.classify.api import PACKAGE_ROOT, load_model
from tonewatch.classify.pipeline import Classifier
from tonewatch.config import Config, load_config

ENV_SETTINGS = "TONEWATCH_API_SETTINGS"  # JSON handed from `tonewatch api` to its workers

DESCRIPTION = """\
Score support conversations for twelve red flags and tone, build per-client reports, and
answer Perspective API clients (`/v1alpha1/comments:analyze`).

Authenticate with an API key from `tonewatch api-key create`: header `X-API-Key`,
`Authorization: Bearer <key>`, or `?key=` as Perspective clients send it. Errors are
`{"error": {"code", "message", "field"}}` (Google's error shape on `/v1alpha1`).
"""


class _TooLarge(StarletteHTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds {limit} bytes")


class BodySizeLimit:
    """413 for a body over ``max_bytes``: at once from Content-Length, or as soon as a
    streamed body passes the limit (the rest is never read)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length and (not length.isdigit() or int(length) > self.max_bytes):
            error = errors.ApiError(
                413,
                "payload_too_large",
                f"request body of {length.decode('latin-1')} bytes exceeds the limit of "
                f"{self.max_bytes} bytes ([api] max_request_bytes)",
            )
            await errors.error_response(scope["path"], error)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)


def _resolve(path: str) -> Path:
    candidate = Path(path)
    if candidate.is_absolute() or candidate.exists():
        return candidate
    packaged = PACKAGE_ROOT / path
    return packaged if packaged.exists() else candidate


def create_app(
    config: Config | None = None,
    classifier: Classifier | None = None,
    *,
    model: str | None = None,
    tier: str | None = None,
    warm_up: bool = True,
) -> FastAPI:
    """The FastAPI app.

    config: full tonewatch config (default: ./tonewatch.toml or the packaged defaults).
    classifier: an already loaded Classifier; default: ``load_model(model, tier)``.
    RETURNS: the app, model loaded and (with ``warm_up``) its lazy parts built.
    """
    config = config or load_config()
    classifier = classifier or load_model(model, tier=tier, config=config.classify)
    api = config.api
    engine = Engine(
        classifier,
        config.ingest,
        max_batch=api.batch_max_turns,
        max_wait=api.batch_wait_ms / 1000,
        process=api.model_process,
    )
    if warm_up:
        engine.warm_up()
    state = ApiState(
        config=config,
        engine=engine,
        keys=KeyStore(api.keys_db),
        limiter=RateLimiter(api.rate_limit_per_minute, api.rate_limit_burst),
        perspective=PerspectiveMap.load(
            _resolve(api.perspective_map),
            classifier.model_id,
            classifier.model.meta.get("trained_at"),
        ),
    )
    if state.perspective is None:
        log.warning(
            "no Perspective map for %s in %s: only TW_* attributes are served",
            classifier.model_id,
            api.perspective_map,
        )
    elif state.perspective.stale:
        log.warning(
            "the Perspective map for %s was fitted on an earlier training run; "
            "re-run tonewatch.api.calibrate_perspective",
            classifier.model_id,
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine.start()
        yield
        await engine.batcher.close()
        engine.close()

    app = FastAPI(
        title="tonewatch API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.tonewatch = state
    errors.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=api.max_request_bytes)
    for module in (score, clients, meta, perspective):
        app.include_router(module.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI documents a 422 HTTPValidationError on every route with a body; ours answer
    validation errors with ErrorBody (422) on /v1 and Google's 400 on /v1alpha1."""
    if app.openapi_schema is None:
        spec = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for path, operations in spec["paths"].items():
            if errors.is_perspective(path):
                for operation in operations.values():
                    operation["responses"].pop("422", None)
        schemas = spec["components"]["schemas"]
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = spec
    return app.openapi_schema


def create_app_from_env() -> FastAPI:
    """uvicorn factory for multi-worker runs: settings come from ``TONEWATCH_API_SETTINGS``."""
    settings = json.loads(os.environ.get(ENV_SETTINGS, "{}"))
    config = load_config(settings.get("config"), settings.get("overrides"))
    return create_app(config, model=settings.get("model"), tier=settings.get("tier"))
