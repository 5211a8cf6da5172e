"""Loads the fixture archives of tests/fixtures/report/scenarios.py (shared with tests/report)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tonewatch.config import AggregateConfig, default_config

SCENARIOS = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "scenarios.py"


def load_scenarios() -> ModuleType:
    if "report_scenarios" not in sys.modules:
        spec = importlib.util.spec_from_file_location("report_scenarios", SCENARIOS)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["report_scenarios"] = module
        spec.loader.exec_module(module)
    return sys.modules["report_scenarios"]


@pytest.fixture(scope="session")
def scenarios() -> ModuleType:
    return load_scenarios()


@pytest.fixture
def config() -> AggregateConfig:
    return default_config().aggregate


HOSTILE = (
    "Fix it now <script>window.__pwned = 1</script> or else "
    '<img src=x onerror="window.__pwned = 2"> you idiots & thieves'
)


@pytest.fixture(scope="session")
def archive_pairs():
    """The six scenarios plus a client whose message is an HTML injection attempt."""
    scenarios = load_scenarios()
    thread = scenarios.Thread(
        "xss", "mallory@example.com", scenarios.Channel.email, "mail/x.mbox", "<b>Mallory</b>"
    )
    thread.client_says(HOSTILE, scenarios.at(1, 2, 12), "hostile", personal_attack="you idiots")
    thread.client_says(
        "<script>also</script> [link](javascript:alert(1)) | pipe",
        scenarios.at(2, 2, 12),
        "hostile",
        profanity="<script>also</script>",
    )
    return scenarios.archive() + [thread.pair()]


@pytest.fixture(scope="session")
def report_dir(tmp_path_factory, archive_pairs):
    from datetime import UTC, datetime

    from tonewatch.aggregate import Aggregator
    from tonewatch.report import write_report

    aggregator = Aggregator(default_config().aggregate)
    for conversation, results in archive_pairs:
        aggregator.add(conversation, results)
    out = tmp_path_factory.mktemp("report")
    write_report(
        aggregator.details(),
        out,
        model="tonewatch-test-0",
        generated_at=datetime(2025, 3, 20, 9, 0, tzinfo=UTC),
    )
    return out
