"""Each public corpus's own test split, scored with that corpus's own metric, beside the best
published figure we can cite.

tonewatch predicts taxonomy flags, not each corpus's classes, so every benchmark states how a
flag maps back onto its task (mostly: "offensive" = ``personal_attack`` or ``profanity`` reported
at the model's own thresholds; nothing is tuned on a test set). Published figures come from
systems trained on that corpus's training split with its exact task; where the task or the
split differs, the note says so and the figures are not directly comparable. Corpora without
labels (real support tweets, business email, negotiation role-play) report how often turns get
flagged: on clean traffic that is an upper bound of the false-flag rate.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tonewatch.classify.model import RedFlagModel
from tonewatch.classify.segment import windows
from tonewatch.schema import LABELS, TONES
from tonewatch.train import benchmark_metrics as bm
from tonewatch.train.corpora import CORPUS_INFO, load_corpus
from tonewatch.train.gold import GoldTurn
from tonewatch.train.metrics import bootstrap_interval

PA, PROF, THREAT = (LABELS.index(x) for x in ("personal_attack", "profanity", "threat"))
DEMANDS = [LABELS.index(x) for x in ("unreasonable_demand", "shifting_demands", "devaluation")]


@dataclass(frozen=True)
class Scored:
    """A model's view of the selected turns: calibrated probabilities and reported flags."""

    flags: np.ndarray  # (n, 12) probabilities
    flagged: np.ndarray  # (n, 12) bool: probability >= the label's threshold
    tone: np.ndarray  # (n, 4)


@dataclass(frozen=True)
class Benchmark:
    corpus: str
    metric_name: str
    metric: bm.Metric
    gold: Callable[[GoldTurn], int]
    predict: Callable[[Scored], np.ndarray]
    select: Callable[[GoldTurn], bool] = lambda t: t.split == "test"
    published: float | None = None
    source: str = "n/a"
    note: str = ""
    extra: Callable[[Sequence[GoldTurn], Scored, np.ndarray], dict[str, Any]] | None = None


def _abusive(s: Scored) -> np.ndarray:
    return (s.flagged[:, PA] | s.flagged[:, PROF]).astype(int)


def _davidson_class(s: Scored) -> np.ndarray:
    # The corpus's classes: 0 hate, 1 offensive, 2 neither (hate -> personal_attack mapping).
    return np.where(s.flagged[:, PA], 0, np.where(s.flagged[:, PROF], 1, 2))


def _any_flag(s: Scored) -> np.ndarray:
    return s.flagged.any(axis=1).astype(int)


def _flag_report(turns: Sequence[GoldTurn], s: Scored, y: np.ndarray) -> dict[str, Any]:
    """Per-label flag rates and the most confidently flagged turns (for error analysis)."""
    rates = {label: float(s.flagged[:, j].mean()) for j, label in enumerate(LABELS)}
    top = np.argsort(-np.where(s.flagged, s.flags, 0).max(axis=1))[:5]
    examples = [
        {
            "id": turns[i].id,
            "text": turns[i].text[:300],
            "flags": {
                LABELS[j]: round(float(s.flags[i, j]), 3) for j in np.flatnonzero(s.flagged[i])
            },
        }
        for i in top
        if s.flagged[i].any()
    ]
    return {"flag_rate_per_label": {k: v for k, v in rates.items() if v}, "examples": examples}


def _politeness_extra(turns: Sequence[GoldTurn], s: Scored, y: np.ndarray) -> dict[str, Any]:
    return {"roc_auc_p_polite": bm.roc_auc(y, s.tone[:, TONES.index("polite")])}


def _perspective_extra(turns: Sequence[GoldTurn], s: Scored, y: np.ndarray) -> dict[str, Any]:
    # The corpus ships Perspective API TOXICITY scores: a commercial reference on the same rows.
    tox = np.array([float(t.meta["perspective_toxicity"] or "nan") for t in turns])
    ok = ~np.isnan(tox)
    return {
        "reference": bm.macro_f1(y[ok], (tox[ok] >= 0.5).astype(int)),
        "reference_source": "Perspective API TOXICITY >= 0.5 on the same rows (scores in corpus)",
    }


def _casino_extra(turns: Sequence[GoldTurn], s: Scored, y: np.ndarray) -> dict[str, Any]:
    demand = s.flagged[:, DEMANDS].any(axis=1)
    per: dict[str, list[bool]] = {}
    for t, d in zip(turns, demand, strict=True):
        for strategy in filter(None, t.meta["strategies"].split(",")):
            per.setdefault(strategy, []).append(bool(d))
    return {
        "demand_flag_rate_per_strategy": {k: float(np.mean(v)) for k, v in sorted(per.items())},
        **_flag_report(turns, s, y),
    }


def _hostile(t: GoldTurn) -> int:
    return int(t.meta["hostile"] == "1")


_MLMA_NOTE = (
    "hostile (any hostility type) vs normal; MLMA publishes multi-label hostility-type, "
    "target and group results, not this binary task"
)
_ABUSE_MAP = "offensive = personal_attack or profanity reported"

BENCHMARKS: dict[str, Benchmark] = {
    "germeval2018": Benchmark(
        "germeval2018",
        "macro-F1, OFFENSE vs OTHER (official scorer)",
        bm.germeval_macro_f1,
        lambda t: int(t.meta["coarse"] == "OFFENSE"),
        _abusive,
        published=0.807,
        source="GELECTRA-large, Chan et al. 2020 (COLING); model card",
        note=f"official test file; {_ABUSE_MAP}",
    ),
    "kocohub": Benchmark(
        "kocohub",
        "macro-F1, hate+offensive vs none",
        bm.macro_f1,
        lambda t: int(t.meta["hate"] in {"hate", "offensive"}),
        _abusive,
        select=lambda t: t.meta["source_split"] == "dev",
        published=0.683,
        source="HanBERT, KoELECTRA README (3-class hate F1 on dev)",
        note="dev.tsv (the labelled benchmark split); the published figure is 3-class "
        "(hate/offensive/none), ours binary: not directly comparable",
    ),
    "davidson": Benchmark(
        "davidson",
        "weighted F1, hate / offensive / neither",
        bm.weighted_f1,
        lambda t: int(t.meta["class"]),
        _davidson_class,
        published=0.90,
        source="Davidson et al. 2017 (ICWSM), logistic regression",
        note="hate <- personal_attack, offensive <- profanity; hash test split (paper: "
        "their own held-out data); labels carry a known dialect (AAE) bias",
    ),
    **{
        f"mlma_{lang}": Benchmark(
            f"mlma_{lang}",
            "macro-F1, hostile vs normal",
            bm.macro_f1,
            _hostile,
            _abusive,
            note=_MLMA_NOTE,
        )
        for lang in ("en", "fr", "ar")
    },
    "convabuse": Benchmark(
        "convabuse",
        "macro-F1, abusive (annotator majority) vs not",
        bm.macro_f1,
        lambda t: int(bool(t.labels)),
        _abusive,
        note="official test split; the paper reports all benchmarked models below 0.90 F1 "
        "(exact best figure not cited here)",
    ),
    "arabic_offensive": Benchmark(
        "arabic_offensive",
        "macro-F1, offensive vs not",
        bm.macro_f1,
        lambda t: int(t.meta["offensive"] == "1"),
        _abusive,
        note="13 re-annotated sources, hash test split; no published figure on this union "
        "(OSACT4/OffensEval-2020 Arabic, one source, reports ~0.90 on its own test set)",
    ),
    "ban_pl": Benchmark(
        "ban_pl",
        "macro-F1, harmful vs neutral",
        bm.macro_f1,
        lambda t: int(t.meta["label"] == "1"),
        _abusive,
        note="moderators' bans (harmful includes spam-like and political posts); hash split",
    ),
    "told_br": Benchmark(
        "told_br",
        "macro-F1, toxic (any label, >= 1 annotator) vs not",
        bm.macro_f1,
        lambda t: int(t.meta["toxic"] == "1"),
        _abusive,
        published=0.76,
        source="BR-BERT, Leite et al. 2020 (AACL), binary",
        note="Portuguese is not a tonewatch language (zero-shot); hash split, not the paper's",
    ),
    "spanish_toxicity": Benchmark(
        "spanish_toxicity",
        "macro-F1, toxic vs not (both coders agree)",
        bm.macro_f1,
        lambda t: int(t.meta["toxic"] == "1"),
        _abusive,
        note="political tweets, toxic over-sampled; reference = Perspective API on the same rows",
        extra=_perspective_extra,
    ),
    "politeness": Benchmark(
        "politeness",
        "accuracy, polite (top quartile) vs impolite (bottom)",
        bm.accuracy,
        lambda t: int(t.meta["quartile"] == "top"),
        lambda s: (s.tone.argmax(axis=1) == TONES.index("polite")).astype(int),
        select=lambda t: t.split == "test" and t.meta["quartile"] in {"top", "bottom"},
        published=0.838,
        source="approximately; Danescu-Niculescu-Mizil et al. 2013 (ACL), "
        "linguistic-feature SVM, Wikipedia in-domain (about 0.78 on Stack Exchange)",
        note="polite = tone head's argmax; hash split of both communities",
        extra=_politeness_extra,
    ),
    "germeval2025": Benchmark(
        "germeval2025",
        "F1 of threat (propensity + call to violence vs nothing)",
        bm.positive_f1,
        lambda t: int("threat" in t.labels),
        lambda s: s.flagged[:, THREAT].astype(int),
        select=lambda t: t.split == "test" and "threat" in t.known,
        note="the labelled GermEval test sets are not public: hash split of the training data",
    ),
    "twitter_care": Benchmark(
        "twitter_care",
        "flag rate on real customer tweets (lower is better)",
        bm.flag_rate,
        lambda t: 0,
        _any_flag,
        select=lambda t: t.role == "client",
        note="no labels: an upper bound of the false-flag rate; flagged examples listed",
        extra=_flag_report,
    ),
    "aeslc_enron": Benchmark(
        "aeslc_enron",
        "flag rate on business email (lower is better)",
        bm.flag_rate,
        lambda t: 0,
        _any_flag,
        note="CC BY-NC-SA: evaluation only, never trained on; official test split",
        extra=_flag_report,
    ),
    "casino": Benchmark(
        "casino",
        "demand-flag rate on negotiation turns (lower is better)",
        bm.flag_rate,
        lambda t: 0,
        lambda s: s.flagged[:, DEMANDS].any(axis=1).astype(int),
        note="weak proxy: ordinary bargaining should not read as unreasonable_demand, "
        "shifting_demands or devaluation; rates per strategy in the JSON",
        extra=_casino_extra,
    ),
}


def score_turns(
    model: RedFlagModel, turns: Sequence[GoldTurn], cache_dir: Path | None = None
) -> Scored:
    """The model's scores, windowed as ``RedFlagModel.predict_scores`` does; with a cache
    directory, sentence embeddings go through the trainer's shared embedding cache."""
    texts, langs = [t.text for t in turns], [t.lang for t in turns]
    encoder = model.featurizer.encoder
    if cache_dir is None or encoder is None:
        flags, tone = model.predict_scores(texts, langs)
    else:
        from tonewatch.train.trainer import embed_cached

        pieces, owner = [], []
        for i, (text, lang) in enumerate(zip(texts, langs, strict=True)):
            for start, end in windows(text, model.window_chars, model.window_overlap, lang):
                pieces.append(text[start:end])
                owner.append(i)
        piece_langs = [langs[i] for i in owner]
        X = model.featurizer.transform(
            pieces, piece_langs, embed_cached(encoder, pieces, Path(cache_dir))
        )
        p_flags, p_tone = model.heads.predict_proba(X)
        idx = np.asarray(owner)
        flags = np.zeros((len(texts), len(LABELS)))
        np.maximum.at(flags, idx, p_flags)
        tone = np.zeros((len(texts), len(TONES)))
        np.add.at(tone, idx, p_tone)
        tone /= np.bincount(idx, minlength=len(texts))[:, None].clip(min=1)
    thresholds = np.array([model.thresholds[label] for label in LABELS])
    return Scored(flags=flags, flagged=flags >= thresholds, tone=tone)


def stratified_sample(y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted indices of a seeded sample of ``size`` rows keeping each gold class's share, so a
    capped test split keeps the class balance its metric was published on."""
    from sklearn.model_selection import train_test_split

    index = np.arange(len(y))
    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 2 else None  # a class of one cannot be split
    keep, _ = train_test_split(index, train_size=size, stratify=stratify, random_state=seed)
    return np.sort(keep)


def run_benchmark(
    name: str,
    model: RedFlagModel,
    datasets_root: str | Path,
    *,
    max_turns: int = 1000,
    seed: int = 13,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """One benchmark: its test turns (a seeded, stratified sample of ``max_turns`` where
    larger), the metric with a 95% bootstrap interval, and the published figure beside it."""
    bench = BENCHMARKS[name]
    turns = [t for t in load_corpus(bench.corpus, datasets_root, purpose="eval") if bench.select(t)]
    total = len(turns)
    y = np.array([bench.gold(t) for t in turns], dtype=int)
    if total > max_turns:
        keep = stratified_sample(y, max_turns, seed)
        turns, y = [turns[i] for i in keep], y[keep]
    scored = score_turns(model, turns, cache_dir)
    pred = bench.predict(scored)
    low, high = (
        bootstrap_interval(bench.metric, y, pred, rounds=500, seed=seed) or (float("nan"),) * 2
    )
    result = {
        "corpus": bench.corpus,
        "lang": CORPUS_INFO[bench.corpus]["lang"],
        "metric": bench.metric_name,
        "value": bench.metric(y, pred),
        "ci95": [low, high],
        "turns": len(turns),
        "test_turns": total,
        "positives": int(y.sum()),
        "published": bench.published,
        "published_source": bench.source,
        "note": bench.note,
        "model": f"{model.meta['name']}@{model.meta['version']}",
        "trained_at": model.meta.get("trained_at"),  # a retrained model's card drops this entry
    }
    if bench.extra is not None:
        result.update(bench.extra(turns, scored, y))
    return result


def run_benchmarks(
    names: Sequence[str],
    model: RedFlagModel,
    datasets_root: str | Path,
    *,
    log: Callable[[str], None] = print,
    **kwargs: Any,
) -> dict[str, dict[str, Any]]:
    results = {}
    for name in names:
        log(f"  {name} ...")
        results[name] = run_benchmark(name, model, datasets_root, **kwargs)
        log(f"  {name}: {results[name]['metric']} = {results[name]['value']:.3f}")
    return results


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def markdown_table(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| corpus | lang | test turns | metric | tonewatch (95% CI) | best published / reference "
        "| source |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results.values():
        sampled = f"{r['turns']}" + (
            f" of {r['test_turns']}" if r["turns"] < r["test_turns"] else ""
        )
        reference = r.get("reference", r["published"])
        source = r.get("reference_source", r["published_source"])
        lines.append(
            f"| {r['corpus']} | {r['lang']} | {sampled} | {r['metric']} "
            f"| {_fmt(r['value'])} ({r['ci95'][0]:.2f}–{r['ci95'][1]:.2f}) "
            f"| {_fmt(reference)} | {source} |"
        )
    lines += ["", "Notes:", ""]
    lines += [f"- **{r['corpus']}**: {r['note']}" for r in results.values()]
    return "\n".join(lines) + "\n"


def write_results(results: dict[str, dict[str, Any]], directory: str | Path) -> Path:
    """Merge into ``public-eval.json`` (one entry per benchmark) and rewrite ``public-eval.md``."""
    path = Path(directory) / "public-eval.json"
    merged = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    merged.update(results)
    ordered = {name: merged[name] for name in BENCHMARKS if name in merged}
    path.write_text(json.dumps(ordered, indent=2, ensure_ascii=False), encoding="utf-8")
    path.with_suffix(".md").write_text(markdown_table(ordered), encoding="utf-8")
    return path
