"""What the routes call: one loaded classifier, language ID and the micro-batcher around them.

Two kinds of batched work go to the model:

- ``turns``:    TurnText -> TurnResult (the classify contract, with evidence)
- ``comments``: CommentJob -> CommentScores (raw flag and tone probabilities of a comment and,
  when span annotations are asked for, of each of its sentences; no evidence search)

The model runs either on one thread of the server process or, with ``process=True`` (what
``tonewatch api`` does), in one child process. Scoring is CPU-bound Python: on a thread it holds
the GIL, and the event loop then accepts requests only between the model's GIL switches, so
batches stay small under load. In its own process the model never slows the HTTP side.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from tonewatch.api.batching import MicroBatcher
from tonewatch.classify.pipeline import Classifier, TurnText
from tonewatch.classify.segment import sentences
from tonewatch.config import IngestConfig
from tonewatch.ingest.langid import UND, LanguageIdentifier
from tonewatch.schema import LABELS, TONES, TurnResult


@dataclass
class CommentJob:
    text: str
    lang: str
    spans: bool = False


@dataclass
class CommentScores:
    flags: np.ndarray  # (12,) flag probabilities, LABELS order
    tone: np.ndarray  # (4,) tone probabilities, TONES order
    spans: list[tuple[int, int]] = field(default_factory=list)  # sentence (start, end)
    span_flags: np.ndarray = field(default_factory=lambda: np.zeros((0, len(LABELS))))
    span_tone: np.ndarray = field(default_factory=lambda: np.zeros((0, len(TONES))))


class ModelWorker:
    """The batch functions, wherever the model lives."""

    def __init__(self, classifier: Classifier, identifier: LanguageIdentifier) -> None:
        self.classifier = classifier
        self.identifier = identifier

    def warm_up(self) -> None:
        """Build the lazily loaded parts (fastText, the encoder, one spaCy pipeline per
        language: seconds each) before serving, not in a user's first request."""
        self.identifier("Thank you, the invoice looks right now.")
        for lang in [*sorted(self.identifier.languages), UND]:
            sentences("Warm up. Twice.", lang)
        self.turns([TurnText("warm-up", "You are useless, fix it now!", "en")])

    def turns(self, items: list[TurnText]) -> list[TurnResult]:
        for item in items:
            if not item.lang:
                item.lang = self.identifier(item.text).lang
        return self.classifier.predict(items)

    def comments(self, jobs: list[CommentJob]) -> list[CommentScores]:
        texts, langs = [], []
        spans_of: list[list[tuple[int, int]]] = []
        for job in jobs:
            texts.append(job.text)
            langs.append(job.lang)
            spans = sentences(job.text, job.lang or UND) if job.spans else []
            spans_of.append(spans)
            if len(spans) > 1:  # one sentence: its span score is the summary score
                texts += [job.text[s:e] for s, e in spans]
                langs += [job.lang] * len(spans)
        flags, tone = self.classifier.model.predict_scores(texts, langs)
        blank = np.array([not t.strip() for t in texts])
        flags[blank] = 0.0  # nothing said, nothing to flag (as Classifier does)
        out, cursor = [], 0
        for spans in spans_of:
            result = CommentScores(flags[cursor], tone[cursor], spans)
            if len(spans) > 1:
                rows = slice(cursor + 1, cursor + 1 + len(spans))
                result.span_flags, result.span_tone = flags[rows], tone[rows]
            elif spans:
                result.span_flags = flags[cursor : cursor + 1]
                result.span_tone = tone[cursor : cursor + 1]
            cursor += 1 + (len(spans) if len(spans) > 1 else 0)
            out.append(result)
        return out


# -- the child process's side -----------------------------------------------------------

_WORKER: ModelWorker | None = None


def _exit_with_parent(parent: int, interval: float = 1.0) -> None:
    """A server killed with SIGKILL cannot stop its model process, which would live on as an
    orphan holding the model's memory: leave as soon as the parent is gone."""
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(0)


def _start_child(classifier: Classifier, ingest: IngestConfig, parent: int) -> None:
    global _WORKER
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    _WORKER = ModelWorker(classifier, LanguageIdentifier.from_config(ingest))
    _WORKER.warm_up()


def _in_child(kind: str, items: list[object]) -> list[object]:
    assert _WORKER is not None, "model process not initialised"
    return getattr(_WORKER, kind)(items)  # type: ignore[no-any-return]


class Engine:
    def __init__(
        self,
        classifier: Classifier,
        ingest: IngestConfig,
        *,
        max_batch: int = 64,
        max_wait: float = 0.004,
        process: bool = False,
    ) -> None:
        self.classifier = classifier
        self.identifier = LanguageIdentifier.from_config(ingest)  # Perspective: asked per request
        self.languages = sorted(self.identifier.languages)
        self.ingest = ingest
        self.process = process
        self.local = ModelWorker(classifier, self.identifier)
        if process:
            functions = {kind: partial(_in_child, kind) for kind in ("turns", "comments")}
        else:
            functions = {"turns": self.local.turns, "comments": self.local.comments}
        self.closed = False
        self.batcher = MicroBatcher(
            functions,
            self._executor(),
            max_items=max_batch,
            max_wait=max_wait,
            on_broken=self._restart if process else None,
        )

    def _executor(self) -> concurrent.futures.Executor:
        if not self.process:
            return concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tw-model")
        # spawn, not fork: the parent may already run threads (uvicorn, fastText).
        return concurrent.futures.ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_child,
            initargs=(self.classifier, self.ingest, os.getpid()),
        )

    def _restart(self) -> None:
        """The model process died (killed, out of memory): start a new one."""
        self.batcher.executor.shutdown(wait=False, cancel_futures=True)
        self.batcher.executor = self._executor()

    @property
    def model_id(self) -> str:
        return self.classifier.model_id

    def detect(self, text: str) -> str:
        return self.identifier(text).lang

    def warm_up(self) -> None:
        if self.process:
            # Starts the child (it loads and warms the model) and waits until it answers.
            self.batcher.executor.submit(_in_child, "turns", []).result()
            self.identifier("Thank you, the invoice looks right now.")
        else:
            self.local.warm_up()

    async def score_turns(self, items: Sequence[TurnText]) -> list[TurnResult]:
        return await self.batcher.submit("turns", items)

    async def score_comments(self, jobs: Sequence[CommentJob]) -> list[CommentScores]:
        return await self.batcher.submit("comments", jobs)

    def start(self) -> None:
        """Serve again after ``close`` (an app's lifespan can run more than once in tests)."""
        if self.closed:
            self.batcher.executor = self._executor()
            self.closed = False

    def close(self) -> None:
        self.batcher.executor.shutdown(wait=False, cancel_futures=True)
        self.closed = True
