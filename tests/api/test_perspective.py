"""The Perspective-compatible endpoint answers what Perspective clients send, as Perspective does.

Request bodies are the ones of Perspective's public documentation and client samples: the
"What kind of idiot name is foo?" example, the Python quickstart (no languages), span
annotations, several attributes, an attribute it does not serve.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

URL = "/v1alpha1/comments:analyze"
MAPPED = ["TOXICITY", "SEVERE_TOXICITY", "INSULT", "PROFANITY", "THREAT", "IDENTITY_ATTACK"]


def analyze(client: TestClient, key: str, body: dict[str, Any]) -> Any:
    # Perspective clients pass the key as ?key=, not as a header.
    return client.post(URL, params={"key": key}, json=body)


def assert_score(score: dict[str, Any]) -> float:
    assert set(score) == {"value", "type"}
    assert score["type"] == "PROBABILITY"
    assert isinstance(score["value"], float) and 0.0 <= score["value"] <= 1.0
    return score["value"]


def test_perspective_documented_example_field_by_field(anonymous: TestClient, api_key: str):
    body = {
        "comment": {"text": "What kind of idiot name is foo?"},
        "languages": ["en"],
        "requestedAttributes": {"TOXICITY": {}},
    }
    response = analyze(anonymous, api_key, body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    assert set(data) == {"attributeScores", "languages", "detectedLanguages"}
    assert set(data["attributeScores"]) == {"TOXICITY"}
    toxicity = data["attributeScores"]["TOXICITY"]
    assert set(toxicity) == {"summaryScore"}  # no spanScores unless asked for
    assert_score(toxicity["summaryScore"])
    assert data["languages"] == ["en"]
    assert data["detectedLanguages"] == ["en"]


def test_perspective_python_quickstart_detects_language(anonymous: TestClient, api_key: str):
    friendly = {
        "comment": {"text": "friendly greetings from python"},
        "requestedAttributes": {"TOXICITY": {}},
    }
    rude = {
        "comment": {"text": "shut up, you stupid useless idiot"},
        "requestedAttributes": {"TOXICITY": {}},
    }
    a, b = analyze(anonymous, api_key, friendly), analyze(anonymous, api_key, rude)
    assert a.status_code == b.status_code == 200
    assert a.json()["languages"] == a.json()["detectedLanguages"] == ["en"]
    low = a.json()["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    high = b.json()["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    assert high > low + 0.2, (low, high)


def test_perspective_span_annotations_score_each_sentence(anonymous: TestClient, api_key: str):
    text = "Thanks for getting back to me so quickly. You are a useless idiot and a liar."
    body = {
        "comment": {"text": text},
        "languages": ["en"],
        "requestedAttributes": {"TOXICITY": {}, "INSULT": {}, "TW_PERSONAL_ATTACK": {}},
        "spanAnnotations": True,
        "doNotStore": True,
    }
    response = analyze(anonymous, api_key, body)
    assert response.status_code == 200, response.text
    for name, scores in response.json()["attributeScores"].items():
        assert set(scores) == {"summaryScore", "spanScores"}
        assert_score(scores["summaryScore"])
        spans = scores["spanScores"]
        assert len(spans) == 2, name
        for span in spans:
            assert set(span) == {"begin", "end", "score"}
            assert 0 <= span["begin"] < span["end"] <= len(text)
            assert text[span["begin"] : span["end"]].strip() == text[span["begin"] : span["end"]]
            assert_score(span["score"])
        assert spans[0]["end"] <= spans[1]["begin"]
        assert text[spans[1]["begin"] : spans[1]["end"]].startswith("You are")
        # The insulting sentence is the one that scores.
        assert spans[1]["score"]["value"] > spans[0]["score"]["value"], name


def test_perspective_several_attributes_answer_under_the_names_asked(
    anonymous: TestClient, api_key: str
):
    names = [*MAPPED, "INSULT_EXPERIMENTAL", "TW_LEGAL_THREAT", "TW_REPUTATION_THREAT"]
    body = {
        "comment": {"text": "Refund me today or my lawyer will contact you, you pathetic clowns."},
        "languages": ["en"],
        "requestedAttributes": {name: {} for name in names},
        "clientToken": "req-42",
        "sessionId": "1234567890",
        "communityId": "support-desk",
        "context": {"entries": [{"text": "Your order is delayed.", "type": "PLAIN_TEXT"}]},
    }
    response = analyze(anonymous, api_key, body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data["attributeScores"]) == set(names)
    assert data["clientToken"] == "req-42"
    for scores in data["attributeScores"].values():
        assert_score(scores["summaryScore"])
    values = {k: v["summaryScore"]["value"] for k, v in data["attributeScores"].items()}
    assert values["INSULT_EXPERIMENTAL"] == values["INSULT"]
    assert values["TW_LEGAL_THREAT"] > values["TW_REPUTATION_THREAT"]


@pytest.mark.parametrize(
    ("attribute", "lang", "harmful", "harmless"),
    [
        ("TOXICITY", "en", "You are a stupid worthless idiot.", "Thank you, that fixed it."),
        ("TOXICITY", "de", "Du bist ein dummer Idiot, halt die Klappe.", "Danke, jetzt geht es."),
        ("TOXICITY", "es", "Eres un idiota inútil, cállate.", "Gracias, ya funciona."),
        ("INSULT", "en", "You are a stupid worthless idiot.", "The invoice amount is wrong."),
        ("PROFANITY", "en", "What the fuck is this shit?", "What is this charge?"),
        ("THREAT", "en", "I will find you and break your legs.", "I will call you tomorrow."),
        ("SEVERE_TOXICITY", "en", "Die, you worthless piece of shit.", "Have a nice day."),
    ],
)
def test_perspective_harmful_text_outscores_harmless(
    anonymous: TestClient, api_key: str, attribute: str, lang: str, harmful: str, harmless: str
):
    def value(text: str) -> float:
        body = {
            "comment": {"text": text},
            "languages": [lang],
            "requestedAttributes": {attribute: {}},
        }
        response = analyze(anonymous, api_key, body)
        assert response.status_code == 200, response.text
        return response.json()["attributeScores"][attribute]["summaryScore"]["value"]

    assert value(harmful) > value(harmless)


def test_perspective_unsupported_attribute_is_refused_like_perspective(
    anonymous: TestClient, api_key: str
):
    body = {
        "comment": {"text": "You are an idiot."},
        "languages": ["en"],
        "requestedAttributes": {"TOXICITY": {}, "SEXUALLY_EXPLICIT": {}},
    }
    response = analyze(anonymous, api_key, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 400
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == "Attribute SEXUALLY_EXPLICIT does not support request languages: en"
    [detail] = error["details"]
    assert detail["errorType"] == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"
    assert detail["languageNotSupportedByAttributeError"]["attribute"] == "SEXUALLY_EXPLICIT"


def test_perspective_unsupported_language_is_refused(anonymous: TestClient, api_key: str):
    asked = {
        "comment": {"text": "Você é um idiota."},
        "languages": ["pt"],
        "requestedAttributes": {"TOXICITY": {}},
    }
    response = analyze(anonymous, api_key, asked)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "Attribute TOXICITY does not support request languages: pt"
    )
    detected = {
        "comment": {"text": "Você é um idiota completo e eu não quero falar com você."},
        "requestedAttributes": {"TOXICITY": {}},
    }
    error = analyze(anonymous, api_key, detected).json()["error"]
    assert error["message"] == "Attribute TOXICITY does not support request languages: pt"
    assert error["details"][0]["languageNotSupportedByAttributeError"]["detectedLanguages"] == [
        "pt"
    ]


def test_perspective_languages_scored_in_first_supported(anonymous: TestClient, api_key: str):
    body = {
        "comment": {"text": "Eres un idiota."},
        "languages": ["pt", "es-AR"],
        "requestedAttributes": {"TOXICITY": {}},
    }
    response = analyze(anonymous, api_key, body)
    assert response.status_code == 200, response.text
    assert response.json()["languages"] == ["es"]


def test_perspective_score_threshold_leaves_out_low_scores(anonymous: TestClient, api_key: str):
    body = {
        "comment": {"text": "Thank you, the new invoice looks right."},
        "languages": ["en"],
        "requestedAttributes": {"TOXICITY": {"scoreThreshold": 0.99}, "TW_LEGAL_THREAT": {}},
    }
    data = analyze(anonymous, api_key, body).json()
    assert set(data["attributeScores"]) == {"TW_LEGAL_THREAT"}


def test_perspective_html_comment_is_read_as_text(anonymous: TestClient, api_key: str):
    body = {
        "comment": {"text": "<p>Hello.</p><p>You are a <b>useless idiot</b>.</p>", "type": "HTML"},
        "languages": ["en"],
        "requestedAttributes": {"TW_PERSONAL_ATTACK": {}},
        "spanAnnotations": True,
    }
    response = analyze(anonymous, api_key, body)
    assert response.status_code == 200, response.text
    spans = response.json()["attributeScores"]["TW_PERSONAL_ATTACK"]["spanScores"]
    assert len(spans) == 2 and spans[1]["score"]["value"] > spans[0]["score"]["value"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"comment": {"text": "  "}, "requestedAttributes": {"TOXICITY": {}}},
            "Comment must be non-empty.",
        ),
        (
            {"comment": {"text": "hi"}, "requestedAttributes": {}},
            "At least one requested attribute must be specified.",
        ),
        (
            {
                "comment": {"text": "hi there friend"},
                "languages": ["en"],
                "requestedAttributes": {"TOXICITY": {"scoreType": "STD_DEV_SCORE"}},
            },
            "Score type STD_DEV_SCORE is not supported for TOXICITY; use PROBABILITY.",
        ),
        ({"requestedAttributes": {"TOXICITY": {}}}, "Invalid value at 'comment'"),
        (
            {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "bogus": 1},
            "Invalid value at 'bogus'",
        ),
        (
            {"comment": {"text": "x" * 20481}, "requestedAttributes": {"TOXICITY": {}}},
            "Comment text too long: 20481 bytes, the limit is 20480.",
        ),
    ],
)
def test_perspective_bad_requests_get_google_errors(
    anonymous: TestClient, api_key: str, body: dict[str, Any], message: str
):
    response = analyze(anonymous, api_key, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT"
    assert error["message"].startswith(message)


def test_perspective_keys_are_checked_like_google(anonymous: TestClient, api_key: str):
    body = {"comment": {"text": "hello"}, "requestedAttributes": {"TOXICITY": {}}}
    missing = anonymous.post(URL, json=body)
    assert missing.status_code == 403
    assert missing.json()["error"]["status"] == "PERMISSION_DENIED"
    wrong = anonymous.post(URL, params={"key": api_key[:-4] + "AAAA"}, json=body)
    assert wrong.status_code == 400
    assert wrong.json()["error"]["message"] == "API key not valid. Please pass a valid API key."
    assert wrong.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
