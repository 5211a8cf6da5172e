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
