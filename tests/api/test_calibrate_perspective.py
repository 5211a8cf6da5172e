"""The Perspective maps: the fitting routine, the held-out data it uses, the shipped map."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tonewatch.api.calibrate_perspective import ece, fit_map
from tonewatch.api.perspective_data import SOURCES, labelled_rows
from tonewatch.api.perspective_map import (
    INPUTS,
    PERSPECTIVE_ATTRIBUTES,
    PerspectiveMap,
    input_matrix,
)
from tonewatch.classify.api import PACKAGE_ROOT
from tonewatch.classify.model import RedFlagModel
from tonewatch.schema import LABELS, TONES
from tonewatch.train.corpora import load_corpus
from tonewatch.train.gold import read_annotations

SHIPPED_MAP = PACKAGE_ROOT / "models" / "perspective-map.json"
# Per attribute, the held-out corpus closest to support conversations: users talking to an
# agent (ConvAbuse) or the project's own annotated support turns.
SUPPORT_LIKE = {
    "TOXICITY": "convabuse",
    "SEVERE_TOXICITY": "convabuse",
    "INSULT": "project",
    "PROFANITY": "project",
    "THREAT": "project",
    "IDENTITY_ATTACK": "convabuse",
}


def synthetic(true_w: list[float], true_b: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(8000, len(true_w))) * 2
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-(true_b + X @ np.array(true_w))))).astype(float)
    return X, y


def test_calibrate_fit_map_recovers_a_known_monotone_map():
    X, y = synthetic([1.5, 0.0, 0.8], -0.5, seed=0)
    fitted = fit_map(("a", "b", "c"), X, y, np.ones(len(y)))
    assert fitted.weights[0] == pytest.approx(1.5, abs=0.15)
    assert fitted.weights[1] == pytest.approx(0.0, abs=0.05)
    assert fitted.weights[2] == pytest.approx(0.8, abs=0.1)
    assert fitted.bias == pytest.approx(-0.5, abs=0.15)


def test_calibrate_fit_map_never_lets_a_score_lower_an_attribute():
    X, y = synthetic([1.0, -1.0], 0.0, seed=3)  # the data says: input b lowers the attribute
    fitted = fit_map(("a", "b"), X, y, np.ones(len(y)))
    assert fitted.weights[1] == 0.0 and fitted.weights[0] > 0.5


def test_calibrate_ece_is_zero_for_calibrated_scores_and_large_for_overconfident():
    rng = np.random.default_rng(1)
    p = rng.random(20000)
    y = (rng.random(20000) < p).astype(float)
    assert ece(y, p) < 0.02
    assert ece(y, np.where(p > 0.5, 1.0, 0.0)) > 0.2


def test_perspective_map_inputs_are_monotone():
    rng = np.random.default_rng(2)
    flags, tone = rng.random((50, len(LABELS))), rng.dirichlet(np.ones(len(TONES)), 50)
    for attribute, inputs in INPUTS.items():
        X = input_matrix(inputs, flags, tone)
        for j, name in enumerate(inputs):
            column = TONES.index(name[5:]) if name.startswith("tone:") else LABELS.index(name)
            source = tone if name.startswith("tone:") else flags
            expected = np.log(np.clip(source[:, column], 1e-4, 1 - 1e-4))
            expected -= np.log(1 - np.clip(source[:, column], 1e-4, 1 - 1e-4))
            assert np.allclose(X[:, j], expected), (attribute, name)


@pytest.mark.slow
def test_calibrate_rows_are_never_training_rows(shared_datasets: Path):
    rows = labelled_rows(shared_datasets, PACKAGE_ROOT / "data" / "annotations", cap=400)
    assert set(rows) == set(PERSPECTIVE_ATTRIBUTES)
    trained = {"davidson", "germeval2018", "spanish_toxicity", "korean_curse"}
    gold = {name: {t.id: t.split for t in load_corpus(name, shared_datasets)} for name in trained}
    project = {
        t.id: t.split
        for path in sorted((PACKAGE_ROOT / "data" / "annotations").glob("*.jsonl"))
        for t in read_annotations(path)
    }
    for attribute, attribute_rows in rows.items():
        assert {r.corpus for r in attribute_rows} == set(SOURCES[attribute])
        for row in attribute_rows:
            if row.corpus in trained:
                split = gold[row.corpus][row.id]
                assert split != "train", row
                assert row.part == {"dev": "fit", "test": "eval"}[split]
            elif row.corpus == "convabuse":  # official files; "train" trained the model
                assert row.id.startswith(("convabuse-valid-", "convabuse-test-")), row
            elif row.corpus == "project":
                assert project[row.id] == "test", row
            assert row.y in (0, 1) and row.text.strip()
        for part in ("fit", "eval"):
            assert any(r.y for r in attribute_rows if r.part == part), (attribute, part)


def shipped_models() -> list[Path]:
    return [
        p
        for p in sorted((PACKAGE_ROOT / "models").glob("tonewatch-*"))
        if (p / "meta.json").is_file()
    ]


@pytest.mark.parametrize("directory", shipped_models(), ids=lambda p: p.name)
def test_shipped_map_is_fitted_for_each_shipped_model(directory: Path):
    meta = json.loads((directory / "meta.json").read_text())
    model_id = f"{meta['name']}@{meta['version']}"
    mapping = PerspectiveMap.load(SHIPPED_MAP, model_id, meta.get("trained_at"))
    assert mapping is not None, f"no entry for {model_id} in {SHIPPED_MAP}"
    assert not mapping.stale, f"{model_id} was retrained: re-run calibrate_perspective"
    assert set(mapping.attributes) == set(PERSPECTIVE_ATTRIBUTES)
    entry = json.loads(SHIPPED_MAP.read_text())["models"][model_id]["attributes"]
    for attribute, spec in entry.items():
        assert all(w >= 0 for w in spec["weights"]) and any(w > 0 for w in spec["weights"])
        held_out = spec["metrics"]["eval"]
        assert held_out["auc"] > 0.55, (attribute, held_out)  # above chance on all sources
        assert held_out["ece"] < 0.1, (attribute, held_out)  # calibrated on the pooled mix
        # Strong where the text is a conversation with support staff.
        closest = spec["metrics"]["per_corpus"][SUPPORT_LIKE[attribute]]
        assert closest["auc"] > 0.8, (attribute, SUPPORT_LIKE[attribute], closest)


@pytest.mark.slow
@pytest.mark.parametrize("directory", shipped_models(), ids=lambda p: p.name)
def test_shipped_map_scores_match_the_model_on_real_text(directory: Path):
    model = RedFlagModel.load(directory)
    mapping = PerspectiveMap.load(SHIPPED_MAP, model.model_id)
    assert mapping is not None
    texts = ["You are a worthless idiot.", "Thanks, the invoice is correct now."]
    flags, tone = model.predict_scores(texts, ["en", "en"])
    toxic, civil = mapping.attributes["TOXICITY"](flags, tone)
    assert toxic > civil
