"""``--scheduler tcp://…``: a real Dask cluster (``dask scheduler`` + ``dask worker`` processes
on loopback) scores the same rows as one process, through the same code path."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client

from tonewatch.batch.run import SYNCHRONOUS, run_batch

from .conftest import batch_config, read_rows, write_mbox


def _dask(*args: str) -> list[str]:
    """The ``dask`` command of this environment."""
    return [str(Path(sys.executable).with_name("dask")), *args]


@pytest.fixture
def cluster(tmp_path) -> Iterator[str]:
    """A scheduler and two single-threaded workers; yields the scheduler's address."""
    info = tmp_path / "scheduler.json"
    logs = (tmp_path / "scheduler.log").open("w"), (tmp_path / "worker.log").open("w")
    scheduler = subprocess.Popen(
        _dask("scheduler", "--port", "0", "--no-dashboard", "--scheduler-file", str(info)),
        stdout=logs[0], stderr=subprocess.STDOUT,
    )  # fmt: skip
    worker = None
    try:
        deadline = time.monotonic() + 120
        while not info.exists() or not info.read_text().strip():
            if time.monotonic() > deadline or scheduler.poll() is not None:
                log = (tmp_path / "scheduler.log").read_text()
                pytest.fail(f"dask scheduler did not start: {log}")
            time.sleep(0.2)
        worker = subprocess.Popen(
            _dask("worker", "--scheduler-file", str(info), "--nworkers", "2", "--nthreads", "1",
                  "--no-dashboard", "--local-directory", str(tmp_path / "dask")),
            stdout=logs[1], stderr=subprocess.STDOUT,
        )  # fmt: skip
        yield json.loads(info.read_text())["address"]
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for log in logs:
            log.close()


@pytest.mark.slow
def test_cluster_scheduler_address_scores_the_rows_of_one_process(
    cluster, tmp_path, tiny_model, staff_toml
) -> None:
    mbox = write_mbox(tmp_path / "support.mbox", 0, 40)
    config = batch_config(staff_toml)
    with Client(cluster, timeout="60s") as client:
        client.wait_for_workers(2, timeout=120)
    remote = run_batch([mbox], tmp_path / "remote", config, model=str(tiny_model),
                       scheduler=cluster)  # fmt: skip
    alone = run_batch([mbox], tmp_path / "alone", config, model=str(tiny_model),
                      scheduler=SYNCHRONOUS)  # fmt: skip
    assert remote.workers == 2 and not remote.failed and remote.scored == alone.scored == 5
    assert read_rows(tmp_path / "remote").equals(read_rows(tmp_path / "alone"))
