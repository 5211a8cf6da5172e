"""``tonewatch evaluate``: the shipped contract measured on the project's test split."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tonewatch.classify.pipeline import Classifier, TurnText
from tonewatch.schema import LABELS, TONES
from tonewatch.train.gold import GoldTurn
from tonewatch.train.metrics import (
    bootstrap_interval,
    char_f1,
    expected_calibration_error,
    macro_f1,
    pr_auc,
    prf,
    reliability,
)


def evaluate_turns(classifier: Classifier, turns: Sequence[GoldTurn]) -> dict[str, Any]:
    """Per label × language P/R/F1 and PR-AUC, macro-F1 per language, false-flag rate on clean
    turns, tone accuracy, evidence character-F1 and ECE, on turns with every label annotated."""
    turns = [t for t in turns if set(LABELS) <= t.known]
    results = classifier.predict([TurnText(t.id, t.text, t.lang, t.role) for t in turns])
    Y = np.array([[label in t.labels for label in LABELS] for t in turns], dtype=int)
    P = np.array([[r.scores[label] for label in LABELS] for r in results])
    F = np.array(
        [[any(f.label == label for f in r.flags) for label in LABELS] for r in results], dtype=int
    )
    langs = np.array([t.lang for t in turns])
    conversations = np.array([t.conversation for t in turns])
    report: dict[str, Any] = {"turns": len(turns), "per_language": {}, "per_label": {}}
    for lang in sorted(set(langs)) + ["all"]:
        mask = np.ones(len(turns), bool) if lang == "all" else langs == lang
        per_label = {}
        for j, label in enumerate(LABELS):
            stats = prf(Y[mask, j], F[mask, j])
            stats["pr_auc"] = pr_auc(Y[mask, j], P[mask, j])
            per_label[label] = stats
        clean = mask & (Y.sum(axis=1) == 0)
        client_clean = clean & np.array([t.role == "client" for t in turns])
        tone_known = [i for i in np.flatnonzero(mask) if turns[i].tone]
        entry = {
            "turns": int(mask.sum()),
            "macro_f1": macro_f1(Y[mask], F[mask]),
            "macro_f1_ci95": bootstrap_interval(
                macro_f1, Y[mask], F[mask], groups=conversations[mask]
            ),
            "false_flag_rate": float(F[clean].any(axis=1).mean()) if clean.any() else None,
            "false_flag_rate_client": float(F[client_clean].any(axis=1).mean())
            if client_clean.any()
            else None,
            "tone_accuracy": float(
                np.mean([results[i].tone.label.value == turns[i].tone for i in tone_known])
            )
            if tone_known
            else None,
            "tone_within_one": float(
                np.mean(
                    [
                        abs(results[i].tone.level - TONES.index(turns[i].tone)) <= 1
                        for i in tone_known
                    ]
                )
            )
            if tone_known
            else None,
            "ece": expected_calibration_error(Y[mask], P[mask]),
            "evidence_char_f1": _evidence_f1(
                [turns[i] for i in np.flatnonzero(mask)], [results[i] for i in np.flatnonzero(mask)]
            ),
            "labels": per_label,
        }
        if lang == "all":
            report.update({k: v for k, v in entry.items() if k != "labels"})
            report["per_label"] = per_label
            report["reliability"] = reliability(Y, P)
        else:
            report["per_language"][lang] = entry
    return report


def _evidence_f1(turns: Sequence[GoldTurn], results: Sequence[Any]) -> float | None:
    """Mean character-F1 over (turn, label) pairs that are both gold and predicted."""
    scores = []
    for turn, result in zip(turns, results, strict=True):
        predicted = {f.label.value: [(e.start, e.end) for e in f.evidence] for f in result.flags}
        gold: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for span in turn.evidence:
            gold[span.label].append((span.start, span.end))
        for label in set(predicted) & set(gold):
            scores.append(char_f1(gold[label], predicted[label]))
    return float(np.mean(scores)) if scores else None


def write_report(report: dict[str, Any], directory: str | Path, name: str = "eval") -> Path:
    """``<name>.json``, ``<name>.md`` and, for the test split, ``reliability.png``."""
    directory = Path(directory)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    (directory / f"{name}.md").write_text(markdown_table(report), encoding="utf-8")
    if report.get("reliability"):
        plot_reliability(report["reliability"], directory / "reliability.png")
    return path


def plot_reliability(bins: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
    ax.plot(
        [b["mean_score"] for b in bins],
        [b["fraction_positive"] for b in bins],
        marker="o",
        label="model",
    )
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("fraction of turns carrying the flag")
    ax.set_title("Reliability (all labels, test split)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _interval(bounds: Sequence[float] | None) -> str:
    return "–" if not bounds else f"{bounds[0]:.2f}–{bounds[1]:.2f}"


def markdown_table(report: dict[str, Any]) -> str:
    lines = [
        "| language | turns | macro-F1 | 95% CI | false flags (clean) | tone acc. | ECE "
        "| evidence F1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for lang, e in {**report["per_language"], "all": report}.items():
        lines.append(
            f"| {lang} | {e['turns']} | {_fmt(e['macro_f1'])} "
            f"| {_interval(e.get('macro_f1_ci95'))} | {_fmt(e['false_flag_rate'])} "
            f"| {_fmt(e['tone_accuracy'])} | {_fmt(e['ece'])} | {_fmt(e['evidence_char_f1'])} |"
        )
    lines += [
        "",
        "| label | " + " | ".join(report["per_language"]) + " | all |",
        "|---|" + "---|" * (len(report["per_language"]) + 1),
    ]
    for label in LABELS:
        cells = [
            _fmt(report["per_language"][lang]["labels"][label]["f1"])
            for lang in report["per_language"]
        ]
        lines.append(
            f"| {label} | " + " | ".join(cells) + f" | {_fmt(report['per_label'][label]['f1'])} |"
        )
    return "\n".join(lines) + "\n"
