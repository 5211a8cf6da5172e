"""What the sender wrote: quoted history, forwarded messages and signatures cut from a body.

A turn must hold the sender's own words only; a quoted client insult in a staff reply, or a
forwarded complaint, would otherwise be scored against the wrong person.

The body is scanned once, line by line. Cheap tests (first character, a trailing colon, a colon
near the start) pick the few lines worth a regex, so a plain message costs microseconds:

* ``>`` lines are quotes; an attribution ("On … wrote:") right above them goes with them, and
  text between or after quotes (interleaved or bottom posting) is kept.
* The first hard boundary cuts off everything below it: an attribution not followed by ``>``
  lines (top posting, HTML quotes), a client's header block (``From:/Sent:``, ``Von:/Gesendet:``,
  ``De :/Envoyé :``, ``Od:/Wysłano:``, ``من:/أرسل:``, ``보낸 사람:/보낸 날짜:``, …), an
  "Original Message" or "Forwarded message" separator.
* A signature is cut from the end only when it is clearly one: a ``-- `` line, a "Sent from my
  iPhone" footer, or a sign-off line ("Best regards,", "Pozdrawiam", "Mit freundlichen Grüßen")
  followed by a few short lines (name, title, phone). A lone closing line stays.

mail-parser-reply's per-language "On … wrote:" patterns are reused for the languages the table
below does not name. Its ``EmailReplyParser`` is not called: it took 830 µs per Enron message
(one alternation over every language's header pattern, run over the whole body), cut messages
at any line starting with "Thanks," and ate "- item" lists as signatures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailparser_reply.constants import MAIL_LANGUAGES

# Invisible marks that mail clients wrap around RTL names and addresses (Gmail in Arabic), and
# Arabic diacritics and tatweel, which vary between clients' spellings of the same header.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u064b-\u0652\u0640]")

# --- attributions: "On <date>, <name> wrote:" -------------------------------------------------
# Each needs an opener and a verb, and a time, a year or an address as well ("On March 5 I
# wrote:" in a customer's own text is no attribution), unless the next line is a ">" quote.
_STAMP = re.compile(r"\d{1,2}[:.]\d{2}|\d{4}|@")
_ATTRIBUTION = [
    r"On\s.{4,300}\swrote\s?:",  # en: Gmail, Apple Mail, Thunderbird, Outlook, Yahoo
    r"Am\s.{4,300}\sschrieb\b.{0,200}:",  # de: Am 04.03.24 um 10:15 schrieb John Smith:
    r"Le\s.{4,300}\sa\s[ée]crit\s?:",  # fr: Le lun. 4 mars 2024 à 10:15, … a écrit :
    r"El\s.{4,300}\sescribi[óo]\s?:",  # es: El lun, 4 mar 2024 a las 10:15, … escribió:
    r"(?:W\sdniu|Dnia)\s.{4,300}\s(?:pisze|napisał\(a\)|napisała?|nadesłał)\s?:",  # pl
    r".{4,300}\s(?:napisał\(a\)|napisała?)\s?:",  # pl Gmail: pon., 4 mar 2024 o 10:15 … napisał(a):
    r"في\s.{4,300}\s(?:كتب|تمت كتابة)\b.{0,200}:",  # ar: في الاثنين، 4 مارس 2024 … كتب:
    r"\d{4}(?:년|\.).{4,300}작성\S{0,8}\s?:",  # ko: 2024년 3월 4일 (월) 오전 10:15, …님이 작성:
    r".{4,300}\s(?:წერს|დაწერა)\s?:",  # ka
]
# mail-parser-reply's own patterns (cs, da, it, ja, nl, sv, zh, … and our languages too).
_LIBRARY_ATTRIBUTION = [
    spec["wrote_header"] for spec in MAIL_LANGUAGES.values() if spec.get("wrote_header")
]
_ATTRIBUTION_RE = [re.compile(rf"^(?:{p})$", re.IGNORECASE) for p in _ATTRIBUTION] + [
    re.compile(p, re.IGNORECASE) for p in _LIBRARY_ATTRIBUTION
]
# Any "<someone> wrote:" line, trusted only right above a ">" quote.
_WROTE_ANY = re.compile(
    r"\b(?:wrote|writes|schrieb|a\s[ée]crit|escribi[óo]|napisał\(a\)|napisała?|pisze|كتب|تمت كتابة|"
    r"작성\S{0,8}|წერს|დაწერა|ha scritto|schreef|skrev|napsal\(a\))\b.{0,200}:$",
    re.IGNORECASE,
)

# --- separators: "-----Original Message-----", "---------- Forwarded message ---------" ------
_ORIGINAL = (
    r"original message|ursprüngliche nachricht|originalnachricht|message d['’]origine|"
    r"mensaje original|wiadomość oryginalna|oryginalna wiadomość|원본 메시지|الرسالة الأصلية|"
    r"ორიგინალური შეტყობინება|messaggio originale|oorspronkelijk bericht|původní zpráva|"
    r"oprindelig meddelelse|ursprungligt meddelande"
)
_FORWARDED = (
    r"forwarded message|forwarded by|weitergeleitete nachricht|weitergeleitet von|"
    r"message transféré|mensaje reenviado|wiadomość przekazana dalej|przekazana wiadomość|"
    r"przesłana wiadomość|전달된 메시지|الرسالة المعاد توجيهها|رسالة معاد توجيهها|"
    r"გადაგზავნილი შეტყობინება|messaggio inoltrato|doorgestuurd bericht"
)
# Matched after the drawn part ("-----", "=====", "_____") is stripped, so no backtracking.
_SEPARATOR = re.compile(rf"(?:(?P<original>{_ORIGINAL})|(?P<forwarded>{_FORWARDED}))\b", re.I)
_DRAWN = "-=_* \t"
_FORWARD_INTRO = re.compile(  # Apple Mail and iOS
    r"^(?:begin forwarded message|anfang der weitergeleiteten nachricht|"
    r"début du message (?:réexpédié|transféré)|(?:inicio|comienzo) del mensaje reenviado|"
    r"początek (?:przekazanej wiadomości|wiadomości przekazanej dalej)|전달된 메시지|"
    r"بداية الرسالة المعاد توجيهها)\s?:$",
    re.IGNORECASE,
)

# --- header blocks of a quoted or forwarded message ------------------------------------------
_FROM_FIELDS = r"from|von|de|od|من|المرسل|보낸\s?사람|გამგზავნი|från|van|da|fra|发件人"
_DATE_FIELDS = (
    r"sent|date|gesendet|datum|envoyé|enviado(?:\sel)?|fecha|wysłano|wysłane|data|أرسل|أرسلت|"
    r"تم الإرسال|تاريخ الإرسال|التاريخ|보낸\s?날짜|날짜|გაგზავნილია|თარიღი|skickat|verzonden|"
    r"inviato|sendt|发送时间"
)
_SUBJECT_FIELDS = (
    r"subject|betreff|objet|asunto|temat|الموضوع|제목|თემა|ämne|onderwerp|oggetto|emne|主题"
)
_OTHER_FIELDS = (
    r"to|cc|bcc|an|kopie|à|a|para|do|dw|kopia|إلى|نسخة|نسخة إلى|받는\s?사람|참조|ადრესატი|"
    r"მიმღები|ასლი|till|aan|til|收件人|抄送"
)
_FIELD = re.compile(
    rf"^\*?\s*(?:(?P<from>{_FROM_FIELDS})|(?P<date>{_DATE_FIELDS})|(?P<subject>{_SUBJECT_FIELDS})"
    rf"|{_OTHER_FIELDS})\s?\*?\s?[:：](?P<value>.*)$",
    re.IGNORECASE,
)

# --- signatures -------------------------------------------------------------------------------
_SENT_FROM = re.compile(
    r"^(?:sent from\s.{1,70}|sent (?:via|with)\s.{1,50}|get outlook for\s.{1,60}|"
    r"wysłan[eo] z\s.{1,60}|pobierz (?:aplikację )?outlook.{0,50}|"
    r"von meinem\s.{1,50}\sgesendet\.?|gesendet von\s.{1,60}|outlook für\s.{1,30}herunterladen|"
    r"envoyé (?:de|depuis|à partir de)\s.{1,60}|obtenir outlook pour\s.{1,40}|"
    r"enviado desde\s.{1,60}|obtener outlook para\s.{1,40}|"
    r"أرسلت?\sمن\s.{1,60}|مرسل\sمن\s.{1,60}|تم الإرسال من\s.{1,60}|"
    r".{1,40}에서 보냄|გაგზავნილია\s.{1,50}|.{1,40}-დან გაგზავნილი)$",
    re.IGNORECASE,
)
_SIGNOFFS = [
    # en
    r"(?:best|kind|warm|warmest|many|with kind|with best)?\s?regards|best wishes|best|"
    r"all the best|cheers|thanks|thank you|many thanks|thanks again|thanks in advance|"
    r"thank you in advance|sincerely(?: yours)?|yours (?:sincerely|truly|faithfully)|"
    r"respectfully|br|take care",
    # pl
    r"pozdrawiam(?: serdecznie| ciepło)?|serdecznie pozdrawiam|z (?:poważaniem|powazaniem)|"
    r"z wyrazami szacunku|(?:serdeczne |najlepsze )?pozdrowienia|łączę pozdrowienia|"
    r"dziękuję(?: bardzo)?|dziekuje|dzięki|z góry dziękuję|pozdr|pzdr",
    # de
    r"mit freundlichen gr(?:ü|ue)(?:ß|ss)en|mfg|lg|vg|"
    r"(?:freundliche|viele|beste|liebe|herzliche|schöne|sonnige)?\s?gr(?:ü|ue|u)(?:ß|ss)e?|"
    r"danke(?: schön| sehr)?|vielen dank|besten dank",
    # fr
    r"(?:bien )?cordialement|bien à vous|(?:sincères |meilleures |bien sincères )?salutations"
    r"(?: distinguées)?|bonne (?:journée|soirée|fin de journée)|belle journée|"
    r"merci(?: beaucoup| d'avance| par avance)?|amicalement|à bientôt",
    # es
    r"(?:un )?(?:cordial )?saludos?(?: cordiales)?|atentamente|cordialmente|"
    r"(?:muchas )?gracias(?: de antemano)?|quedo (?:atent[oa]|a la espera)|abrazos?|besos",
    # ar
    r"مع (?:خالص |أطيب |أجمل )?(?:التحية|التحيات|تحياتي)|تحياتي|مع (?:الشكر|الاحترام|التقدير)"
    r"(?: والتقدير)?|و?شكرا(?: جزيلا)?|و?شكرًا(?: جزيلًا)?|و?تفضلوا بقبول (?:فائق )?الاحترام",
    # ko ("홍길동 드림" = "from Hong Gildong")
    r"감사합니다|고맙습니다|감사드립니다|수고하세요|수고하십시오|좋은 하루 (?:되세요|보내세요)|"
    r"안녕히 계세요|\S{1,12}\s?(?:드림|올림)",
    # ka
    r"პატივისცემით|(?:დიდი )?მადლობა|მადლობით|საუკეთესო სურვილებით|გულითადად",
]
_SIGNOFF = re.compile(rf"^(?:{'|'.join(_SIGNOFFS)})[\s,.!;:~\-–—]*$", re.IGNORECASE)
_MAX_SIGNATURE_LINES = 6  # non-blank lines below a sign-off that still read as a signature
_MAX_SIGNATURE_LINE = 72
_COMPANY_ENDINGS = frozenset(
    [
        "ltd.",
        "inc.",
        "co.",
        "corp.",
        "llc.",
        "plc.",
        "o.o.",
        "s.a.",
        "s.l.",
        "s.r.l.",
        "s.a.s.",
        "sarl.",
        "b.v.",
        "n.v.",
        "e.v.",
        "gmbh.",
        "ag.",
        "kg.",
        "oy.",
        "ab.",
        "a/s.",
        "pty.",
        "jr.",
        "sr.",
    ]
)
# These start with a literal character, so the regex engine skips ahead to candidates.
_LINE_OPENER = re.compile(r"\n[ \t\u200e\u200f]*[>\-=_*]")
_COLON_END = re.compile(r":[ \t]*\n")
_COLON_NEAR_START = re.compile(r"\n[^\n:：]{1,30}[:：]")
_FROM_LINE = re.compile(rf"\n[\u200e\u200f*]*(?:{_FROM_FIELDS})\s?\*?\s?[:：]", re.I)
_RULE = re.compile(r"^[-_=*~\s]{5,}$")  # a drawn line left above a cut header block
_BLANK_RUN = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+(?=\n)")


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    quoted_removed: bool = False
    forwarded: bool = False
    signature_removed: bool = False


def _probe(line: str) -> str:
    """The line as the patterns see it: outer spaces and invisible marks removed."""
    probe = line.strip()
    if not probe.isascii():
        probe = _INVISIBLE.sub("", probe).strip()
    return probe


def extract_reply(body: str) -> Reply:
    """The sender's own text of ``body`` (a decoded plain-text body)."""
    if "\r" in body:
        body = body.replace("\r\n", "\n").replace("\r", "\n")
    lines = body.split("\n")
    if body.isascii():
        probes = [line.strip() for line in lines]
    else:
        probes = [_probe(line) for line in lines]
    removed: list[int] = []
    cut = len(lines)
    quoted = forwarded = seen_text = False
    for i, probe in enumerate(probes if _may_have_boundary(body) else ()):
        if not probe:
            continue
        if probe[0] == ">":
            removed.append(i)
            quoted = True
            continue
        # Only a drawn line, a line ending in a colon or one with a colon near its start can be
        # a boundary: most lines of most messages skip the patterns altogether.
        if probe[0] in _DRAWN or probe[-1] in ":：" or ":" in probe[:24] or "：" in probe[:24]:
            boundary = _boundary(probes, i, seen_text)
            if boundary is not None:
                start, kind, below_is_quote = boundary
                removed.extend(range(start, i + 1))
                quoted = True
                if kind == "attribution" and below_is_quote:
                    continue  # the ">" lines below go one by one; text after them is kept
                forwarded = kind == "forwarded"
                cut = start
                break
        seen_text = True
    gone = set(removed)
    kept = [i for i in range(cut) if i not in gone] if gone else list(range(cut))
    kept, signature = _strip_signature(kept, lines, probes)
    return Reply(_tidy(kept, lines, body), quoted, forwarded, signature)


def _may_have_boundary(body: str) -> bool:
    """A whole-text test, much cheaper than looking at each line: can any line be a quote, a
    drawn separator, an attribution or the From line of a header block?"""
    text = "\n" + body + "\n"
    return (
        _LINE_OPENER.search(text) is not None
        or _COLON_END.search(text) is not None
        or (not text.isascii() and "：" in text)
        or (_COLON_NEAR_START.search(text) is not None and _FROM_LINE.search(text) is not None)
    )


def _next_text(probes: list[str], i: int) -> str:
    for probe in probes[i + 1 :]:
        if probe:
            return probe
    return ""


def _boundary(probes: list[str], i: int, seen_text: bool) -> tuple[int, str, bool] | None:
    """``(first line, kind, quote follows)`` when a boundary ends at line ``i``, else None."""
    probe = probes[i]
    if probe[0] in _DRAWN:
        name = probe.lstrip(_DRAWN)
        if len(probe) - len(name) >= 2 and (match := _SEPARATOR.match(name)):
            return i, "forwarded" if match.group("forwarded") else "original", False
    if probe[-1] in ":：":
        if _FORWARD_INTRO.match(probe):
            return i, "forwarded", False
        below_is_quote = _next_text(probes, i).startswith(">")
        start = _attribution_start(probes, i, below_is_quote)
        if start is not None:
            return start, "attribution", below_is_quote
    if ":" in probe[:24] or "：" in probe[:24]:
        start = _header_block(probes, i, seen_text)
        if start is not None:
            return start, "header", False
    return None


def _attribution_start(probes: list[str], i: int, below_is_quote: bool) -> int | None:
    """First line of an attribution ending at line ``i`` (clients wrap it over up to 3 lines)."""
    for start in range(i, max(i - 3, -1), -1):
        if start < i and not probes[start]:
            return None
        joined = " ".join(probes[start : i + 1])
        if not below_is_quote and not _STAMP.search(joined):
            continue
        if any(rx.match(joined) for rx in _ATTRIBUTION_RE):
            return start
    if below_is_quote and _WROTE_ANY.search(probes[i]):
        return i
    return None


def _header_block(probes: list[str], i: int, seen_text: bool) -> int | None:
    """Line ``i`` opens the header block of a quoted or forwarded message: a From field with
    more fields below it, one of them a date or subject (or an address in From). Customer text
    such as "From: Warsaw / To: Berlin" is no block; at the very top of a body, where only a
    forward would put one, three fields and a date are required."""
    first = _FIELD.match(probes[i])
    if not first or first.group("from") is None:
        return None
    fields, dated, titled = 1, False, False
    for probe in probes[i + 1 : i + 6]:
        match = _FIELD.match(probe)
        if not match:
            break
        fields += 1
        dated = dated or match.group("date") is not None
        titled = titled or match.group("subject") is not None
    if fields < 2 or not (dated or titled or "@" in first.group("value")):
        return None
    if seen_text or fields >= 3 and dated:
        return i
    return None


def _strip_signature(
    kept: list[int], lines: list[str], probes: list[str]
) -> tuple[list[int], bool]:
    """``kept`` (line numbers) without a trailing signature, and whether one was cut."""
    tail: list[int] = []  # the last non-blank lines, bottom up
    for i in reversed(kept):
        if probes[i]:
            tail.append(i)
            if len(tail) > _MAX_SIGNATURE_LINES:
                break
    if not tail:
        return kept, False
    first = next(i for i in kept if probes[i])
    if "--" in probes:  # RFC 3676 separator ("-- "); a bare "--" only near the end
        for i in kept:
            if probes[i] == "--" and (lines[i].startswith("-- ") or i >= tail[-1]):
                return kept[: kept.index(i)], True
    for i in tail[:2]:  # a client's footer is the last line or the one above
        if len(probes[i]) <= 90 and _SENT_FROM.match(probes[i]):
            return _strip_signature(kept[: kept.index(i)], lines, probes)[0], True
    # Bottom up through lines that read as a signature (name, title, phone), looking for the
    # sign-off that opens them; a sentence ends the search.
    for pos, i in enumerate(tail):
        if i == first:
            break
        if pos and _is_signoff(probes[i]):
            while (
                pos + 1 < len(tail)
                and tail[pos + 1] != first
                and _is_signoff(probes[tail[pos + 1]])
            ):
                pos += 1  # "Thank you,\nBest regards,\nJohn": both closings go
            return kept[: kept.index(tail[pos])], True
        if not _signature_like(probes[i]):
            break
    return kept, False


def _is_signoff(probe: str) -> bool:
    return len(probe) <= 48 and _SIGNOFF.match(probe) is not None


def _signature_like(probe: str) -> bool:
    """A name, title, company, phone or address line, not a sentence."""
    if len(probe) > _MAX_SIGNATURE_LINE:
        return False
    words = probe.split()
    if probe[-1:] not in ".?!" or len(words) < 5:
        return True
    return words[-1].lower() in _COMPANY_ENDINGS  # "Łukasiewicz i Wspólnicy Sp. z o.o."


def _tidy(kept: list[int], lines: list[str], body: str) -> str:
    if len(kept) == len(lines):  # nothing cut: the body as it is, minus trailing spaces
        text = body
    else:
        while kept and (not lines[kept[-1]].strip() or _RULE.match(lines[kept[-1]])):
            kept.pop()
        text = "\n".join([lines[i] for i in kept])
    if " \n" in text or "\t\n" in text:
        text = _TRAILING_SPACE.sub("", text)
    text = text.rstrip().strip("\n")
    return _BLANK_RUN.sub("\n\n", text) if "\n\n\n" in text else text
