"""The model card (``README.md`` of a model directory), generated from its metadata and
evaluation files so it never drifts from the model."""

from __future__ import annotations

import json
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tonewatch.train.benchmark_doc import current_results
from tonewatch.train.corpora import CORPUS_INFO
from tonewatch.train.evaluate import markdown_table
from tonewatch.train.gold import file_sha256
from tonewatch.train.public_eval import markdown_table as public_markdown


def render_model_card(model_dir: str | Path) -> str:
    model_dir = Path(model_dir)
    meta = json.loads((model_dir / "meta.json").read_text(encoding="utf-8"))
    eval_path = model_dir / "eval-test.json"
    evaluation = json.loads(eval_path.read_text(encoding="utf-8")) if eval_path.is_file() else None
    env = Environment(
        loader=FileSystemLoader(Path(__file__).with_name("templates")),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    png = model_dir / "reliability.png"
    public = current_results(model_dir)  # figures of an earlier training are left out
    transfer = model_dir / "transfer.md"
    return env.get_template("model_card.md.j2").render(
        meta=meta,
        evaluation=evaluation,
        evaluation_table=markdown_table(evaluation) if evaluation else "",
        reliability_png=png.name if png.is_file() else None,
        licences={name: info["licence"] for name, info in CORPUS_INFO.items()},
        mappings={name: info["mapping"] for name, info in CORPUS_INFO.items()},
        public_eval_table=public_markdown(public) if public else "",
        real_traffic=[
            (name, example)
            for name in ("twitter_care", "aeslc_enron")
            for example in (public or {}).get(name, {}).get("examples", [])[:3]
        ],
        transfer_table=transfer.read_text(encoding="utf-8") if transfer.is_file() else "",
        transfer_stale=_transfer_stale(model_dir, meta),
        errors=_read_json(model_dir / "errors.json"),
    )


def _transfer_stale(model_dir: Path, meta: dict) -> list[str]:
    """Data files the transfer study read in another version than this model's training (the
    study trains its own models from the config, so it can lag a retrained model)."""
    study = _read_json(model_dir / "transfer.json")
    if study is None:
        return []
    trained = dict(meta["data"]["files"])
    for path in sorted((model_dir / "lexicons").glob("*")):
        trained[f"lexicons/{path.name}"] = file_sha256(path)
    stale = []
    if study.get("config_sha256") not in (None, file_sha256(model_dir / "config.toml")):
        stale.append("the training config")
    for name, digest in study.get("data", {}).items():
        key = f"lexicons/{Path(name).name}" if "/lexicons/" in f"/{name}" else name
        if key in trained and trained[key] != digest:
            stale.append(key)
    return stale


def _read_json(path: Path) -> dict | None:
    """Optional evaluation files: present once `tonewatch evaluate` (or `transfer`) ran."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def write_model_card(model_dir: str | Path) -> Path:
    path = Path(model_dir) / "README.md"
    path.write_text(render_model_card(model_dir), encoding="utf-8")
    return path
