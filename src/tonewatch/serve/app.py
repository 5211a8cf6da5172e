"""The app factory of ``tonewatch serve``.

    app = create_app(load_config())          # migrates the store to the latest schema
    uvicorn.run(app, host="127.0.0.1", port=8000)

Server-rendered pages (Jinja2) with htmx for the review actions; no build step. OpenAPI and
the interactive docs are off: this is a UI behind a login, not a public API.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from tonewatch.config import Config, default_config
from tonewatch.serve.deps import AppState, LoginRequired, check_csrf, is_htmx
from tonewatch.serve.pages import render
from tonewatch.serve.routes import admin, auth, clients, conversations, reviews
from tonewatch.serve.security import SecurityHeaders
from tonewatch.serve.store import connect, migrate, session_factory
from tonewatch.serve.store.reviews import ReviewError


def create_app(
    config: Config | None = None, *, engine: Engine | None = None, migrated: bool = False
) -> FastAPI:
    """The review app over ``config.serve.db`` (or ``engine``), migrated to the latest schema
    unless ``migrated`` says that was done already."""
    config = config or default_config()
    engine = engine or connect(config.serve.db)
    if not migrated:
        migrate(engine)
    app = FastAPI(
        title="tonewatch review",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=_lifespan,
    )
    app.state.tonewatch = AppState(session_factory(engine), config)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(packages=[("tonewatch.serve", "static")]), name="static")
    app.include_router(auth.router)
    app.include_router(clients.router)
    app.include_router(conversations.router)
    csrf = [Depends(check_csrf)]  # every state-changing route below checks the token
    app.include_router(reviews.router, dependencies=csrf)
    app.include_router(admin.router, dependencies=csrf)
    _add_error_pages(app)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    import anyio.to_thread

    # anyio's default is 40 threads; see [serve] threads for why a few are better.
    threads = app.state.tonewatch.config.serve.threads
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads
    yield


CONFIG_ENV = "TONEWATCH_SERVE_CONFIG"  # the Config as JSON, for worker processes


def app_from_environment() -> FastAPI:
    """The app of one uvicorn worker process (``tonewatch serve --workers N``): the parent
    migrated the store and passed its configuration in the environment."""
    return create_app(Config.model_validate_json(os.environ[CONFIG_ENV]), migrated=True)


def _error(request: Request, status: int, message: str) -> Response:
    if is_htmx(request):  # app.js shows the text in the page's message bar
        return PlainTextResponse(message, status_code=status)
    return render(request, "error.html", {"status": status, "message": message}, status)


def _add_error_pages(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired) -> Response:
        if request.method in ("GET", "HEAD") and not is_htmx(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            response = RedirectResponse("/login", status_code=303)
            if target not in ("/", "/clients"):
                response.headers["location"] = "/login?" + _query(next=target)
            return response
        response = PlainTextResponse("Log in first.", status_code=401)
        response.headers["hx-redirect"] = "/login"
        return response

    @app.exception_handler(ReviewError)
    async def review_error(request: Request, exc: ReviewError) -> Response:
        return _error(request, exc.status, exc.args[0])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()
        )
        return _error(request, 400, f"Bad request: {problems}")


def _query(**params: str) -> str:
    from urllib.parse import urlencode

    return urlencode(params)
