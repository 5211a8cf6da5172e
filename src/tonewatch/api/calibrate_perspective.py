"""Fit the Perspective attribute maps of a model on held-out human-labelled corpora.

    .venv/bin/python -m tonewatch.api.calibrate_perspective \\
        --model models/tonewatch-base --model models/tonewatch-fast

For each attribute of ``perspective_map.INPUTS``: score the labelled rows of
``perspective_data`` with the model, fit ``sigmoid(b + w . logit(scores))`` with ``w >= 0`` on
the ``fit`` rows (every corpus weighing the same, whatever its size), and measure ROC AUC,
Brier score, log loss and expected calibration error on the ``eval`` rows, pooled and per
corpus. On the Spanish gold standard it also compares with Perspective's own published scores
for the same tweets. The maps go to ``models/perspective-map.json`` (one entry per model id,
others kept); ``--report`` writes the fit-quality tables as Markdown for docs/api.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.stats import spearmanr
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from tonewatch.api.perspective_data import SOURCES, Row, labelled_rows
from tonewatch.api.perspective_map import INPUTS, AttributeMap, input_matrix
from tonewatch.classify.api import PACKAGE_ROOT
from tonewatch.classify.model import RedFlagModel

L2 = 1e-3  # keeps weights finite on separable corpora; small against the log loss
PERSPECTIVE_COLUMN = {
    "TOXICITY": "TOXICITY",
    "SEVERE_TOXICITY": "SEVERE_TOXICITY",
    "INSULT": "INSULT_EXPERIMENTAL",
    "THREAT": "THREAT_EXPERIMENTAL",
}


def fit_map(inputs: tuple[str, ...], X: np.ndarray, y: np.ndarray, w: np.ndarray) -> AttributeMap:
    """Weighted logistic regression with non-negative slopes (L-BFGS-B), on logit inputs."""
    w = w / w.sum()

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] + X @ theta[1:]
        p = 1.0 / (1.0 + np.exp(-z))
        eps = 1e-12
        value = -np.sum(w * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
        value += L2 * np.sum(theta[1:] ** 2)
        residual = w * (p - y)
        grad = np.concatenate([[residual.sum()], X.T @ residual + 2 * L2 * theta[1:]])
        return float(value), grad

    theta0 = np.zeros(1 + X.shape[1])
    bounds = [(None, None)] + [(0.0, None)] * X.shape[1]
    result = minimize(loss, theta0, jac=True, method="L-BFGS-B", bounds=bounds)
    return AttributeMap(
        inputs,
        tuple(round(float(v), 6) for v in result.x[1:]),
        round(float(result.x[0]), 6),
    )


def ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over equal-width probability bins."""
    edges = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = edges == b
        if mask.any():
            total += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    return float(total)


def quality(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {"n": int(len(y)), "positives": int(y.sum())}
    if 0 < y.sum() < len(y):
        out["auc"] = round(float(roc_auc_score(y, p)), 4)
        out["log_loss"] = round(float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6))), 4)
    out["brier"] = round(float(brier_score_loss(y, p)), 4)
    out["ece"] = round(ece(y, p), 4)
    return out


def _key(text: str, lang: str) -> str:
    return f"{lang}\x00{text}"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def score_texts(
    model: RedFlagModel, rows: list[Row], cache_dir: Path | None = None, batch: int = 256
) -> dict[str, np.ndarray]:
    """``lang NUL text`` -> (16,) flag and tone probabilities; each distinct text scored once,
    and kept in ``cache_dir`` (by text digest) per model build, so an interrupted or repeated
    fit does not score again."""
    unique = list(dict.fromkeys(_key(r.text, r.lang or "und") for r in rows))
    cached: dict[str, np.ndarray] = {}
    cache = None
    if cache_dir is not None:
        build = hashlib.sha256(f"{model.model_id}|{model.meta.get('trained_at')}".encode())
        cache = cache_dir / f"{model.model_id}-{build.hexdigest()[:12]}.scores.npz"
        if cache.is_file():
            stored = np.load(cache, allow_pickle=False)
            cached = dict(zip(stored["digests"].tolist(), stored["scores"], strict=True))
    out = {k: cached[_digest(k)] for k in unique if _digest(k) in cached}
    todo = [k for k in unique if k not in out]
    for i in range(0, len(todo), batch):
        chunk = [k.split("\x00", 1) for k in todo[i : i + batch]]
        flags, tone = model.predict_scores([t for _, t in chunk], [lang for lang, _ in chunk])
        for key, f, t in zip(todo[i : i + batch], flags, tone, strict=True):
            out[key] = cached[_digest(key)] = np.concatenate([f, t])
        print(f"  scored {min(i + batch, len(todo))}/{len(todo)} texts", flush=True)
        if cache is not None and (i // batch % 8 == 7 or i + batch >= len(todo)):
            _save(cache, cached)  # every 8 batches: an interrupted run resumes here
    return out


def _save(cache: Path, scores: dict[str, np.ndarray]) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(".partial.npz")
    np.savez(partial, digests=np.array(list(scores)), scores=np.stack(list(scores.values())))
    partial.replace(cache)


def calibrate(rows: dict[str, list[Row]], scored: dict[str, np.ndarray]) -> dict[str, Any]:
    """attribute -> its fitted map, sources and held-out metrics."""
    attributes: dict[str, Any] = {}
    for attribute, attribute_rows in rows.items():
        S = np.stack([scored[_key(r.text, r.lang or "und")] for r in attribute_rows])
        flags, tone = S[:, :12], S[:, 12:]
        inputs = INPUTS[attribute]
        X = input_matrix(inputs, flags, tone)
        y = np.array([r.y for r in attribute_rows], dtype=float)
        fit = np.array([r.part == "fit" for r in attribute_rows])
        corpora = np.array([r.corpus for r in attribute_rows])
        # Every corpus weighs the same in the fit, whatever its size.
        fit_counts = {c: int(np.sum(fit & (corpora == c))) for c in set(corpora[fit])}
        weights = np.array([1.0 / fit_counts[c] for c in corpora[fit]])
        mapping = fit_map(inputs, X[fit], y[fit], weights)
        p = mapping(flags, tone)
        ev = ~fit
        metrics: dict[str, Any] = {"eval": quality(y[ev], p[ev]), "per_corpus": {}}
        for corpus in SOURCES[attribute]:
            mask = ev & (corpora == corpus)
            if mask.any():
                metrics["per_corpus"][corpus] = quality(y[mask], p[mask])
        # The best single tonewatch input, to show what combining adds.
        single = {name: roc_auc_score(y[ev], X[ev, j]) for j, name in enumerate(inputs)}
        best = max(single, key=single.__getitem__)
        metrics["best_single_input"] = {"input": best, "auc": round(float(single[best]), 4)}
        attributes[attribute] = {
            **mapping.to_json(),
            "fit_rows": int(fit.sum()),
            "sources": sorted(SOURCES[attribute]),
            "metrics": metrics,
        }
    return attributes


def against_perspective(
    attributes: dict[str, Any], rows: list[Row], scored: dict[str, np.ndarray]
) -> dict[str, Any]:
    """Held-out Spanish tweets: each fitted attribute vs Perspective's score for the same tweets
    (rank agreement), and, for toxicity, both against the human label."""
    rows = [r for r in rows if r.part == "eval" and r.perspective]
    S = np.stack([scored[_key(r.text, r.lang or "und")] for r in rows])
    y = np.array([r.y for r in rows])
    out: dict[str, Any] = {}
    for attribute, column in PERSPECTIVE_COLUMN.items():
        have = [i for i, r in enumerate(rows) if column in r.perspective]  # type: ignore[operator]
        if attribute not in attributes or len(have) < 20:
            continue
        spec = attributes[attribute]
        mapping = AttributeMap(tuple(spec["inputs"]), tuple(spec["weights"]), spec["bias"])
        ours = mapping(S[have, :12], S[have, 12:])
        theirs = np.array([rows[i].perspective[column] for i in have])  # type: ignore[index]
        entry: dict[str, Any] = {
            "column": column,
            "n": len(have),
            "spearman": _spearman(ours, theirs),
            "mean_abs_diff": round(float(np.abs(ours - theirs).mean()), 4),
        }
        if attribute == "TOXICITY":
            entry["human_auc_tonewatch"] = round(float(roc_auc_score(y[have], ours)), 4)
            entry["human_auc_perspective"] = round(float(roc_auc_score(y[have], theirs)), 4)
        out[attribute] = entry
    return out


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return None  # a constant score has no ranking
    return round(float(spearmanr(a, b).statistic), 4)


def write_map(
    path: Path, model: RedFlagModel, attributes: dict[str, Any], agreement: dict[str, Any]
) -> None:
    data: dict[str, Any] = {"format": 1, "models": {}}
    if path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
    data["method"] = (
        "per attribute: sigmoid(bias + sum(w_i * logit(score_i))), w_i >= 0, weighted log loss "
        "(each corpus weighs the same) on held-out human-labelled rows; "
        "tonewatch.api.calibrate_perspective"
    )
    data["models"][model.model_id] = {
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_trained_at": model.meta.get("trained_at"),
        "attributes": attributes,
        "perspective_agreement": agreement,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def markdown(model_id: str, attributes: dict[str, Any], agreement: dict[str, Any]) -> str:
    lines = [
        f"#### {model_id}",
        "",
        "| attribute | inputs (weight) | eval rows (pos.) | AUC | best single input AUC | "
        "Brier | ECE |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, spec in attributes.items():
        m = spec["metrics"]
        inputs = ", ".join(
            f"{i} ({w:.2f})" for i, w in zip(spec["inputs"], spec["weights"], strict=True) if w > 0
        )
        best = m["best_single_input"]
        lines.append(
            f"| {name} | {inputs or '(none)'} | {m['eval']['n']} ({m['eval']['positives']}) | "
            f"{m['eval'].get('auc', '-')} | {best['input']} {best['auc']} | "
            f"{m['eval']['brier']} | {m['eval']['ece']} |"
        )
    lines += [
        "",
        "| attribute | corpus | eval rows (pos.) | AUC | Brier | ECE |",
        "|---|---|---|---|---|---|",
    ]
    for name, spec in attributes.items():
        for corpus, q in spec["metrics"]["per_corpus"].items():
            lines.append(
                f"| {name} | {corpus} | {q['n']} ({q['positives']}) | {q.get('auc', '-')} | "
                f"{q['brier']} | {q['ece']} |"
            )
    if agreement:
        lines += [
            "",
            "| attribute | Perspective column | tweets | Spearman | mean abs. diff | "
            "human AUC tonewatch / Perspective |",
            "|---|---|---|---|---|---|",
        ]
        for name, a in agreement.items():
            human = (
                f"{a['human_auc_tonewatch']} / {a['human_auc_perspective']}"
                if "human_auc_tonewatch" in a
                else "-"
            )
            lines.append(
                f"| {name} | {a['column']} | {a['n']} | {a['spearman']} | {a['mean_abs_diff']} | "
                f"{human} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", action="append", required=True, help="Model directory (repeatable)."
    )
    parser.add_argument(
        "--datasets", type=Path, default=PACKAGE_ROOT.parent / "shared" / "datasets"
    )
    parser.add_argument("--annotations", type=Path, default=PACKAGE_ROOT / "data" / "annotations")
    parser.add_argument(
        "--out", type=Path, default=PACKAGE_ROOT / "models" / "perspective-map.json"
    )
    parser.add_argument("--report", type=Path, help="Also write the fit-quality tables (Markdown).")
    parser.add_argument(
        "--cap", type=int, default=1500, help="Rows per corpus, split and attribute."
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=PACKAGE_ROOT / ".cache" / "perspective",
        help="Where the model's scores of the labelled texts are kept between runs.",
    )
    args = parser.parse_args(argv)
    rows = labelled_rows(args.datasets, args.annotations, cap=args.cap)
    report = []
    for directory in args.model:
        model = RedFlagModel.load(directory)
        print(f"{model.model_id}: fitting {len(rows)} attributes", flush=True)
        everything = [r for attribute_rows in rows.values() for r in attribute_rows]
        scored = score_texts(model, everything, args.cache)
        attributes = calibrate(rows, scored)
        agreement = against_perspective(attributes, rows["TOXICITY"], scored)
        write_map(args.out, model, attributes, agreement)
        report.append(markdown(model.model_id, attributes, agreement))
        print(report[-1], flush=True)
    if args.report:
        args.report.write_text("\n".join(report), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
