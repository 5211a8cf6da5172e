"""Score one chunk: ingest it, classify every turn, write its Parquet file.

``score_chunk`` runs in a Dask worker (or in the driver with ``--scheduler synchronous``). It
is a pure function of the chunk's content and the job's settings, so running it twice writes
the same rows under the same name. The model, like the language detector, is loaded once per
process and scores with one BLAS thread: the workers
are the parallelism, and one thread keeps every worker's arithmetic, hence its scores, the same.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import resource
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tonewatch.batch.cache import CACHE, ScoreCache, cache_key
from tonewatch.batch.plan import Chunk, chunk_digest
from tonewatch.batch.rows import rows_table, turn_rows
from tonewatch.batch.sink import write_chunk
from tonewatch.batch.sources import ChunkIngest
from tonewatch.config import ClassifyConfig, IngestConfig
from tonewatch.errors import DataError, ModelError
from tonewatch.schema import QuarantineRecord


@dataclass(frozen=True)
class Job:
    """What every chunk of a run shares (small: it travels with each task).

    outdir: the output folder (the same path on every node).
    model: the model directory, absolute; model_digest: its meta.json's digest when the run
        started (``model_identity``).
    ingest / classify: the ``[ingest]`` and ``[classify]`` sections, as plain dicts.
    cache_entries: texts each worker remembers the results of (0: none); cache_share: the
        workers share them through ``OUTDIR/cache/`` (``batch.cache``).
    """

    outdir: str
    model: str
    model_digest: str
    ingest: dict[str, Any]
    classify: dict[str, Any]
    cache_entries: int = 0
    cache_share: bool = False


@dataclass
class ChunkReport:
    """What a worker sends back: counts and quarantine records (the rows stay on disk)."""

    key: str
    messages: int = 0  # items read: email messages, chat conversations, calls
    conversations: int = 0
    turns: int = 0
    cached: int = 0  # turns whose text was scored before (results from the cache)
    flagged: int = 0
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # the worker's CPU time on the chunk (contention-proof cost)
    worker: str = ""
    rss_mb: float = 0.0  # the worker process's peak RSS so far


@functools.cache
def _ingest_config(frozen: str) -> IngestConfig:
    return IngestConfig.model_validate_json(frozen)


def model_identity(path: str | Path) -> tuple[str, str]:
    """The model id (``name@version``, as ``RedFlagModel.model_id``) and a digest of its
    meta.json (thresholds, training hashes), read without loading the weights."""
    try:
        raw = (Path(path) / "meta.json").read_bytes()
        meta = json.loads(raw)
        return f"{meta['name']}@{meta['version']}", hashlib.blake2b(raw, digest_size=8).hexdigest()
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{path}: not a readable tonewatch model ({exc})") from exc


@functools.lru_cache(maxsize=1)
def _classifier(model: str, digest: str, classify: str) -> Any:
    """The run's classifier, loaded once per worker process. Keyed by the model's digest, so a
    long-lived cluster worker reloads a model retrained under the same path; refused when the
    model on disk is no longer the one the run started with."""
    from tonewatch.classify.model import RedFlagModel
    from tonewatch.classify.pipeline import Classifier

    if model_identity(model)[1] != digest:
        raise ModelError(
            f"{model} changed on disk since this run started (meta.json differs); run "
            "`tonewatch score` again once the model is in place"
        )
    config = ClassifyConfig.model_validate_json(classify)
    loaded = RedFlagModel.load(
        model, window_chars=config.window_chars, window_overlap=config.window_overlap
    )
    return Classifier(
        loaded,
        score_roles=config.score_roles,
        batch_size=config.batch_size,
        word_evidence_labels=config.word_evidence_labels,
    )


@functools.lru_cache(maxsize=1)
def _score_cache(entries: int, settings: str, directory: str) -> ScoreCache:
    """The process's score cache for one model and settings (``cache_key``) and one shared
    folder ("": none); another run's replaces it, so a stale result is never served."""
    return ScoreCache(entries, Path(directory) if directory else None)


def job_cache(job: Job) -> ScoreCache:
    settings = cache_key(job.model_digest, job.classify)
    directory = str(Path(job.outdir, CACHE, settings)) if job.cache_share else ""
    return _score_cache(job.cache_entries, settings, directory)


def peak_rss_mb() -> float:
    """This process's peak resident set size, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def score_chunk(chunk: Chunk, job: Job) -> ChunkReport:
    """Ingest, classify and write one chunk; RETURNS its counts.

    Raises DataError when the chunk's input changed since it was planned (the run must be
    planned again), ModelError when the model cannot be loaded.
    """
    from threadpoolctl import threadpool_limits

    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        digest = chunk_digest(chunk)
    except OSError as exc:
        digest = f"unreadable: {exc}"
    if digest != chunk.digest:
        raise DataError(
            f"{chunk.source}: changed since the run was planned (chunk {chunk.key}); run "
            "`tonewatch score` again to plan it anew"
        )
    classifier = _classifier(job.model, job.model_digest, json.dumps(job.classify))
    quarantined: list[QuarantineRecord] = []
    ingest = ChunkIngest(
        chunk,
        _ingest_config(json.dumps(job.ingest, sort_keys=True)),
        on_quarantine=quarantined.append,
    )
    with threadpool_limits(limits=1):
        conversations = list(ingest.conversations())
        turns = [turn for conversation in conversations for turn in conversation.turns]
        cache = job_cache(job)
        hits = cache.hits
        results = cache.predict(classifier, turns) if turns else []
    rows = turn_rows(conversations, results, chunk.key)
    write_chunk(job.outdir, chunk.key, rows_table(rows))
    return ChunkReport(
        key=chunk.key,
        messages=ingest.stats.fragments,
        conversations=len(conversations),
        turns=len(rows),
        cached=cache.hits - hits,
        flagged=sum(row["flagged"] for row in rows),
        quarantine=[record.model_dump(mode="json") for record in quarantined],
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu_started,
        worker=f"{socket.gethostname()}:{os.getpid()}",
        rss_mb=peak_rss_mb(),
    )
