"""What the pages read: the ranked, filtered client list, a client, a conversation, the audit
log. Lists are paginated; every filter is an indexed lookup (see the indexes in models.py)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.orm import Session, undefer

from tonewatch.serve.store import models as m

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    rows: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True, slots=True)
class ClientFilter:
    """Filters of the client list. A flag or family filter asks for a client turn flagged
    with it (not rejected by a reviewer) that also matches language, channel and dates;
    without one, language, channel and dates ask for any client turn that matches. Each is
    an EXISTS probe per client on an index that leads with the client."""

    lang: str | None = None
    flag: str | None = None
    family: str | None = None
    channel: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive
    verdict: str | None = None
    review: str | None = None  # "open": has flags nobody has reviewed yet
    q: str | None = None  # name or key contains

    def active(self) -> dict[str, str]:
        """The filters in use, as query parameters (for pagination links)."""
        return {
            f.name: str(getattr(self, f.name))
            for f in fields(self)
            if getattr(self, f.name) not in (None, "")
        }


def _day_range(column: Any, since: date | None, until: date | None) -> list[ColumnElement]:
    conditions = []
    if since:
        conditions.append(column >= datetime.combine(since, time()))
    if until:
        conditions.append(column < datetime.combine(until + timedelta(days=1), time()))
    return conditions


def _client_conditions(f: ClientFilter) -> list[ColumnElement]:
    conditions: list[ColumnElement] = []
    if f.verdict:
        conditions.append(m.Client.verdict == f.verdict)
    if f.q:
        needle = f.q.strip()
        conditions.append(
            or_(
                m.Client.key.icontains(needle, autoescape=True),
                m.Client.name.icontains(needle, autoescape=True),
            )
        )
    if f.flag or f.family:
        where = [m.Flag.client_id == m.Client.id, m.Flag.status != "rejected"]
        where += [m.Flag.label == f.flag] if f.flag else []
        where += [m.Flag.family == f.family] if f.family else []
        where += [m.Flag.lang == f.lang] if f.lang else []
        where += [m.Flag.channel == f.channel] if f.channel else []
        where += _day_range(m.Flag.at, f.since, f.until)
        conditions.append(exists(select(m.Flag.id).where(*where)))
    elif f.lang or f.channel or f.since or f.until:
        where = [m.Turn.client_id == m.Client.id, m.Turn.role == "client"]
        where += [m.Turn.lang == f.lang] if f.lang else []
        where += [m.Turn.channel == f.channel] if f.channel else []
        where += _day_range(m.Turn.at, f.since, f.until)
        conditions.append(exists(select(m.Turn.id).where(*where)))
    if f.review == "open":
        conditions.append(
            exists(
                select(m.Flag.id).where(m.Flag.client_id == m.Client.id, m.Flag.status == "open")
            )
        )
    return conditions


def _open_flags(owner: Any, column: Any) -> Any:
    return (
        select(func.count(m.Flag.id))
        .where(column == owner, m.Flag.status == "open")
        .correlate_except(m.Flag)
        .scalar_subquery()
    )


# What a list row shows: plain rows, not ORM objects (the list is the busiest page).
LIST_COLUMNS = (
    m.Client.id,
    m.Client.key,
    m.Client.name,
    m.Client.risk,
    m.Client.verdict,
    m.Client.summary,
    m.Client.conversations,
    m.Client.last_at,
)


@dataclass(frozen=True, slots=True)
class ClientRow:
    client: Any  # a row with the LIST_COLUMNS
    open_flags: int


class RankedIds:
    """Each filter's matching client ids in rank order, per process, for the current state
    of the store.

    Counting a filter's matches probes every client (2,000 at 100,000 turns: 2-5 ms, the
    list page's dearest query), yet the answer only changes when the store does: a review
    action (a ``reviews`` row), a load (new turns or flags; ``tonewatch load`` always
    re-ranks after) or a re-ranking (``computed_at``). Each request reads those four maxima
    (a few index look-ups) and reuses the id list computed under the same values; any write
    makes every entry stale. Reviewers paging through one filtered list hit it from the
    second page on, and every worker process keeps its own."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.entries: OrderedDict[ClientFilter, list[int]] = OrderedDict()
        self.version: tuple | None = None
        self.lock = threading.Lock()

    @staticmethod
    def version_of(session: Session) -> tuple:
        bind = session.get_bind()  # the store too: tests open many in one process
        return (id(bind), str(bind.url)) + tuple(
            session.execute(
                select(
                    select(func.max(m.Review.id)).scalar_subquery(),
                    select(func.max(m.Flag.id)).scalar_subquery(),
                    select(func.max(m.Turn.id)).scalar_subquery(),
                    # A re-ranking stamps every client alike: the newest one's stamp will
                    # do (max over the column would read all 2,000 wide rows: 9 ms).
                    select(m.Client.computed_at)
                    .order_by(m.Client.id.desc())
                    .limit(1)
                    .scalar_subquery(),
                )
            ).one()
        )

    def get(self, session: Session, f: ClientFilter) -> list[int]:
        version = self.version_of(session)
        with self.lock:
            if version != self.version:
                self.entries.clear()
                self.version = version
            found = self.entries.get(f)
            if found is not None:
                self.entries.move_to_end(f)
                return found
        ids = list(
            session.scalars(
                select(m.Client.id)
                .where(*_client_conditions(f))
                .order_by(m.Client.risk.desc(), m.Client.key)
            )
        )
        with self.lock:
            if version == self.version:
                self.entries[f] = ids
                while len(self.entries) > self.size:
                    self.entries.popitem(last=False)
        return ids


RANKED = RankedIds()


def list_clients(session: Session, f: ClientFilter, page: int, per_page: int) -> Page[ClientRow]:
    ids = RANKED.get(session, f)
    total = len(ids)
    page = min(max(1, page), max(1, -(-total // per_page)))
    chosen = ids[(page - 1) * per_page : page * per_page]
    if not chosen:
        return Page([], total, page, per_page)
    # Columns and open-flag counts for the page's clients only.
    query = select(
        *LIST_COLUMNS, _open_flags(m.Client.id, m.Flag.client_id).label("open_flags")
    ).where(m.Client.id.in_(chosen))
    found = {row.id: row for row in session.execute(query)}
    rows = [ClientRow(found[i], found[i].open_flags) for i in chosen if i in found]
    return Page(rows, total, page, per_page)


@dataclass(frozen=True, slots=True)
class ConversationRow:
    conversation: m.Conversation
    open_flags: int
    flags: int


def client_page(
    session: Session, client_id: int, page: int, per_page: int
) -> tuple[m.Client, Page[ConversationRow]] | None:
    client = session.scalar(
        select(m.Client)
        .options(undefer(m.Client.report), undefer(m.Client.detail))
        .where(m.Client.id == client_id)
    )
    if client is None:
        return None
    total = session.scalar(
        select(func.count(m.Conversation.id)).where(m.Conversation.client_id == client_id)
    )
    kept = (
        select(func.count(m.Flag.id))
        .where(m.Flag.conversation_id == m.Conversation.id, m.Flag.status != "rejected")
        .correlate_except(m.Flag)
        .scalar_subquery()
    )
    query = (
        select(m.Conversation, _open_flags(m.Conversation.id, m.Flag.conversation_id), kept)
        .where(m.Conversation.client_id == client_id)
        .order_by(m.Conversation.started_at.desc(), m.Conversation.id.desc())
        .offset((max(1, page) - 1) * per_page)
        .limit(per_page)
    )
    rows = [ConversationRow(c, n, k) for c, n, k in session.execute(query)]
    return client, Page(rows, total or 0, max(1, page), per_page)


@dataclass(frozen=True, slots=True)
class TurnView:
    turn: m.Turn
    flags: list[m.Flag]
    reviews: list[m.Review] = field(default_factory=list)


def turns_with_flags(session: Session, where: ColumnElement) -> list[TurnView]:
    turns = list(session.scalars(select(m.Turn).where(where).order_by(m.Turn.position)))
    flags: dict[int, list[m.Flag]] = {}
    if turns:
        ids = [t.id for t in turns]
        for flag in session.scalars(
            select(m.Flag).where(m.Flag.turn_id.in_(ids)).order_by(m.Flag.id)
        ):
            flags.setdefault(flag.turn_id, []).append(flag)
    return [TurnView(t, flags.get(t.id, [])) for t in turns]


def evidence_turns(session: Session, keys: list[str]) -> list[tuple[TurnView, m.Conversation]]:
    """The client page's cited turns (kept in the report's order), with live flags."""
    if not keys:
        return []
    views = {v.turn.key: v for v in turns_with_flags(session, m.Turn.key.in_(keys))}
    conversations = {
        c.id: c
        for c in session.scalars(
            select(m.Conversation).where(
                m.Conversation.id.in_({v.turn.conversation_id for v in views.values()})
            )
        )
    }
    return [(views[k], conversations[views[k].turn.conversation_id]) for k in keys if k in views]


def conversation_page(
    session: Session, conversation_id: int
) -> tuple[m.Conversation, m.Client, list[TurnView]] | None:
    found = session.execute(
        select(m.Conversation, m.Client)
        .join(m.Client, m.Client.id == m.Conversation.client_id)
        .where(m.Conversation.id == conversation_id)
    ).first()
    if found is None:
        return None
    conversation, client = found
    views = turns_with_flags(session, m.Turn.conversation_id == conversation_id)
    reviews: dict[int, list[m.Review]] = {}
    # Every review action stamps its turn's reviewed_at: most conversations have none to read.
    if any(v.turn.reviewed_at is not None for v in views):
        for review in session.scalars(
            _audit_query()
            .where(m.Review.conversation_id == conversation_id)
            .order_by(m.Review.at.desc(), m.Review.id.desc())
        ):
            reviews.setdefault(review.turn_id, []).append(review)
    views = [TurnView(v.turn, v.flags, reviews.get(v.turn.id, [])) for v in views]
    return conversation, client, views


def turn_view(session: Session, turn_id: int) -> TurnView | None:
    """One turn as the conversation page shows it (for htmx swaps after an action)."""
    views = turns_with_flags(session, m.Turn.id == turn_id)
    if not views:
        return None
    reviews = list(
        session.scalars(
            _audit_query()
            .where(m.Review.turn_id == turn_id)
            .order_by(m.Review.at.desc(), m.Review.id.desc())
        )
    )
    return TurnView(views[0].turn, views[0].flags, reviews)


def next_conversation(session: Session, after: int) -> int | None:
    """The next conversation with unreviewed flags: the same client's first, then the
    highest-risk client's."""
    client_id = session.scalar(select(m.Conversation.client_id).where(m.Conversation.id == after))
    query = (
        select(m.Flag.conversation_id)
        .join(m.Client, m.Client.id == m.Flag.client_id)
        .where(m.Flag.status == "open", m.Flag.conversation_id != after)
        .order_by(
            (m.Flag.client_id == client_id).desc(), m.Client.risk.desc(), m.Flag.conversation_id
        )
        .limit(1)
    )
    return session.scalar(query)


def _audit_query() -> Select:
    from sqlalchemy.orm import joinedload

    return select(m.Review).options(joinedload(m.Review.user))


@dataclass(frozen=True, slots=True)
class AuditRow:
    review: m.Review
    user: str
    conversation: str
    turn: str


def audit_log(
    session: Session,
    *,
    user: str | None,
    action: str | None,
    page: int,
    per_page: int,
) -> Page[AuditRow]:
    conditions = []
    if user:
        conditions.append(m.User.name == user)
    if action:
        conditions.append(m.Review.action == action)
    base = (
        select(m.Review, m.User.name, m.Conversation.key, m.Turn.key)
        .join(m.User, m.User.id == m.Review.user_id)
        .join(m.Conversation, m.Conversation.id == m.Review.conversation_id)
        .join(m.Turn, m.Turn.id == m.Review.turn_id)
        .where(*conditions)
    )
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(
        base.order_by(m.Review.at.desc(), m.Review.id.desc())
        .offset((max(1, page) - 1) * per_page)
        .limit(per_page)
    )
    return Page([AuditRow(r, u, c, t) for r, u, c, t in rows], total, max(1, page), per_page)


def load_runs(session: Session, limit: int = 20) -> list[m.LoadRun]:
    return list(session.scalars(select(m.LoadRun).order_by(m.LoadRun.id.desc()).limit(limit)))
