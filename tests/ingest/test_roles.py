from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tonewatch.config import default_config
from tonewatch.errors import ConfigError
from tonewatch.ingest.roles import (
    ClientIndex,
    Identity,
    RoleAssigner,
    StaffDirectory,
    normalize_address,
    normalize_name,
    with_staff,
)
from tonewatch.schema import Channel, Conversation, Location, Participant, Role, Turn


@pytest.fixture
def staff_config(fixtures_dir: Path):  # noqa: ANN201
    return with_staff(default_config().ingest, fixtures_dir / "staff.toml")


@pytest.fixture
def assign(staff_config) -> RoleAssigner:  # noqa: ANN001
    return RoleAssigner(StaffDirectory.from_config(staff_config))


def _conversation(
    speakers: list[str],
    participants: tuple[Participant, ...] = (),
    channel: Channel = Channel.call,
    conversation_id: str = "c1",
) -> Conversation:
    source = Location(path="call.vtt")
    turns = tuple(
        Turn(
            id=f"t{i}",
            speaker=speaker,
            text="Hello there, I have a question about my invoice.",
            timestamp=datetime(2024, 3, 1, 10, i, tzinfo=UTC),
            source=source,
        )
        for i, speaker in enumerate(speakers)
    )
    return Conversation(
        id=conversation_id,
        channel=channel,
        client_key="",
        participants=participants,
        turns=turns,
        source=source,
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jane.Doe+shop@GoogleMail.com", "janedoe@gmail.com"),
        ("<mailto:Piotr.Nowak+pl@WP.pl>", "piotr.nowak@wp.pl"),
        ("not an address", None),
    ],
)
def test_roles_normalize_address(raw: str, expected: str | None) -> None:
    assert normalize_address(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Mme  Hélène LEFÈVRE ", "helene lefevre"),
        ("Sr. José de la Cruz", "jose de la cruz"),
        ("김민지", "김민지"),
        ('"Doe, Jane"', "doe, jane"),
    ],
)
def test_roles_normalize_name(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


def test_roles_staff_by_address_domain_and_name(assign: RoleAssigner) -> None:
    people = (
        Participant(name="Support", addresses=("support@acme.example",)),
        Participant(name="Tom", addresses=("tom@eu.acme.example",)),  # subdomain of a staff domain
        Participant(name="Jane Doe", addresses=("jane@example.com",)),
    )
    conversation = _conversation(
        ["Support", "Tom", "Jane Doe", "ANNA WEBER"], people, channel=Channel.email
    )
    labelled = assign(conversation)
    assert [t.role for t in labelled.turns] == [Role.agent, Role.agent, Role.client, Role.agent]
    assert [p.role for p in labelled.participants] == [
        Role.agent,
        Role.agent,
        Role.client,
        Role.agent,
    ]
    assert labelled.client_key == "jane@example.com"
    assert conversation.turns[0].role is Role.unknown  # frozen input, new output


def test_roles_placeholders_stay_unknown_without_staff(assign: RoleAssigner) -> None:
    labelled = assign(_conversation(["Speaker 1", "SPEAKER_01", "Speaker 1"]))
    assert {t.role for t in labelled.turns} == {Role.unknown}
    assert labelled.client_key == "unknown:c1"


def test_roles_the_one_speaker_left_beside_staff_is_the_client(assign: RoleAssigner) -> None:
    labelled = assign(_conversation(["Anna Weber", "spk_1", "Anna Weber"]))
    assert [t.role for t in labelled.turns] == [Role.agent, Role.client, Role.agent]
    assert labelled.client_key == "unknown:c1"  # a client, but nobody to group by

    two_left = assign(_conversation(["Anna Weber", "spk_1", "spk_2"]))
    assert [t.role for t in two_left.turns] == [Role.agent, Role.unknown, Role.unknown]


def test_roles_role_words_label_speakers(assign: RoleAssigner) -> None:
    labelled = assign(_conversation(["Konsultantka", "Klient", "상담원", "Customer 2"]))
    assert [t.role for t in labelled.turns] == [Role.agent, Role.client, Role.agent, Role.client]
    assert labelled.client_key == "unknown:c1"  # "Klient" names no one in particular


def test_roles_export_role_is_kept_unless_staff_says_otherwise(assign: RoleAssigner) -> None:
    people = (
        Participant(name="Bot Helper", role=Role.agent),
        Participant(name="Anna Weber", role=Role.client),  # the export is wrong about staff
        Participant(name="Kim", role=Role.client),
    )
    labelled = assign(_conversation(["Bot Helper", "Anna Weber", "Kim"], people, Channel.chat))
    assert [t.role for t in labelled.turns] == [Role.agent, Role.agent, Role.client]
    assert labelled.client_key == "kim"


def test_roles_client_key_groups_one_client_across_email_and_call(
    staff_config,  # noqa: ANN001
) -> None:
    index = ClientIndex()
    assign = RoleAssigner(StaffDirectory.from_config(staff_config), index)
    email = _conversation(
        ["Jane Doe"],
        (
            Participant(name="Jane Doe", addresses=("Jane.Doe+orders@gmail.com",)),
            Participant(name="Acme Support", addresses=("support@acme.example",)),
        ),
        channel=Channel.email,
        conversation_id="email-1",
    )
    call = _conversation(["Anna Weber", "JANE DOE", "Anna Weber"], conversation_id="call-7")
    for conversation in (email, call):
        assign.observe(conversation)
    assert assign(email).client_key == "janedoe@gmail.com"
    labelled_call = assign(call)
    assert labelled_call.client_key == "janedoe@gmail.com"
    assert [t.role for t in labelled_call.turns] == [Role.agent, Role.client, Role.agent]


def test_roles_a_name_seen_with_two_addresses_is_not_linked() -> None:
    index = ClientIndex()
    index.observe(Identity.of("John Smith", ["john@one.com"]))
    index.observe(Identity.of("John Smith", ["jsmith@two.org"]))
    index.observe(Identity.of("Ewa Kowalska", ["ewa@kowalska.pl", "@ewa_k"]))
    assert index.key(Identity.of("John Smith", [])) == "john smith"
    assert index.key(Identity.of("Ewa Kowalska", [])) == "ewa@kowalska.pl"
    assert index.key(Identity.of(None, ["@EWA_K"])) == "ewa@kowalska.pl"


def test_roles_speaker_given_as_address_matches_its_participant(assign: RoleAssigner) -> None:
    people = (Participant(name=None, addresses=("lucia@correo.es",)),)
    labelled = assign(_conversation(["Lucia <Lucia@Correo.es>"], people, Channel.email))
    assert labelled.turns[0].role is Role.client
    assert labelled.client_key == "lucia@correo.es"
    assert len(labelled.participants) == 1


def test_roles_staff_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "staff.toml"
    bad.write_text('[ingest]\nstaff_adresses = ["x@y.z"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"staff\.toml.*staff_adresses"):
        with_staff(default_config().ingest, bad)
    bad.write_text("[ingest]\nstaff_names = 'Anna'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must be a list of strings"):
        with_staff(default_config().ingest, bad)


def test_roles_staff_file_adds_to_config(staff_config) -> None:  # noqa: ANN001
    assert staff_config.staff_domains == ["acme.example"]
    assert staff_config.staff_names == ["Anna Weber"]
    assert default_config().ingest.staff_domains == []  # the cached defaults are untouched


def test_roles_same_people_again_give_the_same_labels_and_their_own_key(
    assign: RoleAssigner,
) -> None:
    """``assign`` remembers what it found for the same people and speakers: a conversation
    without a client to name still gets a key with its own id, and what the index learns
    later changes the key of the next conversation."""
    first = assign(_conversation(["Anna Weber", "spk_1"], conversation_id="c1"))
    again = assign(_conversation(["Anna Weber", "spk_1"], conversation_id="c2"))
    assert (first.client_key, again.client_key) == ("unknown:c1", "unknown:c2")
    assert again.turns[1].role is Role.client and again.participants == first.participants

    call = _conversation(["Anna Weber", "Jane Doe"], conversation_id="call-1")
    assert assign(call).client_key == "jane doe"
    email = _conversation(
        ["Jane Doe"], (Participant(name="Jane Doe", addresses=("jane@doe.example",)),)
    )
    assign.observe(email)
    assert assign(call).client_key == "jane@doe.example"
