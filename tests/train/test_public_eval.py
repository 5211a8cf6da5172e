"""Public benchmarks: metric implementations on hand-made inputs, the flag -> corpus-class
mappings, and a real run of a tiny model on real test splits through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tonewatch.classify.model import RedFlagModel
from tonewatch.cli import app
from tonewatch.schema import LABELS, TONES
from tonewatch.train import benchmark_metrics as bm
from tonewatch.train.metrics import bootstrap_interval
from tonewatch.train.model_card import render_model_card
from tonewatch.train.public_eval import (
    BENCHMARKS,
    Scored,
    markdown_table,
    run_benchmark,
    score_turns,
    stratified_sample,
    write_results,
)
from tonewatch.train.trainer import read_train_config, train

ROOT = Path(__file__).resolve().parents[2]


def test_public_eval_germeval_score_is_f1_of_macro_precision_and_recall() -> None:
    y, pred = np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0])
    # OFFENSE: P 1, R 1/2; OTHER: P 2/3, R 1 -> macro P 5/6, macro R 3/4.
    assert bm.germeval_macro_f1(y, pred) == pytest.approx(2 * (5 / 6) * (3 / 4) / (5 / 6 + 3 / 4))
    # ... which is not the mean of per-class F1 (2/3 and 4/5).
    assert bm.macro_f1(y, pred) == pytest.approx((2 / 3 + 4 / 5) / 2)
    # Never predicting OFFENSE: its precision counts as 0, as in the official script.
    assert bm.germeval_macro_f1(y, np.zeros(4, int)) == pytest.approx(2 * 0.25 * 0.5 / (0.25 + 0.5))


def test_public_eval_weighted_positive_accuracy_and_flag_rate_by_hand() -> None:
    y, pred = np.array([0, 0, 0, 1, 2, 2]), np.array([0, 0, 1, 1, 2, 0])
    # Class F1: 0 -> 2*(2/3)*(2/3)/(4/3) = 2/3 (3 turns); 1 -> 2/3 (1); 2 -> 2/3 (2).
    assert bm.weighted_f1(y, pred) == pytest.approx(2 / 3)
    assert bm.accuracy(y, pred) == pytest.approx(4 / 6)
    assert bm.positive_f1(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0])) == pytest.approx(0.5)
    assert bm.flag_rate(np.zeros(4), np.array([1, 0, 0, 0])) == 0.25
    assert bm.roc_auc(np.array([0, 0]), np.array([0.1, 0.9])) is None
    assert bm.roc_auc(np.array([0, 1]), np.array([0.1, 0.9])) == 1.0


def test_public_eval_bootstrap_interval_brackets_the_estimate_and_is_seeded() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    pred = np.where(rng.random(400) < 0.8, y, 1 - y)
    value = bm.accuracy(y, pred)
    low, high = bootstrap_interval(bm.accuracy, y, pred)
    assert low < value < high and high - low < 0.12
    assert (low, high) == bootstrap_interval(bm.accuracy, y, pred)
    small = bootstrap_interval(bm.accuracy, y[:40], pred[:40])
    assert small[1] - small[0] > high - low


def _scored(flagged_labels: list[set[str]], polite: list[float]) -> Scored:
    flagged = np.array([[label in f for label in LABELS] for f in flagged_labels])
    tone = np.zeros((len(polite), len(TONES)))
    tone[:, TONES.index("polite")] = polite
    tone[:, TONES.index("neutral")] = 0.5
    return Scored(flags=flagged.astype(float), flagged=flagged, tone=tone)


def test_public_eval_flags_map_back_onto_each_corpus_classes() -> None:
    scored = _scored(
        [{"personal_attack", "profanity"}, {"profanity"}, set(), {"threat"}, {"devaluation"}],
        [0.9, 0.1, 0.6, 0.2, 0.1],
    )
    assert BENCHMARKS["davidson"].predict(scored).tolist() == [0, 1, 2, 2, 2]
    assert BENCHMARKS["germeval2018"].predict(scored).tolist() == [1, 1, 0, 0, 0]
    assert BENCHMARKS["germeval2025"].predict(scored).tolist() == [0, 0, 0, 1, 0]
    assert BENCHMARKS["politeness"].predict(scored).tolist() == [1, 0, 1, 0, 0]
    assert BENCHMARKS["casino"].predict(scored).tolist() == [0, 0, 0, 0, 1]
    assert BENCHMARKS["twitter_care"].predict(scored).tolist() == [1, 1, 0, 1, 1]


def test_public_eval_every_required_benchmark_has_a_cited_or_na_figure() -> None:
    required = {"germeval2018", "kocohub", "davidson", "mlma_en", "mlma_fr", "mlma_ar",
                "convabuse", "arabic_offensive", "ban_pl", "told_br", "spanish_toxicity",
                "politeness"}  # fmt: skip
    assert required <= set(BENCHMARKS)
    for bench in BENCHMARKS.values():
        assert bench.note
        assert (bench.published is None) == (bench.source == "n/a")
        assert bench.published is None or 0 < bench.published < 1


def test_public_eval_capped_split_keeps_each_class_share_and_is_seeded() -> None:
    y = np.array([0] * 700 + [1] * 250 + [2] * 50)
    keep = stratified_sample(y, 200, seed=13)
    assert len(keep) == 200 and len(set(keep.tolist())) == 200
    assert np.bincount(y[keep]).tolist() == [140, 50, 10]
    assert (keep == stratified_sample(y, 200, seed=13)).all()
    assert not (keep == stratified_sample(y, 200, seed=14)).all()
    # A class with a single row cannot be stratified: a plain seeded sample instead.
    lone = np.array([0] * 99 + [1])
    assert len(stratified_sample(lone, 10, seed=13)) == 10


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config, text = read_train_config(ROOT / "configs" / "tiny.toml")
    out = tmp_path_factory.mktemp("tiny") / "model"
    train(config, text, out, base=ROOT, log=lambda _: None)
    return out


@pytest.mark.slow
def test_public_eval_tiny_model_on_real_test_splits(
    tiny_model: Path, shared_datasets: Path
) -> None:
    model = RedFlagModel.load(tiny_model)
    germeval = run_benchmark("germeval2018", model, shared_datasets, max_turns=150)
    assert germeval["turns"] == 150 and germeval["test_turns"] == 3532
    # Stratified: the test file's OFFENSE share (1,202 of 3,532) kept in the sample.
    assert germeval["positives"] == pytest.approx(150 * 1202 / 3532, abs=1)
    assert 0.0 <= germeval["ci95"][0] <= germeval["value"] <= germeval["ci95"][1] <= 1.0
    assert germeval["published"] == pytest.approx(0.807)
    again = run_benchmark("germeval2018", model, shared_datasets, max_turns=150)
    assert again["value"] == germeval["value"]  # seeded sample, deterministic model
    spanish = run_benchmark("spanish_toxicity", model, shared_datasets, max_turns=400)
    assert 0.5 < spanish["reference"] <= 1.0  # Perspective API on the same rows
    care = run_benchmark("twitter_care", model, shared_datasets, max_turns=300)
    assert care["positives"] == 0 and 0.0 <= care["value"] < 0.5
    assert all(e["flags"] for e in care["examples"])
    table = markdown_table({"germeval2018": germeval, "twitter_care": care})
    assert "| germeval2018 | de | 150 of 3532 |" in table and "GELECTRA" in table


@pytest.mark.slow
def test_public_eval_cli_writes_results_and_refreshes_the_card(
    tiny_model: Path, shared_datasets: Path, tmp_path: Path
) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model, model_dir)
    runner = CliRunner()
    args = ["evaluate", str(model_dir), "--datasets", str(shared_datasets), "--max-turns", "120"]
    result = runner.invoke(app, [*args, "--data", "kocohub"])
    assert result.exit_code == 0, result.output
    doc = tmp_path / "docs" / "benchmarks.md"
    result = runner.invoke(app, [*args, "--data", "casino", "--doc", str(doc)])
    assert result.exit_code == 0, result.output
    page = doc.read_text()  # both runs' benchmarks, from the saved public-eval.json
    labelled, traffic = page.split("## Real traffic without labels")
    assert "| kocohub | ko | 120 of 471 |" in labelled and "HanBERT" in labelled
    assert "| casino | en |" in traffic.split("## Corpora")[0]
    assert "| kocohub | `korean-hate-speech-kocohub` | CC BY-SA 4.0 |" in page
    assert "Not measured for this training: germeval2018" in page
    saved = json.loads((model_dir / "public-eval.json").read_text())
    assert list(saved) == ["kocohub", "casino"]  # merged, in benchmark order
    assert saved["kocohub"]["test_turns"] == 471  # dev.tsv only
    assert "demand_flag_rate_per_strategy" in saved["casino"]
    card = (model_dir / "README.md").read_text()
    assert "## Public benchmarks" in card and "| kocohub | ko |" in card
    # Retrained in place: the old figures no longer describe the model, the card drops them.
    meta = json.loads((model_dir / "meta.json").read_text())
    (model_dir / "meta.json").write_text(json.dumps({**meta, "trained_at": "later"}))
    assert "| kocohub | ko |" not in render_model_card(model_dir)
    bad = runner.invoke(app, ["evaluate", str(model_dir), "--data", "no-such-corpus"])
    assert bad.exit_code == 1 and "not a benchmark" in bad.output
    bad = runner.invoke(app, [*args, "--data", "casino", "--no-write", "--doc", str(doc)])
    assert bad.exit_code == 1 and "--no-write" in bad.output


def test_public_eval_write_results_merges_by_benchmark(tmp_path: Path) -> None:
    entry = {
        "corpus": "davidson", "lang": "en", "metric": "weighted F1", "value": 0.5,
        "ci95": [0.4, 0.6], "turns": 10, "test_turns": 10, "published": 0.9,
        "published_source": "paper", "note": "n",
    }  # fmt: skip
    write_results({"davidson": entry}, tmp_path)
    write_results({"germeval2018": {**entry, "corpus": "germeval2018"}}, tmp_path)
    saved = json.loads((tmp_path / "public-eval.json").read_text())
    assert list(saved) == ["germeval2018", "davidson"]
    assert (
        "| davidson | en | 10 | weighted F1 | 0.500 (0.40–0.60) | 0.900 | paper |"
        in (tmp_path / "public-eval.md").read_text()
    )


@pytest.mark.slow
def test_public_eval_cached_embeddings_give_the_model_scores(tmp_path: Path) -> None:
    base = ROOT / "models" / "tonewatch-base"
    if not (base / "meta.json").is_file():
        pytest.skip("the shipped default model is not in models/ yet")
    from tonewatch.train.gold import GoldTurn

    model = RedFlagModel.load(base)
    texts = ["Du bist ein Idiot.", "Merci pour votre aide !", "I will sue you. " * 120]
    turns = [
        GoldTurn(str(i), t, lang, frozenset(), frozenset(), "x", str(i), "test")
        for i, (t, lang) in enumerate(zip(texts, ["de", "fr", "en"], strict=True))
    ]
    direct = model.predict_scores(texts, ["de", "fr", "en"])
    cached = score_turns(model, turns, tmp_path)
    assert any(tmp_path.iterdir())
    assert np.allclose(cached.flags, direct[0], atol=1e-5)
    assert np.allclose(cached.tone, direct[1], atol=1e-5)
