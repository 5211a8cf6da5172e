"""Stored turn results, joined back to their conversations, so a report needs no rescoring.

Results come from ``tonewatch classify`` (JSON Lines, one TurnResult contract per line) or
from batch scoring (``tonewatch score``: its output folder, or one Parquet file, one row per
turn). Conversations come from ``tonewatch ingest`` output (JSON Lines or Parquet, read by
``tonewatch.io``) or from the archives themselves, re-ingested (cheap next to
classification). The two are joined by turn id.

The join streams: results are read ahead only until the turn asked for is found, so when
both files are in the same order (classify and batch keep the ingest order) memory stays
flat; in any other order it degrades to an index of the results read so far.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tonewatch.errors import DataError
from tonewatch.schema import LABELS, TONES, Conversation, TurnResult

PARQUET_MAGIC = b"PAR1"


def _open_check(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(4096)
    except OSError as exc:
        raise DataError(f"{path}: cannot read stored results ({exc.strerror})") from exc


def read_results(path: str | Path) -> Iterator[TurnResult]:
    """Stream the TurnResults of a classify JSONL, a batch-scoring Parquet file, or a
    ``tonewatch score`` output folder (its chunks in input order)."""
    path = Path(path)
    if path.is_dir():
        from tonewatch.batch.output import read_turn_results

        yield from read_turn_results(path)
        return
    head = _open_check(path)
    if head.startswith(PARQUET_MAGIC):
        yield from _parquet_results(path)
        return
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield TurnResult.model_validate_json(line)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "line"
                raise DataError(
                    f"{path}:{line_no}: not a turn result ({where}: {first['msg']}); expected "
                    "the output of `tonewatch classify` or `tonewatch score`"
                ) from exc


def _parquet_results(path: Path) -> Iterator[TurnResult]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise DataError(f"{path}: unreadable Parquet ({exc})") from exc
    row_no = 0
    for batch in parquet.iter_batches(batch_size=4096):
        for row in batch.to_pylist():
            row_no += 1
            try:
                yield result_from_row(row)
            except (KeyError, TypeError, ValueError, ValidationError) as exc:
                raise DataError(f"{path}: row {row_no}: not a turn result ({exc})") from exc


def _json(value: Any) -> Any:
    """A JSON-encoded object or list decoded; anything else (a plain label) as it is."""
    if isinstance(value, str | bytes) and value.lstrip()[:1] in ("{", "[", b"{", b"["):
        return json.loads(value)
    return value


def _mapping(value: Any) -> dict[str, Any] | None:
    """A dict from a struct, a JSON string or a Parquet map (list of key/value pairs)."""
    value = _json(value)
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {k: v for k, v in value}
    return None


def result_from_row(row: dict[str, Any]) -> TurnResult:
    """A TurnResult from one Parquet row, whichever of the usual layouts it has.

    Accepted: the TurnResult contract as columns (``id``, ``lang``, ``tone`` struct,
    ``scores`` struct or map, ``flags`` list, ``model``), a ``result`` JSON column, or a flat
    row (``turn_id``, ``language``, ``tone`` label with ``tone_level``/``tone_scores``, one
    score column per label, named ``LABEL`` or ``score_LABEL``, ``flags`` as JSON, ``model_id``).
    """
    if row.get("result") is not None:
        return TurnResult.model_validate(_json(row["result"]))
    turn_id = next(row[k] for k in ("id", "turn_id", "turn") if row.get(k) is not None)
    tone = _mapping(row.get("tone"))
    if tone is None:
        label = str(row["tone"])
        tone = {
            "label": label,
            "level": row.get("tone_level", TONES.index(label)),
            "scores": _mapping(row.get("tone_scores")) or {label: 1.0},
        }
    scores = _mapping(row.get("scores"))
    if scores is None:
        scores = {
            label: next(row[k] for k in (label, f"score_{label}") if row.get(k) is not None)
            for label in LABELS
        }
    return TurnResult(
        id=str(turn_id),
        lang=row.get("lang") or row.get("language") or "und",
        tone=tone,
        scores=scores,
        flags=_json(row.get("flags")) or (),
        model=row.get("model") or row.get("model_id") or "unknown",
    )


def is_conversations_file(path: Path) -> bool:
    """Whether ``path`` is ``tonewatch ingest`` output (not a chat export to ingest)."""
    if not path.is_file():
        return False
    head = _open_check(path)
    if head.startswith(PARQUET_MAGIC):
        import pyarrow.parquet as pq

        names = set(pq.read_schema(path).names)
        return {"turns", "client_key", "channel"} <= names
    first = next((line for line in head.decode("utf-8", "replace").splitlines() if line), "")
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        # The first line may be longer than the head: decide on its opening keys.
        return first.lstrip().startswith('{"id"') and '"client_key"' in first
    return isinstance(record, dict) and {"turns", "client_key", "channel"} <= set(record)


class ResultJoin:
    """Hand out each conversation's TurnResults from one pass over a results stream.

    ``ordered=True`` reads the stream alongside the conversations: results of the current
    conversation are consumed, results met while looking for a missing one are set aside
    (at most ``window`` of them), so in-order input needs no memory. ``ordered=False``
    indexes every result first (any order; memory grows with the results). ``missing``
    counts client turns left without a result, ``dropped`` results evicted from the window.
    """

    def __init__(
        self, results: Iterable[TurnResult], *, ordered: bool = True, window: int = 50_000
    ) -> None:
        self._results = iter(results)
        self._peeked: TurnResult | None = None
        self._pending: dict[str, TurnResult] = {}
        if not ordered:
            self._pending = {r.id: r for r in self._results}
        self.window = window
        self.matched = self.missing = self.dropped = 0

    def _next(self) -> TurnResult | None:
        if self._peeked is not None:
            result, self._peeked = self._peeked, None
            return result
        return next(self._results, None)

    def take(self, conversation: Conversation) -> list[TurnResult]:
        ids = {t.id for t in conversation.turns}
        wanted = [t.id for t in conversation.turns if t.role.value == "client"]
        found = {i: self._pending.pop(i) for i in wanted if i in self._pending}
        for turn_id in ids.difference(wanted):
            self._pending.pop(turn_id, None)  # a staff turn's result: not needed
        while (result := self._next()) is not None:
            if result.id in ids:
                if result.id in wanted:
                    found[result.id] = result
            elif len(found) == len(wanted):
                self._peeked = result  # the next conversation's: leave it there
                break
            else:
                self._set_aside(result)
        self.matched += len(found)
        self.missing += len(wanted) - len(found)
        return [found[i] for i in wanted if i in found]

    def _set_aside(self, result: TurnResult) -> None:
        self._pending[result.id] = result
        if len(self._pending) > self.window:
            del self._pending[next(iter(self._pending))]
            self.dropped += 1

    def unmatched(self) -> int:
        """Results that matched no client turn (reads the stream to its end)."""
        rest = sum(1 for _ in self._results) + (self._peeked is not None)
        self._peeked = None
        return len(self._pending) + rest + self.dropped


def join_results(
    conversations: Iterable[Conversation], join: ResultJoin
) -> Iterator[tuple[Conversation, list[TurnResult]]]:
    """(conversation, its client turns' results) pairs; a client turn without a result is
    left unscored (the report counts it apart)."""
    for conversation in conversations:
        yield conversation, join.take(conversation)
