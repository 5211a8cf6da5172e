from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tonewatch.classify.api import load_model
from tonewatch.classify.model import RedFlagModel
from tonewatch.errors import ConfigError, ModelError
from tonewatch.schema import LABELS
from tonewatch.train.evaluate import evaluate_turns
from tonewatch.train.gold import read_annotations
from tonewatch.train.trainer import read_train_config, train

ROOT = Path(__file__).resolve().parents[2]


def _train(out: Path) -> RedFlagModel:
    config, text = read_train_config(ROOT / "configs" / "tiny.toml")
    return train(config, text, out, base=ROOT, log=lambda _: None)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    a, b = tmp_path_factory.mktemp("a") / "m", tmp_path_factory.mktemp("b") / "m"
    _train(a)
    _train(b)
    return a, b


def test_trainer_same_config_gives_identical_metrics(tiny_models: tuple[Path, Path]) -> None:
    turns = [
        t
        for p in sorted((ROOT / "data" / "annotations").glob("*.jsonl"))
        for t in read_annotations(p)
        if t.split == "test"
    ]
    reports = [evaluate_turns(load_model(str(m)), turns) for m in tiny_models]
    assert reports[0]["turns"] > 0
    assert json.dumps(reports[0], sort_keys=True) == json.dumps(reports[1], sort_keys=True)
    meta_a, meta_b = (json.loads((m / "meta.json").read_text()) for m in tiny_models)
    assert meta_a["thresholds"] == meta_b["thresholds"]
    assert meta_a["data"]["files"] == meta_b["data"]["files"]


def test_trainer_records_config_hashes_and_labels(tiny_models: tuple[Path, Path]) -> None:
    model_dir = tiny_models[0]
    meta = json.loads((model_dir / "meta.json").read_text())
    assert meta["labels"] == list(LABELS) and meta["taxonomy_version"] == "1"
    assert all(len(h) == 64 for h in meta["data"]["files"].values())
    assert any(name.startswith("data/annotations/") for name in meta["data"]["files"])
    assert (model_dir / "config.toml").read_text() == (ROOT / "configs" / "tiny.toml").read_text()


def test_trainer_save_load_round_trip_gives_identical_scores(
    tiny_models: tuple[Path, Path],
) -> None:
    texts = ["Mój prawnik się z wami skontaktuje.", "Thanks, all good now!", "변호사 선임합니다"]
    model = RedFlagModel.load(tiny_models[0])
    again = RedFlagModel.load(tiny_models[0])
    first = model.predict_scores(texts, ["pl", "en", "ko"])
    second = again.predict_scores(texts, ["pl", "en", "ko"])
    assert (first[0] == second[0]).all() and (first[1] == second[1]).all()


def test_trainer_refuses_model_of_other_taxonomy(
    tiny_models: tuple[Path, Path], tmp_path: Path
) -> None:
    import shutil

    copy = tmp_path / "m"
    shutil.copytree(tiny_models[0], copy)
    meta = json.loads((copy / "meta.json").read_text())
    meta["taxonomy_version"] = "0"
    (copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="taxonomy v0"):
        RedFlagModel.load(copy)


def test_trainer_config_errors_name_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[heads]\nC = "many"\n')
    with pytest.raises(ConfigError, match=r"heads -> C"):
        read_train_config(bad)


def test_embedding_cache_is_keyed_by_text_not_by_order(tmp_path: Path) -> None:
    from tonewatch.classify.encoder import E5Encoder
    from tonewatch.train.trainer import embed_cached

    first = embed_cached(E5Encoder.name, ["hello there", "ciao", "hello there"], tmp_path, chunk=2)
    assert np.allclose(first[0], first[2])
    # A new text and a new order: only the new text is encoded, the rest comes from the cache.
    files = set(tmp_path.rglob("*.npz"))
    second = embed_cached(E5Encoder.name, ["new one", "ciao", "hello there"], tmp_path, chunk=2)
    assert len(set(tmp_path.rglob("*.npz")) - files) == 1
    assert np.array_equal(second[1:], first[[1, 0]])
    assert not np.allclose(second[0], second[2])
    # A digest ending in NUL bytes is found again too (numpy's S16 strips them).
    import hashlib

    text = next(
        t
        for t in (f"text {i}" for i in range(100_000))
        if hashlib.blake2b(t.encode(), digest_size=16).digest()[-1] == 0
    )
    embed_cached(E5Encoder.name, [text], tmp_path)
    files = set(tmp_path.rglob("*.npz"))
    embed_cached(E5Encoder.name, [text], tmp_path)
    assert set(tmp_path.rglob("*.npz")) == files
