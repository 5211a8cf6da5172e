"""Micro-batching: concurrent requests share model calls, and every answer goes home."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import httpx
import pytest
from fastapi import FastAPI

from tonewatch.api.batching import MicroBatcher


class SlowDoubler:
    """A real batch function with a fixed cost per call, as a model has."""

    def __init__(self, cost: float = 0.05) -> None:
        self.cost = cost
        self.calls: list[int] = []
        self.threads: set[str] = set()

    def __call__(self, items: list[int]) -> list[int]:
        self.calls.append(len(items))
        self.threads.add(threading.current_thread().name)
        time.sleep(self.cost)
        if -1 in items:
            raise ValueError("negative input")
        return [2 * item for item in items]


def run(coro):  # noqa: ANN001, ANN201 - a coroutine and its result
    return asyncio.run(coro)


def test_batching_concurrent_jobs_share_calls_and_get_their_own_results():
    doubler = SlowDoubler()
    batcher = MicroBatcher({"double": doubler}, max_items=8, max_wait=0.01)

    async def main() -> list[list[int]]:
        jobs = [batcher.submit("double", [k, k + 100]) for k in range(20)]
        return await asyncio.gather(*jobs)

    results = run(main())
    assert results == [[2 * k, 2 * (k + 100)] for k in range(20)]
    assert sum(doubler.calls) == 40
    assert len(doubler.calls) < 10  # 20 requests, far fewer model calls
    assert max(doubler.calls) <= 8
    assert len(doubler.threads) == 1  # the model is only ever called from one thread


def steady_load(max_wait: float) -> list[int]:
    """Eight clients that send again once answered, after a round trip of 1-20 ms."""
    doubler = SlowDoubler(cost=0.03)
    batcher = MicroBatcher({"double": doubler}, max_items=64, max_wait=max_wait)
    rng = random.Random(0)

    async def client(k: int) -> None:
        for i in range(10):
            assert await batcher.submit("double", [k * 100 + i]) == [2 * (k * 100 + i)]
            await asyncio.sleep(rng.uniform(0.001, 0.02))

    async def main() -> None:
        await asyncio.gather(*(client(k) for k in range(8)))

    run(main())
    return doubler.calls[1:-2]  # steady state: after the first batch, before clients finish


def test_batching_steady_clients_fill_whole_batches():
    # Not waiting for the clients whose answers just went out splits them into two cohorts
    # that alternate (batches of 5, 3, 5, 3 ...); waiting for as many as were outstanding
    # keeps batches whole.
    hasty, patient = steady_load(max_wait=0.0), steady_load(max_wait=0.05)
    assert sum(hasty) / len(hasty) < 6, hasty
    assert sum(patient) / len(patient) >= 7.5, patient


def test_batching_a_lone_request_is_not_delayed():
    batcher = MicroBatcher({"double": SlowDoubler(cost=0.0)}, max_items=64, max_wait=0.5)

    async def main() -> float:
        start = time.perf_counter()
        assert await batcher.submit("double", [1]) == [2]
        return time.perf_counter() - start

    assert run(main()) < 0.2


def test_batching_a_failing_job_fails_alone():
    doubler = SlowDoubler(cost=0.02)
    batcher = MicroBatcher({"double": doubler}, max_items=16, max_wait=0.01)

    async def main() -> list[object]:
        jobs = [batcher.submit("double", [k]) for k in (1, 2, -1, 3, 4)]
        return await asyncio.gather(*jobs, return_exceptions=True)

    results = run(main())
    assert results[:2] == [[2], [4]] and results[3:] == [[6], [8]]
    assert isinstance(results[2], ValueError)


def test_batching_oversized_job_runs_alone_and_kinds_stay_apart():
    doubler, tripler = SlowDoubler(cost=0.01), SlowDoubler(cost=0.01)
    batcher = MicroBatcher({"double": doubler, "other": tripler}, max_items=4)

    async def main() -> list[list[int]]:
        return await asyncio.gather(
            batcher.submit("double", list(range(10))),
            batcher.submit("other", [5]),
            batcher.submit("double", [7]),
        )

    big, other, small = run(main())
    assert big == [2 * k for k in range(10)] and other == [10] and small == [14]
    assert 10 in doubler.calls and tripler.calls == [1]


@pytest.mark.slow
def test_batching_concurrent_http_requests_match_sequential_ones(app: FastAPI, api_key: str):
    texts = [
        "If the refund isn't in my account by Friday my lawyer will be in touch.",
        "You are a useless idiot, put someone competent on the phone.",
        "Thanks, that solved it!",
        "Fix it today or I'm posting 1-star reviews on every site I can find.",
    ] * 6

    async def main() -> tuple[list[dict], list[dict], int]:
        transport = httpx.ASGITransport(app=app)
        headers = {"X-API-Key": api_key}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api", headers=headers
        ) as client:

            async def one(i: int, text: str) -> dict:
                response = await client.post(
                    "/v1/score", json={"turns": [{"id": str(i), "text": text, "lang": "en"}]}
                )
                assert response.status_code == 200, response.text
                return response.json()["results"][0]

            sequential = [await one(i, t) for i, t in enumerate(texts)]
            before = app.state.tonewatch.engine.batcher.batches
            concurrent = await asyncio.gather(*(one(i, t) for i, t in enumerate(texts)))
            calls = app.state.tonewatch.engine.batcher.batches - before
        return sequential, list(concurrent), calls

    sequential, concurrent, calls = run(main())
    assert concurrent == sequential
    assert calls < len(texts)
