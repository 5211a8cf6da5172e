"""The review web UI: support leads read flagged conversations, confirm or correct each flag,
and their decisions become training data (``tonewatch export-reviews``).

    app.py          create_app(config): FastAPI, middleware, routers, error pages
    deps.py         Annotated dependencies (database session, current user, roles, CSRF)
    security.py     argon2 passwords, session and CSRF tokens, security headers and CSP
    pages.py        Jinja2 environment (autoescape) and the report's highlighting
    routes/         auth, clients, conversations, reviews, admin
    store/          SQLAlchemy models, loading, queries, review actions, export, accounts
    migrations/     Alembic (``upgrade head`` runs at start)
    sources.py      what ``tonewatch load`` reads (archives, ingest output, stored results)

docs/serve.md explains running it.
"""

from tonewatch.serve.app import create_app

__all__ = ["create_app"]
