"""Batch scoring throughput, memory and scaling: ``tonewatch score`` on an Enron mbox.

Builds an mbox of --messages messages from the Enron bodies in ../shared/datasets/aeslc-enron/
(repeated; every message has its own Message-ID; about a third are staff replies in a thread,
so threading and roles are exercised), then, in the same run, scores it with ``tonewatch
score`` as users run it (a subprocess, a local Dask cluster) with 1 and with 2 workers, for
each tier asked (the default model and the fast tier by default). For each it prints

* messages/s end to end (wall clock of the whole command: cluster start, model loading,
  planning, scoring, writing);
* peak RSS of the driver and of each worker process (each process's own ``getrusage``,
  written to OUTDIR/summary.json by the run);
* the 1 -> 2 worker speedup.

Targets (a 2-core machine, default model): >= 300 messages/s, peak RSS < 2 GB per process,
>= 1.7x from 1 to 2 workers. Timings are only meaningful on an otherwise idle machine: the
load average before and after each run is printed. Enron is non-commercial data: benchmarks
and tests only.

    .venv/bin/python benchmarks/batch.py                      # 1,000,000 messages (hours)
    .venv/bin/python benchmarks/batch.py --messages 20000     # minutes
    .venv/bin/python benchmarks/batch.py --messages 20000 --tiers fast
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from tonewatch.config import default_config

ROOT = Path(__file__).resolve().parents[1]
ENRON = ROOT.parent / "shared" / "datasets" / "aeslc-enron" / "aeslc_enron_emails.jsonl"
STAFF_TOML = '[ingest]\nstaff_domains = ["support.example"]\n'
TARGET_RATE = 300
TARGET_RSS_MB = 2048
TARGET_SPEEDUP = 1.7


def build_mbox(path: Path, messages: int, seed: int = 13) -> None:
    """``messages`` Enron bodies as one mbox; about one in three is a staff reply that
    threads on its client's message (In-Reply-To, References)."""
    rng = random.Random(seed)
    records = [json.loads(line) for line in ENRON.open(encoding="utf-8")]
    start = datetime(2001, 1, 1, 8, tzinfo=UTC)
    threads: list[tuple[str, str, str, str]] = []  # (client, root id, last id, subject)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for number in range(messages):
            record = records[number % len(records)]
            message_id = f"<{number}.{number % len(records)}@bench.enron.com>"
            if threads and rng.random() < 0.35:
                slot = rng.randrange(len(threads))
                client, root, last, subject = threads[slot]
                sender, to = f"agent{rng.randrange(40)}@support.example", client
                headers = [f"Subject: Re: {subject}", f"In-Reply-To: {last}",
                           f"References: {root} {last}"]  # fmt: skip
                threads[slot] = (client, root, message_id, subject)
            else:
                client = f"client{rng.randrange(5000)}@enron.com"
                subject = " ".join(record["subject"].split()) or "(no subject)"
                sender, to = client, "help@support.example"
                headers = [f"Subject: {subject}"]
                threads.append((client, message_id, message_id, subject))
                if len(threads) > 2000:  # old threads go quiet
                    threads.pop(rng.randrange(len(threads)))
            body = "\n".join(
                ">" + line if line.startswith("From ") else line
                for line in record["body"].splitlines()
            )
            out.write(
                f"From {sender} Mon Jan  1 08:00:00 2001\n"
                f"From: {sender}\nTo: {to}\n"
                f"Date: {format_datetime(start + timedelta(minutes=7 * number))}\n"
                f"Message-ID: {message_id}\n" + "\n".join(headers) + "\n"
                "Content-Type: text/plain; charset=utf-8\n\n" + body + "\n\n"
            )


def score(
    archive: Path, outdir: Path, tier: str, workers: int, model: str | None, chunk_turns: int
) -> dict:
    """Run ``tonewatch score`` in a subprocess; RETURNS its summary.json plus wall seconds."""
    staff = outdir.parent / "staff.toml"
    staff.write_text(STAFF_TOML, encoding="utf-8")
    command = [
        sys.executable, "-c", "from tonewatch.cli import main; main()", "score", str(archive),
        "-o", str(outdir), "--tier", tier, "--workers", str(workers), "--staff", str(staff),
        "--set", f"batch.chunk_turns={chunk_turns}",
    ]  # fmt: skip
    if model:
        command += ["--model", model]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"tonewatch score failed ({done.returncode}):\n{done.stderr}")
    summary = json.loads((outdir / "summary.json").read_text(encoding="utf-8"))
    return {**summary, "wall": seconds, "output": done.stdout}


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--tiers", default="default,fast", help="comma-separated tiers")
    parser.add_argument("--model", help="model directory for the default tier")
    parser.add_argument("--fast-model", help="model directory for the fast tier")
    parser.add_argument(
        "--chunk-turns",
        type=int,
        default=None,
        help="messages per chunk (default: [batch] chunk_turns, at most messages / 10 so that "
        "both workers get several chunks)",
    )
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary dir")
    args = parser.parse_args(argv)
    models = {"default": args.model, "fast": args.fast_model}
    chunk_turns = args.chunk_turns or max(
        1, min(default_config().batch.chunk_turns, args.messages // 10)
    )
    print(f"cores: {len(os.sched_getaffinity(0))}; load average (1/5/15 min) at start: {load()}; "
          f"{chunk_turns} messages per chunk")  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="tonewatch-batch-bench-", dir=args.workdir) as tmp:
        workdir = Path(tmp)
        archive = workdir / "enron.mbox"
        started = time.perf_counter()
        build_mbox(archive, args.messages)
        size, seconds = archive.stat().st_size / 1e6, time.perf_counter() - started
        print(f"built {archive.name}: {args.messages:,} messages, {size:,.0f} MB, {seconds:.0f} s")
        results: dict[tuple[str, int], dict] = {}
        for tier in args.tiers.split(","):
            for workers in (1, 2):
                before = load()
                out = workdir / f"out-{tier}-{workers}"
                run = score(archive, out, tier, workers, models[tier], chunk_turns)
                run["load"] = f"{before} -> {load()}"
                results[tier, workers] = run
                print(
                    f"\n[{tier}, {workers} worker(s)] load {run['load']}\n{run['output'].strip()}"
                )

    print(f"\n{'tier':<8} {'workers':>7} {'messages':>9} {'seconds':>8} {'msg/s':>7} "
          f"{'CPU ms/msg':>10} {'driver RSS':>11} {'worker RSS (peak each)':>23}  "
          "load before -> after")  # fmt: skip
    for (tier, workers), run in results.items():
        rss = ", ".join(f"{mb:,.0f}" for mb in run["worker_rss_mb"].values())
        cpu_ms = 1000 * run["cpu_seconds"] / run["messages"]
        print(f"{tier:<8} {workers:>7} {run['messages']:>9,} {run['wall']:>8.1f} "
              f"{run['messages'] / run['wall']:>7.1f} {cpu_ms:>10.1f} "
              f"{run['driver_rss_mb']:>8,.0f} MB {rss:>20} MB  {run['load']}")  # fmt: skip
    print(
        "\nseconds and msg/s: wall clock of the whole command (start-up included); CPU ms/msg: "
        "the workers' CPU time per message (model loading included), which contention from "
        "other processes barely changes: 2000 / (CPU ms/msg) is what 2 free cores would reach."
    )
    for tier in dict.fromkeys(tier for tier, _ in results):
        one, two = results[tier, 1], results[tier, 2]
        rate = two["messages"] / two["wall"]
        speedup = (one["wall"] / two["wall"]) if two["wall"] else 0.0
        cpu_rate = 2 * two["messages"] / two["cpu_seconds"]
        cpu_scaling = 2 * one["cpu_seconds"] / two["cpu_seconds"]
        peak = max([two["driver_rss_mb"], *two["worker_rss_mb"].values(),
                    one["driver_rss_mb"], *one["worker_rss_mb"].values()])  # fmt: skip
        print(
            f"\n{tier} ({two['model']}): {rate:,.1f} messages/s with 2 workers "
            f"(target >= {TARGET_RATE}: {'met' if rate >= TARGET_RATE else 'MISSED'}); "
            f"peak RSS of any process {peak:,.0f} MB (target < {TARGET_RSS_MB}: "
            f"{'met' if peak < TARGET_RSS_MB else 'MISSED'}); 1 -> 2 workers x{speedup:.2f} "
            f"(target >= {TARGET_SPEEDUP}: {'met' if speedup >= TARGET_SPEEDUP else 'MISSED'})"
            f"\n  CPU-bound: {cpu_rate:,.1f} messages/s on 2 free cores; 1 -> 2 workers "
            f"x{cpu_scaling:.2f} by CPU time (2.00 = no parallel overhead)"
        )
        if (one["turns"], one["flagged"]) != (two["turns"], two["flagged"]):
            print(
                f"  WARNING: the two runs disagree ({one['turns']} turns / {one['flagged']} "
                f"flagged vs {two['turns']} / {two['flagged']}): was the model replaced on disk?"
            )
    cores = len(os.sched_getaffinity(0))
    print(f"\nload average at the end: {load()} on {cores} cores"
          + (" (the machine was shared: wall-clock timings are contended)"
             if os.getloadavg()[0] > cores else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
