"""The engine scores the same in a child process as on a thread, and survives a dead child."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal

import numpy as np
import pytest

from tonewatch.api.engine import CommentJob, Engine
from tonewatch.classify.pipeline import Classifier, TurnText
from tonewatch.config import default_config

pytestmark = pytest.mark.slow

TURNS = [
    ("If the refund isn't in my account by Friday my lawyer will be in touch.", "en"),
    ("Jesteście bandą oszustów, oddajcie moje pieniądze!", "pl"),
    ("Merci beaucoup, tout fonctionne maintenant.", "fr"),
    ("환불 안 해주면 변호사 선임해서 소송 걸겠습니다.", ""),  # language detected in the worker
]


@pytest.fixture(scope="module")
def engines(classifier: Classifier):
    ingest = default_config().ingest
    local = Engine(classifier, ingest, process=False)
    child = Engine(classifier, ingest, process=True)
    child.warm_up()
    yield local, child
    child.close()
    local.close()


def score(engine: Engine) -> tuple[list[dict], list[CommentJob]]:
    async def main():  # noqa: ANN202
        turns = [TurnText(str(i), text, lang) for i, (text, lang) in enumerate(TURNS)]
        jobs = [CommentJob("Thanks. You are a useless idiot.", "en", spans=True)]
        return await asyncio.gather(engine.score_turns(turns), engine.score_comments(jobs))

    results, comments = asyncio.run(main())
    return [r.to_contract() for r in results], comments


def test_engine_child_process_scores_like_the_thread(engines):
    local, child = engines
    (local_turns, local_comments), (child_turns, child_comments) = score(local), score(child)
    assert child_turns == local_turns
    assert child_turns[3]["lang"] == "ko"
    [a], [b] = local_comments, child_comments
    assert a.spans == b.spans and len(a.spans) == 2
    assert np.allclose(a.flags, b.flags) and np.allclose(a.span_flags, b.span_flags)


def test_engine_replaces_a_dead_model_process(engines):
    _, child = engines
    pid = child.batcher.executor.submit(os.getpid).result()
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(concurrent.futures.BrokenExecutor):
        score(child)
    results, _ = score(child)  # a new model process took over
    assert [r["id"] for r in results] == ["0", "1", "2", "3"]
    assert child.batcher.executor.submit(os.getpid).result() != pid


ORPHAN_SCRIPT = """
import os, sys, time
from tonewatch.api.engine import Engine
from tonewatch.classify.api import load_model
from tonewatch.config import default_config

engine = Engine(load_model(None, tier="fast"), default_config().ingest, process=True)
engine.warm_up()
print(engine.batcher.executor.submit(os.getpid).result(), flush=True)
time.sleep(600)
"""


def test_engine_model_process_exits_when_the_server_is_killed():
    """SIGKILL gives the server no chance to stop its model process: the child notices alone."""
    import subprocess
    import sys
    import time

    server = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True
    )
    try:
        child = int(server.stdout.readline())
    finally:
        server.kill()
        server.wait()
        server.stdout.close()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(child, signal.SIGKILL)
    pytest.fail(f"model process {child} outlived its killed server")
