"""``tonewatch serve``, ``load``, ``user add``, ``export-reviews``: the review UI and its store."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from tonewatch.cli import app
from tonewatch.cli._common import ConfigOption, SetOption, config_from, echo_summary, user_errors
from tonewatch.config import Config

DbOption = typer.Option(
    None,
    "--db",
    help="Database URL (default [serve] db): sqlite:///file.db or "
    "postgresql://user:password@host:port/dbname.",
)
PASSWORD_ENV = "TONEWATCH_PASSWORD"

user_app = typer.Typer(help="Accounts of the review UI.", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _config(config: Path | None, overrides: list[str] | None, db: str | None) -> Config:
    cfg = config_from(config, overrides)
    if db:
        cfg = cfg.model_copy(update={"serve": cfg.serve.model_copy(update={"db": db})})
    return cfg


def _sessions(cfg: Config):  # noqa: ANN202 (a sessionmaker)
    from tonewatch.serve.store import connect, migrate, session_factory

    engine = connect(cfg.serve.db)
    migrate(engine)
    return session_factory(engine)


@app.command("serve")
def serve_cli(
    db: str = DbOption,
    host: str = typer.Option(None, "--host", help="Address to listen on (default [serve] host)."),
    port: int = typer.Option(None, "--port", help="Port (default [serve] port)."),
    workers: int = typer.Option(
        None, "--workers", help="Server processes (default [serve] workers); about one per core."
    ),
    log_level: str = typer.Option(
        "info", "--log-level", help="debug, info (one line per request), warning or error."
    ),
    config: Path = ConfigOption,
    overrides: list[str] = SetOption,
) -> None:
    """Start the review web UI over the store.

    The store is migrated to the latest schema first. Create the first account with
    `tonewatch user add NAME --role admin`."""
    import uvicorn

    from tonewatch.serve.app import CONFIG_ENV, create_app
    from tonewatch.serve.store import connect, migrate

    with user_errors():
        cfg = _config(config, overrides, db)
        engine = connect(cfg.serve.db)
        migrate(engine)
        engine.dispose()
        workers = workers or cfg.serve.workers
        web = None if workers > 1 else create_app(cfg, migrated=True)
    options = {
        "host": host or cfg.serve.host,
        "port": port or cfg.serve.port,
        "proxy_headers": False,
        "server_header": False,
        "log_level": log_level,
        "access_log": log_level in ("debug", "info"),
    }
    if web is not None:
        uvicorn.run(web, **options)
        return
    # Worker processes build their own app from the configuration passed in the environment,
    # each on its own socket (SO_REUSEPORT) so the kernel spreads connections over them.
    from tonewatch.serve.workers import serve_workers

    os.environ[CONFIG_ENV] = cfg.model_dump_json()
    serve_workers(options, workers)


@app.command("load")
def load_cli(
    paths: list[Path] = typer.Argument(
        ...,
        help="Archives (mbox/.eml/Maildir, chat exports, transcripts, folders of them) or "
        "`tonewatch ingest` output files.",
    ),
    results: Path = typer.Option(
        None,
        "--results",
        help="Stored turn results for PATHS (`tonewatch classify` JSONL or batch-scoring "
        "Parquet): no classification now.",
    ),
    model: str = typer.Option(None, "--model", "-m", help="Model directory or shipped name."),
    staff: Path = typer.Option(
        None,
        "--staff",
        help="Staff TOML (\\[ingest] staff_addresses, staff_domains, staff_names): who is staff.",
    ),
    db: str = DbOption,
    config: Path = ConfigOption,
    overrides: list[str] = SetOption,
) -> None:
    """Put scored conversations into the review store, then re-rank every client.

    Loading the same input again changes nothing; a rescored conversation is updated and
    keeps every reviewer's decision."""
    from tqdm import tqdm

    from tonewatch.serve.sources import load_paths

    with user_errors():
        cfg = _config(config, overrides, db)
        with _sessions(cfg)() as session:
            run = load_paths(
                session,
                paths,
                cfg,
                results=results,
                model=model,
                staff=staff,
                progress=lambda pairs: tqdm(pairs, unit="conv", disable=None, leave=False),
            )
        stats = run.stats
        rows: dict[str, object] = {
            "added": stats.added,
            "updated": stats.updated,
            "unchanged": stats.unchanged,
            "turns added": stats.turns,
            "clients": run.clients,
            "model": run.model,
        }
        if run.missing_results:
            rows["client turns without a result"] = run.missing_results
        for record in stats.quarantine:
            typer.secho(f"quarantined: {record}", fg=typer.colors.YELLOW, err=True)
        if stats.quarantine:
            rows["quarantined"] = len(stats.quarantine)
        echo_summary(f"loaded into {cfg.serve.db}", rows)


@user_app.command("add")
def user_add_cli(
    name: str = typer.Argument(..., help="Login name (letters, digits, . _ @ + -)."),
    role: str = typer.Option(
        "reviewer",
        "--role",
        help="reviewer (reviews), lead (+ audit log, export), admin (+ accounts).",
    ),
    db: str = DbOption,
    config: Path = ConfigOption,
    overrides: list[str] = SetOption,
) -> None:
    """Create an account (the first one with --role admin).

    The password comes from the TONEWATCH_PASSWORD environment variable, or is asked for."""
    from tonewatch.serve.store.users import add_user, check_new_user

    with user_errors():
        password = os.environ.get(PASSWORD_ENV) or typer.prompt(
            f"Password for {name}", hide_input=True, confirmation_prompt=True
        )
        check_new_user(name, role, password)
        cfg = _config(config, overrides, db)
        with _sessions(cfg)() as session:
            add_user(session, name, role, password)
            session.commit()
    typer.echo(f"added {role} {name!r} to {cfg.serve.db}")


@user_app.command("list")
def user_list_cli(
    db: str = DbOption, config: Path = ConfigOption, overrides: list[str] = SetOption
) -> None:
    """List the accounts with their role and last activity."""
    from tonewatch.serve.store.users import list_users

    with user_errors():
        cfg = _config(config, overrides, db)
        with _sessions(cfg)() as session:
            for user, seen in list_users(session):
                state = "active" if user.active else "locked"
                typer.echo(f"{user.name}\t{user.role}\t{state}\tlast seen {seen or 'never'}")


@app.command("export-reviews")
def export_reviews_cli(
    output: Path = typer.Option(..., "--output", "-o", help="JSONL file to write."),
    db: str = DbOption,
    config: Path = ConfigOption,
    overrides: list[str] = SetOption,
) -> None:
    """Write reviewed turns in the annotation format of data/annotations/*.jsonl.

    Add the file to a training config's `annotations` list to train on the reviewers'
    corrections."""
    from tonewatch.serve.store import write_reviews

    with user_errors():
        cfg = _config(config, overrides, db)
        with _sessions(cfg)() as session:
            stats = write_reviews(session, output)
    note = f" ({stats.undecided} reviewed turns left out: a flag still undecided)"
    typer.echo(
        f"exported {stats.written} reviewed turns -> {output}" + (note if stats.undecided else "")
    )
