"""The review store's tables (SQLAlchemy 2 declarative models).

    users ─< sessions                         accounts, server-side login sessions
    clients ─< conversations ─< turns ─< flags  scored archive (``tonewatch load``)
    reviews                                   audit log: one row per reviewer action
    loads                                     one row per ``tonewatch load`` run

Timestamps are stored as naive UTC (portable between SQLite and PostgreSQL); a turn keeps
its original UTC offset beside it so pages show the time the client saw. ``clients``,
``flags`` and ``turns`` repeat a few columns of their parents (client, language, channel,
time) so the filters of the client list are single-table index lookups. Alembic migrations
(``serve/migrations``) create the schema; ``tests/serve/test_migrations.py`` checks that they
match these models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("reviewer", "lead", "admin")  # each role can do everything the ones before it can
STATUSES = ("open", "confirmed", "rejected")
ACTIONS = ("confirm", "reject", "relabel", "add", "tone")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class LoginSession(Base):
    """A login. ``id`` is the SHA-256 of the cookie's token: a leaked table grants nothing."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)

    user: Mapped[User] = relationship(lazy="joined")


class Client(Base):
    __tablename__ = "clients"
    __table_args__ = (
        Index("ix_clients_rank", "risk", "key"),
        # The verdict filter reads its page in rank order straight from the index.
        Index("ix_clients_verdict_rank", "verdict", "risk", "key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    risk: Mapped[float] = mapped_column(default=0.0)
    verdict: Mapped[str] = mapped_column(String(16), default="none")
    explanation: Mapped[str] = mapped_column(Text, default="")
    conversations: Mapped[int] = mapped_column(default=0)
    client_turns: Mapped[int] = mapped_column(default=0)
    first_at: Mapped[datetime | None]
    last_at: Mapped[datetime | None]
    # Small, for list rows: patterns, top flags, flagged signals, tones.
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The whole ClientReport and the page's extras (weeks, channels, languages, evidence).
    report: Mapped[dict[str, Any]] = mapped_column(default=dict, deferred=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict, deferred=True)
    computed_at: Mapped[datetime | None]


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_client_start", "client_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(512), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    channel: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    turn_count: Mapped[int]
    flag_count: Mapped[int]
    model: Mapped[str] = mapped_column(String(120))
    digest: Mapped[str] = mapped_column(String(64))  # of the input: reloading it is a no-op
    data: Mapped[dict[str, Any]]  # participants, source location, meta

    client: Mapped[Client] = relationship(lazy="raise")


class Turn(Base):
    __tablename__ = "turns"
    __table_args__ = (
        Index("ix_turns_conversation", "conversation_id", "position"),
        # Covering for the client list's filters (EXISTS per client, client turns only).
        Index("ix_turns_client_lang", "client_id", "role", "lang"),
        Index("ix_turns_client_channel", "client_id", "role", "channel"),
        Index("ix_turns_client_at", "client_id", "role", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(512), unique=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    position: Mapped[int]
    speaker: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime | None]
    utc_offset: Mapped[int | None]  # seconds east of UTC of the original timestamp
    lang: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(8))
    # The model's result (NULL for turns without one, e.g. staff turns).
    model: Mapped[str | None] = mapped_column(String(120))
    tone: Mapped[str | None] = mapped_column(String(12))
    tone_scores: Mapped[dict[str, Any] | None]
    scores: Mapped[dict[str, Any] | None]
    result_lang: Mapped[str | None] = mapped_column(String(8))
    reviewed_tone: Mapped[str | None] = mapped_column(String(12))
    reviewed_at: Mapped[datetime | None]  # last review action on this turn
    extra: Mapped[dict[str, Any]]  # source location, lang_confidence, attachments, meta

    flags: Mapped[list[Flag]] = relationship(
        lazy="raise", order_by="Flag.id", back_populates="turn"
    )


class Flag(Base):
    """One red flag on a turn: the model's (``model_label`` set) or a reviewer's.

    A relabel changes ``label`` and keeps ``model_label``; a turn has at most one flag per
    label. ``evidence`` is a list of ``[start, end]`` character offsets into the turn text.
    """

    __tablename__ = "flags"
    __table_args__ = (
        UniqueConstraint("turn_id", "label"),
        # Covering for the client list's flag and family filters: the EXISTS probe per client
        # checks status, language, channel and time in the index, never in the table.
        Index("ix_flags_label_cover", "label", "client_id", "status", "lang", "channel", "at"),
        Index("ix_flags_family_cover", "family", "client_id", "status", "lang", "channel", "at"),
        Index("ix_flags_client_status", "client_id", "status"),
        Index("ix_flags_status_conversation", "status", "conversation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    label: Mapped[str] = mapped_column(String(32))
    family: Mapped[str] = mapped_column(String(16))
    model_label: Mapped[str | None] = mapped_column(String(32))
    score: Mapped[float | None]  # the model's calibrated probability for ``model_label``
    evidence: Mapped[list[Any]]
    status: Mapped[str] = mapped_column(String(12), default="open")
    lang: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime | None]

    turn: Mapped[Turn] = relationship(lazy="raise", back_populates="flags")


class Review(Base):
    """The audit log: who did what to which turn, when, against which model's output."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_user_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(12))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id"), index=True)
    flag_id: Mapped[int | None] = mapped_column(ForeignKey("flags.id"))
    label: Mapped[str | None] = mapped_column(String(32))
    before: Mapped[str | None] = mapped_column(String(32))
    after: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(120))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    user: Mapped[User] = relationship(lazy="raise")


class LoadRun(Base):
    __tablename__ = "loads"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    paths: Mapped[list[Any]]
    added: Mapped[int]
    updated: Mapped[int]
    unchanged: Mapped[int]
    turns: Mapped[int]
    quarantined: Mapped[int]
    models: Mapped[list[Any]]
