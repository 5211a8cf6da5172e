"""The driver of ``tonewatch score``: plan, retire, score on Dask, commit, summarise.

    summary = run_batch(["archive/"], "scored/", load_config())

1. ``plan.plan_inputs`` cuts the inputs into chunks named by content; chunks already in the
   manifest (with their file) are done, stale ones of these inputs are retired first;
2. the rest go to Dask, a ``LocalCluster`` (one single-threaded worker process per core) or
   the scheduler given (``tcp://host:8786``), through the same ``Client`` code; each task
   (``work.score_chunk``) writes its own chunk file, so rows never travel through the driver;
3. as each task ends the driver appends its manifest line: the commit. A failed chunk is
   reported and left for the next run; a model or config error stops the run.

Kill the driver at any point and run the same command again: it finishes what is missing.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from tonewatch.batch.plan import Chunk, Plan, plan_inputs
from tonewatch.batch.rows import SCHEMA_ID
from tonewatch.batch.sink import (
    SUMMARY,
    Manifest,
    check_settings,
    locked,
    remove_partials,
    write_atomic,
    write_quarantine,
)
from tonewatch.batch.work import ChunkReport, Job, model_identity, peak_rss_mb, score_chunk
from tonewatch.config import Config
from tonewatch.errors import ConfigError, ModelError, TonewatchError

SYNCHRONOUS = "synchronous"
Progress = Callable[[int], Any]  # total -> a tqdm-like bar (update(n), close())


@dataclass
class BatchSummary:
    """What a run did (``messages`` ... ``quarantined``: this run's chunks) and what the
    output folder holds now (``total_*``: every committed chunk, of any run and input)."""

    outdir: str
    model: str
    workers: int
    chunks: int = 0  # in the plan
    scored: int = 0  # scored by this run
    reused: int = 0  # committed by an earlier run, unchanged
    retired: int = 0  # dropped: their input changed or is gone
    failed: list[str] = field(default_factory=list)  # "source (chunk key): error"
    messages: int = 0
    conversations: int = 0
    turns: int = 0
    cached: int = 0  # turns of this run whose text was scored before (cache hits)
    flagged: int = 0
    quarantined: int = 0
    total_messages: int = 0
    total_turns: int = 0
    total_flagged: int = 0
    total_quarantined: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # workers' CPU time on this run's chunks
    driver_rss_mb: float = 0.0
    worker_rss_mb: dict[str, float] = field(default_factory=dict)  # peak per worker process

    @property
    def rate(self) -> float:
        """Messages per second of this run, end to end."""
        return self.messages / self.seconds if self.seconds else 0.0


def _settings(model_id: str, model_digest: str, config: Config) -> dict[str, Any]:
    classify = config.classify.model_dump(exclude={"model", "tier"})
    return {
        "schema": SCHEMA_ID,
        "model": model_id,
        "model_digest": model_digest,
        "ingest": config.ingest.model_dump(mode="json"),
        "classify": classify,
    }


def _workers(requested: int | None, config: Config) -> int:
    count = requested if requested is not None else config.batch.workers
    if count < 0:
        raise ConfigError(f"--workers must be 0 (one per core) or more, got {count}")
    return count or len(os.sched_getaffinity(0))


def _check_limits(config: Config) -> None:
    for key in ("chunk_turns", "chunk_bytes"):
        if getattr(config.batch, key) < 1:
            raise ConfigError(f"[batch] {key} must be at least 1, got {getattr(config.batch, key)}")
    if config.batch.cache_entries < 0:
        raise ConfigError(
            f"[batch] cache_entries must be 0 (no cache) or more, got {config.batch.cache_entries}"
        )


@contextmanager
def _client(scheduler: str, workers: int) -> Iterator[Any]:
    """A Dask client: of the cluster at ``scheduler``, or of a local cluster of ``workers``
    single-threaded processes (one code path for both); None for "synchronous"."""
    if scheduler == SYNCHRONOUS:
        yield None
        return
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler, timeout="30s") as client:
            yield client
        return
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # None still serves /metrics on 8787, and warns when it is taken
        silence_logs=logging.ERROR,
    )
    with cluster, Client(cluster) as client:
        yield client


Outcome = tuple[Chunk, ChunkReport | None, BaseException | None]


def _synchronous(chunks: Sequence[Chunk], job: Job) -> Iterator[Outcome]:
    for chunk in chunks:
        try:
            yield chunk, score_chunk(chunk, job), None
        except (ModelError, ConfigError):
            raise
        except Exception as exc:  # one bad chunk must not end the run
            yield chunk, None, exc


def _on_dask(client: Any, chunks: Sequence[Chunk], job: Job) -> Iterator[Outcome]:
    """Tasks in completion order, with a bounded number in flight (the plan may be long)."""
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]
    slots = 2 * max(1, sum(client.nthreads().values())) + 2
    todo = iter(chunks)
    chunk_of: dict[Any, Chunk] = {}

    def submit(chunk: Chunk) -> Any:
        future = client.submit(
            score_chunk, chunk, job, key=f"score-{chunk.key}-{token}", pure=False
        )
        chunk_of[future] = chunk
        return future

    running = as_completed([submit(chunk) for chunk in islice(todo, slots)])
    try:
        for future in running:
            chunk = chunk_of.pop(future)
            try:
                yield chunk, future.result(), None
            except (ModelError, ConfigError):
                raise
            except Exception as exc:
                yield chunk, None, exc
            following = next(todo, None)
            if following is not None:
                running.add(submit(following))
    finally:
        client.cancel(list(chunk_of))


def _commit(manifest: Manifest, chunk: Chunk, report: ChunkReport) -> dict[str, Any]:
    entry = {
        "event": "commit",
        **chunk.spec(),
        **asdict(report),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    manifest.append(entry)
    return entry


def run_batch(
    paths: Sequence[str | Path],
    outdir: str | Path,
    config: Config,
    *,
    model: str | None = None,
    tier: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> BatchSummary:
    """Score ``paths`` into ``outdir``, resuming whatever an earlier run left undone.

    paths: archives (mbox, Maildir, .eml, chat exports, transcripts) or folders of them.
    config: the loaded configuration ([ingest] staff etc., [classify], [batch]).
    model / tier: the model directory or shipped name, or the tier's default model.
    workers: local worker processes (default [batch] workers; 0: one per core).
    scheduler: a Dask scheduler address, "synchronous" (no Dask), or None/"" for a local
        cluster (default [batch] scheduler).
    progress: called with the number of messages to score; returns a bar to update.
    RETURNS: the run's summary (also written to ``outdir/summary.json``).
    """
    from tonewatch.classify.api import resolve_model_path

    started = time.perf_counter()
    _check_limits(config)
    scheduler = config.batch.scheduler if scheduler is None else scheduler
    n_workers = 1 if scheduler == SYNCHRONOUS else _workers(workers, config)
    tier = tier or config.classify.tier
    model_dir = resolve_model_path(
        model or (config.classify.model if tier == config.classify.tier else None), tier
    ).absolute()
    model_id, model_digest = model_identity(model_dir)
    outdir = Path(outdir).absolute()
    outdir.mkdir(parents=True, exist_ok=True)
    summary = BatchSummary(outdir=str(outdir), model=model_id, workers=n_workers)
    with locked(outdir):
        check_settings(outdir, _settings(model_id, model_digest, config))
        remove_partials(outdir)
        manifest = Manifest(outdir)
        try:
            plan = plan_inputs(paths, config.batch, manifest.entries())
            for key in plan.stale:
                manifest.retire(key)
            summary.retired = len(plan.stale)
            committed = manifest.entries()
            todo = [chunk for chunk in plan.chunks if chunk.key not in committed]
            summary.chunks, summary.reused = len(plan.chunks), len(plan.chunks) - len(todo)
            job = Job(
                outdir=str(outdir),
                model=str(model_dir),
                model_digest=model_digest,
                ingest=config.ingest.model_dump(mode="json"),
                classify=config.classify.model_dump(mode="json"),
                cache_entries=config.batch.cache_entries,
                cache_share=config.batch.cache_share,
            )
            if todo:
                _score(todo, job, scheduler, n_workers, manifest, committed, summary, progress)
        finally:
            manifest.close()
        _finish(plan, committed, summary)
    summary.seconds = time.perf_counter() - started
    summary.driver_rss_mb = peak_rss_mb()
    write_atomic(outdir / SUMMARY, json.dumps(asdict(summary), indent=2) + "\n")
    return summary


def _score(
    todo: list[Chunk],
    job: Job,
    scheduler: str,
    workers: int,
    manifest: Manifest,
    committed: dict[str, dict[str, Any]],
    summary: BatchSummary,
    progress: Progress | None,
) -> None:
    bar = progress(sum(chunk.units for chunk in todo)) if progress else None
    try:
        with _client(scheduler, workers) as client:
            if client is not None:
                summary.workers = len(client.nthreads())
            outcomes = _synchronous(todo, job) if client is None else _on_dask(client, todo, job)
            for chunk, report, error in outcomes:
                if bar is not None:
                    bar.update(chunk.units)
                if report is None:
                    summary.failed.append(f"{chunk.source} (chunk {chunk.key}): {_says(error)}")
                    continue
                committed[chunk.key] = _commit(manifest, chunk, report)
                summary.scored += 1
                summary.messages += report.messages
                summary.conversations += report.conversations
                summary.turns += report.turns
                summary.cached += report.cached
                summary.flagged += report.flagged
                summary.quarantined += len(report.quarantine)
                summary.cpu_seconds += report.cpu_seconds
                worker = summary.worker_rss_mb
                worker[report.worker] = max(worker.get(report.worker, 0.0), report.rss_mb)
    finally:
        if bar is not None:
            bar.close()


def _says(error: BaseException | None) -> str:
    if isinstance(error, TonewatchError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _finish(plan: Plan, committed: dict[str, dict[str, Any]], summary: BatchSummary) -> None:
    """Totals over every chunk the folder holds, and ``quarantine.jsonl`` rebuilt from their
    records (plus the paths of this run that do not exist)."""
    records: list[Any] = list(plan.missing)
    summary.quarantined += len(plan.missing)
    for entry in committed.values():
        summary.total_messages += entry["messages"]
        summary.total_turns += entry["turns"]
        summary.total_flagged += entry["flagged"]
        records += entry["quarantine"]
    summary.total_quarantined = write_quarantine(summary.outdir, records)
