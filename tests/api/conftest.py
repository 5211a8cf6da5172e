"""API test fixtures: the shipped fast model behind a real app, a key store in a temp dir.

The fast tier is what a test run can afford; the default tier serves the same contract.
``TONEWATCH_TEST_API_MODEL`` points the tests at another model directory while developing.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tonewatch.api import create_app
from tonewatch.classify.api import PACKAGE_ROOT, load_model
from tonewatch.classify.pipeline import Classifier
from tonewatch.config import DEFAULT_CONFIG, Config, load_config

MODEL = os.environ.get("TONEWATCH_TEST_API_MODEL")
PERSPECTIVE_MAP = os.environ.get(
    "TONEWATCH_TEST_PERSPECTIVE_MAP", str(PACKAGE_ROOT / "models" / "perspective-map.json")
)

MakeConfig = Callable[..., Config]


@pytest.fixture(scope="session")
def model_override() -> str | None:
    return MODEL


@pytest.fixture(scope="session")
def perspective_map() -> str:
    return PERSPECTIVE_MAP


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return load_model(MODEL, tier="fast")


@pytest.fixture(scope="session")
def make_config(tmp_path_factory: pytest.TempPathFactory) -> MakeConfig:
    def make(*overrides: str) -> Config:
        keys = tmp_path_factory.mktemp("keys") / "keys.sqlite3"
        # The model on a thread of the test process (test_engine.py covers the child process).
        return load_config(
            DEFAULT_CONFIG,
            [
                f"api.keys_db={keys}",
                f"api.perspective_map={PERSPECTIVE_MAP}",
                "api.model_process=false",
                *overrides,
            ],
        )

    return make


@pytest.fixture(scope="module")
def app(classifier: Classifier, make_config: MakeConfig) -> FastAPI:
    # A generous rate limit: these tests are about behaviour, test_limits.py about limits.
    config = make_config("api.rate_limit_per_minute=100000", "api.rate_limit_burst=10000")
    return create_app(config, classifier)


@pytest.fixture(scope="module")
def api_key(app: FastAPI) -> str:
    _, key = app.state.tonewatch.keys.create("tests")
    return key


@pytest.fixture(scope="module")
def client(app: FastAPI, api_key: str) -> TestClient:
    with TestClient(app, headers={"X-API-Key": api_key}) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def anonymous(app: FastAPI) -> TestClient:
    with TestClient(app) as test_client:
        yield test_client
