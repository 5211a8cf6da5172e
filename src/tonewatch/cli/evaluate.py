"""``tonewatch evaluate``: a model on the project's test split, per label and language."""

from __future__ import annotations

import glob

import typer

from tonewatch.cli import app
from tonewatch.cli._common import user_errors


@app.command("evaluate")
def evaluate_cli(
    model: str = typer.Argument(..., help="Model directory (e.g. models/tonewatch-base)."),
    data: str = typer.Option("data/annotations/*.jsonl", "--data", help="Annotation JSONL glob."),
    split: str = typer.Option("test", help="Which split of the annotations to score."),
    write: bool = typer.Option(True, help="Write eval.json / eval.md into the model directory."),
) -> None:
    """Print P/R/F1, PR-AUC, macro-F1, false flags, tone accuracy, evidence F1 and ECE."""
    from tonewatch.classify.api import load_model, resolve_model_path
    from tonewatch.train.evaluate import evaluate_turns, markdown_table, write_report
    from tonewatch.train.gold import read_annotations
    from tonewatch.train.model_card import write_model_card

    with user_errors():
        classifier = load_model(model)
        turns = [
            t
            for path in sorted(glob.glob(data))
            for t in read_annotations(path)
            if t.split == split
        ]
        report = evaluate_turns(classifier, turns)
        report["model"] = classifier.model_id
        report["split"] = split
        typer.echo(markdown_table(report))
        if write:
            directory = resolve_model_path(model)
            out = write_report(report, directory, f"eval-{split}")
            write_model_card(directory)
            typer.echo(f"written {out} and the model card")
