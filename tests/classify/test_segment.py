from __future__ import annotations

import pytest

from tonewatch.classify.segment import clauses, sentences, windows


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("pl", "Dzień dobry. Mój prawnik się odezwie! Pozdrawiam", 3),
        ("ko", "안녕하세요. 변호사 선임하겠습니다! 진짜 너무하네요", 3),
        ("ka", "გამარჯობა. ეს ცუდი მომსახურებაა.ადვოკატს მივმართავ!", 3),
        ("ar", "مرحبا. سأرفع دعوى قضائية ضدكم؟ شكرا", 3),
        ("de", "Hallo zusammen. Mein Anwalt meldet sich! Gruß", 3),
    ],
)
def test_segment_sentences_per_language(lang: str, text: str, expected: int) -> None:
    spans = sentences(text, lang)
    assert len(spans) == expected
    assert all(text[s:e].strip() == text[s:e] and e > s for s, e in spans)


def test_segment_clauses_split_at_commas() -> None:
    text = "Fix it by Friday, or I will post a 1-star review everywhere."
    assert [text[s:e] for s, e in clauses(text, "en")] == [
        "Fix it by Friday",
        "or I will post a 1-star review everywhere.",
    ]


def test_segment_windows_cover_long_text_without_truncation() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(200))
    spans = windows(text, 300, 60, "en")
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(e - s <= 300 for s, e in spans)
    assert all(b[0] <= a[1] for a, b in zip(spans, spans[1:], strict=False))  # overlap, no gaps
