"""The text body and attachments of a parsed message: MIME walk, charsets, HTML, flowed text.

Charsets are often wrong in real mail: utf-8 declared over cp1250 bytes, iso-8859-1 over
cp1256 or cp1250, none at all over 8-bit text. Valid UTF-8 is trusted whatever the label
(multibyte UTF-8 does not happen by chance); other bytes are decoded with the declared charset,
and when that fails or reads as mojibake, with a few legacy code pages of the project's
languages and charset-normalizer's guess, keeping the most plausible reading. charset-normalizer
alone is not enough here: on short Latin text it ranks cp1252 over cp1250 for Polish and even
big5 for German, because those misreadings contain no "chaos".
"""

from __future__ import annotations

import codecs
import html
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import EmailMessage, Message

import charset_normalizer
from inscriptis import get_text

from tonewatch.schema import Attachment

# Labels that mail software writes but Python's codecs do not know, or knows as a subset.
_CHARSET_ALIASES = {
    "ks_c_5601-1987": "cp949",  # Outlook's name for Korean
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-1": "cp1252",  # WHATWG: the Windows superset is what senders mean
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
}
# Labels that say nothing: treat the bytes as undeclared (8-bit bytes under "us-ascii" too).
_UNKNOWN_CHARSETS = {
    "unknown-8bit",
    "x-unknown",
    "unknown",
    "default",
    "x-user-defined",
    "us-ascii",
}
# Legacy code pages of the project's languages, tried when the declared one fails or misreads.
_FALLBACKS = tuple(
    codecs.lookup(c).name for c in ("cp1252", "cp1250", "iso-8859-2", "cp1256", "cp949")
)

_LETTERS = frozenset("ąćęłńóśźżĄĆĘŁŃÓŚŹŻäöüßÄÖÜàâæçéèêëîïôœùûÿÀÂÆÇÉÈÊËÎÏÔŒÙÛŸáíñúÁÍÑÚ")
_PUNCT = frozenset("–—“”‘’„«»…€£°§©®™•·\u00a0¿¡")
# Arabic, Arabic Supplement, Hangul syllables, Georgian.
_SCRIPTS = re.compile("[\u0600-\u06ff\u0750-\u077f\uac00-\ud7a3\u10a0-\u10ff]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_NOT_CONTROL = bytes(b for b in range(256) if b > 31 and b != 127 or b in (9, 10, 12, 13))
_TAG = re.compile(r"<[^>]*>")


@dataclass
class Body:
    text: str = ""
    content_type: str = ""  # text/plain or text/html; "" when the message has no text part
    charset: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    undecodable: str | None = None  # why the text part could not be decoded


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip('"').lower()
    if label in _UNKNOWN_CHARSETS:
        return None
    label = _CHARSET_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _plausibility(text: str) -> float:
    """Share of non-ASCII characters that read as real text (1.0: all of them). Mojibake glues
    symbols into words ("obs³ugi", "mo¿na") or leaves C1 controls; letters of the project's
    scripts score highest, other letters half."""
    total = score = 0.0
    for match in _NON_ASCII.finditer(text):
        char, at = match.group(), match.start()
        total += 1
        if char in _LETTERS or _SCRIPTS.match(char):
            score += 1
        elif char in _PUNCT:
            glued = 0 < at < len(text) - 1 and text[at - 1].isalpha() and text[at + 1].isalpha()
            score += 0.1 if glued and char not in "’\u00a0" else 1
        elif char.isalpha():
            score += 0.5
        elif unicodedata.category(char)[0] != "C":
            score += 0.1
    return score / total if total else 1.0


def _is_binary(data: bytes) -> bool:
    """C0 control bytes (NUL, ESC, …) are not in text: more than a few means binary data."""
    sample = data[:4096]
    return len(sample.translate(None, _NOT_CONTROL)) > max(2, len(sample) // 50)


def decode_text(data: bytes, declared: str | None) -> tuple[str, str] | None:
    """``(text, codec)`` for the bytes of a text part or header, or None when they are no text."""
    if declared and ("16" in declared or "32" in declared):  # utf-16/32: NUL bytes are text
        codec = _codec(declared)
        if codec:
            try:
                return data.decode(codec), codec
            except UnicodeDecodeError:
                pass
    if _is_binary(data):
        return None
    if data.isascii():
        return data.decode("ascii"), "ascii"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return _guess(data, _codec(declared))


def _guess(data: bytes, declared: str | None) -> tuple[str, str] | None:
    candidates = [declared] if declared and declared != "utf-8" else []
    best: tuple[float, str, str] | None = None
    for codec in [*candidates, *_FALLBACKS, None]:
        if codec is None:  # last resort, also the only way to reach exotic code pages
            match = charset_normalizer.from_bytes(data).best()
            if match is None:
                continue
            text, codec = str(match), codecs.lookup(match.encoding).name
        else:
            try:
                text = data.decode(codec)
            except (UnicodeDecodeError, LookupError):
                continue
        score = _plausibility(text)
        if best is None or score > best[0]:
            best = (score, text, codec)
        if score >= 0.999 and codec == declared:
            break  # the label was right: no need to look further
    return (best[1], best[2]) if best else None


def html_to_text(markup: str) -> str:
    try:
        text = get_text(markup)
    except Exception:  # noqa: BLE001 - lxml refuses some broken markup; keep the words anyway
        text = html.unescape(_TAG.sub(" ", markup))
    # Indentation and non-breaking spaces around lines are layout, not content.
    return "\n".join(line.strip(" \t\u00a0") for line in text.split("\n"))


def unflow(text: str, delsp: bool) -> str:
    """Join the soft line breaks of ``format=flowed`` text (RFC 3676), keeping quote depth."""
    out: list[str] = []
    current: tuple[int, str] | None = None
    for line in text.split("\n"):
        content = line.lstrip(">")
        depth = len(line) - len(content)
        if content.startswith(" "):  # space-stuffing
            content = content[1:]
        if current is not None and current[0] == depth:
            current = (depth, current[1] + content)
        else:
            if current is not None:
                out.append(">" * current[0] + (" " if current[0] else "") + current[1])
            current = (depth, content)
        if content == "-- " or not content.endswith(" "):
            out.append(">" * depth + (" " if depth else "") + current[1])
            current = None
        elif delsp:
            current = (depth, current[1][:-1])
    if current is not None:
        out.append(">" * current[0] + (" " if current[0] else "") + current[1])
    return "\n".join(out)


def decode_words(value: str) -> str:
    """A header value with its RFC 2047 encoded words and raw 8-bit bytes decoded."""
    if not value.isascii():  # raw 8-bit bytes arrive as surrogate escapes
        raw = value.encode("utf-8", "surrogateescape")
        decoded = decode_text(raw, None)
        value = decoded[0] if decoded else raw.decode("utf-8", "replace")
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        pieces = []  # a wrong or unknown charset inside an encoded word: decode it ourselves
        for chunk, charset in decode_header(value):
            if isinstance(chunk, str):
                pieces.append(chunk)
            else:
                decoded = decode_text(chunk, charset)
                pieces.append(decoded[0] if decoded else chunk.decode("utf-8", "replace"))
        return "".join(pieces)


def _mime(part: Message) -> tuple[str, Mapping[str, str]]:
    """Content type and its parameters, from the (memoised) parsed header object; the
    ``Message.get_param`` family re-parses the raw header on every call."""
    header = part.get("content-type")
    if header is None:
        return part.get_default_type(), {}
    return header.content_type, header.params


def _payload_size(part: Message) -> int:
    """Decoded size of a leaf part, computed without decoding it."""
    raw = part.get_payload()
    if not isinstance(raw, str):
        return len(part.as_bytes())
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    if encoding == "base64":
        chars = len(raw) - raw.count("\n") - raw.count("\r") - raw.count(" ") - raw.count("\t")
        return max(0, chars * 3 // 4 - raw.rstrip()[-2:].count("="))
    return len(raw)


def _rank(part: Message) -> int:
    kind = _mime(part)[0]
    if kind == "text/plain":
        return 0
    return 1 if kind.startswith("multipart/") else 2 if kind == "text/html" else 3


def read_body(msg: EmailMessage, max_attachment_bytes: int, message_size: int) -> Body:
    """Text of the message (plain preferred over HTML) and its attachments, recorded unread."""
    body = Body()
    texts: list[tuple[str, Mapping[str, str], Message]] = []
    # -1: no part can be over the limit, no need to size the text parts.
    limit = -1 if message_size <= max_attachment_bytes else max_attachment_bytes
    _walk(msg, texts, body, limit, want_text=True)
    kind = "text/plain" if any(k == "text/plain" for k, _, _ in texts) else "text/html"
    chunks = []
    for part_kind, params, part in texts:
        if part_kind != kind:
            continue
        data = part.get_payload(decode=True) or b""
        declared = params.get("charset")
        decoded = decode_text(data, declared)
        if decoded is None:
            body.undecodable = (
                f"{part_kind} part of {len(data)} bytes is not text in charset "
                f"{declared or '(none declared)'} nor in any other encoding tried"
            )
            return body
        text, codec = decoded
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if kind == "text/html":
            text = html_to_text(text)
        elif params.get("format", "").lower() == "flowed":
            text = unflow(text, params.get("delsp", "").lower() == "yes")
        if declared and codec != "ascii" and _codec(declared) not in (codec, None):
            body.notes.append(f"declared charset {declared} did not fit; read as {codec}")
        elif not declared and codec not in ("ascii", "utf-8"):
            body.notes.append(f"no charset declared; read as {codec}")
        body.charset = body.charset or codec
        chunks.append(text)
    if chunks:
        body.text, body.content_type = "\n".join(chunks), kind
    return body


def _walk(
    part: Message,
    texts: list[tuple[str, Mapping[str, str], Message]],
    body: Body,
    limit: int,
    want_text: bool,
) -> None:
    kind, params = _mime(part)
    if kind.startswith("multipart/") and part.is_multipart():
        children = part.get_payload()
        alternative = kind == "multipart/alternative"
        chosen = min(range(len(children)), key=lambda k: _rank(children[k]), default=-1)
        for k, child in enumerate(children):
            _walk(child, texts, body, limit, want_text and (not alternative or k == chosen))
        return
    disposition = part.get("content-disposition")
    filename = (disposition.params.get("filename") if disposition else None) or params.get("name")
    if filename and "=?" in filename:  # RFC 2047 in a parameter: not standard, Outlook does it
        filename = decode_words(filename)
    attached = disposition is not None and disposition.content_disposition == "attachment"
    body_text = kind in ("text/plain", "text/html") and not attached and not filename
    if body_text and not want_text:
        return  # the body again, in the alternative not chosen: no attachment
    if body_text:
        if limit < 0:  # the whole message is smaller than the limit: so is this part
            texts.append((kind, params, part))
            return
        size = _payload_size(part)
        if size <= limit:
            texts.append((kind, params, part))
            return
        body.notes.append(f"{kind} part of {size} bytes is over ingest.max_attachment_bytes")
    else:
        size = _payload_size(part)
    attachment = Attachment(filename=filename or None, content_type=kind, size=size)
    body.attachments.append(attachment)
