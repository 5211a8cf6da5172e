"""Write a report directory: clients.json, index.html, clients/<slug>.html, summary.md.

    reports/
      clients.json       machine-readable, the shape of issue #6 (ClientReport per client)
      index.html         clients ranked by risk
      clients/*.html     one page per client: explanation, timeline, families, evidence
      summary.md         the ranking and the clients to act on, for a ticket or a chat
      quarantine.jsonl   inputs that could not be read (only when there were any)

Pages are static files: open index.html from disk, no server and no network needed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tonewatch.aggregate import ClientDetail
from tonewatch.aggregate.risk import band
from tonewatch.report.html import client_slug, environment
from tonewatch.report.plots import timeline_svg
from tonewatch.schema import FAMILY_OF, TAXONOMY_VERSION, QuarantineRecord

PARALLEL_PAGES = 300  # below this, starting worker processes costs more than it saves


@dataclass(frozen=True, slots=True)
class ReportFiles:
    directory: Path
    clients_json: Path
    index: Path
    summary: Path
    pages: int


def clients_document(
    details: Sequence[ClientDetail], *, model: str, generated_at: datetime
) -> dict[str, Any]:
    """The clients.json object."""
    return {
        "taxonomy_version": TAXONOMY_VERSION,
        "model": model,
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "clients": [d.report.model_dump(mode="json") for d in details],
    }


def _row(detail: ClientDetail) -> dict[str, Any]:
    report = detail.report
    arrows = {"rising": " ↑", "falling": " ↓"}
    return {
        "report": report,
        "detail": detail,
        "slug": client_slug(report.client),
        "band": band(report.risk),
        "patterns": [f + arrows.get(s.trend, "") for f, s in report.families.items() if s.pattern],
        "signals": [n.replace("_", " ") for n, s in report.signals.items() if s.flagged],
        "act": report.verdict != "none" or any(s.flagged for s in report.signals.values()),
    }


def write_report(
    details: Sequence[ClientDetail],
    out_dir: str | Path,
    *,
    model: str = "",
    conversations: int | None = None,
    generated_at: datetime | None = None,
    quarantined: Iterable[QuarantineRecord] = (),
    workers: int | None = None,
) -> ReportFiles:
    """Write every file of the report into ``out_dir`` (created; existing pages replaced).

    details: from ``Aggregator.details()``, highest risk first.
    model: the model id the turn results came from.
    conversations: for the headline (default: summed over clients).
    workers: processes drawing the client pages (default: one per core, when there are at
        least ``PARALLEL_PAGES`` clients; drawing the plots is most of the writing time).
    RETURNS: the paths written.
    """
    out = Path(out_dir)
    pages = out / "clients"
    pages.mkdir(parents=True, exist_ok=True)
    generated_at = generated_at or datetime.now(UTC)
    quarantined = list(quarantined)
    rows = [_row(d) for d in details]
    verdicts = {
        v: sum(r["report"].verdict == v for r in rows) for v in ("pattern", "incident", "none")
    }
    run = {
        "clients": len(rows),
        "conversations": conversations
        if conversations is not None
        else sum(d.conversations for d in details),
        "model": model,
        "taxonomy_version": TAXONOMY_VERSION,
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "verdicts": verdicts,
        "quarantined": len(quarantined),
    }
    clients_json = out / "clients.json"
    _write_json(clients_json, clients_document(details, model=model, generated_at=generated_at))

    _write_pages(rows, run, pages, workers)
    env = environment()
    index = out / "index.html"
    index.write_text(env.get_template("index.html").render(rows=rows, run=run), encoding="utf-8")
    summary = out / "summary.md"
    summary.write_text(env.get_template("summary.md").render(rows=rows, run=run), encoding="utf-8")
    if quarantined:
        with (out / "quarantine.jsonl").open("w", encoding="utf-8") as handle:
            for record in quarantined:
                handle.write(record.model_dump_json() + "\n")
    return ReportFiles(out, clients_json, index, summary, len(rows))


def _write_json(path: Path, document: dict[str, Any]) -> None:
    """clients.json with one client per line: readable and diffable, and written by the C
    encoder (``indent`` would switch json to its pure-Python encoder, ~10x slower)."""
    head = {k: v for k, v in document.items() if k != "clients"}
    with path.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "clients": [\n')
        handle.write(",\n".join(json.dumps(c, ensure_ascii=False) for c in document["clients"]))
        handle.write("\n]}\n")


def _write_pages(
    rows: list[dict[str, Any]], run: dict[str, Any], pages: Path, workers: int | None
) -> None:
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if len(rows) >= PARALLEL_PAGES else 1
    details = [row["detail"] for row in rows]
    if workers <= 1 or len(rows) < 2:
        _render_pages(details, run, pages)
        return
    # "spawn": a fresh interpreter per worker, safe whatever threads the parent runs.
    chunks = [details[k::workers] for k in range(workers)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        list(pool.map(_render_pages, chunks, [run] * workers, [pages] * workers))


def _render_pages(details: list[ClientDetail], run: dict[str, Any], pages: Path) -> None:
    template = environment().get_template("client.html")
    for detail in details:
        row = _row(detail)
        (pages / f"{row['slug']}.html").write_text(_client_page(template, row, run), "utf-8")


def _client_page(template: Any, row: dict[str, Any], run: dict[str, Any]) -> str:
    from markupsafe import Markup

    detail: ClientDetail = row["detail"]
    report = detail.report
    cited: dict[tuple[str, str], list] = {}
    for ref in report.evidence:
        cited.setdefault((ref.conversation, ref.turn), []).append(ref)
    return template.render(
        detail=detail,
        band=row["band"],
        run=run,
        # The SVG is built from dates and counts only, never from message text.
        svg=Markup(timeline_svg(detail.weeks)),
        flagged=[(label, n) for label, n in report.flags.items() if n],
        cited=cited,
        family_of=FAMILY_OF,
    )
