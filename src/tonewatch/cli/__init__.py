"""The ``tonewatch`` command. One module per command, each a thin Typer wrapper that parses
options and calls a plain function of its stage (as spaCy's ``cli/`` does)."""

from __future__ import annotations

import typer

from tonewatch import __version__

app = typer.Typer(
    name="tonewatch",
    help="Multilingual tone and red-flag classifier for support conversations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tonewatch {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Ingest support archives, classify red flags and tone, report per-client patterns."""


# Each command module adds itself to ``app`` on import.
from tonewatch.cli import api, classify, evaluate, ingest, report, research, score, serve, train  # noqa: E402,F401


def main() -> None:
    app()
