"""Options and error handling shared by the command modules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from tonewatch.config import Config, load_config
from tonewatch.errors import TonewatchError

ConfigOption = typer.Option(None, "--config", "-c", help="tonewatch.toml to read.")
SetOption = typer.Option(
    None, "--set", help="Override a config key, e.g. --set classify.batch_size=32 (repeatable)."
)


def config_from(path: Path | None, overrides: list[str] | None) -> Config:
    return load_config(path, overrides)


@contextmanager
def user_errors() -> Iterator[None]:
    """Print a TonewatchError as one clear line and exit 1 instead of a traceback."""
    try:
        yield
    except TonewatchError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc


def echo_summary(
    title: str, rows: dict[str, object], echo: Callable[[str], None] = typer.echo
) -> None:
    echo(title)
    width = max((len(k) for k in rows), default=0)
    for key, value in rows.items():
        echo(f"  {key:<{width}}  {value}")
