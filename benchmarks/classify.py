"""Classify throughput and memory, default vs fast tier, measured in one run.

    .venv/bin/python benchmarks/classify.py [--turns 512]

Each tier runs in its own subprocess so its peak RSS is its own. Turns are real client turns
from the project's annotations (all eight languages), cycled to the requested count.
Targets on 2 cores: default >= 100 turns/s, fast >= 2,000 turns/s (batch 256).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(tier: str, n: int) -> dict[str, float]:
    from tonewatch.classify.api import load_model
    from tonewatch.classify.pipeline import TurnText
    from tonewatch.train.gold import read_annotations

    gold = [
        t
        for p in sorted((ROOT / "data" / "annotations").glob("*.jsonl"))
        for t in read_annotations(p)
    ]
    items = [TurnText(str(i), gold[i % len(gold)].text, gold[i % len(gold)].lang) for i in range(n)]
    classifier = load_model(tier=tier)
    classifier.predict(items[:8])  # warm-up: load the encoder, spaCy pipelines
    out: dict[str, float] = {}
    singles = items[: max(16, n // 16)]
    start = time.perf_counter()
    for item in singles:
        classifier.predict([item])
    out["batch1_turns_per_s"] = len(singles) / (time.perf_counter() - start)
    classifier.batch_size = 256
    start = time.perf_counter()
    results = classifier.predict(items)
    out["batch256_turns_per_s"] = n / (time.perf_counter() - start)
    out["flagged_share"] = sum(bool(r.flags) for r in results) / n
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=1024)
    parser.add_argument("--tier", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tier:  # child process
        print(json.dumps(measure(args.tier, args.turns)))
        return
    rows = {}
    for tier in ("default", "fast"):
        proc = subprocess.run(
            [sys.executable, __file__, "--tier", tier, "--turns", str(args.turns)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows[tier] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f"{'tier':<8} {'batch 1 (turns/s)':>18} {'batch 256 (turns/s)':>20} {'peak RSS (MB)':>14}"
    )
    for tier, r in rows.items():
        print(
            f"{tier:<8} {r['batch1_turns_per_s']:>18.1f} {r['batch256_turns_per_s']:>20.1f} "
            f"{r['peak_rss_mb']:>14.0f}"
        )
    ratio = rows["fast"]["batch256_turns_per_s"] / rows["default"]["batch256_turns_per_s"]
    print(
        f"fast tier is {ratio:.1f}x the default at batch 256 "
        "(targets: default >= 100 turns/s, fast >= 2000 turns/s, fast >= 10x)"
    )


if __name__ == "__main__":
    main()
