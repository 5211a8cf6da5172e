from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tonewatch.cli import app
from tonewatch.config import IngestConfig, default_config
from tonewatch.ingest.base import ReadItem
from tonewatch.ingest.merge import FragmentSpool, merge_fragments
from tonewatch.ingest.pipeline import IngestRun, ingest_file, ingest_paths
from tonewatch.ingest.roles import with_staff
from tonewatch.ingest.sniff import choose_reader, discover
from tonewatch.io import read_conversations
from tonewatch.schema import (
    Channel,
    Conversation,
    Location,
    QuarantineRecord,
    Role,
    Turn,
)


@pytest.fixture(scope="module")
def mixed(fixtures_dir: Path) -> Path:
    return fixtures_dir / "ingest" / "mixed"


@pytest.fixture(scope="module")
def config(fixtures_dir: Path) -> IngestConfig:
    return with_staff(default_config().ingest, fixtures_dir / "staff.toml")


@pytest.fixture(scope="module")
def ingested(
    mixed: Path, config: IngestConfig
) -> tuple[list[Conversation], list[QuarantineRecord]]:
    records: list[QuarantineRecord] = []
    return list(ingest_paths([mixed], config, on_quarantine=records.append)), records


def _by_subject(conversations: list[Conversation], subject: str) -> Conversation:
    return next(c for c in conversations if c.subject == subject)


def test_pipeline_reads_every_format_of_a_mixed_archive(ingested) -> None:  # noqa: ANN001
    conversations, _ = ingested
    channels = sorted(c.channel.value for c in conversations)
    assert channels == ["call", "chat", "email", "email", "email"]
    langs = {c.subject or c.id: {t.lang for t in c.turns} for c in conversations}
    assert langs["Reklamacja zamówienia 2210"] == {"pl"}  # RFC 2047 subject decoded
    assert langs["Factura duplicada"] == {"es"}
    assert langs["KO-31"] == {"ko"}
    assert all(t.lang_confidence > 0.5 for c in conversations for t in c.turns)


def test_pipeline_merges_a_thread_across_mbox_and_maildir(ingested) -> None:  # noqa: ANN001
    conversations, _ = ingested
    thread = _by_subject(conversations, "Order 1042 arrived damaged")
    assert [t.speaker for t in thread.turns] == ["Jane Doe", "Anna Weber", "Jane Doe", "Jane Doe"]
    assert [t.role for t in thread.turns] == [Role.client, Role.agent, Role.client, Role.client]
    stamps = [t.timestamp for t in thread.turns]
    assert stamps == sorted(stamps)
    assert thread.turns[-1].text.startswith("Still nothing.")
    assert thread.turns[-1].source.path.endswith("archive.maildir")
    assert len(thread.meta["sources"]) == 2
    assert "wrote:" not in thread.turns[2].text  # quoted history is the email reader's job


def test_pipeline_groups_one_client_across_email_and_call(ingested) -> None:  # noqa: ANN001
    conversations, _ = ingested
    call = next(c for c in conversations if c.channel is Channel.call)
    email = _by_subject(conversations, "Order 1042 arrived damaged")
    assert call.client_key == email.client_key == "janedoe@gmail.com"
    assert [t.role for t in call.turns] == [Role.agent, Role.client, Role.agent]


def test_pipeline_quarantines_unknown_binary_and_empty_files(ingested) -> None:  # noqa: ANN001
    _, records = ingested
    by_file = {Path(r.location.path).name: r for r in records}
    assert set(by_file) == {"blob.bin", "photo.eml", "empty.txt"}
    assert by_file["blob.bin"].code == "I201"
    assert "unknown format" in str(by_file["blob.bin"]) and "binary data" in str(
        by_file["blob.bin"]
    )
    assert str(by_file["empty.txt"]).startswith(str(Path(by_file["empty.txt"].location.path)))
    assert by_file["empty.txt"].code == "I202"
    assert "photo.eml" in str(by_file["photo.eml"])


class _CrashingReader:
    """A reader with a bug: it reads one conversation, then raises."""

    name = "test.crashing.v1"

    def sniff(self, path: Path, head: bytes) -> float:
        return 1.0 if head.startswith(b"CRASH") else 0.0

    def read(self, path: Path, config: IngestConfig) -> Iterator[ReadItem]:
        source = Location(path=str(path), line=1)
        turn = Turn(id="t1", speaker="Kim", text="first message survives", source=source)
        yield Conversation(
            id="crash-1", channel=Channel.chat, client_key="", turns=(turn,), source=source
        )
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")


def test_pipeline_wraps_a_crashing_reader_and_goes_on(
    tmp_path: Path, mixed: Path, config: IngestConfig
) -> None:
    (tmp_path / "export.crash").write_bytes(b"CRASH\nmore")
    records: list[QuarantineRecord] = []
    run = IngestRun(config, on_quarantine=records.append)
    run.readers.append(_CrashingReader())
    conversations = list(run([tmp_path, mixed / "chat"]))
    assert [c.id for c in conversations] == ["crash-1", "KO-31"]
    (record,) = records
    assert record.code == "I204"
    assert str(record).startswith(str(tmp_path / "export.crash"))
    assert "test.crashing.v1 failed after 1 item(s) (UnicodeDecodeError" in record.message
    assert run.stats.quarantined == 1 and run.stats.conversations == 2


def test_pipeline_missing_path_is_quarantined(tmp_path: Path, config: IngestConfig) -> None:
    records: list[QuarantineRecord] = []
    assert list(ingest_file(tmp_path / "nope.mbox", config, on_quarantine=records.append)) == []
    assert [r.code for r in records] == ["I203"]
    assert "nope.mbox" in str(records[0])


def test_pipeline_spooled_to_disk_gives_the_same_conversations(
    mixed: Path,
    config: IngestConfig,
    ingested,  # noqa: ANN001
) -> None:
    run = IngestRun(config, memory_fragments=1)
    on_disk = list(run([mixed]))
    assert on_disk == ingested[0]


def test_pipeline_discovers_maildirs_and_skips_hidden_files(tmp_path: Path, mixed: Path) -> None:
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x01")
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    found = [p for p in discover([tmp_path, mixed / "mail"]) if isinstance(p, Path)]
    # A folder's files first, then its subfolders, each in name order.
    assert found == [
        tmp_path / "notes.txt",
        mixed / "mail" / "support.mbox",
        mixed / "mail" / "archive.maildir",
    ]


class _Claims:
    def __init__(self, name: str, score: float, extensions: tuple[str, ...] = ()) -> None:
        self.name, self.score, self.extensions = name, score, extensions

    def sniff(self, path: Path, head: bytes) -> float:
        return self.score

    def read(self, path: Path, config: IngestConfig) -> Iterator[ReadItem]:
        yield from ()


def test_pipeline_sniff_score_wins_and_extension_breaks_ties() -> None:
    low, high = _Claims("low", 0.4, (".csv",)), _Claims("high", 0.9)
    assert choose_reader(Path("x.csv"), b"a,b", [low, high]) == (high, 0.9)
    tied = [_Claims("a", 0.8), _Claims("b", 0.8, (".vtt",))]
    assert choose_reader(Path("call.vtt"), b"", tied)[0] is tied[1]
    assert choose_reader(Path("call.txt"), b"", tied)[0] is tied[0]
    assert choose_reader(Path("x"), b"", [_Claims("none", 0.0)]) == (None, 0.0)


def _turn(turn_id: str, minute: int | None, text: str = "hello") -> Turn:
    stamp = datetime(2024, 3, 1, 10, minute, tzinfo=UTC) if minute is not None else None
    return Turn(id=turn_id, speaker="a", text=text, timestamp=stamp, source=Location(path="f"))


def _fragment(*turns: Turn, path: str = "f") -> Conversation:
    return Conversation(
        id="c", channel=Channel.email, client_key="", turns=turns, source=Location(path=path)
    )


def test_pipeline_merge_sorts_by_time_then_reading_order() -> None:
    late = _fragment(_turn("m3", 30), path="b.mbox")
    early = _fragment(_turn("m1", 5), _turn("m1b", None), _turn("m2", 5), path="a.mbox")
    merged = merge_fragments([late, early])
    assert [t.id for t in merged.turns] == ["m1", "m1b", "m2", "m3"]
    assert merged.source.path == "b.mbox" and merged.meta["sources"] == ["b.mbox", "a.mbox"]


def test_pipeline_merge_drops_duplicates_and_keeps_ids_unique() -> None:
    first = _fragment(_turn("m1", 1, "hello"))
    again = _fragment(_turn("m1", 1, "hello"))  # the same message in a second mailbox
    clash = _fragment(_turn("m1", 2, "another text"))  # two exports reusing an id
    merged = merge_fragments([first, again, clash])
    assert [(t.id, t.text) for t in merged.turns] == [("m1", "hello"), ("m1~2", "another text")]


def test_pipeline_spool_moves_to_disk_and_keeps_order(tmp_path: Path) -> None:
    spool = FragmentSpool(tmp_path, memory_fragments=3)
    ids = ["b", "a", "b", "c", "a", "d", "b"]
    for number, conversation_id in enumerate(ids):
        spool.add(_fragment(_turn(f"t{number}", number)).model_copy(update={"id": conversation_id}))
    assert spool.on_disk and len(spool) == 7
    groups = [[t.turns[0].id for t in group] for group in spool.groups()]
    assert groups == [["t0", "t2", "t6"], ["t1", "t4"], ["t3"], ["t5"]]
    spool.close()
    assert list(tmp_path.iterdir()) == []  # the temporary database is gone


runner = CliRunner()


def test_pipeline_cli_help_explains_the_command() -> None:
    result = runner.invoke(app, ["ingest", "--help"])
    assert result.exit_code == 0
    for option in ("--output", "--format", "--staff", "--quarantine", "--config"):
        assert option in result.output


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_pipeline_cli_writes_conversations_and_quarantine(
    tmp_path: Path,
    mixed: Path,
    fixtures_dir: Path,
    ingested,
    suffix: str,  # noqa: ANN001
) -> None:
    output = tmp_path / f"conversations{suffix}"
    result = runner.invoke(
        app, ["ingest", str(mixed), "-o", str(output), "--staff", str(fixtures_dir / "staff.toml")]
    )
    assert result.exit_code == 0, result.output
    assert list(read_conversations(output)) == ingested[0]
    quarantine = tmp_path / "conversations.quarantine.jsonl"
    codes = [json.loads(line)["code"] for line in quarantine.read_text().splitlines()]
    assert sorted(codes) == ["I201", "I201", "I202"]
    assert "conversations  5" in result.output
    assert "quarantined    3" in result.output
    assert "empty.txt: I202 empty file" in result.output


def test_pipeline_cli_exits_1_when_nothing_can_be_read(tmp_path: Path, mixed: Path) -> None:
    result = runner.invoke(app, ["ingest", str(mixed / "junk"), "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 1
    assert "nothing could be read" in result.output


def test_pipeline_cli_exits_1_when_the_output_cannot_be_written(
    tmp_path: Path, mixed: Path
) -> None:
    target = tmp_path / "missing-dir" / "o.jsonl"
    result = runner.invoke(app, ["ingest", str(mixed / "chat"), "-o", str(target)])
    assert result.exit_code == 1
    assert f"cannot write {target}" in result.output


@pytest.mark.slow
def test_pipeline_threads_real_enron_bodies(
    tmp_path: Path, shared_datasets: Path, config: IngestConfig
) -> None:
    """300 Enron bodies as an mbox of 100 three-message threads (root, reply, reply)."""
    lines = (shared_datasets / "aeslc-enron" / "aeslc_enron_emails.jsonl").open(encoding="utf-8")
    bodies = [json.loads(next(lines))["body"] for _ in range(300)]
    start = datetime(2001, 5, 1, 9, tzinfo=UTC)
    parts = []
    for number, body in enumerate(bodies):
        thread, position = divmod(number, 3)
        sender = f"trader{thread}@enron.com" if position != 1 else "desk@acme.example"
        headers = [
            f"From {sender} Tue May  1 09:00:00 2001",
            f"From: {sender}",
            f"Subject: {'Re: ' if position else ''}Deal {thread}",
            f"Date: {(start + timedelta(hours=number)).strftime('%a, %d %b %Y %H:%M:%S +0000')}",
            f"Message-ID: <m{number}@enron.com>",
        ]
        if position:
            headers.append(f"In-Reply-To: <m{number - 1}@enron.com>")
            headers.append(f"References: <m{thread * 3}@enron.com>")
        body = "\n".join(
            ">" + line if line.startswith("From ") else line for line in body.split("\n")
        )
        parts.append("\n".join(headers) + "\n\n" + body + "\n")
    archive = tmp_path / "enron.mbox"
    archive.write_text("\n".join(parts), encoding="utf-8")
    records: list[QuarantineRecord] = []
    conversations = list(ingest_file(archive, config, on_quarantine=records.append))
    assert records == []
    assert len(conversations) == 100
    assert all(len(c.turns) == 3 for c in conversations)
    assert all(
        [t.role for t in c.turns] == [Role.client, Role.agent, Role.client] for c in conversations
    )
    langs = [t.lang for c in conversations for t in c.turns]
    assert langs.count("en") / len(langs) >= 0.97
