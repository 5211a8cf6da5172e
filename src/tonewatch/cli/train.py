"""``tonewatch train``: a config in, a model directory out."""

from __future__ import annotations

from pathlib import Path

import typer

from tonewatch.cli import app
from tonewatch.cli._common import user_errors


@app.command("train")
def train_cli(
    config: Path = typer.Option(
        ..., "--config", "-c", help="Training config, e.g. configs/base.toml."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Model directory to write."),
    base: Path = typer.Option(Path("."), help="Directory that relative data paths start from."),
) -> None:
    """Train a model (fixed seeds; config and data hashes recorded in the model directory)."""
    from tonewatch.train.trainer import read_train_config, train

    with user_errors():
        cfg, text = read_train_config(config)
        train(cfg, text, output, base=base)
