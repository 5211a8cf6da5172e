from __future__ import annotations

from pathlib import Path

import pytest

from tonewatch.classify.lexicon import Lexicon
from tonewatch.errors import DataError
from tonewatch.schema import LABELS

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, name: str, body: str) -> Path:
    (tmp_path / name).write_text(body, encoding="utf-8")
    return tmp_path


def test_lexicon_phrases_patterns_and_idioms(tmp_path: Path) -> None:
    lex = Lexicon.from_dir(
        _write(
            tmp_path,
            "en.toml",
            """
lang = "en"
[legal_threat]
phrases = ["my lawyer", "file a chargeback"]
[profanity]
patterns = ['''f\\*+k\\w*''']
[threat]
phrases = ["kill"]
[idioms]
phrases = ["killing me"]
""",
        )
    )
    text = "This bug is killing me. My  lawyer says f**king file a chargeback!"
    found = {(h.label, text[h.start : h.end]) for h in lex.find(text, "en")}
    assert found == {
        ("legal_threat", "My  lawyer"),
        ("profanity", "f**king"),
        ("legal_threat", "file a chargeback"),
    }
    assert lex.counts(text, "en")[LABELS.index("legal_threat")] == 2


def test_lexicon_word_boundaries_in_other_scripts(tmp_path: Path) -> None:
    lex = Lexicon.from_dir(_write(tmp_path, "ko.toml", '[legal_threat]\nphrases = ["변호사"]\n'))
    assert [h.label for h in lex.find("변호사 선임할게요", "ko")] == ["legal_threat"]


def test_lexicon_rejects_unknown_label_and_bad_regex(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a taxonomy label"):
        Lexicon.from_dir(_write(tmp_path, "xx.toml", '[rudeness]\nphrases = ["x"]\n'))
    (tmp_path / "xx.toml").unlink()
    with pytest.raises(DataError, match="invalid pattern"):
        Lexicon.from_dir(_write(tmp_path, "yy.toml", "[threat]\npatterns = ['(']\n"))


def test_lexicon_shipped_files_load_and_cover_every_language() -> None:
    lex = Lexicon.from_dir(ROOT / "data" / "lexicons")
    assert set(lex.languages) >= {"en", "pl", "ar", "ko", "ka", "de", "fr", "es"}
    for lang in ("en", "pl", "ar", "ko", "ka", "de", "fr", "es"):
        assert "legal_threat" in lex.tables[lang] and "profanity" in lex.tables[lang], lang
