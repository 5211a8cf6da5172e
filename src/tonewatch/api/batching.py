"""Micro-batching: the turns of concurrent requests are scored in one model call.

A model call has a large fixed cost (feature extraction, thirteen heads, spaCy set-up) that a
batch shares, so under load one call for eight requests is far cheaper than eight calls. One
worker task takes every job already queued (up to ``max_items`` turns) and runs them in a single
call on the model thread; while that call runs, new requests queue up and form the next batch.
A lone request is therefore never delayed. Only when several requests were outstanding at
once (concurrency is real) does the worker wait, at most ``max_wait`` seconds, for that many
(see ``_gather``).

The model runs on a one-worker executor (a thread, or a child process: see ``engine``): never
from two threads at once, never on the event loop. If a batch fails, its jobs are retried one
by one so a bad input fails only its request. If the executor itself breaks (the model process
died), ``on_broken`` may replace it; the jobs of that batch fail.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

BatchFn = Callable[[list[Any]], list[Any]]


@dataclass
class _Job:
    kind: str
    items: Sequence[Any]
    future: asyncio.Future[list[Any]] = field(repr=False)


class MicroBatcher:
    """``await submit(kind, items)`` -> ``functions[kind](items)``, batched with others."""

    def __init__(
        self,
        functions: dict[str, BatchFn],
        executor: concurrent.futures.Executor | None = None,
        *,
        max_items: int = 64,
        max_wait: float = 0.004,
        on_broken: Callable[[], None] | None = None,
    ) -> None:
        self.functions = functions
        self.executor = executor or concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="tw-model"
        )
        self.max_items = max_items
        self.max_wait = max_wait
        self.on_broken = on_broken
        self.batches = 0
        self.items = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task[None] | None = None
        self._held: _Job | None = None
        self._outstanding = 0  # submitted, not yet answered
        self._peak = 0  # most outstanding at once since the current batch was formed

    @property
    def pending(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    def _ensure_worker(self) -> asyncio.Queue[_Job]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._task is None or self._task.done():
            # A new event loop (tests run one per request): queues are bound to their loop.
            self._loop, self._queue, self._held = loop, asyncio.Queue(), None
            self._task = loop.create_task(self._work(self._queue), name="tw-micro-batcher")
        assert self._queue is not None
        return self._queue

    async def submit(self, kind: str, items: Sequence[Any]) -> list[Any]:
        if not items:
            return []
        if kind not in self.functions:
            raise KeyError(f"unknown batch kind {kind!r}")
        queue = self._ensure_worker()
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        queue.put_nowait(_Job(kind, items, future))
        self._outstanding += 1
        self._peak = max(self._peak, self._outstanding)
        try:
            return await future
        finally:
            self._outstanding -= 1

    async def close(self) -> None:
        task, loop = self._task, self._loop
        if task is not None and not task.done() and loop is not None:
            if loop is asyncio.get_running_loop():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            elif not loop.is_closed():
                loop.call_soon_threadsafe(task.cancel)
        self._task = None

    async def _work(self, queue: asyncio.Queue[_Job]) -> None:
        while True:
            first = self._held or await queue.get()
            self._held = None
            jobs = await self._gather(queue, first)
            for kind in dict.fromkeys(job.kind for job in jobs):
                await self._run(kind, [job for job in jobs if job.kind == kind])

    async def _gather(self, queue: asyncio.Queue[_Job], first: _Job) -> list[_Job]:
        jobs, size = [first], len(first.items)
        loop = asyncio.get_running_loop()
        # Callers whose answers just went out are about to send again. Without waiting for
        # them, steady load splits the callers into two cohorts that alternate, each filling
        # half a batch. So wait (at most max_wait) until the batch holds as many requests as
        # were outstanding at once since the last batch started: the concurrency actually seen.
        target, self._peak = self._peak, self._outstanding
        deadline = loop.time() + self.max_wait
        while size < self.max_items:
            try:
                job = queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if len(jobs) >= target or remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(queue.get(), remaining)
                except TimeoutError:
                    break
            if size + len(job.items) > self.max_items:
                self._held = job  # starts the next batch
                break
            jobs.append(job)
            size += len(job.items)
        return jobs

    async def _run(self, kind: str, jobs: list[_Job]) -> None:
        loop = asyncio.get_running_loop()
        function = self.functions[kind]
        items = [item for job in jobs for item in job.items]
        try:
            results = await loop.run_in_executor(self.executor, function, items)
        except concurrent.futures.BrokenExecutor as exc:
            if self.on_broken is not None:
                self.on_broken()
            for job in jobs:
                _settle(job.future, exc=exc)
            return
        except Exception as exc:
            if len(jobs) == 1:
                _settle(jobs[0].future, exc=exc)
                return
            for job in jobs:  # isolate the failing request
                await self._run(kind, [job])
            return
        self.batches += 1
        self.items += len(items)
        start = 0
        for job in jobs:
            _settle(job.future, results[start : start + len(job.items)])
            start += len(job.items)


def _settle(
    future: asyncio.Future[list[Any]],
    result: list[Any] | None = None,
    exc: BaseException | None = None,
) -> None:
    if future.done():  # the client went away
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result or [])
