"""Lexicon matching with a literal prefilter: the same hits as ``Lexicon.find``, several
times faster.

A lexicon table is one case-insensitive alternation per label. Python's ``re`` cannot skip
ahead through such a pattern (case-insensitive branches give it no first-character set), so it
tries every alternative at every position of the text, and most labels never match a given
turn. Here each label's pattern is parsed once to find literals that every match must contain
(one of a set); a label's pattern runs only when one of them occurs in the text. The text and
the literals are both case-folded exactly as ``re.IGNORECASE`` compares characters (``_sre``'s
simple lowercase plus ``re``'s extra case equivalences), so a skipped pattern could not have
matched: the hits are identical, which ``tests/classify/test_lexicon_scan.py`` checks.
"""

from __future__ import annotations

import _sre  # the case mapping re.IGNORECASE itself uses
import functools
import re
from collections import Counter
from collections.abc import Sequence
from re import _casefix, _parser  # type: ignore[attr-defined]
from re import _constants as C

from tonewatch.classify.lexicon import Hit, Lexicon
from tonewatch.schema import LABELS

_REPEATS = {C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", C.MAX_REPEAT)}


@functools.cache
def _fold_table() -> dict[int, int]:
    """Code point -> the representative of its class under re.IGNORECASE (only where it
    differs), so ``fold(a) == fold(b)`` whenever ``re`` matches a against b ignoring case."""
    table: dict[int, int] = {}
    for cp in range(0x110000):
        low = _sre.unicode_tolower(cp)
        rep = min((low, *_casefix._EXTRA_CASES.get(low, ())))
        if rep != cp:
            table[cp] = rep
    return table


def fold(text: str) -> str:
    return text.translate(_fold_table())


Need = frozenset[str] | None  # one of these literals occurs in every match; None: unknown


def _better(a: Need, b: Need) -> Need:
    """The more selective of two requirements (longest shortest literal, then fewest)."""
    if a is None:
        return b
    if b is None:
        return a
    key_a, key_b = (min(map(len, a)), -len(a)), (min(map(len, b)), -len(b))
    return a if key_a >= key_b else b


def _need(items: list[tuple[object, object]]) -> Need:
    """What every match of a parsed sequence must contain."""
    best: Need = None
    run: list[int] = []
    for op, av in [*items, (None, None)]:
        if op is C.LITERAL:
            run.append(av)  # type: ignore[arg-type]
            continue
        if run:
            best = _better(best, frozenset({fold("".join(map(chr, run)))}))
            run = []
        if op is C.SUBPATTERN:
            best = _better(best, _need(list(av[-1])))  # type: ignore[index]
        elif op is C.BRANCH:
            branches = [_need(list(b)) for b in av[1]]  # type: ignore[index]
            if all(b is not None for b in branches):
                best = _better(best, frozenset().union(*branches))  # type: ignore[arg-type]
        elif op in _REPEATS and av[0] >= 1:  # type: ignore[index]
            best = _better(best, _need(list(av[2])))  # type: ignore[index]
    return best


def required_literals(source: str, flags: int) -> Need:
    try:
        return _need(list(_parser.parse(source, flags)))
    except Exception:  # an unusual pattern: always run it
        return None


def split_alternatives(source: str) -> list[str]:
    """The top-level ``|`` alternatives of a regex source (escapes, classes, groups skipped)."""
    parts, depth, start, i, in_class = [], 0, 0, 0, False
    while i < len(source):
        c = source[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            i += 1
            i += source.startswith("^", i)
            i += source.startswith("]", i)  # a "]" first in a class is a literal
            continue
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(source[start:i])
            start = i + 1
        i += 1
    return [*parts, source[start:]]


class _Entry:
    """One label's (or the idioms') pattern, split into its alternatives, each with the
    literals it needs.

    ``spans`` runs only the alternatives whose literals occur in the text and finds what the
    whole alternation finds: its next match is the leftmost start among the alternatives'
    next matches, taken by the first alternative in order that matches there (an alternation
    tries its branches in order at each position), and scanning resumes at that match's end.
    A dropped alternative matches nowhere in the text, so it changes nothing. Patterns that
    this reading would not cover (backreferences, named groups, an alternative that can match
    the empty string, a split that does not compile) are run whole."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        parts = split_alternatives(pattern.pattern)
        if "(?P" in pattern.pattern or re.search(r"\\[1-9]", pattern.pattern):
            parts = [pattern.pattern]
        try:
            compiled = [re.compile(part, pattern.flags) for part in parts]
            if any(_parser.parse(part, pattern.flags).getwidth()[0] == 0 for part in parts):
                raise re.error("an alternative can match the empty string")
        except re.error:
            parts, compiled = [pattern.pattern], [pattern]
        self.parts, self.compiled = parts, compiled
        self.needs = [required_literals(part, pattern.flags) for part in parts]

    def index(self, bits: dict[str, int]) -> None:
        """Give each alternative a bit mask of its literals (bits shared per language; bit 0,
        always present, stands for "no literal known")."""
        self.masks = [
            1 if need is None else sum(bits.setdefault(lit, 2 << len(bits)) for lit in need)
            for need in self.needs
        ]
        self.any_mask = functools.reduce(lambda a, b: a | b, self.masks, 0)

    def spans(self, text: str, present: int) -> list[tuple[int, int]]:
        """``[m.span() for m in pattern.finditer(text)]``, given the mask of the literals
        ``present`` in the text."""
        if not self.any_mask & present:
            return []
        keep = [self.compiled[i] for i, mask in enumerate(self.masks) if mask & present]
        if len(keep) == 1:
            return [m.span() for m in keep[0].finditer(text)]
        found: list[tuple[int, int]] = []
        pos = 0
        nxt = [alt.search(text) for alt in keep]
        while True:
            best = None
            for i, m in enumerate(nxt):
                if m is not None and m.start() < pos:
                    m = nxt[i] = keep[i].search(text, pos)
                if m is not None and (best is None or m.start() < best.start()):
                    best = m
            if best is None:
                return found
            found.append(best.span())
            pos = best.end()


class LexiconScanner:
    """``find(text, lang)`` returns exactly ``lexicon.find(text, lang)``."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.entries = {
            lang: {key: _Entry(pattern) for key, pattern in table.items()}
            for lang, table in lexicon.tables.items()
        }
        # Literals longer than two characters are grouped by their first three: a text is
        # checked only for the groups whose trigram it contains (a set intersection).
        self.literals: dict[str, tuple[list[tuple[str, int]], dict[str, list[tuple[str, int]]]]]
        self.literals = {}
        for lang, table in self.entries.items():
            bits: dict[str, int] = {}
            for entry in table.values():
                entry.index(bits)
            short = [(lit, bit) for lit, bit in bits.items() if len(lit) < 3]
            groups: dict[str, list[tuple[str, int]]] = {}
            for lit, bit in bits.items():
                if len(lit) >= 3:
                    groups.setdefault(lit[:3], []).append((lit, bit))
            self.literals[lang] = (short, groups)

    def _present(self, lang: str, folded: str) -> int:
        short, groups = self.literals[lang]
        present = 1
        for lit, bit in short:
            if lit in folded:
                present |= bit
        trigrams = {folded[i : i + 3] for i in range(len(folded) - 2)}
        for key in trigrams.intersection(groups):
            for lit, bit in groups[key]:
                if len(lit) == 3 or lit in folded:
                    present |= bit
        return present

    def find(self, text: str, lang: str | None = None) -> list[Hit]:
        # Mirrors Lexicon.find, with the prefiltered patterns.
        folded = fold(text)
        if lang and lang in self.entries:
            langs = [lang] + (["xx"] if "xx" in self.entries else [])
        else:
            langs = list(self.entries)
        hits: list[Hit] = []
        idiom_spans: list[tuple[int, int]] = []
        for name in langs:
            present = self._present(name, folded)
            for key, entry in self.entries[name].items():
                spans = entry.spans(text, present)
                if key == "idioms":
                    idiom_spans += spans
                else:
                    hits += [Hit(key, s, e) for s, e in spans if e > s]
        if idiom_spans:
            hits = [h for h in hits if not any(s < h.end and h.start < e for s, e in idiom_spans)]
        return sorted(set(hits), key=lambda h: (h.start, h.end, h.label))


def counts(hits: Sequence[Hit]) -> list[int]:
    """Hit count per label, in ``LABELS`` order (``Lexicon.counts`` from hits in hand)."""
    per_label = Counter(h.label for h in hits)
    return [per_label[label] for label in LABELS]
