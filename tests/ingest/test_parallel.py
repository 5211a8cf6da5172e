"""Ingest with worker processes gives what the one-process run gives, byte for byte."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tonewatch.cli import app
from tonewatch.config import IngestConfig, default_config
from tonewatch.ingest import parallel
from tonewatch.ingest.email_finish import finish_json
from tonewatch.ingest.email_message import ParsedMessage, read_message, stable_id
from tonewatch.ingest.merge import merge_fragments, rebuild
from tonewatch.ingest.pipeline import IngestRun, IngestStats, summary
from tonewatch.ingest.roles import RoleAssigner, with_staff
from tonewatch.io import to_json
from tonewatch.schema import Channel, Conversation, Location, QuarantineRecord, Turn


@pytest.fixture(scope="module")
def config(fixtures_dir: Path) -> IngestConfig:
    return with_staff(default_config().ingest, fixtures_dir / "staff.toml")


def _archive(path: Path, bodies: list[str], seed: int = 3) -> None:
    """Enron bodies as an mbox that exercises every threading rule: roots, replies linked by
    References, replies linked only by a "Re:" subject (threaded by subject and participants),
    replies to those, messages without a Message-ID, a corrupt message, and a truncated end."""
    rng = random.Random(seed)
    start = datetime(2001, 5, 1, 9, tzinfo=UTC)
    roots: list[tuple[str, str, str]] = []  # (message id, subject, client)
    parts = []
    for number, body in enumerate(bodies):
        client = f"client{rng.randrange(12)}@enron.com"
        headers = [
            f"Date: {(start + timedelta(minutes=number)).strftime('%a, %d %b %Y %H:%M:%S +0000')}"
        ]
        if number % 50 != 7:
            headers.append(f"Message-ID: <m{number}@enron.com>")
        kind = rng.random()
        if roots and kind < 0.3:  # a reply that keeps References
            root, subject, client = rng.choice(roots)
            sender = "desk@acme.example"
            headers += [f"In-Reply-To: <{root}>", f"References: <{root}>"]
            subject = "Re: " + subject
        elif roots and kind < 0.45:  # a client's "Re:" without any reference
            _, subject, client = rng.choice(roots)
            sender, subject = client, "RE: " + subject
        else:
            subject = f"Deal {number % 40}"
            sender = client
            roots.append((f"m{number}@enron.com", subject, client))
        to = "support@acme.example" if sender == client else client
        headers += [f"From: {sender}", f"To: {to}", f"Subject: {subject}"]
        if number == 123:
            headers = ["garbage without any header"]
        body = "\n".join(
            ">" + line if line.startswith("From ") else line for line in body.split("\n")
        )
        parts.append(
            f"From {sender} Tue May  1 09:00:00 2001\n" + "\n".join(headers) + "\n\n" + body + "\n"
        )
    path.write_text("\n".join(parts).rstrip("\n"), encoding="utf-8")  # the last one: truncated


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> Path:
    lines = (shared_datasets / "aeslc-enron" / "aeslc_enron_emails.jsonl").open(encoding="utf-8")
    bodies = [json.loads(next(lines))["body"] for _ in range(400)]
    path = tmp_path_factory.mktemp("parallel") / "enron.mbox"
    _archive(path, bodies)
    return path


@pytest.fixture
def small_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many small tasks (the parent cuts them), so ordering across them is exercised."""
    monkeypatch.setattr(parallel, "MIN_MBOX_BYTES", 0)
    monkeypatch.setattr(parallel, "CHUNK_MESSAGES", 7)
    monkeypatch.setattr(parallel, "BATCH_FRAGMENTS", 11)


def _run(
    archive: Path, config: IngestConfig, workers: int, decoded: bool = False
) -> tuple[list[object], list[QuarantineRecord], IngestStats]:
    records: list[QuarantineRecord] = []
    run = IngestRun(config, on_quarantine=records.append, memory_fragments=50, workers=workers)
    output = list(run(archive.parent.glob("*.mbox")) if decoded else run.run([archive], to_json))
    return output, records, run.stats


@pytest.mark.slow
@pytest.mark.usefixtures("small_tasks")
def test_parallel_output_equals_the_one_process_run(archive: Path, config: IngestConfig) -> None:
    alone = _run(archive, config, workers=1)
    assert _run(archive, config, workers=2) == alone
    output, records, stats = alone
    assert [r.code for r in records] == ["I003", "I004"]  # the corrupt and the truncated one
    assert stats.roles.keys() == {"client", "agent"} and stats.turns == 398
    conversations = [Conversation.model_validate_json(line) for line in output]
    # Replies linked only by subject joined their thread (the subject index is order-bound).
    assert any(
        len(c.turns) > 1
        and any(t.meta["subject"].startswith("RE: ") and not t.meta["references"] for t in c.turns)
        for c in conversations
    )


@pytest.mark.slow
@pytest.mark.usefixtures("small_tasks")
def test_parallel_run_yields_the_same_conversations(archive: Path, config: IngestConfig) -> None:
    assert _run(archive, config, workers=2, decoded=True) == _run(
        archive, config, workers=1, decoded=True
    )


@pytest.mark.slow
@pytest.mark.usefixtures("small_tasks")
def test_parallel_cli_workers_option_writes_the_same_file(
    archive: Path, tmp_path: Path, fixtures_dir: Path
) -> None:
    runner = CliRunner()
    staff = fixtures_dir / "staff.toml"
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}.jsonl"
        result = runner.invoke(
            app, ["ingest", str(archive), "-o", str(out), "--staff", str(staff), "-j", workers]
        )
        assert result.exit_code == 0, result.output
    assert (tmp_path / "w1.jsonl").read_bytes() == (tmp_path / "w2.jsonl").read_bytes()
    assert (tmp_path / "w1.quarantine.jsonl").read_bytes() == (
        tmp_path / "w2.quarantine.jsonl"
    ).read_bytes()


def _messages(fixtures_dir: Path, config: IngestConfig) -> list[ParsedMessage]:
    """Every fixture email read (charsets, attachments, RFC 2047, replies in 8 languages),
    and one message per kind of Date header (fixed offsets, UTC, "-0000", none)."""
    paths = sorted((fixtures_dir / "email").rglob("*.eml"))
    messages = [read_message(p.read_bytes(), str(p), None, config, str(p)) for p in paths]
    for date in ("Tue, 1 May 2001 09:00:00 +0200", "1 May 2001 09:00 -0530", "-0000", None):
        stamp = "" if date is None else f"Date: {date}\n"
        data = f"From: a@b.example\nSubject: x\n{stamp}\nHello there\n".encode()
        messages.append(read_message(data, "t.mbox", 1, config, "t.mbox#1"))
    dated = "Date: Tue, 1 May 2001 09:00:00 -0000\n"  # no zone: config.default_timezone
    data = f"From: a@b.example\n{dated}\nHi\n".encode()
    messages.append(read_message(data, "t.mbox", 2, config, "t.mbox#2"))
    assert all(isinstance(m, ParsedMessage) for m in messages)
    return messages  # type: ignore[return-value]


def _validated_fragment(message: ParsedMessage, thread: str, how: str) -> Conversation:
    """``ParsedMessage.fragment`` as pydantic builds it, every value validated."""
    envelope = message.envelope
    where = Location(path=envelope.path, item=envelope.item, message_id=envelope.message_id)
    turn = Turn(
        id="m-" + stable_id(envelope.message_id or envelope.fallback_key),
        speaker=message.speaker,
        text=message.text,
        timestamp=message.timestamp,
        source=where,
        lang=message.lang,
        lang_confidence=message.lang_confidence,
        attachments=message.attachments,
        meta=message.meta,
    )
    return Conversation(
        id=thread,
        channel=Channel.email,
        client_key="",
        participants=tuple(envelope.participants()),
        turns=(turn,),
        source=where,
        subject=envelope.subject,
        meta={"thread_by": how},
    )


def test_fragment_is_what_validation_builds(fixtures_dir: Path, config: IngestConfig) -> None:
    """``fragment`` skips pydantic's validation: the same values, fields set and JSON."""
    for message in _messages(fixtures_dir, config):
        for parsed in (message, message._replace(lang="pl", lang_confidence=0.93)):
            built, expected = (
                parsed.fragment("t1", "root"),
                _validated_fragment(parsed, "t1", "root"),
            )
            assert built == expected
            assert built.model_dump_json() == expected.model_dump_json()
            assert built.model_dump() == expected.model_dump()
            pairs = [(built, expected), (built.turns[0], expected.turns[0])]
            pairs.append((built.source, expected.source))
            for got, want in pairs:
                assert got.model_fields_set == want.model_fields_set
            assert built.turns[0].meta is not parsed.meta  # the turn has its own dict


def test_messages_cross_processes_unchanged(fixtures_dir: Path, config: IngestConfig) -> None:
    messages = _messages(fixtures_dir, config)
    assert any(m.attachments for m in messages) and any(m.timestamp is None for m in messages)
    assert {m.to_bytes()[:1] for m in messages} == {b"m", b"p"}  # marshal, and pickle's fallback
    for message in messages:
        copy = ParsedMessage.from_bytes(message.to_bytes())
        assert copy == message
        if message.timestamp is not None:
            assert copy.timestamp.tzinfo == message.timestamp.tzinfo  # type: ignore[union-attr]
            assert copy.timestamp.tzname() == message.timestamp.tzname()  # type: ignore[union-attr]
        fragment = message.fragment("t1", "message-id")
        assert copy.fragment("t1", "message-id").model_dump_json() == fragment.model_dump_json()


def test_email_threads_finish_to_the_json_the_models_give(
    fixtures_dir: Path, config: IngestConfig
) -> None:
    """``finish_json`` writes what merging, labelling and serialising the models writes: for
    every fixture message alone and in threads with replies out of order, a message read
    twice, two messages sharing an id, untimed messages and a thread across two files."""
    messages = _messages(fixtures_dir, config)
    plain = [m for m in messages if m.to_bytes()[:1] == b"m"]
    assert len(plain) > 20
    later = plain[5]._replace(envelope=plain[5].envelope._replace(path="other.mbox"))
    retold = plain[6]._replace(text=plain[6].text + " (edited)")
    groups = [[m] for m in messages] + [plain[i : i + 3][::-1] for i in range(0, len(plain) - 3, 3)]
    groups += [[plain[2], plain[2]], [plain[6], retold, plain[6]], [plain[5], plain[0], later]]
    groups += [[m for m in plain if m.timestamp is None] + plain[:2]]
    hows = ("root", "message-id", "subject")
    for number, group in enumerate(groups):
        entries = [(hows[k % 3], m.to_bytes()) for k, m in enumerate(group)]
        roles = RoleAssigner.from_config(config)
        merged = roles(merge_fragments([rebuild(f"t{number}", e) for e in entries]))
        got = finish_json(f"t{number}", entries, RoleAssigner.from_config(config))
        if any(m.to_bytes()[:1] == b"p" for m in group):
            assert got is None  # pickled: attachments or a named zone, the general way
            continue
        assert got == (to_json(merged), summary(merged))
