"""The review store, on SQLite and on a real PostgreSQL (scripts/postgres.sh): loading,
ranking, filters, pagination, review actions and their audit trail, export, accounts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tonewatch.aggregate import aggregate
from tonewatch.schema import Evidence, Flag, Label
from tonewatch.serve.store import load_pairs, recompute_clients, write_reviews
from tonewatch.serve.store import models as m
from tonewatch.serve.store.loading import stored_pairs
from tonewatch.serve.store.queries import ClientFilter, list_clients, next_conversation
from tonewatch.serve.store.reviews import ReviewError, add_flag, relabel, set_status, set_tone
from tonewatch.serve.store.users import (
    add_user,
    authenticate,
    close_session,
    find_session,
    open_session,
    update_user,
)
from tonewatch.train.gold import read_annotations

MARK, JURGEN, CLAIRE = (
    "marek.kowalski@example.pl",
    "juergen.braun@example.de",
    "claire.dubois@example.fr",
)  # noqa: E501
MINJUN, DIEGO, OMAR = (
    "minjun.lee@example.kr",
    "diego.hernandez@example.es",
    "omar.haddad@example.ae",
)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _keys(session, **filters) -> list[str]:
    return [row.client.key for row in list_clients(session, ClientFilter(**filters), 1, 50).rows]


def _flags(session, client_key: str, label: str | None = None) -> list[m.Flag]:
    query = select(m.Flag).join(m.Client, m.Client.id == m.Flag.client_id)
    query = query.where(m.Client.key == client_key).order_by(m.Flag.id)
    if label:
        query = query.where(m.Flag.label == label)
    return list(session.scalars(query))


def _user(session, name: str) -> m.User:
    return session.scalar(select(m.User).where(m.User.name == name))


def test_store_load_is_idempotent(session, archive) -> None:
    first = load_pairs(session, archive)
    counts = [_count(session, t) for t in (m.Conversation, m.Turn, m.Flag)]
    again = load_pairs(session, archive)
    assert (first.added, first.turns, first.flags) == (24, 94, 20)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 24)
    assert [_count(session, t) for t in (m.Conversation, m.Turn, m.Flag)] == counts


def test_store_round_trip_gives_back_the_conversations_and_results(session, archive) -> None:
    load_pairs(session, archive)
    stored = {c.id: (c, r) for c, r in stored_pairs(session, chunk=7)}
    assert len(stored) == len(archive)
    for conversation, results in archive:
        again, again_results = stored[conversation.id]
        assert again == conversation
        assert [t.timestamp.utcoffset() for t in again.turns if t.timestamp] == [
            t.timestamp.utcoffset() for t in conversation.turns if t.timestamp
        ]
        assert sorted(again_results, key=lambda r: r.id) == sorted(results, key=lambda r: r.id)


def test_store_ranking_equals_the_aggregate_of_the_archive(session, archive, config) -> None:
    load_pairs(session, archive)
    assert recompute_clients(session, config.aggregate) == 6
    expected = {r.client: r for r in aggregate(archive, config.aggregate)}
    rows = list_clients(session, ClientFilter(), 1, 50).rows
    assert [row.client.key for row in rows] == list(expected)  # highest risk first
    for row in rows:
        report = expected[row.client.key]
        assert row.client.risk == pytest.approx(report.risk)
        assert row.client.verdict == report.verdict
        stored = session.get(m.Client, row.client.id)
        assert stored.explanation == report.explanation
        assert stored.report == report.model_dump(mode="json")
    assert rows[0].client.key == MARK and rows[0].open_flags == 10


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"lang": "pl"}, [MARK]),
        ({"flag": "legal_threat"}, [OMAR]),
        ({"family": "demands"}, [MINJUN]),
        ({"family": "leverage", "channel": "call"}, [OMAR]),
        ({"family": "abuse", "channel": "email"}, [MARK]),
        ({"verdict": "pattern"}, [MARK, MINJUN, OMAR]),
        ({"review": "open"}, [MARK, MINJUN, OMAR, JURGEN]),
        ({"q": "KOWAL"}, [MARK]),
        ({"since": date(2025, 2, 24), "until": date(2025, 3, 2)}, [MARK, JURGEN, DIEGO, CLAIRE]),
        ({"flag": "personal_attack", "since": date(2025, 2, 24), "until": date(2025, 3, 2)},
         [MARK, JURGEN]),
        ({"lang": "de", "flag": "personal_attack"}, [JURGEN]),
        ({"lang": "fr", "flag": "personal_attack"}, []),
    ],
)  # fmt: skip
def test_store_filters_clients(loaded, filters, expected) -> None:
    assert _keys(loaded, **filters) == expected


def test_store_flag_filter_ignores_rejected_flags(loaded) -> None:
    reviewer = _user(loaded, "rita")
    for flag in _flags(loaded, OMAR, "legal_threat"):
        set_status(loaded, reviewer, flag.id, "rejected")
    assert _keys(loaded, flag="legal_threat") == []
    assert _keys(loaded, flag="reputation_threat") == [OMAR]


def test_store_filtered_lists_follow_every_review(loaded) -> None:
    """Each filter's ranked ids are reused only while the store is unchanged."""
    rita = _user(loaded, "rita")
    assert OMAR in _keys(loaded, flag="legal_threat")
    assert OMAR in _keys(loaded, review="open")
    for flag in _flags(loaded, OMAR):
        set_status(loaded, rita, flag.id, "rejected")
        loaded.commit()
    assert OMAR not in _keys(loaded, flag="legal_threat")
    assert OMAR not in _keys(loaded, review="open")


def test_store_paginates_in_rank_order(loaded) -> None:
    everyone = _keys(loaded)
    pages = [list_clients(loaded, ClientFilter(), n, 4) for n in (1, 2, 3)]
    assert [p.pages for p in pages] == [2, 2, 2] and pages[0].total == 6
    assert [r.client.key for p in pages[:2] for r in p.rows] == everyone
    assert [r.client.key for r in pages[2].rows] == everyone[4:]  # past the end: the last page


def test_store_review_actions_are_logged_with_reviewer_time_and_model(loaded) -> None:
    rita, lena = _user(loaded, "rita"), _user(loaded, "lena")
    attack, accusation, *_ = _flags(loaded, JURGEN)
    set_status(loaded, rita, attack.id, "confirmed")
    set_status(loaded, lena, accusation.id, "rejected")
    relabel(loaded, rita, _flags(loaded, OMAR, "reputation_threat")[0].id, "threat")
    turn = loaded.get(m.Turn, attack.turn_id)
    set_tone(loaded, lena, turn.id, "frustrated")
    log = list(loaded.scalars(select(m.Review).order_by(m.Review.id)))
    assert [(r.action, r.user_id, r.before, r.after) for r in log] == [
        ("confirm", rita.id, "open", "confirmed"),
        ("reject", lena.id, "open", "rejected"),
        ("relabel", rita.id, "reputation_threat", "threat"),
        ("tone", lena.id, "hostile", "frustrated"),
    ]
    assert {r.model for r in log} == {"tonewatch-test-0"}
    assert all(abs(r.at - log[0].at) < timedelta(minutes=1) for r in log)
    relabelled = _flags(loaded, OMAR, "threat")[0]
    assert (relabelled.status, relabelled.model_label, relabelled.family) == (
        "confirmed", "reputation_threat", "abuse",
    )  # fmt: skip


def test_store_relabel_to_a_label_the_turn_has_is_refused(loaded) -> None:
    call = [f for f in _flags(loaded, OMAR) if f.channel == "call"]  # legal + reputation
    assert sorted(f.label for f in call) == ["legal_threat", "reputation_threat"]
    with pytest.raises(ReviewError) as caught:
        relabel(loaded, _user(loaded, "rita"), call[0].id, call[1].label)
    assert caught.value.status == 409
    with pytest.raises(ReviewError, match="not one of"):
        relabel(loaded, _user(loaded, "rita"), call[0].id, "rudeness")


def test_store_add_flag_finds_the_selection_in_the_text(loaded) -> None:
    rita = _user(loaded, "rita")
    turn = loaded.scalar(select(m.Turn).where(m.Turn.key == "fr-2:1"))
    text = turn.text
    quote = "geste commercial"
    start = text.index(quote)
    flag = add_flag(loaded, rita, turn.id, "unreasonable_demand", start, start + len(quote), quote)
    assert flag.evidence == [[start, start + len(quote)]] and flag.model_label is None
    # Offsets off by a few (the browser counted differently): the quote decides.
    again = add_flag(
        loaded, rita, turn.id, "unreasonable_demand", start + 3, start + 9, " " + quote
    )
    assert again.id == flag.id and again.evidence == [[start, start + len(quote)]]
    with pytest.raises(ReviewError, match="not in this turn"):
        add_flag(loaded, rita, turn.id, "threat", 0, 5, "words nobody wrote")


def test_store_reload_with_new_results_keeps_reviewer_decisions(loaded, archive) -> None:
    rita = _user(loaded, "rita")
    chat = next((c, r) for c, r in archive if c.id == "de-chat-3")
    accusation, attack, profanity = _flags(loaded, JURGEN)
    set_status(loaded, rita, accusation.id, "rejected")
    set_status(loaded, rita, attack.id, "confirmed")
    # A new model: drops the profanity flag, keeps the others with new scores.
    conversation, results = chat
    rescored = []
    for result in results:
        flags = tuple(
            Flag(label=f.label, score=0.66, evidence=f.evidence)
            for f in result.flags
            if f.label != Label.profanity
        )
        rescored.append(result.model_copy(update={"flags": flags, "model": "tonewatch-test-1"}))
    stats = load_pairs(loaded, [(conversation, rescored)])
    assert (stats.updated, stats.added, stats.unchanged) == (1, 0, 0)
    kept = {f.label: f for f in _flags(loaded, JURGEN)}
    assert kept["aggressive_accusation"].status == "rejected"
    assert kept["personal_attack"].status == "confirmed"
    assert kept["aggressive_accusation"].score == pytest.approx(0.66)
    assert "profanity" not in kept  # open, and the new model no longer flags it


def test_store_ranking_counts_the_reviews(loaded, config) -> None:
    rita = _user(loaded, "rita")
    before = _keys(loaded)
    for flag in _flags(loaded, OMAR):
        set_status(loaded, rita, flag.id, "rejected")
    recompute_clients(loaded, config.aggregate)
    omar = loaded.scalar(select(m.Client).where(m.Client.key == OMAR))
    assert (omar.verdict, omar.risk) == ("none", 0.0)
    assert _keys(loaded).index(OMAR) > before.index(OMAR)


def test_store_next_conversation_prefers_the_same_client(loaded) -> None:
    first = loaded.scalar(select(m.Conversation.id).where(m.Conversation.key == "pl-w2"))
    following = loaded.get(m.Conversation, next_conversation(loaded, first))
    assert following.key.startswith("pl-w")
    omar_mail = loaded.scalar(select(m.Conversation.id).where(m.Conversation.key == "ar-mail"))
    for flag in _flags(loaded, OMAR):
        set_status(loaded, _user(loaded, "rita"), flag.id, "confirmed")
    elsewhere = loaded.get(m.Conversation, next_conversation(loaded, omar_mail))
    assert elsewhere.key.startswith("pl-w")  # Omar is done: the highest risk client next


def test_store_export_writes_annotations_the_trainer_reads(loaded, tmp_path) -> None:
    rita = _user(loaded, "rita")
    accusation, attack, profanity = _flags(loaded, JURGEN)
    set_status(loaded, rita, accusation.id, "rejected")  # its turn: a hard negative
    set_status(loaded, rita, attack.id, "confirmed")
    set_tone(loaded, rita, attack.turn_id, "hostile")
    turn = loaded.get(m.Turn, attack.turn_id)
    quote = "unfähiger"
    add_flag(loaded, rita, turn.id, "profanity", 0, 0, quote)  # a second label on the turn
    set_tone(loaded, rita, profanity.turn_id, "hostile")  # its flag left open: not exported
    stats = write_reviews(loaded, tmp_path / "reviews.jsonl")
    assert (stats.written, stats.undecided) == (2, 1)
    gold = {t.id: t for t in read_annotations(tmp_path / "reviews.jsonl")}
    attacked = gold[turn.key]
    assert attacked.labels == {"personal_attack", "profanity"} and attacked.tone == "hostile"
    spans = {(s.label, turn.text[s.start : s.end]) for s in attacked.evidence}
    assert spans == {("personal_attack", "unfähiger Idiot"), ("profanity", quote)}
    negative = gold[loaded.get(m.Turn, accusation.turn_id).key]
    assert negative.labels == frozenset() and negative.hard_negative and negative.tone is None
    assert {t.conversation for t in gold.values()} == {"de-chat-3"}


def test_store_quarantines_a_conversation_reusing_turn_ids(session, archive) -> None:
    load_pairs(session, archive)
    conversation, results = archive[0]
    copy = conversation.model_copy(update={"id": "copy-of-" + conversation.id})
    stats = load_pairs(session, [(copy, results)])
    assert stats.added == 0 and [r.code for r in stats.quarantine] == ["S001"]
    assert conversation.turns[0].id in stats.quarantine[0].message


def test_store_accounts_and_sessions(session) -> None:
    from tonewatch.errors import DataError

    user = add_user(session, "anna", "admin", "long enough password")
    session.commit()
    with pytest.raises(DataError, match="already exists"):
        add_user(session, "ANNA", "reviewer", "long enough password")
    with pytest.raises(DataError, match="shorter"):
        add_user(session, "bob", "reviewer", "short")
    assert user.password_hash.startswith("$argon2id$")
    assert authenticate(session, "anna", "wrong password!") is None
    assert authenticate(session, "nobody", "long enough password") is None
    assert authenticate(session, "Anna", "long enough password") is user
    opened = open_session(session, user, timedelta(hours=1))
    session.commit()
    found = find_session(session, opened.token, timedelta(hours=1))
    assert found is not None and found.csrf == opened.csrf and found.user is user
    assert session.get(m.LoginSession, opened.token) is None  # only the digest is stored
    assert find_session(session, opened.token + "x", timedelta(hours=1)) is None
    update_user(session, user, active=False)  # locking ends the sessions
    session.commit()
    assert find_session(session, opened.token, timedelta(hours=1)) is None
    update_user(session, user, active=True)
    again = open_session(session, user, timedelta(seconds=-1))  # already expired
    session.commit()
    assert find_session(session, again.token, timedelta(hours=1)) is None
    close_session(session, again.token)


def test_store_evidence_spans_survive_as_evidence(loaded) -> None:
    """Every stored span is a valid Evidence of its turn (offsets are characters)."""
    for flag in loaded.scalars(select(m.Flag)):
        turn = loaded.get(m.Turn, flag.turn_id)
        for start, end in flag.evidence:
            Evidence.from_span(turn.text, start, end)
