"""LexiconScanner finds exactly what Lexicon.find finds, on the project's lexicons and turns
and on patterns built to trip the alternation reading (order, overlaps, lookarounds, case)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tonewatch.classify.lexicon import Lexicon
from tonewatch.classify.lexicon_scan import LexiconScanner, fold, required_literals
from tonewatch.train.gold import read_annotations

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon.from_dir(ROOT / "data" / "lexicons")


def test_scanner_equals_lexicon_on_every_annotated_turn(lexicon: Lexicon) -> None:
    scanner = LexiconScanner(lexicon)
    turns = [
        t for p in sorted((ROOT / "data/annotations").glob("*.jsonl")) for t in read_annotations(p)
    ]
    assert len(turns) > 1000
    hits = 0
    for turn in turns:
        for text, lang in ((turn.text, turn.lang), (turn.text.upper(), turn.lang)):
            expected = lexicon.find(text, lang)
            assert scanner.find(text, lang) == expected, (lang, text)
            hits += len(expected)
    for turn in turns[::7]:  # unknown language: every table
        assert scanner.find(turn.text, None) == lexicon.find(turn.text, None)
    assert hits > 500  # the comparison covered real matches, not only misses


def test_scanner_keeps_alternation_semantics(tmp_path: Path) -> None:
    (tmp_path / "en.toml").write_text(
        """
lang = "en"
[threat]
phrases = ["watch your back", "watch"]
patterns = ['''(?<=\\s)back off\\b''', '''\\bi know where (?:you|he) (?:live|work)s?\\b''',
            '''[ck]ill(?:ed|ing)? (?!time)\\w+''']
[profanity]
patterns = ['''\\bf[*#]{1,5}k\\w*''', '''(?:x|y)?z+''']
[idioms]
phrases = ["killing time"]
""",
        encoding="utf-8",
    )
    lexicon = Lexicon.from_dir(tmp_path)
    scanner = LexiconScanner(lexicon)
    texts = [
        "Watch your back. WATCH it. I KNOW WHERE YOU LIVE and where he works",
        "please back off now, back off!backoff  kill them, killing time, KILLED you",
        "f**k this, f#k, zzz yz xz, ſ and İ and K (kelvin) ",
        "watchwatch your back",
        "",
    ]
    for text in texts:
        assert scanner.find(text, "en") == lexicon.find(text, "en"), text


def test_required_literals_are_case_folded_and_conservative() -> None:
    # The longest literal every match contains; a branch gives a set, one of which occurs.
    assert required_literals(r"\bWatch (?:Sue|court)\b", re.I) == frozenset({"watch "})
    assert required_literals(r"\b(?:Sue|Court) x", re.I) == frozenset({"sue", "court"})
    assert required_literals(r"\w+", re.I) is None  # nothing known: always run
    assert required_literals(r"(?:ab)?c", re.I) == frozenset({"c"})  # optional parts skipped
    assert fold("ÄBC İ ſ K") == fold("äbc i s k")  # as re.IGNORECASE compares characters
