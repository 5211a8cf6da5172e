"""``tonewatch ingest``: support archives in, conversations (JSON Lines or Parquet) out."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum
from pathlib import Path

import typer

from tonewatch.cli import app
from tonewatch.cli._common import ConfigOption, SetOption, config_from, echo_summary, user_errors

SHOW_QUARANTINED = 10


class OutputFormat(StrEnum):
    jsonl = "jsonl"
    parquet = "parquet"


def _counts(counter: Counter[str], limit: int = 10) -> str:
    return ", ".join(f"{key} {count}" for key, count in counter.most_common(limit)) or "-"


@app.command("ingest")
def ingest_cli(
    paths: list[Path] = typer.Argument(
        ...,
        help="Files or folders to read (walked recursively): mbox, .eml, Maildir, chat "
        "JSON/JSONL/CSV, WhatsApp .txt, WebVTT, SRT, speaker-text and ASR JSON transcripts. "
        "The format is sniffed from the content.",
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Where to write the conversations (.jsonl or .parquet)."
    ),
    format: OutputFormat = typer.Option(
        None, "--format", "-f", help="Output format; default: from the output's suffix."
    ),
    staff: Path = typer.Option(
        None,
        "--staff",
        exists=True,
        dir_okay=False,
        help="TOML naming the staff ([ingest] staff_addresses / staff_domains / staff_names); "
        "added to those of the config. Everyone else is a client.",
    ),
    quarantine: Path = typer.Option(
        None,
        "--quarantine",
        "-q",
        help="JSON Lines of the inputs that could not be read; "
        "default: <output stem>.quarantine.jsonl.",
    ),
    workers: int = typer.Option(
        0,
        "--workers",
        "-j",
        min=0,
        help="Processes to use: large mboxes are parsed and conversations finished in "
        "parallel, with the same output. 0: one per CPU; 1: everything in this process.",
    ),
    config: Path = ConfigOption,
    overrides: list[str] = SetOption,
) -> None:
    """Read support archives into conversations of speaker-attributed turns.

    Emails are threaded, chats grouped and calls split into turns; every turn gets a role
    (client / agent / unknown, from the staff list), a language and its source location, and
    every conversation a client key that groups one client across channels and files.
    Unreadable parts are quarantined and listed; the run goes on. Exit status 1 only when
    nothing could be read or the output cannot be written.
    """
    from tqdm import tqdm

    from tonewatch.ingest.parallel import default_workers
    from tonewatch.ingest.pipeline import IngestStats, ingest_to_file
    from tonewatch.ingest.roles import with_staff

    with user_errors():
        cfg = config_from(config, overrides).ingest
        if staff is not None:
            cfg = with_staff(cfg, staff)
        reading = tqdm(desc="reading", unit=" item", disable=None, leave=False)
        writing = tqdm(desc="writing", unit=" conv", disable=None, leave=False)

        def on_progress(stats: IngestStats, path: Path | None) -> None:
            reading.n = stats.fragments
            reading.set_postfix_str(path.name if path else "", refresh=True)

        try:
            result = ingest_to_file(
                paths,
                output,
                cfg,
                format=format.value if format else None,
                quarantine=quarantine,
                keep_quarantined=SHOW_QUARANTINED,
                on_progress=on_progress,
                on_conversation=lambda _: writing.update(),
                workers=workers or default_workers(),
            )
        except OSError as exc:
            typer.secho(
                f"error: cannot write {exc.filename or output}: {exc.strerror or exc}",
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(1) from exc
        finally:
            reading.close()
            writing.close()

    stats = result.stats
    typer.echo(f"ingested {stats.conversations} conversations -> {result.output}")
    echo_summary(
        "summary:",
        {
            "inputs": f"{stats.inputs} (read {stats.read}: {_counts(stats.readers)})",
            "items read": f"{stats.fragments} (email messages, chats, calls)",
            "conversations": stats.conversations,
            "turns": f"{stats.turns} ({_counts(stats.roles)})",
            "languages": _counts(stats.languages),
            "quarantined": f"{stats.quarantined} ({_counts(stats.codes)}) -> {result.quarantine}"
            if stats.quarantined
            else "0",
        },
    )
    if stats.turns and not stats.roles.get("agent"):
        typer.echo(
            "note: no turn was attributed to staff; name them with --staff staff.toml "
            "([ingest] staff_addresses / staff_domains / staff_names)"
        )
    if stats.quarantined:
        shown = result.first_quarantined
        typer.echo(f"quarantined (first {len(shown)} of {stats.quarantined}; the run went on):")
        for record in shown:
            typer.echo(f"  {record}")
    if stats.conversations == 0:
        typer.secho("error: nothing could be read from the inputs", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
