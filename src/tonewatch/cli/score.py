"""``tonewatch score``: batch-score whole archives into Parquet, resumably, on Dask."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from tonewatch.cli import app
from tonewatch.cli._common import ConfigOption, SetOption, config_from, echo_summary, user_errors

SHOW_FAILED = 10


class Tier(StrEnum):
    default = "default"
    fast = "fast"


@app.command("score")
def score_cli(
    archives: list[Path] = typer.Argument(
        ...,
        help="Archives to score: mbox, Maildir, .eml, chat exports, call transcripts, or "
        "folders of them (walked recursively; formats sniffed from the content).",
    ),
    outdir: Path = typer.Option(
        ...,
        "--output",
        "-o",
        help="Output folder: chunks/*.parquet (one row per turn), manifest.jsonl, "
        "quarantine.jsonl, summary.json. Rerun into the same folder to resume or to score "
        "what an archive gained since.",
    ),
    model: str = typer.Option(None, "--model", "-m", help="Model directory or shipped name."),
    tier: Tier = typer.Option(
        None, "--tier", help="default (encoder + heads) or fast (n-grams, several times faster)."
    ),
    workers: int = typer.Option(
        None,
        "--workers",
        "-w",
        help="Local worker processes, each with the model loaded once (default \\[batch] "
        "workers; 0: one per core).",
    ),
    scheduler: str = typer.Option(
        None,
        "--scheduler",
        help="Dask scheduler to score on, e.g. tcp://10.0.0.5:8786 (workers started with "
        "`dask worker`; archives, model and OUTDIR at the same paths on every node); "
        "'synchronous' scores in this process without Dask.",
    ),
    staff: Path = typer.Option(
        None,
        "--staff",
        exists=True,
        dir_okay=False,
        help="TOML naming the staff (\\[ingest] staff_addresses / staff_domains / staff_names).",
    ),
    config: Path = ConfigOption,
    overrides: list[str] = SetOption,
) -> None:
    """Score every turn of whole archives: tone, the 12 red flags with evidence, per turn.

    Archives are cut into chunks named by their content and scored in parallel on Dask (a
    local cluster, one process per core, unless --scheduler names one). Each chunk is
    committed atomically, so a run killed at any moment resumes where it stopped when run
    again, without losing or repeating a turn; an archive that has grown costs only its new
    messages. Unreadable parts go to OUTDIR/quarantine.jsonl and the run goes on. Exit
    status 1 when a chunk failed (rerun to retry it) or nothing could be read.
    """
    from tqdm import tqdm

    from tonewatch.batch.run import run_batch
    from tonewatch.ingest.roles import with_staff

    with user_errors():
        cfg = config_from(config, overrides)
        if staff is not None:
            cfg = cfg.model_copy(update={"ingest": with_staff(cfg.ingest, staff)})
        summary = run_batch(
            archives,
            outdir,
            cfg,
            model=model,
            tier=tier.value if tier else None,
            workers=workers,
            scheduler=scheduler,
            progress=lambda total: tqdm(
                total=total, unit=" msg", desc="scoring", disable=None, leave=False, smoothing=0.1
            ),
        )

    rows: dict[str, object] = {
        "chunks": f"{summary.scored} scored, {summary.reused} unchanged since an earlier run"
        + (f", {summary.retired} retired (input changed)" if summary.retired else "")
        + (f", {len(summary.failed)} FAILED" if summary.failed else ""),
        "messages": summary.messages,
        "turns": f"{summary.turns} ({summary.cached} of them repeats, answered from the cache)"
        if summary.cached
        else summary.turns,
        "flagged": f"{summary.flagged} turns",
        "quarantined": summary.quarantined,
        "rate": f"{summary.rate:,.0f} messages/s ({summary.seconds:.1f} s, "
        f"{summary.workers} worker{'s' if summary.workers != 1 else ''})",
        "model": summary.model,
        "folder holds": f"{summary.total_turns} turns ({summary.total_flagged} flagged) of "
        f"{summary.total_messages} messages; {summary.total_quarantined} quarantined",
    }
    echo_summary(f"scored -> {summary.outdir}", rows)
    if summary.total_quarantined:
        typer.echo(f"quarantined parts are listed in {Path(summary.outdir) / 'quarantine.jsonl'}")
    if summary.failed:
        typer.secho(
            f"{len(summary.failed)} chunk(s) failed; run the same command again to retry them:",
            fg=typer.colors.RED,
            err=True,
        )
        for line in summary.failed[:SHOW_FAILED]:
            typer.echo(f"  {line}", err=True)
        raise typer.Exit(1)
    if not summary.total_turns:
        typer.secho("error: nothing could be read from the archives", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
