"""Put scored conversations into the store (idempotently) and rank clients.

``load_pairs`` writes (Conversation, TurnResults) pairs in batches. Each conversation carries
a digest of its input: the same conversation with the same results is skipped, a changed one
is updated in place. An update replaces the model's output but never a human decision: flags
that a reviewer confirmed, rejected, relabelled or added stay as they are.

``recompute_clients`` folds every stored conversation through the aggregate stage, with the
reviewers' decisions applied, and writes each client's risk, verdict and report. It runs after
every load (the cohort-relative signals need all clients) and from the admin page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from tonewatch.aggregate import Aggregator, ClientDetail
from tonewatch.config import AggregateConfig
from tonewatch.schema import Conversation, QuarantineRecord, TurnResult
from tonewatch.serve.store import convert
from tonewatch.serve.store import models as m
from tonewatch.serve.store.db import to_utc, utcnow

Pair = tuple[Conversation, Sequence[TurnResult]]
DUPLICATE_TURN = "S001"  # a turn id that another stored conversation already uses
BATCH = 200  # conversations per transaction


@dataclass
class LoadStats:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    turns: int = 0
    flags: int = 0
    models: set[str] = field(default_factory=set)
    quarantine: list[QuarantineRecord] = field(default_factory=list)


def _batches(pairs: Iterable[Pair], size: int) -> Iterator[list[Pair]]:
    iterator = iter(pairs)
    while batch := list(islice(iterator, size)):
        yield batch


def _client_ids(session: Session, pairs: list[Pair], cache: dict[str, int]) -> None:
    wanted = {c.client_key for c, _ in pairs} - cache.keys()
    if not wanted:
        return
    rows = session.execute(select(m.Client.key, m.Client.id).where(m.Client.key.in_(wanted)))
    cache.update(dict(rows.tuples().all()))
    for key in sorted(wanted - cache.keys()):
        client = m.Client(key=key, name=key, summary={}, report={}, detail={})
        session.add(client)
        session.flush()
        cache[key] = client.id


def load_pairs(
    session: Session,
    pairs: Iterable[Pair],
    *,
    on_batch: Callable[[LoadStats], None] | None = None,
) -> LoadStats:
    """Store every pair; RETURNS what was added, updated and left unchanged."""
    stats = LoadStats()
    clients: dict[str, int] = {}
    for batch in _batches(pairs, BATCH):
        _client_ids(session, batch, clients)
        keys = [c.id for c, _ in batch]
        existing = {
            key: (cid, dig)
            for key, cid, dig in session.execute(
                select(m.Conversation.key, m.Conversation.id, m.Conversation.digest).where(
                    m.Conversation.key.in_(keys)
                )
            )
        }
        fresh: list[tuple[Pair, str]] = []
        for conversation, results in batch:
            key = convert.digest(conversation, results)
            stats.models.update(r.model for r in results)
            if conversation.id not in existing:
                fresh.append(((conversation, results), key))
            elif existing[conversation.id][1] == key:
                stats.unchanged += 1
            else:
                _update(session, existing[conversation.id][0], conversation, results, key, clients)
                stats.updated += 1
        _insert(session, _without_duplicates(session, fresh, stats), clients, stats)
        session.commit()
        if on_batch:
            on_batch(stats)
    return stats


def _without_duplicates(
    session: Session, fresh: list[tuple[Pair, str]], stats: LoadStats
) -> list[tuple[Pair, str]]:
    """New conversations whose turn ids are new too; the others go to quarantine."""
    wanted = [t.id for (c, _), _ in fresh for t in c.turns]
    taken = (
        set(session.scalars(select(m.Turn.key).where(m.Turn.key.in_(wanted)))) if wanted else set()
    )
    kept = []
    for item in fresh:
        conversation = item[0][0]
        ids = [t.id for t in conversation.turns]
        clash = next((i for i in ids if i in taken), None)
        if clash is None and len(set(ids)) == len(ids):
            taken.update(ids)
            kept.append(item)
            continue
        stats.quarantine.append(
            QuarantineRecord(
                location=conversation.source,
                code=DUPLICATE_TURN,
                message=f"conversation {conversation.id}: turn id {clash or 'repeated'} "
                "is already used by another conversation; not loaded",
            )
        )
    return kept


def _insert(
    session: Session, fresh: list[tuple[Pair, str]], clients: dict[str, int], stats: LoadStats
) -> None:
    if not fresh:
        return
    rows = [convert.conversation_row(c, r, clients[c.client_key], key) for (c, r), key in fresh]
    ids = session.scalars(
        insert(m.Conversation).returning(m.Conversation.id, sort_by_parameter_order=True), rows
    ).all()
    turn_rows, results = [], []
    for ((conversation, found), _), conversation_id in zip(fresh, ids, strict=True):
        by_id = {r.id: r for r in found}
        client_id = clients[conversation.client_key]
        for position, turn in enumerate(conversation.turns):
            result = by_id.get(turn.id)
            turn_rows.append(
                convert.turn_row(conversation, position, turn, result, conversation_id, client_id)
            )
            results.append(result)
    turn_ids = session.scalars(
        insert(m.Turn).returning(m.Turn.id, sort_by_parameter_order=True), turn_rows
    ).all()
    flags = [
        row
        for turn_row, turn_id, result in zip(turn_rows, turn_ids, results, strict=True)
        if result is not None
        for row in convert.flag_rows(turn_row, turn_id, result)
    ]
    if flags:
        session.execute(insert(m.Flag), flags)
    stats.added += len(fresh)
    stats.turns += len(turn_rows)
    stats.flags += len(flags)


def _update(
    session: Session,
    conversation_id: int,
    conversation: Conversation,
    results: Sequence[TurnResult],
    key: str,
    clients: dict[str, int],
) -> None:
    """Replace the model's output of a stored conversation, keeping every reviewed flag."""
    client_id = clients[conversation.client_key]
    row = convert.conversation_row(conversation, results, client_id, key)
    session.execute(update(m.Conversation).where(m.Conversation.id == conversation_id).values(row))
    stored = {
        t.key: t
        for t in session.scalars(select(m.Turn).where(m.Turn.conversation_id == conversation_id))
    }
    by_id = {r.id: r for r in results}
    for position, turn in enumerate(conversation.turns):
        result = by_id.get(turn.id)
        values = convert.turn_row(conversation, position, turn, result, conversation_id, client_id)
        if turn.id in stored:
            turn_id = stored.pop(turn.id).id
            session.execute(update(m.Turn).where(m.Turn.id == turn_id).values(values))
        else:
            turn_id = session.scalars(insert(m.Turn).returning(m.Turn.id), [values]).one()
        _refresh_flags(session, turn_id, values, result)
    for gone in stored.values():  # turns no longer in the conversation
        reviewed = session.scalar(select(m.Review.id).where(m.Review.turn_id == gone.id).limit(1))
        if reviewed is None:
            session.execute(delete(m.Flag).where(m.Flag.turn_id == gone.id))
            session.delete(gone)


def _refresh_flags(session: Session, turn_id: int, values: dict, result: TurnResult | None) -> None:
    """New model flags for a stored turn. Open flags follow the model; a reviewed flag keeps
    its decision (a label the reviewer relabelled away is not flagged again)."""
    stored = list(session.scalars(select(m.Flag).where(m.Flag.turn_id == turn_id)))
    by_label = {f.label: f for f in stored}
    by_model = {f.model_label: f for f in stored if f.model_label}
    matched: set[int] = set()
    fresh = []
    for new in result.flags if result else ():
        label = new.label.value
        flag = by_model.get(label) or by_label.get(label)
        if flag is None:
            fresh.append(label)
            continue
        matched.add(flag.id)
        flag.score, flag.model_label = new.score, label
        if flag.status == "open":
            flag.evidence = [[e.start, e.end] for e in new.evidence]
    for flag in stored:
        if flag.id not in matched and flag.status == "open":
            session.delete(flag)
            continue
        # A reviewed flag stays; spans the (rare) new text no longer holds are dropped.
        flag.evidence = [list(s) for s in convert.valid_spans(values["text"], flag.evidence)]
        flag.lang, flag.channel, flag.at = values["lang"], values["channel"], values["at"]
    if fresh and result is not None:
        rows = convert.flag_rows(values, turn_id, result)
        session.execute(insert(m.Flag), [r for r in rows if r["label"] in fresh])


# -- ranking ---------------------------------------------------------------------------


def stored_pairs(session: Session, chunk: int = 500) -> Iterator[Pair]:
    """Every stored conversation with its effective TurnResults, in id order."""
    last = 0
    while True:
        conversations = session.execute(
            select(m.Conversation, m.Client.key)
            .join(m.Client, m.Client.id == m.Conversation.client_id)
            .where(m.Conversation.id > last)
            .order_by(m.Conversation.id)
            .limit(chunk)
        ).all()
        if not conversations:
            return
        ids = [c.id for c, _ in conversations]
        turns: dict[int, list[m.Turn]] = {}
        for turn in session.scalars(
            select(m.Turn).where(m.Turn.conversation_id.in_(ids)).order_by(m.Turn.position)
        ):
            turns.setdefault(turn.conversation_id, []).append(turn)
        flags: dict[int, list[m.Flag]] = {}
        for flag in session.scalars(select(m.Flag).where(m.Flag.conversation_id.in_(ids))):
            flags.setdefault(flag.turn_id, []).append(flag)
        for conversation, client_key in conversations:
            rows = turns.get(conversation.id, [])
            results = [convert.effective_result(t, flags.get(t.id, ())) for t in rows]
            yield (
                convert.rebuild_conversation(conversation, client_key, rows),
                [r for r in results if r is not None],
            )
        last = ids[-1]
        session.expunge_all()  # keep memory flat over a large store


def recompute_clients(
    session: Session, config: AggregateConfig, *, as_of: datetime | None = None
) -> int:
    """Aggregate the whole store and write every client's risk and report; RETURNS clients."""
    aggregator = Aggregator(config, as_of=as_of)
    for conversation, results in stored_pairs(session):
        aggregator.add(conversation, results)
    details = aggregator.details()
    ids = dict(session.execute(select(m.Client.key, m.Client.id)).tuples().all())
    now = utcnow()
    session.execute(
        update(m.Client),
        [{"id": ids[d.report.client], **_client_values(d), "computed_at": now} for d in details],
    )
    session.commit()
    return len(details)


def _client_values(detail: ClientDetail) -> dict:
    report = detail.report
    top = sorted(((n, label) for label, n in report.flags.items() if n), reverse=True)[:4]
    summary = {
        "names": list(report.names[:3]),
        "patterns": [[f, s.trend] for f, s in report.families.items() if s.pattern],
        "incidents": [f for f, s in report.families.items() if s.count and not s.pattern],
        "flags": [[label, n] for n, label in top],
        "signals": [name for name, s in report.signals.items() if s.flagged],
        "tones": report.tones,
    }
    return {
        "name": report.names[0] if report.names else report.client,
        "risk": report.risk,
        "verdict": report.verdict,
        "explanation": report.explanation,
        "conversations": detail.conversations,
        "client_turns": detail.client_turns,
        "first_at": to_utc(detail.first),
        "last_at": to_utc(detail.last),
        "summary": summary,
        "report": report.model_dump(mode="json"),
        "detail": {
            "weeks": [[w.week.isoformat(), w.turns, w.flagged] for w in detail.weeks],
            "channels": detail.channels,
            "languages": detail.languages,
            "contacts": detail.contacts,
            "unscored_turns": detail.unscored_turns,
            "evidence": [t.turn for t in detail.turns],
        },
    }


def record_load(session: Session, paths: Sequence[str], stats: LoadStats) -> None:
    session.add(
        m.LoadRun(
            at=utcnow(),
            paths=list(paths),
            added=stats.added,
            updated=stats.updated,
            unchanged=stats.unchanged,
            turns=stats.turns,
            quarantined=len(stats.quarantine),
            models=sorted(stats.models),
        )
    )
    session.commit()
