"""Field mappings of chat exports: which key or column holds the author, the text, ...

A mapping is resolved once per file, from the first record's keys (JSON) or the header
(CSV): ``[ingest] chat_preset`` picks a preset, ``[ingest] chat_fields`` overrides single
fields. ``"auto"`` matches the common names below (case-insensitively); ``"generic"`` expects
exactly ``conversation_id, author, timestamp, text`` (``role, address, messages`` optional).
Field names may be dotted paths into nested JSON (``"user.screen_name"``).

The ``twitter_customer_care`` preset reads the IBM customer-care dialogues
(github.com/IBM/twitter-customer-care-document-prediction): one JSON object per dialogue,
``dialogHeader`` (company, sessionID, conversationDateTime, duration), ``dialogContent``
(messages keyed ``client`` / ``client1`` / ``agent`` -> author handle) and ``agentURL``
(the agent's closing reply; its time is read from its tweet id).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tonewatch.errors import ConfigError
from tonewatch.schema import Role

FIELDS = ("conversation_id", "author", "timestamp", "text", "role", "address", "messages")
OPTIONS = ("role_true",)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Names tried by the "auto" preset, best first (compared lowercased, "-"/" " read as "_").
ALIASES: dict[str, tuple[str, ...]] = {
    "conversation_id": _words(
        "conversation_id conversationid conv_id chat_id thread_id session_id sessionid "
        "ticket_id dialog_id dialogue_id case_id room_id channel_id"
    ),
    "author": _words(
        "author speaker sender sender_name author_name from user username user_name name "
        "participant nickname"
    ),
    "timestamp": _words("timestamp datetime time date created_at sent_at created ts date_time"),
    "text": _words("text message body content msg utterance message_text"),
    "role": _words(
        "role sender_role author_role sender_type author_type participant_role user_type inbound"
    ),
    "address": _words(
        "address email author_email sender_email account_id author_id user_id sender_id handle"
    ),
    "messages": _words("messages turns utterances dialog dialogue chat"),
}
GENERIC = {field: field for field in FIELDS}

_CLIENT_WORDS = frozenset(
    _words(
        "client customer user end_user enduser visitor contact guest inbound requester "
        "consumer caller member buyer patient"
    )
)
_AGENT_WORDS = frozenset(
    _words(
        "agent staff support operator admin administrator representative rep employee "
        "assistant bot outbound advisor adviser csr company business seller host moderator"
    )
)
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})


@dataclass(frozen=True)
class ChatFields:
    """Resolved key (or dotted path) of each message field; None where the file has none."""

    conversation_id: str | None
    author: str | None
    timestamp: str | None
    text: str | None
    role: str | None
    address: str | None
    messages: str | None
    role_true: Role  # what a true/false role column (e.g. ``inbound``) means when true

    def describe(self) -> str:
        found = (f"{name}={getattr(self, name)!r}" for name in FIELDS if getattr(self, name))
        return ", ".join(found) or "none"


def normalise_key(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def resolve_fields(keys: Iterable[str], preset: str, overrides: Mapping[str, str]) -> ChatFields:
    """Map the file's ``keys`` to message fields (raises ConfigError on an unknown override)."""
    unknown = set(overrides) - set(FIELDS) - set(OPTIONS)
    if unknown:
        raise ConfigError(
            f"[ingest -> chat_fields] unknown field(s) {sorted(unknown)}; "
            f"known: {', '.join(FIELDS + OPTIONS)}"
        )
    keys = list(keys)
    by_norm = {normalise_key(key): key for key in keys}
    chosen: dict[str, str | None] = {}
    for field in FIELDS:
        if field in overrides:
            chosen[field] = overrides[field] or None
        elif preset == "generic":
            chosen[field] = GENERIC[field] if GENERIC[field] in keys else None
        else:
            chosen[field] = next((by_norm[a] for a in ALIASES[field] if a in by_norm), None)
    role_true = overrides.get("role_true") or _role_true_default(chosen["role"])
    try:
        truth = Role(role_true)
    except ValueError:
        raise ConfigError(
            f"[ingest -> chat_fields -> role_true] expected 'client' or 'agent', "
            f"found {role_true!r}"
        ) from None
    return ChatFields(**chosen, role_true=truth)


def _role_true_default(role_key: str | None) -> str:
    name = normalise_key(role_key or "")
    if any(word in name for word in ("agent", "staff", "outbound", "support", "employee")):
        return Role.agent.value
    if any(word in name for word in ("inbound", "customer", "client", "user")):
        return Role.client.value
    return Role.unknown.value


def lookup(record: Mapping[str, Any], path: str | None) -> Any:
    """The value at a key or dotted path, None when absent."""
    if path is None:
        return None
    if path in record:
        return record[path]
    node: Any = record
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def to_role(value: Any, role_true: Role) -> Role:
    """A role from an export's own words; Role.unknown when it does not say."""
    if value is None:
        return Role.unknown
    if isinstance(value, bool):
        return _from_truth(value, role_true)
    word = normalise_key(str(value))
    if word in _TRUE or word in _FALSE:
        return _from_truth(word in _TRUE, role_true)
    if word in _CLIENT_WORDS:
        return Role.client
    if word in _AGENT_WORDS:
        return Role.agent
    return Role.unknown


def _from_truth(value: bool, role_true: Role) -> Role:
    if role_true is Role.unknown:
        return Role.unknown
    if value:
        return role_true
    return Role.agent if role_true is Role.client else Role.client


# --- twitter_customer_care (IBM) -------------------------------------------------------------

TWITTER_AUTHOR_KEYS: dict[str, Role] = {
    "client": Role.client,
    "client1": Role.client,
    "agent": Role.agent,
}


_TWITTER_EPOCH_MS = 1288834974657


def is_twitter_dialogue(record: Any) -> bool:
    return isinstance(record, Mapping) and "dialogContent" in record and "dialogHeader" in record


@dataclass(frozen=True)
class RawMessage:
    """One message of a nested record, in the export's terms (validated by the reader)."""

    author: str
    role: Role
    text: Any
    timestamp: Any
    address: str | None
    meta: dict[str, Any]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def twitter_dialogue(record: Mapping[str, Any]) -> tuple[str | None, list[RawMessage], dict]:
    """``(conversation id, messages, conversation meta)`` of one IBM dialogue; a part of the
    wrong shape becomes a message without text, which the reader quarantines.

    Tweets are HTML-escaped by the Twitter API (``&amp;``), so text is unescaped here.
    """
    header = _mapping(record.get("dialogHeader"))
    content = record.get("dialogContent")
    messages: list[RawMessage] = []
    for item in content if isinstance(content, list) else [content]:
        item = _mapping(item)
        key = next((k for k in TWITTER_AUTHOR_KEYS if k in item), None)
        handle = str(item.get(key) or "") if key else ""
        messages.append(
            RawMessage(
                author=handle,
                role=TWITTER_AUTHOR_KEYS.get(key or "", Role.unknown),
                text=_unescape(item.get("message")),
                timestamp=item.get("datetime"),
                address=f"@{handle}" if handle else None,
                meta={"message_id": item.get("tweet_ID")},
            )
        )
    closing = _mapping(record.get("agentURL"))
    company = str(header.get("company") or "")
    if closing.get("url_utterance"):
        messages.append(
            RawMessage(
                author=company,
                role=Role.agent,
                text=_unescape(closing.get("url_utterance")),
                timestamp=_closing_time(closing),
                address=f"@{company}" if company else None,
                meta={"message_id": closing.get("tweet_ID"), "support_url": closing.get("url")},
            )
        )
    meta = {"company": company or None, "support_doc_id": closing.get("doc_id")}
    session = header.get("sessionID")
    return (
        str(session) if isinstance(session, str | int) else None,
        messages,
        {k: v for k, v in meta.items() if v},
    )


def _unescape(value: Any) -> Any:
    return html.unescape(value) if isinstance(value, str) else value


def _closing_time(closing: Mapping[str, Any]) -> datetime | None:
    """The agent's closing reply has no datetime field; its tweet id is a Twitter "snowflake"
    holding the creation time (ms since 2010-11-04T01:42:54.657Z, in the bits above 22).
    (The header's ``duration`` does not give it: it is negative in some dialogues.)"""
    try:
        tweet_id = int(str(closing.get("tweet_ID")))
    except ValueError:
        return None
    return datetime.fromtimestamp(((tweet_id >> 22) + _TWITTER_EPOCH_MS) / 1000, tz=UTC)
