"""``tonewatch evaluate``: a model on the project's test split, per label and language, or on
public benchmarks, each with its own metric (``--data germeval2018`` or ``--data public``)."""

from __future__ import annotations

import glob
from pathlib import Path

import typer

from tonewatch.cli import app
from tonewatch.cli._common import user_errors


@app.command("evaluate")
def evaluate_cli(
    model: str = typer.Argument(..., help="Model directory (e.g. models/tonewatch-base)."),
    data: str = typer.Option(
        "data/annotations/*.jsonl",
        "--data",
        help="Annotation JSONL glob (the project's split); or a public benchmark name such as "
        "germeval2018, kocohub, davidson, told_br (comma-separated for several); or 'public' "
        "for every benchmark.",
    ),
    split: str = typer.Option("test", help="Which split of the annotations to score."),
    write: bool = typer.Option(True, help="Write eval.json / eval.md into the model directory."),
    datasets: Path = typer.Option(
        Path("../shared/datasets"), help="Folder of the public corpora (for benchmarks)."
    ),
    max_turns: int = typer.Option(
        1000, help="Benchmarks: score a seeded sample of at most this many test turns."
    ),
    cache_dir: Path = typer.Option(
        Path(".cache/embeddings"), help="Benchmarks: shared sentence-embedding cache."
    ),
    doc: Path | None = typer.Option(
        None,
        help="Benchmarks: also write the public-test-set page (e.g. docs/benchmarks.md) from "
        "the model's public-eval.json.",
    ),
) -> None:
    """Print P/R/F1, PR-AUC, macro-F1, false flags, tone accuracy, evidence F1 and ECE; with a
    benchmark name, that corpus's own metric beside the best published figure."""
    from tonewatch.classify.api import load_model, resolve_model_path
    from tonewatch.errors import DataError
    from tonewatch.train.evaluate import evaluate_turns, markdown_table, write_report
    from tonewatch.train.gold import read_annotations
    from tonewatch.train.model_card import write_model_card
    from tonewatch.train.public_eval import BENCHMARKS

    names = list(BENCHMARKS) if data == "public" else data.split(",")
    with user_errors():
        if all(name in BENCHMARKS for name in names):
            _benchmarks(model, names, datasets, max_turns, cache_dir, write, doc)
            return
        if doc is not None:
            raise DataError("--doc writes the public benchmark page: use it with --data public")
        paths = sorted(glob.glob(data))
        if not paths:
            raise DataError(
                f"--data {data!r} matches no annotation file and is not a benchmark; "
                f"benchmarks: {', '.join(BENCHMARKS)} or 'public'"
            )
        classifier = load_model(model)
        turns = [t for path in paths for t in read_annotations(path) if t.split == split]
        report = evaluate_turns(classifier, turns)
        report["model"] = classifier.model_id
        report["split"] = split
        typer.echo(markdown_table(report))
        if write:
            from tonewatch.train.error_analysis import collect_errors, write_errors

            directory = resolve_model_path(model)
            out = write_report(report, directory, f"eval-{split}")
            write_errors(collect_errors(classifier.model, turns, cache_dir=cache_dir), directory)
            write_model_card(directory)
            typer.echo(f"written {out}, errors.json and the model card")


def _benchmarks(
    model: str,
    names: list[str],
    datasets: Path,
    max_turns: int,
    cache_dir: Path,
    write: bool,
    doc: Path | None,
) -> None:
    import os
    import time
    from datetime import UTC, datetime

    from tonewatch.classify.api import resolve_model_path
    from tonewatch.classify.model import RedFlagModel
    from tonewatch.errors import DataError
    from tonewatch.train.benchmark_doc import write_benchmarks_page
    from tonewatch.train.model_card import write_model_card
    from tonewatch.train.public_eval import markdown_table, run_benchmarks, write_results

    if doc is not None and not write:
        raise DataError("--doc renders the saved public-eval.json: drop --no-write")
    directory = resolve_model_path(model)
    load, started = os.getloadavg()[0], time.monotonic()
    loaded = RedFlagModel.load(directory)
    results = run_benchmarks(
        names, loaded, datasets, max_turns=max_turns, cache_dir=cache_dir, log=typer.echo
    )
    seconds = time.monotonic() - started
    typer.echo(markdown_table(results))
    typer.echo(f"{len(names)} benchmarks in {seconds:.0f} s (load average {load:.2f} before)")
    if write:
        out = write_results(results, directory)
        write_model_card(directory)
        typer.echo(f"written {out} and the model card")
    if doc is not None:
        run = {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "max_turns": max_turns,
            "seconds": seconds,
            "cpus": os.cpu_count(),
            "load": load,
        }
        # From the saved file: every benchmark measured on this training, not only this run's.
        typer.echo(f"written {write_benchmarks_page(directory, doc, run)}")
