"""Commits are atomic, the manifest survives a torn line, settings and the lock hold."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tonewatch.batch.sink import (
    Manifest,
    check_settings,
    chunk_path,
    locked,
    remove_partials,
    write_chunk,
    write_quarantine,
)
from tonewatch.errors import ConfigError
from tonewatch.schema import Location, QuarantineRecord


def commit(outdir, manifest: Manifest, key: str, **counts) -> None:
    write_chunk(outdir, key, pa.table({"turn_id": [f"{key}-t"]}))
    manifest.append({"event": "commit", "key": key, **counts})


def test_sink_chunk_is_written_whole_under_its_key(tmp_path) -> None:
    path = write_chunk(tmp_path, "abc", pa.table({"turn_id": ["t1", "t2"]}))
    assert path == chunk_path(tmp_path, "abc") == tmp_path / "chunks" / "abc.parquet"
    assert pq.read_table(path).column("turn_id").to_pylist() == ["t1", "t2"]
    assert [p.name for p in (tmp_path / "chunks").iterdir()] == ["abc.parquet"]


def test_sink_failed_write_leaves_nothing_behind(tmp_path) -> None:
    with pytest.raises(Exception):  # noqa: B017 - whatever pyarrow raises for a non-table
        write_chunk(tmp_path, "abc", object())
    assert list((tmp_path / "chunks").iterdir()) == []


def test_sink_manifest_keeps_committed_chunks_with_a_file(tmp_path) -> None:
    manifest = Manifest(tmp_path)
    commit(tmp_path, manifest, "a", turns=1)
    commit(tmp_path, manifest, "b", turns=2)
    manifest.append({"event": "commit", "key": "ghost", "turns": 3})  # file never written
    assert list(manifest.entries()) == ["a", "b"]
    manifest.retire("a")
    assert list(manifest.entries()) == ["b"] and not chunk_path(tmp_path, "a").exists()
    manifest.close()


def test_sink_torn_manifest_line_is_ignored_then_cut(tmp_path) -> None:
    manifest = Manifest(tmp_path)
    commit(tmp_path, manifest, "a", turns=1)
    manifest.close()
    with (tmp_path / "manifest.jsonl").open("a") as handle:
        handle.write('{"event": "commit", "key": "b", "tu')  # killed mid-write
    write_chunk(tmp_path, "b", pa.table({"turn_id": ["x"]}))
    assert list(Manifest(tmp_path).entries()) == ["a"]  # b was never acknowledged
    again = Manifest(tmp_path)
    commit(tmp_path, again, "b", turns=1)
    again.close()
    lines = (tmp_path / "manifest.jsonl").read_text().splitlines()
    assert [json.loads(line)["key"] for line in lines] == ["a", "b"]


def test_sink_partials_of_killed_runs_are_removed(tmp_path) -> None:
    (tmp_path / "chunks").mkdir()
    (tmp_path / "chunks" / ".abc.1234.partial").write_bytes(b"PAR1 half")
    write_chunk(tmp_path, "done", pa.table({"turn_id": ["x"]}))
    assert remove_partials(tmp_path) == 1
    assert [p.name for p in (tmp_path / "chunks").iterdir()] == ["done.parquet"]


def test_sink_settings_of_a_folder_cannot_change(tmp_path) -> None:
    settings = {"model": "tonewatch-base@1.0.0", "ingest": {"staff_domains": []}}
    check_settings(tmp_path, settings)
    check_settings(tmp_path, settings)  # the same again: fine
    other = {**settings, "model": "tonewatch-fast@1.0.0"}
    with pytest.raises(ConfigError, match="tonewatch-base@1.0.0.*tonewatch-fast@1.0.0"):
        check_settings(tmp_path, other)


def test_sink_one_run_per_folder(tmp_path) -> None:
    busy = pytest.raises(ConfigError, match="another `tonewatch score` run")
    with locked(tmp_path), busy, locked(tmp_path):
        pass
    with locked(tmp_path):  # released
        pass


def test_sink_quarantine_file_lists_records(tmp_path) -> None:
    record = QuarantineRecord(
        location=Location(path="a.mbox", item=4), code="I003", message="no header"
    )
    assert write_quarantine(tmp_path, [record, record.model_dump(mode="json")]) == 2
    lines = (tmp_path / "quarantine.jsonl").read_text().splitlines()
    assert [QuarantineRecord.model_validate_json(line) for line in lines] == [record, record]
