"""The report directory: clients.json shape, pages, summary, escaping of hostile text."""

from __future__ import annotations

import json
import re

import pytest

from tonewatch.report.html import client_slug
from tonewatch.schema import LABELS, Family

CLIENT_KEYS = {
    "client", "names", "addresses", "verdict", "risk", "explanation", "families", "flags",
    "signals", "evidence",
}  # fmt: skip
FAMILY_KEYS = {"count", "conversations", "days", "first", "last", "pattern", "trend"}
EVIDENCE_KEYS = {
    "conversation", "turn", "source", "message_id", "timestamp", "label", "score", "text",
}  # fmt: skip


def test_writers_clients_json_has_the_issue_shape(report_dir, scenarios) -> None:
    document = json.loads((report_dir / "clients.json").read_text(encoding="utf-8"))
    assert set(document) == {"taxonomy_version", "model", "generated_at", "clients"}
    assert document["taxonomy_version"] == "1" and document["model"] == "tonewatch-test-0"
    assert document["generated_at"] == "2025-03-20T09:00:00+00:00"
    clients = document["clients"]
    assert len(clients) == 7
    assert [c["risk"] for c in clients] == sorted((c["risk"] for c in clients), reverse=True)
    for client in clients:
        assert set(client) >= CLIENT_KEYS
        assert client["verdict"] in {"pattern", "incident", "none"}
        assert set(client["families"]) == {f.value for f in Family}
        for stats in client["families"].values():
            assert set(stats) == FAMILY_KEYS
            assert stats["trend"] in {"rising", "stable", "falling", "none"}
        assert set(client["flags"]) == set(LABELS)
        assert set(client["signals"]) == {
            "attention_demand", "unresponsiveness", "after_hours_pressure",
        }  # fmt: skip
        for signal in client["signals"].values():
            assert {"value", "flagged"} <= set(signal)
        for ref in client["evidence"]:
            assert set(ref) == EVIDENCE_KEYS
    rising = next(c for c in clients if c["client"] == scenarios.RISING)
    assert rising["families"]["abuse"] == {
        **rising["families"]["abuse"],
        "count": 10,
        "conversations": 4,
        "pattern": True,
        "trend": "rising",
    }
    ref = rising["evidence"][0]
    assert ref["message_id"].startswith("<pl-w") and ref["timestamp"].endswith("+01:00")
    assert ref["source"].startswith("mail/support.mbox: message ")


def test_writers_index_ranks_clients_and_links_pages(report_dir) -> None:
    document = json.loads((report_dir / "clients.json").read_text(encoding="utf-8"))
    index = (report_dir / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'href="clients/([^"]+)\.html"', index)
    assert links == [client_slug(c["client"]) for c in document["clients"]]
    for slug in links:
        assert (report_dir / "clients" / f"{slug}.html").is_file()
    assert "3 conversations" not in index and "7 clients" in index


def test_writers_page_shows_plot_evidence_and_explanation(report_dir, scenarios) -> None:
    page = (report_dir / "clients" / f"{client_slug(scenarios.RISING)}.html").read_text()
    assert page.count("<svg") == 1 and "</svg>" in page
    assert "Abuse is a pattern: 10 flagged turns in 4 conversations" in page
    assert '<mark class="f-abuse" title="personal attack">bandą idiotów</mark>' in page
    assert "Message-ID &lt;pl-w" in page  # the id is shown, and escaped
    assert not re.search(
        r"(src|href)=[\"']?(https?:)?//|url\((?!#)|@import", page
    )  # nothing remote
    assert "<script" not in page


def test_writers_escape_hostile_message_text(report_dir) -> None:
    page = (report_dir / "clients" / f"{client_slug('mallory@example.com')}.html").read_text()
    assert "<script" not in page and "<img" not in page and "<b>Mallory" not in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert "onerror=&#34;window.__pwned = 2&#34;" in page
    assert "&lt;b&gt;Mallory&lt;/b&gt;" in page
    assert '<mark class="f-abuse" title="personal attack">you idiots</mark> &amp; thieves' in page
    assert 'title="profanity">&lt;script&gt;also&lt;/script&gt;</mark>' in page
    assert 'http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;' in page
    summary = (report_dir / "summary.md").read_text(encoding="utf-8")
    assert "<script" not in summary and "&lt;script&gt;also&lt;/script&gt;" in summary


def test_writers_summary_lists_clients_to_act_on(report_dir, scenarios) -> None:
    summary = (report_dir / "summary.md").read_text(encoding="utf-8")
    assert "| 1 | [Marek Kowalski](clients/" in summary
    assert "## Clients to act on" in summary
    act = summary.split("## Clients to act on")[1]
    assert "Diego Hernández" in act  # no flag, but unresponsive: still worth a look
    assert "Claire Dubois" not in act
    assert "“bandą idiotów” — `mail/support.mbox: message" in act


def test_writers_are_deterministic(tmp_path, archive_pairs) -> None:
    from datetime import UTC, datetime

    from tonewatch.aggregate import Aggregator
    from tonewatch.config import default_config
    from tonewatch.report import write_report

    outputs = []
    for run in range(2):
        aggregator = Aggregator(default_config().aggregate)
        for conversation, results in archive_pairs:
            aggregator.add(conversation, results)
        write_report(
            aggregator.details(),
            tmp_path / str(run),
            model="m",
            generated_at=datetime(2025, 3, 20, tzinfo=UTC),
        )
        outputs.append(
            {
                p.relative_to(tmp_path / str(run)): p.read_bytes()
                for p in (tmp_path / str(run)).rglob("*.*")
            }
        )
    assert outputs[0] == outputs[1]


@pytest.mark.slow
def test_writers_parallel_pages_match_sequential(tmp_path, archive_pairs) -> None:
    from datetime import UTC, datetime

    from tonewatch.aggregate import Aggregator
    from tonewatch.config import default_config
    from tonewatch.report import write_report

    aggregator = Aggregator(default_config().aggregate)
    for conversation, results in archive_pairs:
        aggregator.add(conversation, results)
    details = aggregator.details()
    when = datetime(2025, 3, 20, tzinfo=UTC)
    for workers in (1, 2):
        write_report(details, tmp_path / str(workers), generated_at=when, workers=workers)
    one, two = (sorted((tmp_path / str(w) / "clients").iterdir()) for w in (1, 2))
    assert [p.name for p in one] == [p.name for p in two] and len(one) == 7
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(one, two, strict=True))


def test_writers_empty_report_is_valid(tmp_path) -> None:
    from tonewatch.report import write_report

    files = write_report([], tmp_path, model="m")
    assert json.loads(files.clients_json.read_text())["clients"] == []
    assert "0 clients" in files.index.read_text() and files.pages == 0
