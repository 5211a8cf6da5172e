"""SIGKILL part-way, twice, then resume: exactly the rows of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tonewatch.batch.run import SYNCHRONOUS, run_batch

from .conftest import batch_config, read_rows, write_mbox

CHUNK_TURNS = 6
MESSAGES = 240  # 40 chunks


def committed(outdir: Path) -> int:
    path = outdir / "manifest.jsonl"
    if not path.exists():
        return 0
    return sum(1 for line in path.read_bytes().split(b"\n")[:-1] if b'"commit"' in line)


def manifest_keys(outdir: Path) -> set[str]:
    lines = (outdir / "manifest.jsonl").read_text().splitlines()
    return {json.loads(line)["key"] for line in lines}


def score_command(archive: Path, outdir: Path, model: Path, staff: Path) -> list[str]:
    return [
        sys.executable, "-c", "from tonewatch.cli import main; main()",
        "score", str(archive), "-o", str(outdir), "--model", str(model), "--staff", str(staff),
        "--workers", "2", "--set", f"batch.chunk_turns={CHUNK_TURNS}",
    ]  # fmt: skip


def kill_after(command: list[str], outdir: Path, commits: int, timeout: float = 300) -> int:
    """Start ``command`` in its own process group, SIGKILL the group (driver and Dask
    workers) once ``commits`` chunks are committed; RETURNS the commits seen after."""
    process = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + timeout
    try:
        while committed(outdir) < commits:
            if process.poll() is not None:
                pytest.fail(f"the run ended before it could be killed: {process.stderr.read()!r}")
            if time.monotonic() > deadline:
                pytest.fail("no chunk was committed in time")
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.stderr.close()
        while True:  # every process of the group gone: no worker may still write
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
    return committed(outdir)


@pytest.mark.slow
def test_kill_and_resume_gives_exactly_the_rows_of_an_uninterrupted_run(
    tmp_path, tiny_model, staff_toml
) -> None:
    archive = write_mbox(tmp_path / "support.mbox", 0, MESSAGES)
    config = batch_config(staff_toml, chunk_turns=CHUNK_TURNS)
    reference = tmp_path / "reference"
    whole = run_batch([archive], reference, config, model=str(tiny_model), scheduler=SYNCHRONOUS)
    assert whole.chunks == MESSAGES // CHUNK_TURNS

    outdir = tmp_path / "killed"
    command = score_command(archive, outdir, tiny_model, staff_toml)
    first = kill_after(command, outdir, 1)
    second = kill_after(command, outdir, first + 3)
    assert 1 <= first < second < whole.chunks  # killed part-way, twice

    resumed = run_batch([archive], outdir, config, model=str(tiny_model), scheduler=SYNCHRONOUS)
    assert resumed.reused >= second and resumed.reused + resumed.scored == whole.chunks
    assert not resumed.failed and resumed.total_turns == whole.turns

    expected, got = read_rows(reference), read_rows(outdir)
    assert got.num_rows == expected.num_rows == len(set(got.column("turn_id").to_pylist()))
    for number, (want, have) in enumerate(zip(expected.to_pylist(), got.to_pylist(), strict=True)):
        assert have == want, f"row {number} ({want['turn_id']}) differs"
    assert not list((outdir / "chunks").glob(".*"))  # no partial file left
    assert manifest_keys(outdir) == manifest_keys(reference)
