"""Sentences, clauses and windows, as character spans of the turn text.

spaCy blank pipelines with the rule-based sentencizer run offline. Korean uses the plain
``spacy.Tokenizer.v1`` (spaCy's default Korean tokenizer needs MeCab); Georgian has no spaCy
language, so it uses the multi-language pipeline with suffix and infix rules splitting ``.?!,:;``
after Georgian letters (Georgian chat often omits the space after a full stop).
"""

from __future__ import annotations

import functools
import re

import spacy
from spacy.language import Language

_SPACY_LANGS = {"en", "pl", "ar", "de", "fr", "es"}
_CLAUSE_BREAK = re.compile(r"[,;:—–]\s+|\s+-\s+")
_PUNCT_CHARS = [".", "!", "?", "؟", "。", "…", "\n"]


@functools.cache
def pipeline(lang: str) -> Language:
    if lang in _SPACY_LANGS:
        nlp = spacy.blank(lang)
    elif lang == "ko":
        nlp = spacy.blank(
            "ko", config={"nlp": {"tokenizer": {"@tokenizers": "spacy.Tokenizer.v1"}}}
        )
    else:
        nlp = spacy.blank("xx")
        if lang == "ka":
            suffixes = [*nlp.Defaults.suffixes, r"(?<=[\u10a0-\u10ff])[.?!,:;]"]
            infixes = [*nlp.Defaults.infixes, r"(?<=[\u10a0-\u10ff])[.?!,:;](?=[\u10a0-\u10ff])"]
            nlp.tokenizer.suffix_search = spacy.util.compile_suffix_regex(suffixes).search
            nlp.tokenizer.infix_finditer = spacy.util.compile_infix_regex(infixes).finditer
    nlp.add_pipe("sentencizer", config={"punct_chars": _PUNCT_CHARS})
    return nlp


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def sentences(text: str, lang: str = "xx") -> list[tuple[int, int]]:
    """Non-empty sentence spans (start, end) of ``text``."""
    if not text.strip():
        return []
    spans = []
    for sent in pipeline(lang)(text).sents:
        start, end = _strip(text, sent.start_char, sent.end_char)
        if end > start:
            spans.append((start, end))
    return spans


def clauses(text: str, lang: str = "xx") -> list[tuple[int, int]]:
    """Sentence spans split further at clause punctuation (commas, semicolons, dashes)."""
    spans = []
    for s_start, s_end in sentences(text, lang):
        cursor = s_start
        for match in _CLAUSE_BREAK.finditer(text, s_start, s_end):
            start, end = _strip(text, cursor, match.start())
            if end - start >= 3:
                spans.append((start, end))
            cursor = match.end()
        start, end = _strip(text, cursor, s_end)
        if end > start:
            spans.append((start, end))
    return spans


def windows(text: str, size: int, overlap: int, lang: str = "xx") -> list[tuple[int, int]]:
    """Cover ``text`` with windows of at most ~``size`` characters made of whole sentences,
    consecutive windows sharing about ``overlap`` characters, so nothing is truncated."""
    if len(text) <= size:
        return [(0, len(text))]
    sents = sentences(text, lang) or [(0, len(text))]
    # A sentence longer than a window is cut at whitespace into pieces.
    pieces: list[tuple[int, int]] = []
    for start, end in sents:
        while end - start > size:
            cut = text.rfind(" ", start, start + size)
            cut = cut if cut > start else start + size
            pieces.append((start, cut))
            start = cut
        pieces.append((start, end))
    result: list[tuple[int, int]] = []
    i = 0
    while i < len(pieces):
        j = i
        while j + 1 < len(pieces) and pieces[j + 1][1] - pieces[i][0] <= size:
            j += 1
        result.append((pieces[i][0], pieces[j][1]))
        if j + 1 >= len(pieces):
            break
        # Step back over pieces that fit in the overlap.
        k = j + 1
        while k - 1 > i and pieces[j][1] - pieces[k - 1][0] <= overlap:
            k -= 1
        i = k
    return result
