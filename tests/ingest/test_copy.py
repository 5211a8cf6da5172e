"""``replace`` gives exactly what ``model_copy(update=...)`` gives, on the schema's models."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from tonewatch.ingest._copy import replace
from tonewatch.schema import Channel, Conversation, Location, Participant, Role, Turn

_SOURCE = Location(path="a.mbox", item=3, message_id="x@y")
_TURN = Turn(
    id="m-1",
    speaker="Jan",
    text="Dzień dobry",
    timestamp=datetime(2024, 3, 4, 8, tzinfo=UTC),
    source=_SOURCE,
    meta={"notes": ["no Date header"]},
)
_PERSON = Participant(name="Jan", addresses=("jan@x.pl",))
_CONVERSATION = Conversation(
    id="c", channel=Channel.email, client_key="", participants=(_PERSON,), turns=(_TURN,),
    source=_SOURCE,
)  # fmt: skip


@pytest.mark.parametrize(
    ("model", "changes"),
    [
        (_TURN, {"role": Role.client, "lang": "pl", "lang_confidence": 0.93}),
        (_PERSON, {"role": Role.agent}),
        (_CONVERSATION, {"client_key": "jan@x.pl", "turns": (_TURN, _TURN)}),
    ],
)
def test_copy_replace_equals_model_copy(model: BaseModel, changes: dict[str, object]) -> None:
    copied, expected = replace(model, **changes), model.model_copy(update=changes)
    assert copied == expected and copied is not model
    assert copied.model_fields_set == expected.model_fields_set
    assert copied.model_dump_json() == expected.model_dump_json()
    if isinstance(model, Participant):  # the one without a dict field: hashable, a dict key
        assert hash(copied) == hash(expected)
    assert model == model.model_copy()  # the original is untouched
    with pytest.raises(ValueError, match="frozen"):
        copied.id = "other"  # type: ignore[attr-defined,misc]
