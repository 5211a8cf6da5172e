"""Rate limits (429 with Retry-After) and request size limits (413)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tonewatch.api import create_app
from tonewatch.api.ratelimit import RateLimiter, retry_after_header


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ratelimit_bucket_bursts_then_refills():
    clock = Clock()
    limiter = RateLimiter(rate_per_minute=60, burst=3, clock=clock)
    assert [limiter.acquire("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire("k")
    assert wait == pytest.approx(1.0)  # one token per second
    assert limiter.acquire("other") == 0.0  # buckets are per key
    clock.now += 0.5
    assert limiter.acquire("k") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.acquire("k") == 0.0


def test_ratelimit_costs_turns_and_caps_at_burst():
    clock = Clock()
    limiter = RateLimiter(rate_per_minute=60, burst=10, clock=clock)
    assert limiter.acquire("k", cost=8) == 0.0
    assert limiter.acquire("k", cost=5) == pytest.approx(3.0)  # 2 left, 3 short
    clock.now += 60
    assert limiter.acquire("k", cost=500) == 0.0  # a huge request waits for a full bucket only
    assert limiter.acquire("k", cost=1, rate_per_minute=600) == pytest.approx(0.1)


def test_ratelimit_retry_after_rounds_up():
    assert [retry_after_header(s) for s in (0.01, 1.0, 1.2, 59.9)] == ["1", "1", "2", "60"]


@pytest.fixture(scope="module")
def strict_app(classifier, make_config) -> FastAPI:
    config = make_config(
        "api.rate_limit_per_minute=60", "api.rate_limit_burst=3", "api.max_request_bytes=4096"
    )
    return create_app(config, classifier, warm_up=False)


@pytest.fixture(scope="module")
def strict(strict_app: FastAPI) -> Iterator[TestClient]:
    _, key = strict_app.state.tonewatch.keys.create("strict")
    with TestClient(strict_app, headers={"X-API-Key": key}) as client:
        yield client


def test_limits_429_with_retry_after_per_key(strict: TestClient, strict_app: FastAPI):
    body = {"turns": [{"id": "a", "text": "hello there"}, {"id": "b", "text": "thanks"}]}
    assert strict.post("/v1/score", json=body).status_code == 200  # 2 of 3 tokens
    refused = strict.post("/v1/score", json=body)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    error = refused.json()["error"]
    assert error["code"] == "rate_limited" and "60 turns per minute" in error["message"]
    perspective = strict.post(
        "/v1alpha1/comments:analyze",
        json={"comment": {"text": "hello"}, "requestedAttributes": {"TW_THREAT": {}}},
    )
    assert perspective.status_code == 200  # the one token left
    again = strict.post(
        "/v1alpha1/comments:analyze",
        json={"comment": {"text": "hello"}, "requestedAttributes": {"TW_THREAT": {}}},
    )
    assert again.status_code == 429 and again.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    # Another key has its own bucket.
    _, other = strict_app.state.tonewatch.keys.create("other")
    fresh = strict.post("/v1/score", json=body, headers={"X-API-Key": other})
    assert fresh.status_code == 200


def test_limits_413_from_content_length(strict: TestClient):
    text = "word " * 2000
    response = strict.post("/v1/score", json={"turns": [{"id": "a", "text": text}]})
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large" and "4096" in error["message"]
    perspective = strict.post(
        "/v1alpha1/comments:analyze", json={"comment": {"text": text}, "requestedAttributes": {}}
    )
    assert perspective.status_code == 413
    assert perspective.json()["error"]["code"] == 413


def test_limits_413_for_a_streamed_body_without_length(strict: TestClient):
    def chunks() -> Iterator[bytes]:
        yield b'{"turns": [{"id": "a", "text": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}]}'

    response = strict.post(
        "/v1/score", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
