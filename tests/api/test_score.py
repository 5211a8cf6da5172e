"""/v1: the classify contract, conversations and client reports over HTTP, and its errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tonewatch.classify.pipeline import Classifier, TurnText
from tonewatch.schema import LABELS, Conversation, TurnResult

LEGAL = "If the refund isn't in my account by Friday my lawyer will be in touch."


def test_score_matches_in_process_classify(client: TestClient, classifier: Classifier):
    turns = [
        {"id": "a", "text": LEGAL, "lang": "en"},
        {"id": "b", "text": "Vielen Dank für die schnelle Hilfe!", "lang": "de"},
        {"id": "c", "text": "Jeśli nie oddacie pieniędzy, mój prawnik się z wami skontaktuje."},
    ]
    response = client.post("/v1/score", json={"turns": turns})
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["model"] == classifier.model_id
    results = [TurnResult.model_validate(r) for r in data["results"]]
    assert [r.id for r in results] == ["a", "b", "c"]
    assert results[2].lang == "pl"  # detected when not given
    expected = classifier.predict(
        [TurnText(t["id"], t["text"], r.lang) for t, r in zip(turns, results, strict=True)]
    )
    assert [r.to_contract() for r in results] == [e.to_contract() for e in expected]
    for result, turn in zip(results, turns, strict=True):
        assert set(result.scores) == set(LABELS)
        for flag in result.flags:
            for ev in flag.evidence:
                assert turn["text"][ev.start : ev.end] == ev.text


def test_score_staff_turns_are_scored_not_flagged(client: TestClient):
    text = "You will regret this: our lawyer will file a claim against you."
    body = {
        "turns": [
            {"id": "s", "text": text, "lang": "en", "role": "agent"},
            {"id": "c", "text": text, "lang": "en", "role": "client"},
        ]
    }
    staff, customer = client.post("/v1/score", json=body).json()["results"]
    assert staff["scores"] == customer["scores"]
    assert staff["flags"] == []


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"turns": []}, 422, "validation_error", "turns"),
        ({"turns": [{"id": "a"}]}, 422, "validation_error", "turns[0].text"),
        ({"turns": [{"id": "a", "text": 5}]}, 422, "validation_error", "turns[0].text"),
        (
            {"turns": [{"id": "a", "text": "hi", "lang": "pt"}]},
            422,
            "unsupported_language",
            "turns[0].lang",
        ),
        (
            {"turns": [{"id": "a", "text": "hi", "role": "boss"}]},
            422,
            "validation_error",
            "turns[0].role",
        ),
        (
            {"turns": [{"id": "a", "text": "hi"}, {"id": "a", "text": "ho"}]},
            422,
            "duplicate_id",
            "turns[1].id",
        ),
        ({"turn": [{"id": "a", "text": "hi"}]}, 422, "validation_error", "turns"),
    ],
)
def test_score_bad_input_gets_a_structured_4xx(
    client: TestClient, body: dict[str, Any], status: int, code: str, field: str | None
):
    response = client.post("/v1/score", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert error.get("field") == field


def test_score_invalid_unicode_is_a_field_error(client: TestClient):
    # JSON may escape a lone surrogate; UTF-8 (and every model library) cannot hold one.
    raw = b'{"turns": [{"id": "a", "text": "ok"}, {"id": "b", "text": "bad \\ud800"}]}'
    response = client.post("/v1/score", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert "turns[1].text" in response.json()["error"]["message"]


def test_score_refuses_more_turns_than_the_limit(client: TestClient, app):
    limit = app.state.tonewatch.config.api.max_turns_per_request
    turns = [{"id": str(i), "text": "ok"} for i in range(limit + 1)]
    response = client.post("/v1/score", json={"turns": turns})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "too_many_turns"
    assert str(limit) in response.json()["error"]["message"]


def test_score_malformed_and_non_json_bodies(client: TestClient):
    broken = client.post(
        "/v1/score", content=b'{"turns": [', headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_json"
    plain = client.post("/v1/score", content=b"turns=1", headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415
    assert plain.json()["error"]["code"] == "unsupported_media_type"


def test_score_requires_a_key(anonymous: TestClient, api_key: str):
    body = {"turns": [{"id": "a", "text": "hello"}]}
    missing = anonymous.post("/v1/score", json=body)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthenticated"
    bearer = anonymous.post("/v1/score", json=body, headers={"Authorization": f"Bearer {api_key}"})
    query = anonymous.post("/v1/score", json=body, params={"key": api_key})
    assert bearer.status_code == query.status_code == 200


def conversation(
    cid: str, client_key: str, day: datetime, texts: list[tuple[str, str]]
) -> dict[str, Any]:
    turns = [
        {
            "id": f"{cid}-{i}",
            "speaker": speaker,
            "role": "client" if speaker == client_key else "agent",
            "text": text,
            "timestamp": (day + timedelta(minutes=5 * i)).isoformat(),
            "lang": "en",
            "source": {"path": f"{cid}.jsonl", "line": i + 1},
        }
        for i, (speaker, text) in enumerate(texts)
    ]
    return {
        "id": cid,
        "channel": "chat",
        "client_key": client_key,
        "source": {"path": f"{cid}.jsonl"},
        "turns": turns,
    }


def test_conversations_score_one_result_per_turn(client: TestClient):
    day = datetime(2026, 3, 2, 10, tzinfo=UTC)
    body = conversation(
        "c1",
        "anna@example.com",
        day,
        [
            ("anna@example.com", LEGAL),
            ("agent@desk", "I understand, I will escalate this to billing today."),
        ],
    )
    Conversation.model_validate(body)  # the request is a schema.Conversation
    response = client.post("/v1/conversations:score", json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["conversation"] == "c1"
    assert [r["id"] for r in data["results"]] == ["c1-0", "c1-1"]
    assert "legal_threat" in {f["label"] for f in data["results"][0]["flags"]}
    assert data["results"][1]["flags"] == []


def test_conversations_score_naive_timestamp_is_a_field_error(client: TestClient):
    body = conversation("c1", "a", datetime(2026, 3, 2, 10, tzinfo=UTC), [("a", "hi")])
    body["turns"][0]["timestamp"] = "2026-03-02T10:00:00"
    error = client.post("/v1/conversations:score", json=body).json()["error"]
    assert error["field"] == "turns[0].timestamp" and "timezone" in error["message"]


def test_clients_report_separates_pattern_from_incident(client: TestClient):
    start = datetime(2026, 3, 2, 10, tzinfo=UTC)
    threats = [
        conversation(
            f"t{k}",
            "tom@example.com",
            start + timedelta(days=3 * k),
            [
                ("tom@example.com", "Refund me now or my lawyer will sue your company."),
                ("agent@desk", "We are looking into it."),
            ],
        )
        for k in range(3)
    ]
    calm = [
        conversation(
            "c0",
            "ola@example.com",
            start,
            [
                ("ola@example.com", "Hi, could you send me the March invoice? Thanks!"),
            ],
        )
    ]
    response = client.post("/v1/clients:report", json={"conversations": threats + calm})
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["conversations"] == 4 and data["turns"] == 7
    reports = {r["client"]: r for r in data["clients"]}
    assert set(reports) == {"tom@example.com", "ola@example.com"}
    assert reports["tom@example.com"]["verdict"] == "pattern"
    assert reports["tom@example.com"]["flags"]["legal_threat"] == 3
    assert reports["ola@example.com"]["verdict"] == "none"
    assert data["clients"][0]["client"] == "tom@example.com"  # riskiest first


def test_health_needs_no_key_and_model_does(
    anonymous: TestClient, client: TestClient, classifier: Classifier
):
    health = anonymous.get("/v1/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["model"] == classifier.model_id
    assert anonymous.get("/v1/model").status_code == 401
    meta = client.get("/v1/model").json()
    assert meta["id"] == classifier.model_id and meta["labels"] == list(LABELS)
    assert "TW_LEGAL_THREAT" in meta["perspective"]["attributes"]
    assert meta["perspective"]["calibrated"] is True
    assert "TOXICITY" in meta["perspective"]["attributes"]


def test_unknown_route_and_method_are_structured(client: TestClient):
    assert client.get("/v2/score").json()["error"]["code"] == "not_found"
    wrong = client.get("/v1/score")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


def test_openapi_documents_every_endpoint(anonymous: TestClient):
    spec = anonymous.get("/openapi.json").json()
    assert {
        "/v1/score",
        "/v1/conversations:score",
        "/v1/clients:report",
        "/v1/health",
        "/v1/model",
        "/v1alpha1/comments:analyze",
    } <= set(spec["paths"])
    score = spec["paths"]["/v1/score"]["post"]
    assert score["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ScoreRequest"
    )
    assert {"200", "401", "413", "422", "429"} <= set(score["responses"])
    schemes = spec["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"apiKey", "http"}
