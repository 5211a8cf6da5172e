"""``tonewatch api`` (serve the scoring API) and ``tonewatch api-key`` (manage its keys)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tonewatch.cli import app
from tonewatch.cli._common import ConfigOption, SetOption, config_from, user_errors

if TYPE_CHECKING:
    from tonewatch.api.keys import KeyStore

keys_app = typer.Typer(
    help="Create, list and revoke API keys (stored hashed in \\[api] keys_db).",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="api-key")


@app.command("api")
def api_cli(
    host: str = typer.Option(None, "--host", help="Interface to bind (default \\[api] host)."),
    port: int = typer.Option(None, "--port", help="Port (default \\[api] port)."),
    model: str = typer.Option(None, "--model", "-m", help="Model directory or shipped name."),
    tier: str = typer.Option(None, "--tier", help="default (encoder) or fast (n-grams)."),
    workers: int = typer.Option(
        None, "--workers", help="Worker processes, each loading the model once (\\[api] workers)."
    ),
    config: Path = ConfigOption,
    overrides: list[str] = SetOption,
) -> None:
    """Serve the scoring API: /v1 (score, conversations, client reports) and the
    Perspective-compatible /v1alpha1/comments:analyze. OpenAPI spec at /openapi.json."""
    import uvicorn

    from tonewatch.api.app import ENV_SETTINGS, create_app

    with user_errors():
        cfg = config_from(config, overrides)
        host, port = host or cfg.api.host, port or cfg.api.port
        workers = workers or cfg.api.workers
        if workers > 1:
            # Each worker process imports the factory and loads the model itself.
            settings = {
                "config": str(config) if config else None,
                "overrides": overrides,
                "model": model,
                "tier": tier,
            }
            os.environ[ENV_SETTINGS] = json.dumps(settings)
            target: object = "tonewatch.api.app:create_app_from_env"
        else:
            target = create_app(cfg, model=model, tier=tier)
        typer.echo(f"tonewatch API on http://{host}:{port} ({workers} worker(s)); docs at /docs")
    uvicorn.run(
        target, host=host, port=port, workers=workers, factory=workers > 1, log_level="info"
    )


def _store(config: Path | None, overrides: list[str] | None) -> KeyStore:
    from tonewatch.api.keys import KeyStore

    return KeyStore(config_from(config, overrides).api.keys_db)


@keys_app.command("create")
def create_key_cli(
    name: str = typer.Option(..., "--name", help="Who or what the key is for."),
    rate_limit: int = typer.Option(
        None, "--rate-limit", help="Turns per minute for this key (default \\[api] rate limit)."
    ),
    config: Path = ConfigOption,
    overrides: list[str] = SetOption,
) -> None:
    """Create a key and print it once: only its salted hash is stored."""
    with user_errors():
        store = _store(config, overrides)
        record, key = store.create(name, rate_limit)
    typer.echo(key)
    typer.echo(
        f"created key {record.id} for {record.name!r} in {store.path}; it is shown only "
        "once, store it now",
        err=True,
    )


@keys_app.command("list")
def list_keys_cli(config: Path = ConfigOption, overrides: list[str] = SetOption) -> None:
    """List keys: id, name, created, state and rate limit (never the secret)."""
    with user_errors():
        records = _store(config, overrides).list()
    if not records:
        typer.echo("no API keys yet: `tonewatch api-key create --name NAME`")
    for r in records:
        state = f"revoked {r.revoked}" if r.revoked else "active"
        limit = f"{r.rate_limit_per_minute}/min" if r.rate_limit_per_minute else "default limit"
        typer.echo(f"{r.id}  {r.name:<24}  {r.created}  {state:<32}  {limit}")


@keys_app.command("revoke")
def revoke_key_cli(
    key: str = typer.Argument(..., help="Key id (as `list` shows) or name."),
    config: Path = ConfigOption,
    overrides: list[str] = SetOption,
) -> None:
    """Revoke a key; servers refuse it within seconds."""
    with user_errors():
        revoked = _store(config, overrides).revoke(key)
    for r in revoked:
        typer.echo(f"revoked {r.id} ({r.name})")
