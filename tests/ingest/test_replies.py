"""Quote, forward and signature stripping, on emails as real mail clients write them.

Each ``tests/fixtures/email/replies/<name>.eml`` is a whole message (Gmail, Outlook desktop,
web and mobile, Apple Mail, iOS, Thunderbird, Yahoo, mutt; plain, HTML, quoted-printable,
base64, legacy charsets) and ``<name>.expected.txt`` is the text its sender wrote. The file
name starts with the language of the message.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tonewatch.config import default_config
from tonewatch.ingest.email import EmlReader
from tonewatch.ingest.replies import extract_reply
from tonewatch.schema import Conversation

REPLIES = Path(__file__).resolve().parents[1] / "fixtures" / "email" / "replies"
CASES = sorted(path.stem for path in REPLIES.glob("*.eml"))


def _turn_text(name: str) -> tuple[str, dict]:
    items = list(EmlReader().read(REPLIES / f"{name}.eml", default_config().ingest))
    assert len(items) == 1 and isinstance(items[0], Conversation), items
    turn = items[0].turns[0]
    return turn.text, turn.meta


def test_replies_fixtures_cover_enough_messages_and_languages() -> None:
    languages = Counter(name.split("_")[0] for name in CASES)
    assert len(CASES) >= 30
    assert {"en", "pl", "de", "fr", "es", "ar", "ko", "ka"} <= set(languages)
    assert all(count >= 2 for count in languages.values()), languages


@pytest.mark.parametrize("name", CASES)
def test_replies_turn_text_is_what_the_sender_wrote(name: str) -> None:
    expected = (REPLIES / f"{name}.expected.txt").read_text(encoding="utf-8").rstrip("\n")
    text, _ = _turn_text(name)
    assert text == expected


@pytest.mark.parametrize(
    ("name", "quoted", "forwarded", "signature"),
    [
        ("en_gmail_top_posting", True, False, True),
        ("en_gmail_forward_with_note", True, True, False),
        ("en_outlook_forward_no_note", True, True, False),
        ("de_thunderbird_forward", True, True, False),
        ("es_iphone_forward", True, True, True),
        ("en_signature_dashes", False, False, True),
        ("en_lists_and_closing_kept", False, False, False),
        ("pl_fields_in_text_kept", False, False, False),
        ("ko_gmail_reply", True, False, True),
    ],
)
def test_replies_meta_says_what_was_removed(
    name: str, quoted: bool, forwarded: bool, signature: bool
) -> None:
    _, meta = _turn_text(name)
    assert (meta["quoted_removed"], meta["forwarded"], meta["signature_removed"]) == (
        quoted,
        forwarded,
        signature,
    )


def test_replies_bottom_posting_keeps_the_answer_below_the_quote() -> None:
    body = (
        "On 04.03.2024 10:15, Support wrote:\n"
        "> Please send the logs.\n"
        "\n"
        "Here they are. It still crashes on start.\n"
    )
    reply = extract_reply(body)
    assert reply.text == "Here they are. It still crashes on start."
    assert reply.quoted_removed and not reply.forwarded


def test_replies_attribution_without_quotes_cuts_only_with_a_date_or_address() -> None:
    own_words = "As I said before, she wrote:\nthe invoice is wrong.\n"
    assert extract_reply(own_words).text == own_words.strip()
    html_quote = "Fix it.\n\nOn Mon, 4 Mar 2024 at 10:15, Anna <anna@example.com> wrote:\nHello"
    assert extract_reply(html_quote).text == "Fix it."


def test_replies_never_eat_a_message_that_only_looks_signed() -> None:
    # A closing line alone, and a sign-off followed by a real sentence, are the message.
    assert extract_reply("The server is down again.\nThanks!").text.endswith("Thanks!")
    body = "Hi,\nRegards,\nI expect the refund to be on my card by Friday at the latest."
    assert extract_reply(body).text == body
    assert extract_reply("Regards,\nMark").text == "Regards,\nMark"  # nothing above it


def test_replies_header_block_needs_a_sender_and_a_date_or_subject() -> None:
    memo = "Route:\nFrom: Warsaw\nTo: Berlin\nPlease quote a price."
    assert extract_reply(memo).text == memo
    quoted = "No.\n\nFrom: Anna <anna@example.com>\nSent: Monday\nTo: Bob\n\nOld text"
    assert extract_reply(quoted).text == "No."


def test_replies_handle_windows_line_ends_and_nested_quotes() -> None:
    body = "Still broken.\r\n\r\n> > older\r\n> newer\r\n"
    reply = extract_reply(body)
    assert reply.text == "Still broken."
    assert reply.quoted_removed
