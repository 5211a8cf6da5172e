"""Per-language lexicons (``data/lexicons/<lang>.toml``): phrases and regexes that carry a flag.

Hits serve two jobs: features for rare phrasing the encoder misses (masked profanity, "1-star",
"chargeback"), and evidence spans a support lead can read. ``[idioms]`` lists look-alikes that
are not flags ("this bug is killing me"); their spans suppress overlapping hits.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tonewatch.errors import DataError
from tonewatch.schema import LABELS

# Word boundaries that also work for Hangul, Georgian and Arabic (``\b`` does, in Python's re,
# for any Unicode letter); phrases are escaped and whitespace-relaxed.
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Hit:
    label: str
    start: int
    end: int


def _phrase_regex(phrase: str) -> str:
    body = r"\s+".join(re.escape(part) for part in _WS.split(phrase.strip()) if part)
    left = r"\b" if re.match(r"\w", phrase.strip()) else ""
    right = r"\b" if re.search(r"\w$", phrase.strip()) else ""
    return f"{left}{body}{right}"


class Lexicon:
    """All languages' entries compiled once; ``find`` runs the text's language plus the shared
    (``xx``) table, or every language when the language is unknown."""

    def __init__(self, tables: dict[str, dict[str, re.Pattern[str]]]) -> None:
        self.tables = tables

    @classmethod
    def from_dir(cls, directory: str | Path) -> Lexicon:
        tables: dict[str, dict[str, re.Pattern[str]]] = {}
        for path in sorted(Path(directory).glob("*.toml")):
            tables[path.stem] = _compile_file(path)
        return cls(tables)

    @property
    def languages(self) -> list[str]:
        return sorted(self.tables)

    def _tables_for(self, lang: str | None) -> list[dict[str, re.Pattern[str]]]:
        if lang and lang in self.tables:
            return [self.tables[lang]] + ([self.tables["xx"]] if "xx" in self.tables else [])
        return list(self.tables.values())

    def find(self, text: str, lang: str | None = None) -> list[Hit]:
        hits: list[Hit] = []
        idiom_spans: list[tuple[int, int]] = []
        for table in self._tables_for(lang):
            idioms = table.get("idioms")
            if idioms is not None:
                idiom_spans += [m.span() for m in idioms.finditer(text)]
            for label, pattern in table.items():
                if label != "idioms":
                    hits += [
                        Hit(label, *m.span()) for m in pattern.finditer(text) if m.end() > m.start()
                    ]
        if idiom_spans:
            hits = [h for h in hits if not any(s < h.end and h.start < e for s, e in idiom_spans)]
        return sorted(set(hits), key=lambda h: (h.start, h.end, h.label))

    def counts(self, text: str, lang: str | None = None) -> list[int]:
        """Hit count per label, in ``LABELS`` order (a feature vector)."""
        found = self.find(text, lang)
        return [sum(1 for h in found if h.label == label) for label in LABELS]


def _compile_file(path: Path) -> dict[str, re.Pattern[str]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"{path}: cannot read lexicon: {exc}") from exc
    compiled: dict[str, re.Pattern[str]] = {}
    for key, table in data.items():
        if not isinstance(table, dict):
            continue
        if key not in LABELS and key != "idioms":
            raise DataError(f"{path}: [{key}] is not a taxonomy label or 'idioms'")
        alternatives = [_phrase_regex(p) for p in table.get("phrases", []) if p.strip()]
        alternatives += list(table.get("patterns", []))
        if not alternatives:
            continue
        # Longest first so a regex alternation prefers the fuller phrase.
        alternatives.sort(key=len, reverse=True)
        try:
            compiled[key] = re.compile("|".join(f"(?:{a})" for a in alternatives), re.I)
        except re.error as exc:
            raise DataError(f"{path}: [{key}] has an invalid pattern: {exc}") from exc
    return compiled
