"""A thread of parsed e-mail messages -> its JSON line, without building the models.

With workers, the messages of an mbox reach the finishing step as ``ParsedMessage.to_bytes``
(``parallel``). The general step rebuilds each as a one-turn ``Conversation`` fragment, merges
the fragments (``merge.merge_fragments``), sets roles (``RoleAssigner``) and serialises with
pydantic: most of its time goes to building and copying models that are only written out.
Here the same result is computed from the plain values:

* the merge is ``merge_fragments`` for one-message fragments (each fragment is one turn);
* roles and the client key come from ``RoleAssigner.assign``, the code ``__call__`` runs;
* the JSON is written by ``pydantic_core.to_json``, the serializer behind
  ``Conversation.model_dump_json`` (same forms of strings, floats and datetimes), from dicts
  with the models' fields in their order.

Pickled messages (attachments, a named time zone) go the general way (``None``). Tests compare
both ways on every fixture e-mail and on threads of real Enron bodies.
"""

from __future__ import annotations

import marshal
from datetime import datetime
from typing import Any

from pydantic_core import to_json as _serialize

from tonewatch.ingest.email_message import MARSHALLED, fixed_zone, participants_of, stable_id
from tonewatch.ingest.merge import Entry, merge_people
from tonewatch.ingest.roles import RoleAssigner
from tonewatch.schema import Participant, Role

Summary = tuple[int, list[str], list[str]]  # as pipeline.Summary: turns, languages, roles

_UNKNOWN = Role.unknown


class _Message:
    """One message of a thread: what its turn and its fragment say."""

    __slots__ = ("how", "path", "location", "turn_id", "speaker", "text", "stamp", "lang")
    __slots__ += ("confidence", "meta", "subject", "participants")

    def __init__(self, how: str, fields: tuple[Any, ...]) -> None:
        envelope, self.speaker, self.text, when, self.meta, self.lang, self.confidence = fields
        path, item, message_id, fallback, _, _, self.subject, *addresses = envelope
        self.how, self.path = how, path
        self.location = {
            "path": path,
            "item": item,
            "line": None,
            "message_id": message_id,
            "cue": None,
        }
        self.turn_id = "m-" + stable_id(message_id or fallback)
        self.participants = participants_of(*addresses)[0]
        self.stamp: datetime | None = None
        if when is not None:  # as ParsedMessage.from_bytes
            self.stamp = datetime(*when[:7], tzinfo=fixed_zone(when[7], when[8]))


def finish_json(
    conversation_id: str, entries: list[Entry], roles: RoleAssigner
) -> tuple[str, Summary] | None:
    """The JSON line (``to_json``) of the conversation whose fragments ``entries`` hold and
    what ``pipeline.summary`` counts of it; None when an entry is not a marshalled message
    (the caller then builds the models)."""
    messages = []
    for how, data in entries:
        if how is None or data[:1] != MARSHALLED:
            return None
        messages.append(_Message(how, marshal.loads(data[1:])))  # type: ignore[arg-type]
    return _encode(conversation_id, messages, roles)


def _encode(
    conversation_id: str, messages: list[_Message], roles: RoleAssigner
) -> tuple[str, Summary]:
    first = messages[0]
    subject = first.subject
    meta: dict[str, Any] = {"thread_by": first.how}
    if len(messages) == 1:
        turns, participants = [(first, first.turn_id)], first.participants
    else:
        turns = _merged_turns(messages)
        participants = list(
            merge_people(tuple(dict.fromkeys(p for m in messages for p in m.participants)))
        )
        sources = list(dict.fromkeys(m.path for m in messages))
        if len(sources) > 1:
            meta["sources"] = sources
        by_time = sorted(messages, key=lambda m: (0, m.stamp) if m.stamp else (1, 0))
        subject = next((m.subject for m in by_time if m.subject), None)
    speakers = [message.speaker for message, _ in turns]
    people, turn_roles, client_key = roles.assign(
        conversation_id, participants, speakers, [_UNKNOWN] * len(turns)
    )
    conversation = {
        "id": conversation_id,
        "channel": "email",
        "client_key": client_key,
        "participants": [_person(person) for person in people],
        "turns": [
            {
                "id": turn_id,
                "speaker": message.speaker,
                "role": role.value,
                "text": message.text,
                "timestamp": message.stamp,
                "lang": message.lang,
                "lang_confidence": message.confidence,
                "source": message.location,
                "attachments": [],
                "meta": message.meta,
            }
            for (message, turn_id), role in zip(turns, turn_roles, strict=True)
        ],
        "source": first.location,
        "subject": subject,
        "meta": meta,
    }
    languages = [message.lang for message, _ in turns]
    line = _serialize(conversation).decode()
    return line, (len(turns), languages, [role.value for role in turn_roles])


def _merged_turns(messages: list[_Message]) -> list[tuple[_Message, str]]:
    """``merge_fragments``'s turns for one-turn fragments: by time, then reading order; a
    message read twice (same id, same text) once; same id, other text: ``~2``, ``~3``."""
    keyed: list[tuple[tuple[int, Any, int], tuple[_Message, str]]] = []
    seen: dict[str, set[str]] = {}
    for order, message in enumerate(messages, start=1):
        texts = seen.setdefault(message.turn_id, set())
        if message.text in texts:
            continue
        turn_id = f"{message.turn_id}~{len(texts) + 1}" if texts else message.turn_id
        texts.add(message.text)
        stamp = message.stamp
        keyed.append(((0, stamp, order) if stamp else (1, order, order), (message, turn_id)))
    keyed.sort(key=lambda item: item[0])
    return [turn for _, turn in keyed]


def _person(participant: Participant) -> dict[str, Any]:
    return {
        "name": participant.name,
        "addresses": list(participant.addresses),
        "role": participant.role.value,
    }
