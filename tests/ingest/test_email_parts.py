"""The pieces under the email readers: charsets, flowed text, HTML, addresses, dates, threads."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime, getaddresses, parsedate_to_datetime

import pytest

from tonewatch.ingest.email_body import decode_text, html_to_text, unflow
from tonewatch.ingest.email_message import parse_addresses, parse_date
from tonewatch.ingest.threads import ThreadIndex, normalize_subject

POLISH = "Zażółć gęślą jaźń, proszę o zwrot pieniędzy za usługę."
ARABIC = "لم يصل الطلب حتى الآن، أريد استرجاع المبلغ فوراً."
KOREAN = "환불해 주세요. 벌써 세 번째 문의입니다."


@pytest.mark.parametrize(
    ("text", "real", "declared", "expected_codec"),
    [
        (POLISH, "cp1250", "utf-8", "cp1250"),  # declared utf-8, bytes cp1250
        (POLISH, "cp1250", "iso-8859-1", "cp1250"),  # cp1252 would read "obs³ugê"
        (POLISH, "iso-8859-2", None, "iso8859-2"),
        (POLISH, "utf-8", "iso-8859-2", "utf-8"),  # valid UTF-8 beats any label
        (ARABIC, "cp1256", "iso-8859-1", "cp1256"),
        (ARABIC, "cp1256", None, "cp1256"),
        (KOREAN, "cp949", "ks_c_5601-1987", "cp949"),
        (KOREAN, "euc-kr", "us-ascii", "cp949"),
        ("Grüße aus Köln, Straße 5", "cp1252", None, "cp1252"),
        ("Très déçu, où est ma commande ?", "cp1252", "iso-8859-1", "cp1252"),
    ],
)
def test_email_parts_decode_text_repairs_charsets(
    text: str, real: str, declared: str | None, expected_codec: str
) -> None:
    decoded = decode_text(text.encode(real), declared)
    assert decoded == (text, expected_codec)


def test_email_parts_decode_text_refuses_binary_and_keeps_utf16() -> None:
    assert decode_text(bytes(range(32)) * 40, "utf-8") is None
    assert decode_text(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 30, None) is None
    assert decode_text("Dzień dobry".encode("utf-16"), "utf-16") == ("Dzień dobry", "utf-16")
    assert decode_text(b"plain ascii", "nonsense-charset") == ("plain ascii", "ascii")


def test_email_parts_unflow_joins_soft_breaks_only() -> None:
    flowed = "This line goes \nright on.\nHard break.\n> quoted that \n> goes on\n-- \nSignature"
    assert unflow(flowed, delsp=False) == (
        "This line goes right on.\nHard break.\n> quoted that goes on\n-- \nSignature"
    )
    assert unflow("Verbin \ndung", delsp=True) == "Verbindung"
    assert unflow(" From space-stuffed", delsp=False) == "From space-stuffed"


def test_email_parts_html_to_text_keeps_words_and_paragraphs() -> None:
    html = (
        "<html><body><div dir='ltr'><p>Hello&nbsp;<b>team</b>,</p><p>the&nbsp;"
        "<a href='https://x.example'>portal</a> is down.</p><ul><li>login</li>"
        "<li>upload</li></ul></div><script>alert(1)</script></body></html>"
    )
    text = html_to_text(html)
    assert text.splitlines()[0] == "Hello team,"
    assert "the portal is down." in text and "alert" not in text
    assert "* login" in text and "* upload" in text


@pytest.mark.parametrize(
    "value",
    [
        "Phillip Allen <phillip.allen@enron.com>, jeff.dasovich@enron.com",
        "John  Smith <john@example.com>",
        "<bare@example.com>",
        '"Doe, Jane" <jane@example.com>, "O\'Brien" <ob@example.com>',
        "=?utf-8?q?Ren=C3=A9e?= <renee@example.com>, plain@example.com",
        "Team: a@example.com, b@example.com;",
        "john@example.com (John Smith)",
        "undisclosed-recipients:;",
        "Kowalski Jan <jan.kowalski@example.pl>,, ,",
    ],
)
def test_email_parts_address_fast_path_matches_the_stdlib(value: str) -> None:
    expected = [pair for pair in getaddresses([value]) if pair[1]]
    assert [pair for pair in parse_addresses(value) if pair[1]] == expected


def test_email_parts_parse_date_matches_the_stdlib() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        offset = timedelta(minutes=rng.choice([-1, 1]) * rng.randrange(0, 14 * 60, 15))
        moment = datetime(
            rng.randint(1995, 2035), rng.randint(1, 12), rng.randint(1, 28),
            rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
            tzinfo=timezone(offset),
        )  # fmt: skip
        value = format_datetime(moment)
        if rng.random() < 0.3:
            value = value.split(", ", 1)[1]  # no weekday
        if rng.random() < 0.3:
            value += " (CET)"
        assert parse_date(value) == parsedate_to_datetime(value) == moment
    assert parse_date("Mon, 4 Mar 2024 10:15:00 -0000") == datetime(2024, 3, 4, 10, 15)
    assert parse_date("4 Mar 24 10:15 GMT") == datetime(2024, 3, 4, 10, 15, tzinfo=UTC)
    assert parse_date("Mon, 31 Feb 2024 10:15:00 +0100") is None
    assert parse_date("next Tuesday") is None


@pytest.mark.parametrize(
    ("subject", "normalized"),
    [
        ("RE: AW:  Invoice   #42", "invoice #42"),
        ("Fwd: RE[2]: Order 1042", "order 1042"),
        ("Odp: PD: Faktura VAT", "faktura vat"),
        ("TR: RE : Facture impayée", "facture impayée"),
        ("RV: Re: Pedido", "pedido"),
        ("رد: إعادة توجيه: الطلب 15", "الطلب 15"),
        ("회신: 전달: 환불 요청", "환불 요청"),
        ("[EXTERNAL] Re: Outage", "outage"),
        ("Regarding: the contract", "regarding: the contract"),
        ("Re:", ""),
    ],
)
def test_email_parts_subjects_lose_reply_and_forward_prefixes(
    subject: str, normalized: str
) -> None:
    assert normalize_subject(subject) == normalized


def test_email_parts_thread_index_stays_bounded() -> None:
    index = ThreadIndex(max_ids=100)
    for n in range(1000):
        index.assign(f"{n}@x", (f"{n - 1}@x",), None, f"subject {n}", ["a@x"], str(n))
    assert len(index) <= 100
    # A reply to a recent message still finds its thread.
    recent, _ = index.assign("new@x", ("998@x",), None, "Re: subject 998", ["a@x"], "new")
    again, how = index.assign("999b@x", ("998@x",), None, None, ["a@x"], "b")
    assert recent == again and how == "references"


_BLOCKS = [
    b"From: Jan <jan@example.pl>\nTo: help@shop.example\nSubject: Zwrot\n",
    b"From: a@b.example\r\nSubject: folded\r\n  over two lines\r\n"
    b"Date: Tue, 1 May 2001 09:00:00 -0500\r\n",
    b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\nX-Empty:\nX-Spaces:   \n\tcontinued\nTo: x@y.example\n",
    "Subject: Zażółć w 8 bitach\nFrom: ktoś <k@x.pl>\n".encode(),
]
_REFUSED = [
    b" Subject: a continuation first\nFrom: a@b.example\n",
    b"From a@b Mon Jan  1 08:00:00 2001\nSubject: envelope line\n",
    b"Subject: bare CR\rFrom: a@b.example\n",
    b"Subject: ok\nnot a header line\n",
    b": no name\nSubject: x\n",
]


@pytest.mark.parametrize("block", _BLOCKS)
def test_email_parts_header_block_reads_as_the_feed_parser_reads_it(block: bytes) -> None:
    from tonewatch.ingest.email_parse import PARSER, _headers

    expected = PARSER.parsebytes(block, headersonly=True)
    got = _headers(block)
    assert got is not None
    assert list(got.raw_items()) == list(expected.raw_items()) and not expected.defects
    assert [str(v) for _, v in got.items()] == [str(v) for _, v in expected.items()]


@pytest.mark.parametrize("block", _REFUSED)
def test_email_parts_header_block_with_defects_is_left_to_the_feed_parser(block: bytes) -> None:
    from tonewatch.ingest.email_parse import _headers

    assert _headers(block) is None


@pytest.mark.slow
def test_email_parts_full_thread_index_forgets_in_constant_time() -> None:
    # Once full, each new id makes the index forget its oldest one; that must not get
    # slower as it goes (a dict's deleted slots made it quadratic on large archives).
    index = ThreadIndex(max_ids=50_000)

    def seconds(first: int, count: int) -> float:
        started = time.process_time()
        for n in range(first, first + count):
            index.assign(f"{n}@x", (), None, None, ["a@x"], str(n))
        return time.process_time() - started

    filling = seconds(0, 50_000)
    full = seconds(50_000, 100_000) / 2
    assert len(index) == 50_000 and "0@x" not in index._thread_of
    assert full < 3 * filling
