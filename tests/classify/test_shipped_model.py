"""The real shipped models on real text in every language: what users get."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tonewatch
from tonewatch.classify.api import load_model
from tonewatch.classify.pipeline import TurnText
from tonewatch.cli import app
from tonewatch.schema import LABELS

from . import unseen_cases

pytestmark = pytest.mark.slow

# Clear cases a support lead expects flagged, one or more per language.
FLAGGED = [
    (
        "en",
        "If the refund isn't in my account by Friday my lawyer will be in touch.",
        "legal_threat",
    ),
    ("en", "You are a useless idiot, put someone competent on the phone.", "personal_attack"),
    ("pl", "Jeśli nie oddacie pieniędzy, mój prawnik się z wami skontaktuje.", "legal_threat"),
    (
        "de",
        "Wenn das nicht bis morgen erledigt ist, schalte ich meinen Anwalt ein.",
        "legal_threat",
    ),
    ("fr", "Si je ne suis pas remboursé, mon avocat vous contactera.", "legal_threat"),
    (
        "es",
        "Si no me devuelven el dinero, mi abogado se pondrá en contacto con ustedes.",
        "legal_threat",
    ),
    ("ar", "إذا لم تردوا أموالي سأرفع دعوى قضائية ضد شركتكم عن طريق محامي.", "legal_threat"),
    ("ko", "환불 안 해주면 변호사 선임해서 소송 걸겠습니다.", "legal_threat"),
    ("ka", "თუ თანხას არ დამიბრუნებთ, ჩემი ადვოკატი დაგიკავშირდებათ.", "legal_threat"),
    (
        "en",
        "Fix it today or I'm posting 1-star reviews on every site I can find.",
        "reputation_threat",
    ),
]

# Hard negatives: calm complaints, reported threats, idioms, polite legal questions.
CLEAN = [
    ("en", "Hi, the invoice shows 120 EUR but we agreed on 100 EUR. Could you check? Thanks, Anna"),
    ("en", "This bug is killing me, haha. Any news on the fix?"),
    ("en", "Could you tell me what your terms say about refunds after 30 days?"),
    ("pl", "Dzień dobry, faktura ma błędną kwotę. Proszę o korektę. Pozdrawiam"),
    ("de", "Vielen Dank für die schnelle Hilfe, jetzt funktioniert alles."),
    ("fr", "Bonjour, pourriez-vous m'envoyer une copie de la facture de mars ? Merci."),
    ("es", "Hola, ¿me podrían enviar un presupuesto para añadir una página más? Gracias."),
    ("ko", "안녕하세요, 배송 조회가 안 돼서 문의드립니다. 확인 부탁드려요."),
]


@pytest.fixture(scope="module")
def classifier():  # noqa: ANN201 - a Classifier
    return load_model()


@pytest.mark.parametrize(("lang", "text", "label"), FLAGGED + unseen_cases.FLAGGED)
def test_shipped_model_flags_clear_cases(classifier, lang: str, text: str, label: str) -> None:
    [result] = classifier.predict([TurnText("t", text, lang)])
    flags = {f.label.value: f for f in result.flags}
    assert label in flags, (text, result.scores)
    for evidence in flags[label].evidence:
        assert text[evidence.start : evidence.end] == evidence.text and evidence.text.strip()


@pytest.mark.parametrize(("lang", "text"), CLEAN + unseen_cases.CLEAN)
def test_shipped_model_leaves_hard_negatives_unflagged(classifier, lang: str, text: str) -> None:
    [result] = classifier.predict([TurnText("t", text, lang)])
    assert result.flags == (), [(f.label.value, f.score) for f in result.flags]


def test_shipped_model_never_flags_staff_turns(classifier) -> None:
    text = "Sir, you will regret this: our lawyer will file a chargeback against you."
    [staff] = classifier.predict([TurnText("t", text, "en", role="agent")])
    [client] = classifier.predict([TurnText("t", text, "en", role="client")])
    assert staff.flags == () and client.flags
    assert staff.scores == client.scores


def test_shipped_model_contract_on_odd_input(classifier) -> None:
    long_email = (
        "Dear team,\n"
        + "The delivery was late again and nobody called. " * 120
        + ("If this is not solved, my lawyer will contact you.\nRegards, Tom")
    )
    texts = ["", "   ", "ok", "😡😡😡", "asdf qwer zxcv", long_email]
    results = classifier.predict([TurnText(str(i), t, "und") for i, t in enumerate(texts)])
    assert [r.id for r in results] == [str(i) for i in range(len(texts))]
    for text, result in zip(texts, results, strict=True):
        assert set(result.scores) == set(LABELS)
        assert all(0.0 <= p <= 1.0 for p in result.scores.values())
        for flag in result.flags:
            assert flag.evidence
            for ev in flag.evidence:
                assert 0 <= ev.start < ev.end <= len(text) and text[ev.start : ev.end] == ev.text
    assert results[0].flags == () and results[1].flags == ()
    # The threat at the very end of a long email is found: windowed, not truncated.
    assert "legal_threat" in {f.label.value for f in results[-1].flags}


def test_shipped_model_python_api_detects_language() -> None:
    [result] = tonewatch.classify(
        ["Mój prawnik się z wami skontaktuje, jeśli nie oddacie pieniędzy."]
    )
    assert result.lang == "pl"
    assert "legal_threat" in {f.label.value for f in result.flags}


def test_shipped_model_cli_one_line_per_input(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    rows = [
        {"id": "a", "text": "Watch your back, I know where your office is."},
        {"id": "b", "text": ""},
        {"id": "c", "text": "Danke!", "lang": "de", "role": "agent"},
    ]
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["classify", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["a", "b", "c"]
    assert set(lines[0]) == {"id", "lang", "tone", "scores", "flags", "model"}
    assert lines[0]["tone"]["level"] in {0, 1, 2, 3}


def test_shipped_fast_tier_scores_the_same_contract() -> None:
    fast = load_model(tier="fast")
    [result] = fast.predict([TurnText("t", "I'll file a chargeback and call my lawyer.", "en")])
    assert set(result.scores) == set(LABELS) and fast.model_id.startswith("tonewatch-fast")
