"""``tonewatch classify``: JSONL turns in, one JSONL result per turn out."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tonewatch.cli import app
from tonewatch.cli._common import ConfigOption, SetOption, config_from, user_errors


@app.command("classify")
def classify_cli(
    input: Path = typer.Argument(
        ..., help="JSONL of {id, text[, lang, role]} or `tonewatch ingest` output."
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Where to write one JSON result per turn."
    ),
    model: str = typer.Option(None, "--model", "-m", help="Model directory or shipped model name."),
    tier: str = typer.Option(None, "--tier", help="default (encoder) or fast (n-grams)."),
    config: Path = ConfigOption,
    overrides: list[str] = SetOption,
) -> None:
    """Score every turn's twelve red flags and tone, with evidence spans."""
    from tqdm import tqdm

    from tonewatch.classify.api import classify_stream, load_model, read_turn_texts

    with user_errors():
        cfg = config_from(config, overrides)
        classifier = load_model(model, tier=tier, config=cfg.classify)
        count = flagged = 0
        with output.open("w", encoding="utf-8") as out:
            results = classify_stream(read_turn_texts(input), classifier, cfg.classify.batch_size)
            for result in tqdm(results, unit="turn", disable=None):
                out.write(json.dumps(result.to_contract(), ensure_ascii=False) + "\n")
                count += 1
                flagged += bool(result.flags)
        typer.echo(
            f"classified {count} turns with {classifier.model_id}: {flagged} flagged -> {output}"
        )
