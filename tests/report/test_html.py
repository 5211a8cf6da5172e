from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from tonewatch.aggregate import WeekRow
from tonewatch.aggregate.counts import FAMILIES
from tonewatch.report.html import client_slug, highlight, md, when
from tonewatch.report.plots import FAMILY_COLOURS, timeline_svg


def test_html_highlight_escapes_every_segment() -> None:
    text = "a <b>x</b> & you idiot <script>"
    start = text.index("idiot")
    out = highlight(text, [(start, start + 5, "personal_attack")])
    assert str(out) == (
        'a &lt;b&gt;x&lt;/b&gt; &amp; you <mark class="f-abuse" title="personal attack">'
        "idiot</mark> &lt;script&gt;"
    )


def test_html_highlight_merges_overlaps_and_clips() -> None:
    text = "I will sue you and post reviews"
    spans = [(7, 14, "legal_threat"), (11, 31, "reputation_threat"), (40, 50, "threat")]
    out = str(highlight(text, spans))
    assert out.count("<mark") == 1
    assert 'title="legal threat, reputation threat">sue you and post reviews</mark>' in out
    assert str(highlight(text, [])) == text


def test_html_client_slug_is_safe_and_distinct() -> None:
    slugs = {client_slug(k) for k in ("a@b.pl", "A@B.pl", "이민준", "../../etc/passwd", "")}
    assert len(slugs) == 5
    assert all("/" not in s and not s.startswith(".") for s in slugs)
    assert client_slug("marek.kowalski@example.pl").startswith("marek.kowalski-example.pl-")


def test_html_when_keeps_the_clients_offset() -> None:
    seoul = datetime(2025, 2, 5, 23, 30, tzinfo=timezone(timedelta(hours=9)))
    assert when(seoul) == "2025-02-05 23:30 (UTC+09:00)"
    assert when(None) == "—"


def test_html_md_neutralises_markup() -> None:
    assert md("<script>x</script> [a](javascript:1) | *b*\nnext") == (
        r"&lt;script&gt;x&lt;/script&gt; \[a\](javascript:1) \| \*b\* next"
    )


def _row(week: int, turns: int, **flagged: int) -> WeekRow:
    counts = {family: flagged.get(family, 0) for family in FAMILIES}
    return WeekRow(date(2025, 2, 3) + timedelta(weeks=week), turns, counts)


def test_html_timeline_svg_draws_one_bar_per_family_and_week() -> None:
    weeks = [_row(0, 4), _row(1, 4, abuse=1), _row(2, 5, abuse=2, leverage=1), _row(3, 0)]
    svg = timeline_svg(weeks)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert svg.count(f"fill: {FAMILY_COLOURS['abuse'].lower()}") == 2
    assert svg.count(f"fill: {FAMILY_COLOURS['leverage'].lower()}") == 1
    assert "03 Feb" in svg and "24 Feb" in svg  # week labels
    assert "<metadata>" not in svg and "<?xml" not in svg
    assert timeline_svg([]) == ""
    # The shared figure is reset between clients: nothing of the last plot leaks in.
    assert FAMILY_COLOURS["leverage"].lower() not in timeline_svg([_row(0, 3, abuse=1)])


def test_html_timeline_svg_is_deterministic() -> None:
    weeks = [_row(k, 3, demands=k % 2) for k in range(30)]
    assert timeline_svg(weeks) == timeline_svg(weeks)
    assert datetime.now(UTC).strftime("%Y-%m-%d") not in timeline_svg(weeks)
