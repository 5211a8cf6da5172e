"""Scores of texts already scored: archives repeat themselves, so each text is scored once.

    cache = ScoreCache(50_000, Path("scored/cache/3f2a…"))
    results = cache.predict(classifier, turns)   # equal to classifier.predict(turns)

Real archives are full of repeats: one message filed in several folders, mass mailings,
auto-replies, the same one-line answers. A ``TurnResult`` depends on nothing but the model, the
classify settings and the turn's text, language and role, so results are kept by
(text digest, language) in a bounded LRU, one per worker process and per (model digest,
classify settings): ``cache_key`` names that pair and the folder under ``OUTDIR/cache/``.
The role only decides whether flags are reported (``Classifier``: a turn whose role is not in
``score_roles``, staff, is scored but never flagged), so the cache keeps the result of a
flagging role and gives a staff turn the same result without its flags: a text quoted by both
sides is scored once.

With a folder, every process appends what it scores to a log of its own there
(``<host>-<pid>-<random>.jsonl``, one writer per file, so no locks, on any shared file system),
and before each chunk reads what the other logs gained since it last looked. Workers of a run,
on any node, thus share their work, and a resumed or incremental run starts warm. A log cut
short by a kill loses at most its unfinished last line, which readers skip.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from tonewatch.schema import Role, Turn, TurnResult

CACHE = "cache"  # the folder of score logs in an output folder
Key = tuple[bytes, str]


class Predictor(Protocol):
    score_roles: set[str]

    def predict(self, turns: Sequence[Turn]) -> list[TurnResult]: ...


def cache_key(model_digest: str, classify: dict[str, Any]) -> str:
    """The name of what a cached result depends on besides the turn: the model (its meta.json
    digest) and the [classify] settings."""
    text = json.dumps([model_digest, classify], sort_keys=True, ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def text_key(turn: Turn) -> Key:
    # 16 bytes of digest instead of the text: a long body is remembered in a few dozen bytes.
    digest = hashlib.blake2b(turn.text.encode("utf-8", "surrogatepass"), digest_size=16)
    return digest.digest(), turn.lang


class ScoreCache:
    """At most ``entries`` results, least recently used first out; ``directory``: the shared
    log folder (None: this process only). ``hits`` and ``misses`` count turns."""

    def __init__(
        self, entries: int, directory: Path | None = None, *, share_every: int = 16
    ) -> None:
        self.entries = entries
        self.directory = directory
        self.share_every = share_every  # texts scored between two looks at the other logs
        self._salt = secrets.token_bytes(16)  # this process's order of texts to score
        self.hits = self.misses = 0
        self._results: OrderedDict[Key, TurnResult] = OrderedDict()
        self._read_to: dict[str, int] = {}  # other processes' logs: bytes already read
        self._log: Any = None
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            name = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}.jsonl"
            self._own = name  # this process's log: never read back

    def __len__(self) -> int:
        return len(self._results)

    def predict(self, classifier: Predictor, turns: Sequence[Turn]) -> list[TurnResult]:
        """``classifier.predict(turns)``, scoring only the texts not seen before (each once)."""
        if self.entries <= 0:
            return classifier.predict(turns)
        flagging = classifier.score_roles
        # Staff turns are scored as a flagging role's (none flags: every role scores alike).
        as_flagging = next((role for role in Role if role.value in flagging), None)
        keys = [text_key(turn) for turn in turns]
        known: dict[Key, TurnResult] = {}  # this call's results, safe from eviction
        todo: dict[Key, Turn] = {}
        self._known(keys, known)
        for key, turn in zip(keys, turns, strict=True):
            if key not in known and key not in todo:
                todo[key] = (
                    turn
                    if as_flagging is None or turn.role.value in flagging
                    else turn.model_copy(update={"role": as_flagging})
                )
        # Workers given chunks of the same texts would score them in step; each takes them in
        # an order of its own, in small batches published as they are done, and skips what
        # the others published meanwhile.
        pending = sorted(todo, key=lambda key: hashlib.blake2b(key[0], key=self._salt).digest())
        scored = 0
        step = self.share_every if self.directory is not None else len(pending)
        while pending:
            batch, pending = pending[:step], pending[step:]
            fresh = dict(zip(batch, classifier.predict([todo[key] for key in batch]), strict=True))
            scored += len(fresh)
            self.misses += len(fresh)
            known.update(fresh)
            for key, result in fresh.items():
                self._remember(key, result)
            self._write(fresh)
            if pending and self.directory is not None:
                self._known(pending, known)
                pending = [key for key in pending if key not in known]
        self.hits += len(turns) - scored
        results = []
        for key, turn in zip(keys, turns, strict=True):
            result = known[key]
            update: dict[str, Any] = {} if result.id == turn.id else {"id": turn.id}
            if result.flags and turn.role.value not in flagging:
                update["flags"] = ()
            results.append(result.model_copy(update=update) if update else result)
        for key in keys:
            if key in self._results:
                self._results.move_to_end(key)
        return results

    def _known(self, keys: Sequence[Key], known: dict[Key, TurnResult]) -> None:
        """Put the results of ``keys`` this process knows (its own, other logs') in ``known``."""
        self.refresh()
        for key in keys:
            result = self._results.get(key)
            if result is not None:
                known[key] = result

    def _remember(self, key: Key, result: TurnResult) -> None:
        self._results[key] = result
        self._results.move_to_end(key)
        while len(self._results) > self.entries:
            self._results.popitem(last=False)

    def refresh(self) -> None:
        """Take in what the other logs of the folder gained (complete lines only)."""
        if self.directory is None:
            return
        for path in sorted(self.directory.glob("*.jsonl")):
            if path.name == self._own:
                continue
            start = self._read_to.get(path.name, 0)
            try:
                with path.open("rb") as handle:
                    handle.seek(start)
                    data = handle.read()
            except OSError:
                continue  # removed by hand meanwhile: nothing to take
            end = data.rfind(b"\n") + 1  # a line still being written is read next time
            self._read_to[path.name] = start + end
            for line in data[:end].splitlines():
                self._take(line)

    def _take(self, line: bytes) -> None:
        try:
            record = json.loads(line)
            key = (bytes.fromhex(record["k"]), record["lang"])
            result = TurnResult.model_validate(record["r"])
        except (ValueError, KeyError, TypeError):
            return  # the torn tail of a killed writer, or a line edited by hand
        if key not in self._results:
            self._remember(key, result)

    def _write(self, fresh: dict[Key, TurnResult]) -> None:
        if self.directory is None or not fresh:
            return
        lines = [
            json.dumps(
                {"k": key[0].hex(), "lang": key[1], "r": result.to_contract()},
                ensure_ascii=False,
                separators=(",", ":"),
            )
            + "\n"
            for key, result in fresh.items()
        ]
        if self._log is None:
            self._log = (self.directory / self._own).open("a", encoding="utf-8")
        # One write per chunk, flushed: others read whole lines as soon as the chunk is done.
        self._log.write("".join(lines))
        self._log.flush()
