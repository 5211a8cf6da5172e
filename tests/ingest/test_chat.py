"""Chat exports: JSON / JSONL / CSV (field mappings, presets), WhatsApp, the IBM Twitter
customer-care dialogues, broken files, and content sniffing across every reader."""

from __future__ import annotations

import html
import itertools
import json
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import tonewatch.ingest.asr_json
import tonewatch.ingest.chat
import tonewatch.ingest.transcript
import tonewatch.ingest.whatsapp  # noqa: F401  (registers the reader)
from tonewatch.config import IngestConfig, load_config
from tonewatch.errors import ConfigError
from tonewatch.ingest.base import SNIFF_BYTES, Reader
from tonewatch.registry import readers
from tonewatch.schema import Channel, Conversation, QuarantineRecord, Role

MY_READERS = (
    "tonewatch.chat_json.v1",
    "tonewatch.chat_csv.v1",
    "tonewatch.whatsapp.v1",
    "tonewatch.webvtt.v1",
    "tonewatch.srt.v1",
    "tonewatch.speaker_text.v1",
    "tonewatch.asr_json.v1",
)


def config(*overrides: str) -> IngestConfig:
    return load_config(overrides=list(overrides)).ingest


def read(name: str, path: Path, cfg: IngestConfig | None = None) -> list:
    return list(readers.get(name)().read(path, cfg or config()))


def split(items: list) -> tuple[dict[str, Conversation], list[QuarantineRecord]]:
    conversations = {c.id: c for c in items if isinstance(c, Conversation)}
    return conversations, [q for q in items if isinstance(q, QuarantineRecord)]


@pytest.fixture(scope="module")
def chat_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "chat"


# --- JSON, JSONL, CSV --------------------------------------------------------------------------


def test_chat_json_groups_interleaved_rows_by_conversation(chat_dir: Path) -> None:
    items = read("tonewatch.chat_json.v1", chat_dir / "ko_support.json")
    conversations, problems = split(items)
    assert problems == []
    # A conversation is emitted once its last row is read: 0043 ends (row 5) before 0042 (row 6).
    assert [c.id for c in items] == ["KR-20240312-0043", "KR-20240312-0042"]
    refund = conversations["KR-20240312-0042"]
    assert refund.channel is Channel.chat and refund.client_key == ""
    assert [t.id for t in refund.turns] == [f"KR-20240312-0042:{i}" for i in range(4)]
    assert [t.speaker for t in refund.turns] == ["김민지", "이서준", "김민지", "이서준"]
    assert [t.role for t in refund.turns] == [Role.client, Role.agent] * 2
    assert refund.turns[2].text.endswith("소비자원에 신고할 겁니다.")
    assert [t.source.line for t in refund.turns] == [2, 3, 5, 7]  # the rows' lines in the file
    assert [t.source.item for t in refund.turns] == [1, 2, 4, 6]
    assert refund.turns[0].timestamp == datetime(2024, 3, 12, 5, 2, 11, tzinfo=UTC)
    assert all(t.lang == "und" for t in refund.turns)
    names = {p.name: (p.addresses, p.role) for p in refund.participants}
    assert names == {
        "김민지": (("minji.kim@example.kr",), Role.client),
        "이서준": (("seojun.lee@shop.example.kr",), Role.agent),
    }


def test_chat_jsonl_auto_maps_other_field_names_and_dates_naive_times(chat_dir: Path) -> None:
    path = chat_dir / "ka_support.jsonl"
    conversations, problems = split(read("tonewatch.chat_json.v1", path))
    assert problems == [] and list(conversations) == ["GE-7781", "GE-7782"]
    outage = conversations["GE-7781"]
    assert [t.role for t in outage.turns] == [Role.client, Role.agent] * 2
    assert outage.turns[1].speaker == "გიორგი (ოპერატორი)"
    assert outage.turns[0].timestamp == datetime(2024, 5, 20, 9, 15, 2, tzinfo=UTC)
    # Naive export times take [ingest] default_timezone.
    tbilisi = read("tonewatch.chat_json.v1", path, config('ingest.default_timezone="Asia/Tbilisi"'))
    stamp = split(tbilisi)[0]["GE-7781"].turns[0].timestamp
    assert stamp is not None and stamp.utcoffset() == timedelta(hours=4)


def test_chat_jsonl_unsorted_rows_are_grouped_and_emitted_when_complete(tmp_path: Path) -> None:
    rows = [
        {"conversation_id": "c1", "author": "Ana", "text": "¿Dónde está mi pedido?"},
        {"conversation_id": "c2", "author": "Luis", "text": "Quiero cancelar."},
        {"conversation_id": "c1", "author": "Soporte"},  # no text: quarantined
        {"conversation_id": "c2", "author": "Soporte", "text": "Hecho."},
        {"conversation_id": "c1", "author": "Ana", "text": "¿Hola?"},
    ]
    export = tmp_path / "mixed.jsonl"
    export.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    items = read("tonewatch.chat_json.v1", export)
    assert [getattr(i, "id", None) or i.code for i in items] == ["I104", "c2", "c1"]
    conversations, _ = split(items)
    assert [t.text for t in conversations["c1"].turns] == ["¿Dónde está mi pedido?", "¿Hola?"]
    assert [t.source.line for t in conversations["c1"].turns] == [1, 5]


def test_chat_csv_keeps_multiline_text_and_physical_line_numbers(chat_dir: Path) -> None:
    conversations, problems = split(read("tonewatch.chat_csv.v1", chat_dir / "ko_support.csv"))
    assert problems == []
    (exchange,) = conversations.values()
    assert exchange.id == "KR-0107" and len(exchange.turns) == 4
    assert exchange.turns[1].text.startswith("불편을 드려 죄송합니다.\n구매일로부터 14일")
    assert [t.source.line for t in exchange.turns] == [2, 3, 5, 6]
    assert exchange.participants[1].addresses == ("doyun.kim@shop.example.kr",)
    assert exchange.participants[1].role is Role.agent


def test_chat_json_reads_nested_conversations(chat_dir: Path) -> None:
    conversations, problems = split(read("tonewatch.chat_json.v1", chat_dir / "ka_nested.json"))
    assert problems == [] and list(conversations) == ["GE-9001", "GE-9002"]
    order = conversations["GE-9001"]
    assert [(t.speaker, t.role) for t in order.turns] == [
        ("მარიამ ჯაფარიძე", Role.client),
        ("ანა (მხარდაჭერა)", Role.agent),
    ]
    assert [t.source.item for t in order.turns] == [1, 2]


def test_chat_csv_inbound_column_gives_roles_and_author_id_names_the_speaker(
    chat_dir: Path,
) -> None:
    """A Kaggle "Customer Support on Twitter" thread: inbound=True is the customer."""
    conversations, problems = split(read("tonewatch.chat_csv.v1", chat_dir / "twcs_thread.csv"))
    assert problems == []
    (thread,) = conversations.values()
    # No conversation id column: the file is one conversation, named after the file.
    assert thread.id.startswith("twcs_thread-")
    assert [(t.speaker, t.role) for t in thread.turns] == [
        ("105834", Role.client),
        ("AppleSupport", Role.agent),
        ("105834", Role.client),
        ("AppleSupport", Role.agent),
    ]
    assert thread.turns[1].timestamp == datetime(2017, 10, 11, 13, 25, 49, tzinfo=UTC)


def test_chat_fields_from_config_map_unusual_columns(tmp_path: Path) -> None:
    export = tmp_path / "helpdesk.csv"
    export.write_text(
        "Ticket;Kto;Kiedy;Treść;Typ\n"
        "PL-1;Jan Kowalski;2024-05-02 10:00;Faktura jest błędna.;customer\n"
        "PL-1;Ewa (BOK);2024-05-02 10:05;Sprawdzę to od razu.;agent\n",
        encoding="utf-8",
    )
    fields = '{"conversation_id": "Ticket", "author": "Kto", "timestamp": "Kiedy", '
    fields += '"text": "Treść", "role": "Typ"}'
    cfg = config(f"ingest.chat_fields={fields}", 'ingest.default_timezone="Europe/Warsaw"')
    conversations, problems = split(read("tonewatch.chat_csv.v1", export, cfg))
    assert problems == []
    turns = conversations["PL-1"].turns
    assert [(t.speaker, t.role, t.text) for t in turns] == [
        ("Jan Kowalski", Role.client, "Faktura jest błędna."),
        ("Ewa (BOK)", Role.agent, "Sprawdzę to od razu."),
    ]
    assert turns[0].timestamp == datetime(2024, 5, 2, 8, 0, tzinfo=UTC)


def test_chat_generic_preset_expects_the_generic_names(tmp_path: Path) -> None:
    export = tmp_path / "chat.jsonl"
    export.write_text('{"conversation_id": "c1", "sender": "Ana", "message": "Hola"}\n')
    (problem,) = read("tonewatch.chat_json.v1", export, config('ingest.chat_preset="generic"'))
    assert problem.code == "I110" and "sender, message" in problem.message
    conversations, _ = split(read("tonewatch.chat_json.v1", export))  # auto finds them
    assert conversations["c1"].turns[0].speaker == "Ana"


def test_chat_unknown_field_override_is_a_config_error(chat_dir: Path) -> None:
    with pytest.raises(ConfigError, match="chat_fields.*'txt'"):
        read(
            "tonewatch.chat_json.v1",
            chat_dir / "ka_support.jsonl",
            config('ingest.chat_fields={"txt": "message"}'),
        )


# --- the IBM Twitter customer-care dialogues (real data) ----------------------------------------


def _snowflake_time(tweet_id: str) -> datetime:
    """Twitter ids carry their creation time (ms since 2010-11-04, in the high bits)."""
    return datetime.fromtimestamp(((int(tweet_id) >> 22) + 1288834974657) / 1000, tz=UTC)


def test_chat_twitter_customer_care_dialogues_match_the_file(shared_datasets: Path) -> None:
    path = shared_datasets / "twitter-customer-care-ibm" / "dev.json"
    head = path.read_bytes()[:SNIFF_BYTES]
    assert max(MY_READERS, key=lambda n: readers.get(n)().sniff(path, head)) == (
        "tonewatch.chat_json.v1"
    )
    dialogues = json.loads(path.read_text(encoding="utf-8"))[:30]
    read_back = list(
        itertools.islice(readers.get("tonewatch.chat_json.v1")().read(path, config()), 30)
    )
    assert all(isinstance(c, Conversation) for c in read_back)
    roles = {"client": Role.client, "client1": Role.client, "agent": Role.agent}
    for dialogue, conv in zip(dialogues, read_back, strict=True):
        header, content = dialogue["dialogHeader"], dialogue["dialogContent"]
        assert conv.id == header["sessionID"]
        assert len(conv.turns) == int(header["messageCount"]) == len(content) + 1
        for message, turn in zip(content, conv.turns, strict=False):
            key = next(k for k in roles if k in message)
            assert (turn.speaker, turn.role) == (message[key], roles[key])
            assert turn.text == html.unescape(message["message"])
            assert turn.timestamp == datetime.fromisoformat(message["datetime"])
            assert turn.source.message_id == message["tweet_ID"]
            # The file's own times confirm that tweet ids carry their creation time ...
            assert abs(_snowflake_time(message["tweet_ID"]) - turn.timestamp) < timedelta(seconds=1)
        closing = conv.turns[-1]
        assert (closing.speaker, closing.role) == (header["company"], Role.agent)
        assert closing.text == html.unescape(dialogue["agentURL"]["url_utterance"])
        # ... which dates the closing reply (the only message without a datetime field).
        assert closing.timestamp is not None
        assert abs(closing.timestamp - _snowflake_time(dialogue["agentURL"]["tweet_ID"])) < (
            timedelta(seconds=1)
        )
        assert closing.timestamp >= conv.turns[-2].timestamp
        agents = [p for p in conv.participants if p.role is Role.agent]
        assert header["company"] in {p.name for p in agents}
    assert sum(t.role is Role.agent for c in read_back for t in c.turns[:-1]) > 0


# --- WhatsApp -----------------------------------------------------------------------------------


def test_whatsapp_android_export_spanish(chat_dir: Path) -> None:
    conversations, problems = split(read("tonewatch.whatsapp.v1", chat_dir / "whatsapp_es.txt"))
    assert problems == []
    (chat,) = conversations.values()
    assert chat.id.startswith("whatsapp_es-") and len(chat.turns) == 7
    assert "cifrados de extremo a extremo" in chat.meta["system"][0]  # not a turn
    assert [p.name for p in chat.participants] == ["Lucía Fernández", "Soporte ElectroHogar"]
    multi = chat.turns[3]
    assert multi.text.count("\n") == 2 and multi.text.endswith("podemos cambiar la fecha.")
    media = chat.turns[4]
    assert media.text == "" and media.meta == {"media": True} and len(media.attachments) == 1
    assert chat.turns[6].timestamp == datetime(2024, 3, 13, 9, 30, tzinfo=UTC)  # day first
    assert chat.turns[6].source.line == 10


def test_whatsapp_ios_export_polish_with_attachment(chat_dir: Path) -> None:
    (chat,) = read("tonewatch.whatsapp.v1", chat_dir / "whatsapp_pl_ios.txt")
    assert [t.speaker for t in chat.turns] == [
        "Tomasz Nowak",
        "Tomasz Nowak",
        "Sklep RowerPro",
        "Tomasz Nowak",
    ]
    assert chat.turns[1].attachments[0].filename == "00000014-PHOTO-2024-05-20-18-42-15.jpg"
    assert chat.turns[2].text.endswith("zamówienia,\nprzygotujemy wymianę koła na nasz koszt.")
    assert chat.turns[3].timestamp == datetime(2024, 5, 21, 7, 5, tzinfo=UTC)
    assert len(chat.meta["system"]) == 1


def test_whatsapp_bad_date_and_leading_junk_are_quarantined(chat_dir: Path) -> None:
    path = chat_dir / "broken" / "whatsapp_bad_date.txt"
    conversations, problems = split(read("tonewatch.whatsapp.v1", path))
    junk, bad_date = problems
    assert (junk.code, junk.location.line) == ("I109", 1)
    assert junk.message.startswith("2 line(s) before the first message")
    assert (bad_date.code, bad_date.location.line) == ("I105", 6)
    assert "31/02/2024" in bad_date.message and str(bad_date).startswith(f"{path}: line 6")
    (chat,) = conversations.values()
    # The bad message's second line goes with it; the next message is read.
    assert [t.text for t in chat.turns] == [
        "La mesa llegó con una pata rota.",
        "Disculpe, Javier. Le enviamos la pieza nueva el lunes.",
    ]
    assert chat.meta["system"] == [
        'Javier Ruiz creó el grupo "Reclamación pedido 7781\nMuebles Norte"'
    ]


def test_whatsapp_same_file_name_in_two_folders_gives_two_conversations(
    chat_dir: Path, tmp_path: Path
) -> None:
    ids = []
    for client in ("client-a", "client-b"):
        (tmp_path / client).mkdir()
        copy = tmp_path / client / "WhatsApp Chat.txt"
        shutil.copyfile(chat_dir / "whatsapp_es.txt", copy)
        (chat,) = read("tonewatch.whatsapp.v1", copy)
        assert chat.turns[0].id == f"{chat.id}:0"
        ids.append(chat.id)
    assert ids[0] != ids[1] and all(i.startswith("WhatsApp Chat-") for i in ids)
    (again,) = read("tonewatch.whatsapp.v1", tmp_path / "client-a" / "WhatsApp Chat.txt")
    assert again.id == ids[0]  # stable: reading the same file again gives the same id


def test_whatsapp_us_dates_are_read_month_first(tmp_path: Path) -> None:
    export = tmp_path / "us.txt"
    export.write_text(
        "3/14/24, 2:05 PM - +1 415 555 0100: Where is my refund?\n"
        "3/14/24, 2:07 PM - Acme Support: Checking now.\n",
        encoding="utf-8",
    )
    (chat,) = read("tonewatch.whatsapp.v1", export, config())
    assert chat.turns[0].timestamp == datetime(2024, 3, 14, 14, 5, tzinfo=UTC)
    assert chat.participants[0].addresses == ("+14155550100",)


# --- broken files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code", "line", "turns_read"),
    [
        ("truncated.json", "I103", 4, 2),
        ("truncated.jsonl", "I103", 3, 2),
        ("missing_text.jsonl", "I104", 2, 2),
        ("bad_bytes.jsonl", "I102", 2, 2),
        ("bad_timestamp.csv", "I105", 3, 2),
    ],
)
def test_chat_broken_row_is_quarantined_and_the_rest_read(
    chat_dir: Path, name: str, code: str, line: int, turns_read: int
) -> None:
    path = chat_dir / "broken" / name
    reader = "tonewatch.chat_csv.v1" if name.endswith(".csv") else "tonewatch.chat_json.v1"
    conversations, problems = split(read(reader, path))
    (problem,) = problems
    assert (problem.code, problem.location.line) == (code, line)
    assert str(problem).startswith(f"{path}: ") and f"line {line}" in str(problem)
    assert sum(len(c.turns) for c in conversations.values()) == turns_read


def test_chat_broken_messages_say_what_was_expected_and_found(chat_dir: Path) -> None:
    broken = chat_dir / "broken"
    _, (missing,) = split(read("tonewatch.chat_json.v1", broken / "missing_text.jsonl"))
    assert "no text" in missing.message and "attachment" in missing.message
    _, (stamp,) = split(read("tonewatch.chat_csv.v1", broken / "bad_timestamp.csv"))
    assert "ISO 8601" in stamp.message and "어제 오후 3시쯤" in stamp.message
    _, (cut,) = split(read("tonewatch.chat_json.v1", broken / "truncated.json"))
    assert "truncated" in cut.message and cut.location.item == 3


@pytest.mark.parametrize(
    "reader", ["tonewatch.chat_json.v1", "tonewatch.chat_csv.v1", "tonewatch.whatsapp.v1"]
)
def test_chat_empty_file_is_quarantined(chat_dir: Path, reader: str) -> None:
    (problem,) = read(reader, chat_dir / "broken" / "empty.jsonl")
    assert problem.code == "I101" and "empty" in problem.message


def test_chat_file_without_a_text_field_is_one_record_not_one_per_row(tmp_path: Path) -> None:
    export = tmp_path / "events.jsonl"
    export.write_text("".join(json.dumps({"event": "open", "n": i}) + "\n" for i in range(50)))
    (problem,) = read("tonewatch.chat_json.v1", export)
    assert problem.code == "I110" and "chat_fields.text" in problem.message


# --- content sniffing over every fixture --------------------------------------------------------

EXPECTED = {
    "chat/ko_support.json": "tonewatch.chat_json.v1",
    "chat/ka_support.jsonl": "tonewatch.chat_json.v1",
    "chat/ka_nested.json": "tonewatch.chat_json.v1",
    "chat/ko_support.csv": "tonewatch.chat_csv.v1",
    "chat/twcs_thread.csv": "tonewatch.chat_csv.v1",
    "chat/whatsapp_es.txt": "tonewatch.whatsapp.v1",
    "chat/whatsapp_pl_ios.txt": "tonewatch.whatsapp.v1",
    "chat/broken/truncated.json": "tonewatch.chat_json.v1",
    "chat/broken/truncated.jsonl": "tonewatch.chat_json.v1",
    "chat/broken/missing_text.jsonl": "tonewatch.chat_json.v1",
    "chat/broken/bad_bytes.jsonl": "tonewatch.chat_json.v1",
    "chat/broken/bad_timestamp.csv": "tonewatch.chat_csv.v1",
    "chat/broken/whatsapp_bad_date.txt": "tonewatch.whatsapp.v1",
    "transcript/de_call_voice.vtt": "tonewatch.webvtt.v1",
    "transcript/fr_call_speaker.vtt": "tonewatch.webvtt.v1",
    "transcript/pl_call.srt": "tonewatch.srt.v1",
    "transcript/ar_call.txt": "tonewatch.speaker_text.v1",
    "transcript/ar_call_cp1256.txt": "tonewatch.speaker_text.v1",
    "transcript/no_show.txt": "tonewatch.speaker_text.v1",
    "transcript/whisper_es.json": "tonewatch.asr_json.v1",
    "transcript/aws_transcribe_en.json": "tonewatch.asr_json.v1",
    "transcript/aws_audio_segments.json": "tonewatch.asr_json.v1",
    "transcript/broken/reversed_cue.vtt": "tonewatch.webvtt.v1",
    "transcript/broken/bad_call_start.vtt": "tonewatch.webvtt.v1",
    "transcript/broken/bad_timing.srt": "tonewatch.srt.v1",
    "transcript/broken/truncated_whisper.json": "tonewatch.asr_json.v1",
}


def _winner(path: Path) -> tuple[str, float, float]:
    head = path.read_bytes()[:SNIFF_BYTES]
    scores = sorted(((readers.get(n)().sniff(path, head), n) for n in MY_READERS), reverse=True)
    return scores[0][1], scores[0][0], scores[1][0]


def test_sniff_expectations_cover_every_fixture(fixtures_dir: Path) -> None:
    found = {
        p.relative_to(fixtures_dir).as_posix()
        for folder in ("chat", "transcript")
        for p in (fixtures_dir / folder).rglob("*")
        if p.is_file() and p.stat().st_size > 0
    }
    assert found == set(EXPECTED)


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_sniff_picks_the_right_reader_by_content(
    fixtures_dir: Path, tmp_path: Path, relative: str
) -> None:
    path = fixtures_dir / relative
    winner, best, runner_up = _winner(path)
    assert winner == EXPECTED[relative]
    assert best - runner_up >= 0.1  # a clear margin, not a tie broken by luck
    # The content decides: the same bytes under a name that says nothing pick the same reader.
    anonymous = tmp_path / "export.dat"
    shutil.copyfile(path, anonymous)
    assert _winner(anonymous)[0] == EXPECTED[relative]


def test_readers_follow_the_reader_protocol() -> None:
    for name in MY_READERS:
        reader = readers.get(name)()
        assert isinstance(reader, Reader) and reader.name == name


def test_sniff_speaker_text_does_not_claim_an_email(tmp_path: Path) -> None:
    email = tmp_path / "message.eml"
    email.write_text(
        "Return-Path: <k.nowak@example.pl>\nFrom: Krzysztof Nowak <k.nowak@example.pl>\n"
        "To: pomoc@sklep.example.pl\nSubject: Reklamacja\nDate: Mon, 6 May 2024 10:00:00 +0200\n"
        "Message-ID: <abc@example.pl>\n\nDzień dobry, towar jest uszkodzony.\n"
    )
    head = email.read_bytes()
    assert all(readers.get(n)().sniff(email, head) < 0.2 for n in MY_READERS)


def test_sniff_whisper_with_a_long_transcript_before_its_segments(tmp_path: Path) -> None:
    text = "Buenas tardes, le llamo por la factura. " * 400  # > SNIFF_BYTES before "segments"
    path = tmp_path / "long.json"
    path.write_text(
        json.dumps(
            {
                "text": text,
                "segments": [{"id": 0, "start": 0.0, "end": 2.0, "text": text[:40]}],
                "language": "es",
            }
        )
    )
    assert _winner(path)[0] == "tonewatch.asr_json.v1"


def test_readers_never_raise_on_damaged_copies_of_the_fixtures(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    """Cut and corrupted exports only ever give conversations and quarantine records."""
    rng = random.Random(7)
    sources = sorted(
        p
        for folder in ("chat", "transcript")
        for p in (fixtures_dir / folder).rglob("*")
        if p.is_file()
    )
    cfg = config()
    for source in sources:
        data = source.read_bytes()
        for attempt in range(6):
            damaged = bytearray(data[: rng.randint(0, len(data))] if attempt % 2 else data)
            for _ in range(rng.randint(1, 6)):
                if damaged:
                    damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            path = tmp_path / f"{source.stem}-{attempt}{source.suffix}"
            path.write_bytes(bytes(damaged))
            for name in MY_READERS:
                reader = readers.get(name)()
                assert 0.0 <= reader.sniff(path, bytes(damaged[:SNIFF_BYTES])) <= 1.0
                for item in reader.read(path, cfg):
                    assert isinstance(item, Conversation | QuarantineRecord), (name, path)


ODD_VALUES = (None, 0, 1.5, "x", "", [], {}, [1, "a"], {"a": {"b": 1}}, True, "2024-99-99")


def _containers(value: object) -> list:
    found = [value] if isinstance(value, dict | list) and value else []
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    return found + [c for child in children for c in _containers(child)]


def test_readers_never_raise_on_json_of_the_wrong_shape(
    fixtures_dir: Path, shared_datasets: Path, tmp_path: Path
) -> None:
    """Any value replaced by one of the wrong type: records and quarantine, never a crash."""
    rng = random.Random(11)
    sources = [fixtures_dir / "chat" / n for n in ("ko_support.json", "ka_nested.json")]
    sources += [
        fixtures_dir / "transcript" / n
        for n in ("whisper_es.json", "aws_transcribe_en.json", "aws_audio_segments.json")
    ]
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in sources]
    dev = shared_datasets / "twitter-customer-care-ibm" / "dev.json"
    documents.append(json.loads(dev.read_text(encoding="utf-8"))[:4])
    cfg = config()
    for attempt in range(150):
        document = json.loads(json.dumps(rng.choice(documents)))
        containers = _containers(document)
        for _ in range(rng.randint(1, 4)):
            node = rng.choice(containers)
            key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
            node[key] = json.loads(json.dumps(rng.choice(ODD_VALUES)))
        path = tmp_path / f"odd-{attempt}.json"
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        for name in ("tonewatch.chat_json.v1", "tonewatch.asr_json.v1"):
            for item in readers.get(name)().read(path, cfg):
                assert isinstance(item, Conversation | QuarantineRecord), (name, document)
