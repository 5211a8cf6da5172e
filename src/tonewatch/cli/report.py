"""``tonewatch report``: per-client pattern reports (clients.json, HTML pages, summary.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from tonewatch.cli import app
from tonewatch.cli._common import ConfigOption, SetOption, config_from, echo_summary, user_errors


@app.command("report")
def report_cli(
    paths: list[Path] = typer.Argument(
        ...,
        help="Archives to report on: mbox/.eml/Maildir, chat exports, call transcripts, or "
        "folders of them; also `tonewatch ingest` output files.",
    ),
    out: Path = typer.Option(
        Path("reports"), "--out", "-o", help="Directory for clients.json, index.html, pages."
    ),
    staff: Path = typer.Option(
        None,
        "--staff",
        help="Staff TOML (\\[ingest] staff_addresses, staff_domains, staff_names): who is staff.",
    ),
    model: str = typer.Option(None, "--model", "-m", help="Model directory or shipped name."),
    from_results: Path = typer.Option(
        None,
        "--from-results",
        help="Stored turn results (`tonewatch classify` JSONL or batch-scoring Parquet): "
        "report without rescoring; PATHs give the conversations.",
    ),
    as_of: datetime = typer.Option(
        None,
        "--as-of",
        help="Measure open silences up to this moment (default: the latest message).",
    ),
    config: Path = ConfigOption,
    overrides: list[str] = SetOption,
) -> None:
    """Rank clients by risk: incident vs pattern per family of red flags, weekly trend,
    behavioural signals (attention demand, unresponsiveness, after-hours pressure), with the
    evidence turns. Open OUT/index.html in a browser; no server needed."""
    from tqdm import tqdm

    from tonewatch.report.pipeline import run_report

    with user_errors():
        if as_of is not None and as_of.tzinfo is None:
            as_of = as_of.astimezone()  # a bare date or time is the local one
        run = run_report(
            paths,
            out,
            config_from(config, overrides),
            model=model,
            staff=staff,
            from_results=from_results,
            as_of=as_of,
            progress=lambda pairs: tqdm(pairs, unit="conv", disable=None, leave=False),
        )
        rows: dict[str, object] = {
            "clients": run.clients,
            "conversations": run.conversations,
            "client turns": run.client_turns,
            "model": run.model,
            "seconds": f"{run.seconds:.1f}",
        }
        if run.unscored_turns:
            rows["turns without a result"] = run.unscored_turns
        if run.unmatched_results:
            rows["results matching no turn"] = run.unmatched_results
        if run.quarantined:
            rows["quarantined inputs"] = f"{run.quarantined} (see {out / 'quarantine.jsonl'})"
        echo_summary(f"report -> {run.files.index}", rows)
