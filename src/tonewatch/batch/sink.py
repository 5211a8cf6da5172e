"""The output folder of ``tonewatch score``: chunk files, manifest, quarantine, settings.

    OUTDIR/
      chunks/<key>.parquet   one per input chunk: its scored turns (``rows.ROW_SCHEMA``)
      manifest.jsonl         one line per committed (or retired) chunk, with its counts and
                             quarantine records
      quarantine.jsonl       every input part that could not be read (rebuilt at each run)
      batch.json             the model and settings the folder was scored with
      summary.json           the last run's summary

A chunk is committed in two steps, each safe to interrupt. A worker writes
``chunks/.<key>.<random>.partial``, fsyncs it and renames it to ``<key>.parquet`` (atomic),
then fsyncs the folder; the driver then appends the chunk's manifest line and fsyncs. Killed
between the two, the file is complete and a rerun writes the same file over it. The chunk's
key is its content, so no run ever writes a chunk twice under two names, and the manifest's
torn last line (a kill mid-write) is dropped on the next open. Readers of the folder take
``chunks/*.parquet`` (pyarrow and DuckDB skip the dot-files) and never see half a chunk.
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from tonewatch.errors import ConfigError, DataError
from tonewatch.schema import QuarantineRecord

CHUNKS = "chunks"
MANIFEST = "manifest.jsonl"
QUARANTINE = "quarantine.jsonl"
SETTINGS = "batch.json"
SUMMARY = "summary.json"
LOCK = ".lock"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def chunk_path(outdir: str | Path, key: str) -> Path:
    return Path(outdir) / CHUNKS / f"{key}.parquet"


def write_chunk(outdir: str | Path, key: str, table: Any) -> Path:
    """Write a chunk's table as ``chunks/<key>.parquet``, atomically (temp file, fsync,
    rename, fsync of the folder)."""
    import pyarrow.parquet as pq

    final = chunk_path(outdir, key)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(f".{key}.{uuid.uuid4().hex[:8]}.partial")
    try:
        with partial.open("wb") as handle:
            pq.write_table(table, handle, compression="zstd")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _fsync_dir(final.parent)
    return final


def write_atomic(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
    with partial.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    _fsync_dir(path.parent)


def _repair_tail(path: Path) -> None:
    """Cut a torn last line (the process died mid-write) so the next append starts clean."""
    with path.open("rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        handle.seek(max(0, size - 1))
        if handle.read(1) == b"\n":
            return
        block = 1 << 16
        end = size
        while end > 0:
            start = max(0, end - block)
            handle.seek(start)
            data = handle.read(end - start)
            cut = data.rfind(b"\n")
            if cut >= 0:
                handle.truncate(start + cut + 1)
                return
            end = start
        handle.truncate(0)


class Manifest:
    """The append-only record of committed and retired chunks (``manifest.jsonl``).

    Lines are ``{"event": "commit", "key": ..., <chunk spec>, <counts>, "quarantine": [...]}``
    or ``{"event": "retire", "key": ...}``; the last line about a key wins. Only the driver
    writes it, one fsynced line per event.
    """

    def __init__(self, outdir: str | Path) -> None:
        self.outdir = Path(outdir)
        self.path = self.outdir / MANIFEST
        self._handle: IO[str] | None = None

    def entries(self) -> dict[str, dict[str, Any]]:
        """Committed chunks by key whose file is still there, in commit order."""
        if not self.path.exists():
            return {}
        entries: dict[str, dict[str, Any]] = {}
        with self.path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.endswith("\n"):
                    break  # torn by a kill mid-write: never acknowledged
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{self.path}:{number}: damaged manifest line ({exc})") from exc
                if record.get("event") == "retire":
                    entries.pop(record["key"], None)
                else:
                    entries.pop(record["key"], None)  # recommitted: move to the end
                    entries[record["key"]] = record
        return {
            key: entry for key, entry in entries.items() if chunk_path(self.outdir, key).exists()
        }

    def _open(self) -> IO[str]:
        if self._handle is None:
            if self.path.exists():
                _repair_tail(self.path)
            self._handle = self.path.open("a", encoding="utf-8")
        return self._handle

    def append(self, record: dict[str, Any]) -> None:
        handle = self._open()
        handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        handle.flush()
        os.fsync(handle.fileno())

    def retire(self, key: str) -> None:
        """Drop a chunk whose input changed: its file first, so a reader never sees it next
        to the chunk that replaces it."""
        chunk_path(self.outdir, key).unlink(missing_ok=True)
        self.append({"event": "retire", "key": key})

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def write_quarantine(
    outdir: str | Path, records: Iterable[QuarantineRecord | dict[str, Any]]
) -> int:
    """Rewrite ``quarantine.jsonl`` (atomically); RETURNS how many records it holds."""
    lines = []
    for record in records:
        if isinstance(record, QuarantineRecord):
            lines.append(record.model_dump_json())
        else:
            lines.append(json.dumps(record, ensure_ascii=False))
    write_atomic(Path(outdir) / QUARANTINE, "".join(line + "\n" for line in lines))
    return len(lines)


def check_settings(outdir: str | Path, settings: dict[str, Any]) -> None:
    """Record what the folder is scored with, or refuse settings that differ from those its
    chunks were scored with (rows of two models or two staff lists must not mix)."""
    path = Path(outdir) / SETTINGS
    if not path.exists():
        write_atomic(path, json.dumps(settings, indent=2, ensure_ascii=False) + "\n")
        return
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: unreadable ({exc}); remove it to start the folder anew") from exc
    changed = sorted(
        key for key in set(known) | set(settings) if known.get(key) != settings.get(key)
    )
    if changed:
        detail = "; ".join(f"{key}: {known.get(key)!r} -> {settings.get(key)!r}" for key in changed)
        raise ConfigError(
            f"{outdir} was scored with other settings ({detail}). Score into a new output "
            "folder, or delete this one to rescore everything"
        )


@contextmanager
def locked(outdir: str | Path) -> Iterator[None]:
    """Hold the folder's lock: one run at a time per output folder (released at exit, also
    when the process is killed)."""
    path = Path(outdir) / LOCK
    with path.open("a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise ConfigError(
                f"{outdir} is being written by another `tonewatch score` run; wait for it "
                "or choose another output folder"
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def remove_partials(outdir: str | Path) -> int:
    """Delete temporary chunk files left by killed runs; RETURNS how many."""
    folder = Path(outdir) / CHUNKS
    removed = 0
    for partial in folder.glob(".*.partial") if folder.is_dir() else ():
        partial.unlink(missing_ok=True)
        removed += 1
    return removed
