"""Cross-lingual transfer: train without one language's annotations, evaluate on that language.

For each held-out language L, a model is trained from the same config with every annotated turn
in L removed (public corpora stay: they teach only personal_attack/profanity and none is in
Georgian) and scored on L's turns. The reference is the same config trained on everything,
scored on L's test split. For one language (Georgian by default: no public corpus at all) two
experiments ask what closes the gap: a learning curve adding k annotated L turns back (from the
train split, whole conversations, seeded) and the held-out model without L's lexicon.

Each run's result is kept beside its data (``runs/NAME/run.json``) with a fingerprint of the
config, the setting and every data file it read; a later call reuses a run whose fingerprint
still matches, so an interrupted study resumes, and ``only`` runs a few settings per call (each
call can then hold the machine's shared lock briefly).
"""

from __future__ import annotations

import glob
import hashlib
import json
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from tonewatch.classify.pipeline import Classifier
from tonewatch.errors import DataError
from tonewatch.train.evaluate import evaluate_turns
from tonewatch.train.gold import GoldTurn, file_sha256, read_annotations
from tonewatch.train.trainer import TrainConfig, read_train_config, train

SUMMARY_KEYS = ("turns", "macro_f1", "false_flag_rate", "tone_accuracy", "ece", "evidence_char_f1")


@dataclass(frozen=True)
class Setting:
    """One training run of the study: which annotated turns of ``lang`` stay in training."""

    name: str
    lang: str | None = None  # the held-out language; None = train on everything
    keep_turns: int = 0  # annotated train-split turns of ``lang`` added back
    drop_lexicon: bool = False


def _records(files: Sequence[Path]) -> dict[Path, list[tuple[str, GoldTurn]]]:
    """Each annotation file's raw lines beside their parsed turns (written back unchanged)."""
    out = {}
    for path in files:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        out[path] = list(zip(lines, read_annotations(path), strict=True))
    return out


def _kept_conversations(
    records: dict[Path, list[tuple[str, GoldTurn]]], lang: str, k: int, seed: int
) -> set[str]:
    """Whole train-split conversations of ``lang``, seeded order, until about ``k`` turns."""
    sizes: dict[str, int] = {}
    for rows in records.values():
        for _, t in rows:
            if t.lang == lang and t.split == "train":
                sizes[t.conversation] = sizes.get(t.conversation, 0) + 1
    order = sorted(sizes)
    random.Random(seed).shuffle(order)
    kept, total = set(), 0
    for conversation in order:
        if total >= k:
            break
        kept.add(conversation)
        total += sizes[conversation]
    return kept


def _write_annotations(
    records: dict[Path, list[tuple[str, GoldTurn]]], setting: Setting, seed: int, out: Path
) -> int:
    keep = (
        _kept_conversations(records, setting.lang, setting.keep_turns, seed)
        if setting.lang and setting.keep_turns
        else set()
    )
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for path, rows in records.items():
        lines = [line for line, t in rows if t.lang != setting.lang or t.conversation in keep]
        # Same file names: corpus names ("tonewatch-<stem>") and the pool order stay as they were.
        (out / path.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        written += len(lines)
    return written


def _snapshot(
    config: TrainConfig, base: Path, output: Path, fresh: bool, log: Callable[[str], None]
) -> tuple[list[Path], Path, dict[str, str]]:
    """Copies of the annotation files and lexicons, taken on a study's first call (or when
    ``fresh``) and read by every later call: a study run in pieces sees one version of the
    data, however the tree changes meanwhile. Returns the annotation copies, the lexicon copy
    and each file's SHA-256 under its name in the tree."""
    root = output / "snapshot"
    sources = {
        Path(p)
        for pattern in config.annotations
        for p in glob.glob(pattern if Path(pattern).is_absolute() else str(base / pattern))
    }
    names = {
        str(p.relative_to(base) if p.is_relative_to(base) else Path("external") / p.name): p
        for p in sorted(sources)
    }
    if fresh and root.exists():
        shutil.rmtree(root)
    if not root.exists():
        partial = output / "snapshot.partial"
        if partial.exists():
            shutil.rmtree(partial)
        for name, path in names.items():
            (partial / "annotations" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, partial / "annotations" / name)
        shutil.copytree(base / config.lexicons, partial / "lexicons")
        partial.rename(root)  # whole or absent: an interrupted copy is taken again
    files = sorted(p for p in (root / "annotations").rglob("*") if p.is_file())
    lexicons = root / "lexicons"
    data = {str(p.relative_to(root / "annotations")): file_sha256(p) for p in files}
    data |= {f"lexicons/{p.name}": file_sha256(p) for p in sorted(lexicons.iterdir())}
    changed = [
        name for name, path in names.items() if data.get(name) not in (None, file_sha256(path))
    ]
    if changed or set(names) != {name for name in data if not name.startswith("lexicons/")}:
        log(
            "note: the study reads its snapshot of the data; the tree has changed since "
            f"({', '.join(changed) or 'annotation files added or removed'}): --fresh-data "
            "takes a new one (every run trains again)"
        )
    return files, lexicons, data


def _config_for(
    config: TrainConfig, setting: Setting, annotations: Path, snapshot: Path, work: Path
) -> TrainConfig:
    lexicons = snapshot
    if setting.drop_lexicon and setting.lang:
        lexicons = work / "lexicons"
        shutil.copytree(snapshot, lexicons, dirs_exist_ok=True)
        for path in lexicons.glob(f"{setting.lang}.*"):
            path.unlink()
    return config.model_copy(
        update={
            "name": f"{config.name}-{setting.name}",
            "annotations": [str(annotations / "*.jsonl")],
            "lexicons": str(lexicons),
        }
    )


def _summary(report: dict[str, Any], lang: str) -> dict[str, Any]:
    entry = report["per_language"].get(lang)
    if entry is None:
        return {"turns": 0}
    summary = {key: entry.get(key) for key in SUMMARY_KEYS}
    summary["f1_per_label"] = {
        label: stats["f1"] for label, stats in entry["labels"].items() if stats["support"]
    }
    return summary


def run_transfer(
    config_path: str | Path,
    output: str | Path,
    *,
    langs: Sequence[str] | None = None,
    base: str | Path = ".",
    cache_dir: str | Path = ".cache/embeddings",
    curve_lang: str | None = "ka",
    curve: Sequence[int] = (25, 50, 100),
    lexicon_ablation: bool = True,
    keep_models: bool = False,
    only: Sequence[str] | None = None,
    fresh_data: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the study; write ``transfer.json`` and ``transfer.md`` into ``output`` once every
    setting has a result. With ``only``, settings outside it are not trained (only reused).
    The data is the study's snapshot (``output/snapshot``), taken anew with ``fresh_data``."""
    base, output = Path(base), Path(output)
    config, _ = read_train_config(config_path)
    files, snapshot, data = _snapshot(config, base, output, fresh_data, log)
    records = _records(files)
    all_turns = [t for rows in records.values() for _, t in rows]
    every = sorted({t.lang for t in all_turns})
    langs = sorted(langs or every)
    settings = [Setting("all")] + [Setting(f"without-{lang}", lang) for lang in langs]
    if curve_lang:
        settings += [
            Setting(f"without-{curve_lang}-plus-{k}", curve_lang, keep_turns=k) for k in curve
        ]
        if lexicon_ablation:
            settings.append(
                Setting(f"without-{curve_lang}-no-lexicon", curve_lang, drop_lexicon=True)
            )
    unknown = set(only or ()) - {s.name for s in settings}
    if unknown:
        raise DataError(
            f"transfer: no setting {sorted(unknown)}; settings: {[s.name for s in settings]}"
        )
    runs: dict[str, dict[str, Any]] = {}
    pending = []
    for setting in settings:
        work = output / "runs" / setting.name
        # The reference model is scored on every language, so a later call holding out other
        # languages reuses it.
        targets = every if setting.lang is None else [setting.lang]
        fingerprint = _fingerprint(config, setting, data, targets)
        saved = _saved_run(work / "run.json", fingerprint)
        if saved is not None:
            runs[setting.name] = saved
            log(f"[{setting.name}] reused (same config and data)")
            continue
        if only is not None and setting.name not in only:
            pending.append(setting.name)
            continue
        started = time.monotonic()
        annotations = work / "annotations"
        written = _write_annotations(records, setting, config.seed, annotations)
        run_config = _config_for(config, setting, annotations, snapshot, work)
        log(f"[{setting.name}] training on {written} annotated turns")
        model = train(
            run_config,
            tomli_w.dumps(run_config.model_dump()),
            work / "model",
            base=base,
            cache_dir=Path(cache_dir) if Path(cache_dir).is_absolute() else base / cache_dir,
            log=lambda line: None,
        )
        classifier = Classifier(model)
        run: dict[str, Any] = {"setting": setting.__dict__, "annotated_turns": written}
        test = [t for t in all_turns if t.lang in targets and t.split == "test"]
        report = evaluate_turns(classifier, test)
        run["test"] = {lang: _summary(report, lang) for lang in targets}
        if setting.lang and not setting.keep_turns and not setting.drop_lexicon:
            # Nothing of the language was seen: every turn of it is a test turn.
            seen_never = [t for t in all_turns if t.lang == setting.lang]
            run["all_turns"] = _summary(evaluate_turns(classifier, seen_never), setting.lang)
        run["seconds"] = round(time.monotonic() - started, 1)
        runs[setting.name] = run
        (work / "run.json").write_text(
            json.dumps({"fingerprint": fingerprint, "run": run}, indent=2), encoding="utf-8"
        )
        log(
            f"[{setting.name}] {run['seconds']:.0f} s "
            + json.dumps({k: v.get("macro_f1") for k, v in run["test"].items()})
        )
        if not keep_models:
            shutil.rmtree(work / "model")
    study = {
        "config": str(config_path),
        "config_sha256": file_sha256(config_path),
        "tier": config.tier,
        "encoder": config.encoder or None,
        "languages": langs,
        "data": data,
        "runs": runs,
        "pending": pending,
    }
    if pending:
        log(f"{len(pending)} settings still to run: {', '.join(pending)}")
        return study
    study["table"] = _table(runs, langs)
    output.mkdir(parents=True, exist_ok=True)
    (output / "transfer.json").write_text(json.dumps(study, indent=2), encoding="utf-8")
    (output / "transfer.md").write_text(markdown_table(study), encoding="utf-8")
    return study


def _fingerprint(
    config: TrainConfig, setting: Setting, data: dict[str, str], targets: Sequence[str]
) -> str:
    """What a run's result depends on: the config, the setting, every data file's hash and the
    languages it is scored on."""
    blob = json.dumps(
        {
            "config": config.model_dump(),
            "setting": setting.__dict__,
            "data": data,
            "targets": list(targets),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _saved_run(path: Path, fingerprint: str) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None  # a run cut off while writing: train it again
    return saved["run"] if saved.get("fingerprint") == fingerprint else None


def _table(runs: dict[str, dict[str, Any]], langs: Sequence[str]) -> list[dict[str, Any]]:
    """Per held-out language: the full model and the held-out model on the same test turns."""
    rows = []
    for lang in langs:
        full = runs["all"]["test"].get(lang, {})
        held = runs.get(f"without-{lang}", {})
        rows.append(
            {
                "lang": lang,
                "test_turns": full.get("turns"),
                "full_macro_f1": full.get("macro_f1"),
                "heldout_macro_f1": held.get("test", {}).get(lang, {}).get("macro_f1"),
                "heldout_macro_f1_all_turns": held.get("all_turns", {}).get("macro_f1"),
                "full_false_flags": full.get("false_flag_rate"),
                "heldout_false_flags": held.get("test", {}).get(lang, {}).get("false_flag_rate"),
            }
        )
    return rows


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def markdown_table(study: dict[str, Any]) -> str:
    lines = [
        f"Tier: {study['tier']} ({study['encoder'] or 'no encoder'}); config {study['config']}.",
        "",
        "| held-out language | test turns | macro-F1, all languages trained | macro-F1, language "
        "held out | gap | held out, all its turns | false flags (full → held out) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in study["table"]:
        full, held = row["full_macro_f1"], row["heldout_macro_f1"]
        gap = None if full is None or held is None else held - full
        lines.append(
            f"| {row['lang']} | {row['test_turns']} | {_fmt(full)} | {_fmt(held)} "
            f"| {_fmt(gap)} | {_fmt(row['heldout_macro_f1_all_turns'])} "
            f"| {_fmt(row['full_false_flags'])} → {_fmt(row['heldout_false_flags'])} |"
        )
    extra = [name for name in study["runs"] if "-plus-" in name or "no-lexicon" in name]
    if extra:
        lines += [
            "",
            "| setting | annotated turns | test macro-F1 | false flags |",
            "|---|---|---|---|",
        ]
        for name in extra:
            run = study["runs"][name]
            lang = run["setting"]["lang"]
            entry = run["test"][lang]
            lines.append(
                f"| {name} | {run['annotated_turns']} | {_fmt(entry.get('macro_f1'))} "
                f"| {_fmt(entry.get('false_flag_rate'))} |"
            )
        lines += ["", _gap_summary(study, extra)]
    return "\n".join(lines) + "\n"


def _gap_summary(study: dict[str, Any], extra: Sequence[str]) -> str:
    """One generated sentence: how much of the held-out gap each remedy closes."""
    lang = study["runs"][extra[0]]["setting"]["lang"]
    full = study["runs"]["all"]["test"].get(lang, {}).get("macro_f1")
    held = study["runs"].get(f"without-{lang}", {}).get("test", {}).get(lang, {}).get("macro_f1")
    parts = []
    for name in extra:
        run = study["runs"][name]
        value = run["test"][lang].get("macro_f1")
        setting = run["setting"]
        what = (
            f"without its lexicon {_fmt(value)}"
            if setting["drop_lexicon"]
            else f"{setting['keep_turns']} annotated turns back {_fmt(value)}"
        )
        if None not in (full, held, value) and full != held and not setting["drop_lexicon"]:
            what += f" ({(value - held) / (full - held):.0%} of the gap)"
        parts.append(what)
    return (
        f"What closes the gap for {lang} (test macro-F1): held out {_fmt(held)}; "
        + "; ".join(parts)
        + f"; all its annotations {_fmt(full)}."
    )
