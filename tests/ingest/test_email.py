"""Email readers on real formats: .eml, mbox and Maildir, charsets, threading, bad input."""

from __future__ import annotations

import base64
import email
import json
import mailbox
import os
import shutil
import time
from datetime import UTC, datetime, timedelta, timezone
from email.policy import default as default_policy
from email.utils import format_datetime
from pathlib import Path

import pytest

from tonewatch.config import IngestConfig, default_config, load_config
from tonewatch.ingest.base import SNIFF_BYTES, Reader
from tonewatch.ingest.email import EmlReader, MaildirReader, MboxReader
from tonewatch.registry import readers
from tonewatch.schema import Channel, Conversation, QuarantineRecord, Role

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "email"


def _read(reader: Reader, path: Path, config: IngestConfig | None = None) -> list:
    return list(reader.read(path, config or default_config().ingest))


def _only(items: list) -> Conversation:
    assert len(items) == 1 and isinstance(items[0], Conversation), items
    return items[0]


def _head(path: Path) -> bytes:
    return path.read_bytes()[:SNIFF_BYTES] if path.is_file() else b""


def test_email_readers_are_registered_under_their_names() -> None:
    for name, cls in [
        ("tonewatch.eml.v1", EmlReader),
        ("tonewatch.mbox.v1", MboxReader),
        ("tonewatch.maildir.v1", MaildirReader),
    ]:
        assert readers.get(name) is cls
        reader = cls()
        assert isinstance(reader, Reader) and reader.name == name


def test_email_sniff_goes_by_content_not_extension(tmp_path: Path) -> None:
    eml_as_txt = tmp_path / "message.txt"
    shutil.copy(FIXTURES / "polish_iso8859_2.eml", eml_as_txt)
    binary_eml = tmp_path / "scan.eml"
    binary_eml.write_bytes(b"%PDF-1.7\n\x00\x01\x02\xff" * 50)
    chat = tmp_path / "chat.eml"
    chat.write_text('{"from": "a", "text": "hi"}\n', encoding="utf-8")
    mbox = FIXTURES / "thread.mbox"

    assert EmlReader().sniff(eml_as_txt, _head(eml_as_txt)) >= 0.9
    assert EmlReader().sniff(binary_eml, _head(binary_eml)) == 0.0
    assert EmlReader().sniff(chat, _head(chat)) == 0.0
    mbox_as_eml = tmp_path / "archive.eml"
    shutil.copy(mbox, mbox_as_eml)
    assert MboxReader().sniff(mbox, _head(mbox)) > EmlReader().sniff(mbox, _head(mbox))
    assert MboxReader().sniff(mbox_as_eml, _head(mbox)) > EmlReader().sniff(
        mbox_as_eml, _head(mbox)
    )
    assert MboxReader().sniff(eml_as_txt, _head(eml_as_txt)) == 0.0
    assert MaildirReader().sniff(tmp_path, b"") == 0.0


def test_email_polish_iso8859_2_message() -> None:
    conversation = _only(_read(EmlReader(), FIXTURES / "polish_iso8859_2.eml"))
    turn = conversation.turns[0]
    assert conversation.channel is Channel.email and conversation.client_key == ""
    assert conversation.subject == "Błędna faktura za luty - żądanie korekty"
    assert turn.speaker == "Zbigniew Łukasiewicz"
    assert turn.role is Role.unknown and turn.lang == "und"
    assert turn.text == (
        "Dzień dobry,\n\npo raz kolejny otrzymałem fakturę z błędną kwotą. Żądam korekty do "
        "końca tygodnia,\nw przeciwnym razie wstrzymam płatności za wszystkie usługi."
    )
    assert turn.meta["charset"] == "iso8859-2" and turn.meta["signature_removed"]
    assert turn.timestamp == datetime(2024, 3, 4, 9, 15, tzinfo=timezone(timedelta(hours=1)))
    assert str(turn.source).endswith(
        "polish_iso8859_2.eml: <000a01da6e1c$4b2c1d30$e1845790$@lukasiewicz-wspolnicy.example>"
    )


def test_email_arabic_windows1256_message() -> None:
    conversation = _only(_read(EmlReader(), FIXTURES / "arabic_windows1256.eml"))
    turn = conversation.turns[0]
    assert turn.speaker == "عبدالله السبيعي"
    assert conversation.subject == "الاشتراك غير مفعل"
    assert "أطالب بتفعيلها اليوم أو إعادة المبلغ" in turn.text
    assert turn.meta["charset"] == "cp1256"


def test_email_html_reply_chain_reads_the_same_from_plain_and_html(tmp_path: Path) -> None:
    source = FIXTURES / "german_html_reply_chain.eml"
    plain = _only(_read(EmlReader(), source)).turns[0]
    # The same message with its text/plain alternative removed: only the HTML is left.
    message = email.message_from_bytes(source.read_bytes(), policy=default_policy)
    message.set_payload([p for p in message.iter_parts() if p.get_content_type() == "text/html"])
    html_only = tmp_path / "html_only.eml"
    html_only.write_bytes(message.as_bytes())
    html = _only(_read(EmlReader(), html_only)).turns[0]

    assert plain.meta["content_type"] == "text/plain" and html.meta["content_type"] == "text/html"
    assert plain.text.startswith("Hallo Herr Wagner,")
    assert plain.text.endswith("sonst\nschalte ich unseren Anwalt ein.")
    assert " ".join(html.text.split()) == " ".join(plain.text.split())
    for quoted in ("Von:", "Markus Wagner", "wir prüfen", "Kontakte weg", "Anja Schulz"):
        assert quoted not in html.text
    assert plain.meta["quoted_removed"] and plain.attachments == ()


def test_email_mbox_threads_by_references_and_by_subject() -> None:
    path = FIXTURES / "thread.mbox"
    items = _read(MboxReader(), path)
    assert all(isinstance(item, Conversation) for item in items) and len(items) == 7
    ids = [item.id for item in items]
    assert len(set(ids[:4])) == 1 and len(set(ids[4:])) == 1 and ids[0] != ids[4]
    assert [item.meta["thread_by"] for item in items] == [
        "root", "references", "references", "references",  # the 4th: In-Reply-To only
        "root", "subject", "references",  # "AW: Rechnung März fehlt" has no References
    ]  # fmt: skip
    assert [item.turns[0].source.item for item in items] == [1, 2, 3, 4, 5, 6, 7]
    assert items[2].turns[0].meta["references"] == [
        "CAOb1-root@mail.gmail.com",
        "ow-5531-2@ovenworks.example",
    ]
    # mboxrd escaping undone: ">From the display log" was "From the display log".
    assert "From the display log: E42 at 05:02" in items[2].turns[0].text
    assert "door sensor is dirty" not in items[2].turns[0].text  # the quote is gone
    again = _read(MboxReader(), path)  # ids are stable across runs and reader instances
    assert [c.id for c in again] == ids
    assert [c.turns[0].id for c in again] == [c.turns[0].id for c in items]


def test_email_reference_threads_do_not_depend_on_reading_order(tmp_path: Path) -> None:
    # Replies with References name their root, so the root's id is known whatever comes first
    # (a reply with only In-Reply-To, read before the rest, can only name its parent).
    box = mailbox.mbox(FIXTURES / "thread.mbox")
    reversed_box = mailbox.mbox(tmp_path / "reversed.mbox")
    for key in reversed(list(box.keys())[:3]):
        reversed_box.add(box.get_bytes(key))
    reversed_box.flush()
    items = _read(MboxReader(), tmp_path / "reversed.mbox")
    assert len({item.id for item in items}) == 1
    assert items[-1].id == _read(MboxReader(), FIXTURES / "thread.mbox")[0].id


def test_email_maildir_reads_in_delivery_order_and_threads(tmp_path: Path) -> None:
    path = tmp_path / "support"
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True)
    source = mailbox.mbox(FIXTURES / "thread.mbox")
    for number, key in enumerate(source.keys()):  # as a delivery agent names the files
        name = f"{1709539200 + number}.M{number}P4242.mx1.example"
        target = path / "new" / name if number % 2 else path / "cur" / f"{name}:2,S"
        target.write_bytes(source.get_bytes(key).replace(b"\n>From ", b"\nFrom "))  # unescaped
    assert MaildirReader().sniff(path, b"") == 1.0
    items = _read(MaildirReader(), path)
    from_mbox = _read(MboxReader(), FIXTURES / "thread.mbox")
    assert [c.id for c in items] == [c.id for c in from_mbox]
    assert [c.turns[0].text for c in items] == [c.turns[0].text for c in from_mbox]
    assert [c.turns[0].source.item for c in items] == list(range(1, 8))
    assert all(c.turns[0].source.path == str(path) for c in items)


def test_email_maildir_reader_refuses_a_plain_folder(tmp_path: Path) -> None:
    (record,) = _read(MaildirReader(), tmp_path)
    assert isinstance(record, QuarantineRecord) and record.code == "I002"
    assert "cur/ and new/" in record.message and str(tmp_path) in str(record)


def test_email_rfc2047_headers_are_decoded() -> None:
    conversation = _only(_read(EmlReader(), FIXTURES / "rfc2047_headers.eml"))
    assert conversation.subject == "Zamówienie nr 77 – reklamacja 이상 있음"
    people = [(p.name, p.addresses) for p in conversation.participants]
    assert people == [
        ("أحمد الراشد", ("ahmed@rashed.example",)),
        ("Paweł Żak", ("pawel.zak@firma.example",)),
        ("Doe, Jane", ("jane.doe@firma.example",)),
        ("김영호", ("ys.kim@firma.example",)),
        ("Renée François", ("renee@firma.example",)),
        (None, ("plain@firma.example",)),
    ]
    assert conversation.turns[0].speaker == "أحمد الراشد"


@pytest.mark.parametrize(
    ("fixture", "expected", "codec", "note"),
    [
        ("wrong_charset_utf8_cp1250.eml", "Żadnych bonów, tylko przelew.", "cp1250", "utf-8"),
        ("latin1_label_utf8_bytes.eml", "s'il vous plaît. Très déçu.", "utf-8", None),
        ("missing_charset_cp1252.eml", "¿Cuántas veces tengo", "cp1252", "no charset"),
        ("mislabeled_arabic_as_latin1.eml", "لم يصل الطلب حتى الآن", "cp1256", "iso-8859-1"),
    ],
)
def test_email_wrong_and_missing_charsets_are_repaired(
    fixture: str, expected: str, codec: str, note: str | None
) -> None:
    turn = _only(_read(EmlReader(), FIXTURES / fixture)).turns[0]
    assert expected in turn.text and "\ufffd" not in turn.text
    assert turn.meta["charset"] == codec
    if note:
        assert any(note in n for n in turn.meta["notes"])


def test_email_raw_8bit_header_is_decoded() -> None:
    conversation = _only(_read(EmlReader(), FIXTURES / "missing_charset_cp1252.eml"))
    assert conversation.turns[0].speaker == "Rosa Ibáñez"


def test_email_attachments_are_recorded_never_read() -> None:
    turn = _only(_read(EmlReader(), FIXTURES / "attachments.eml")).turns[0]
    assert turn.text == "Third failed payment this week. Logs and the bank's message are attached."
    assert [(a.filename, a.content_type, a.size) for a in turn.attachments] == [
        ("logo.png", "image/png", 70),
        ("faktura lutowa.pdf", "application/pdf", 1380),  # RFC 2231 beats the name parameter
        ("gateway.log", "text/plain", 75),
        (None, "message/rfc822", 244),
    ]
    assert "SECRET" not in turn.text and "Transakcja" not in turn.text


def test_email_bad_messages_are_quarantined_and_the_archive_goes_on() -> None:
    path = FIXTURES / "corrupt.mbox"
    items = _read(MboxReader(), path)
    kinds = [type(item).__name__ for item in items]
    assert kinds == ["Conversation", "QuarantineRecord", "Conversation", "QuarantineRecord"]
    corrupt, binary = items[1], items[3]
    assert corrupt.code == "I003" and corrupt.location.item == 2
    assert str(corrupt).startswith(f"{path}: message 2: I003 no email header")
    assert "expected an RFC 822 message" in corrupt.message
    assert binary.code == "I006" and binary.location.message_id == "binary-4@client.example"
    assert "not text in charset utf-8" in binary.message
    assert items[2].turns[0].text == "Third message is fine too."


def test_email_empty_binary_and_foreign_files_are_quarantined(tmp_path: Path) -> None:
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    binary = tmp_path / "invoice.eml"
    binary.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + os.urandom(2000))
    prose = tmp_path / "notes.eml"
    prose.write_text("Call the client back tomorrow.\nAsk about the invoice.\n", encoding="utf-8")
    not_mbox = tmp_path / "archive.mbox"
    not_mbox.write_text("Subject: hi\n\nno envelope line\n", encoding="utf-8")

    cases = [
        (EmlReader(), empty, "I001", "file is empty"),
        (EmlReader(), binary, "I002", "binary data"),
        (EmlReader(), prose, "I002", "no header block"),
        (MboxReader(), empty, "I001", "file is empty"),
        (MboxReader(), not_mbox, "I002", "expected a 'From ' line"),
        (EmlReader(), tmp_path / "missing.eml", "I007", "cannot read the file"),
    ]
    for reader, path, code, text in cases:
        (record,) = _read(reader, path)
        assert isinstance(record, QuarantineRecord), (path, record)
        assert (record.code, record.location.path) == (code, str(path))
        assert text in record.message


def test_email_truncated_mbox_keeps_every_complete_message(tmp_path: Path) -> None:
    data = (FIXTURES / "thread.mbox").read_bytes()
    cut = data.index(b"Immer noch nichts") + 5  # in the middle of message 6
    truncated = tmp_path / "truncated.mbox"
    truncated.write_bytes(data[:cut])
    items = _read(MboxReader(), truncated)
    assert [type(i).__name__ for i in items] == ["Conversation"] * 5 + ["QuarantineRecord"]
    record = items[-1]
    assert record.code == "I004" and record.location.item == 6
    assert "cut off" in record.message and "truncated.mbox: message 6" in str(record)


def test_email_date_problems_become_notes_not_errors(tmp_path: Path) -> None:
    template = (
        "From: Ann <ann@example.com>\nTo: b@example.com\nSubject: s\n{date}"
        "Message-ID: <{n}@example.com>\n\nBody {n}.\n"
    )
    dates = ["", "Date: someday soon\n", "Date: Mon, 4 Mar 2024 10:15:00 -0000\n"]
    turns = []
    for n, date in enumerate(dates):
        path = tmp_path / f"{n}.eml"
        path.write_text(template.format(date=date, n=n), encoding="utf-8")
        turns.append(_only(_read(EmlReader(), path)).turns[0])
    assert turns[0].timestamp is None and "no Date header" in turns[0].meta["notes"]
    assert turns[1].timestamp is None
    assert "unparseable Date header 'someday soon'" in turns[1].meta["notes"]
    assert turns[2].timestamp == datetime(2024, 3, 4, 10, 15, tzinfo=UTC)
    assert any("assumed UTC" in note for note in turns[2].meta["notes"])


def test_email_turn_ids_without_message_id_are_stable_per_message(tmp_path: Path) -> None:
    path = tmp_path / "noid.mbox"
    path.write_text(
        "From a@x Mon Mar  4 08:00:00 2024\nFrom: a@x.example\nSubject: one\n\nFirst.\n\n"
        "From a@x Mon Mar  4 08:01:00 2024\nFrom: a@x.example\nSubject: one\n\nSecond.\n\n",
        encoding="utf-8",
    )
    first, second = _read(MboxReader(), path)
    assert first.turns[0].id != second.turns[0].id
    assert [c.turns[0].id for c in _read(MboxReader(), path)] == [
        first.turns[0].id,
        second.turns[0].id,
    ]
    assert first.turns[0].source.message_id is None and first.id == second.id  # same subject


def _mbox_with_big_attachment(path: Path, megabytes: int) -> None:
    blob = base64.encodebytes(os.urandom(megabytes * 2**20))
    big = (
        b"From a@x Mon Mar  4 08:01:00 2024\nFrom: Ann <ann@client.example>\n"
        b"To: support@vendor.example\nSubject: Dump\nDate: Mon, 4 Mar 2024 08:01:00 +0000\n"
        b"Message-ID: <big@client.example>\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b1"\n\n--b1\n'
        b"Content-Type: text/plain; charset=utf-8\n\nThe crash dump is attached.\n--b1\n"
        b"Content-Type: application/octet-stream\n"
        b'Content-Disposition: attachment; filename="core.dump"\n'
        b"Content-Transfer-Encoding: base64\n\n" + blob + b"--b1--\n\n"
    )
    small = (
        b"From a@x Mon Mar  4 08:0{n}:00 2024\nFrom: Ann <ann@client.example>\n"
        b"To: support@vendor.example\nSubject: Note {n}\nMessage-ID: <n{n}@client.example>\n\n"
        b"Small message {n}.\n\n"
    )
    path.write_bytes(small.replace(b"{n}", b"0") + big + small.replace(b"{n}", b"2"))


def test_email_message_over_the_size_limit_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "big.mbox"
    _mbox_with_big_attachment(path, 3)
    config = load_config(overrides=["ingest.max_message_bytes=2000000"]).ingest
    items = _read(MboxReader(), path, config)
    assert [type(i).__name__ for i in items] == ["Conversation", "QuarantineRecord", "Conversation"]
    assert items[1].code == "I005" and items[1].location.item == 2
    assert "ingest.max_message_bytes (2000000 bytes)" in items[1].message
    assert items[2].turns[0].text == "Small message 2."


@pytest.mark.slow
def test_email_50_mb_attachment_is_recorded_and_never_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.mbox"
    _mbox_with_big_attachment(path, 50)
    # With the default limits the 68 MB message (base64) is quarantined, unread.
    started = time.perf_counter()
    items = _read(MboxReader(), path)
    assert time.perf_counter() - started < 20
    assert [getattr(i, "code", "ok") for i in items] == ["ok", "I005", "ok"]

    decoded: list[int] = []
    real = email.message.Message.get_payload

    def spy(self, i=None, decode=False):  # noqa: ANN001, ANN202 - records what gets decoded
        payload = real(self, i, decode)
        if decode:
            decoded.append(len(payload or b""))
        return payload

    monkeypatch.setattr(email.message.Message, "get_payload", spy)
    config = load_config(overrides=["ingest.max_message_bytes=100000000"]).ingest
    items = _read(MboxReader(), path, config)
    turn = items[1].turns[0]
    assert turn.text == "The crash dump is attached."
    assert [(a.filename, a.size) for a in turn.attachments] == [("core.dump", 50 * 2**20)]
    assert max(decoded) < 1000  # only the small text parts were ever decoded
    assert items[2].turns[0].text == "Small message 2."


def test_email_enron_bodies_parse_untouched(shared_datasets: Path, tmp_path: Path) -> None:
    """50 real Enron bodies (quotes already removed by AESLC): nothing to strip but signatures,
    and nothing may be lost. Non-commercial data: used in tests only."""
    lines = (shared_datasets / "aeslc-enron" / "aeslc_enron_emails.jsonl").open(encoding="utf-8")
    records = [json.loads(next(lines)) for _ in range(50)]
    box = mailbox.mbox(tmp_path / "enron.mbox")
    start = datetime(2001, 5, 1, 9, tzinfo=UTC)
    for n, record in enumerate(records):
        message = email.message.EmailMessage()
        user = record["file"].split("_")[0]
        message["From"] = f"{user}@enron.com"
        message["To"] = "phillip.allen@enron.com"
        message["Subject"] = record["subject"]
        message["Date"] = format_datetime(start + timedelta(hours=n))
        message["Message-ID"] = f"<{n}.enron@example.com>"
        message.set_content(record["body"])
        box.add(message)
    box.flush()

    items = _read(MboxReader(), tmp_path / "enron.mbox")
    assert len(items) == 50 and all(isinstance(i, Conversation) for i in items)
    untouched = 0
    for record, conversation in zip(records, items, strict=True):
        turn = conversation.turns[0]
        body = record["body"].strip()
        assert turn.text and body.startswith(turn.text.split("\n")[0].rstrip())
        assert not turn.meta["quoted_removed"] and turn.lang == "und"
        untouched += " ".join(turn.text.split()) == " ".join(body.split())
        assert turn.timestamp is not None and conversation.subject
    assert untouched >= 40  # the rest lost only a closing signature block
