"""Batch scoring throughput, memory and scaling: ``tonewatch score`` on an Enron mbox.

Builds an mbox of --messages messages from the Enron bodies in ../shared/datasets/aeslc-enron/
(18,302 records, 17,001 distinct bodies, repeated; every message has its own Message-ID; about
a third are staff replies in a thread, so threading and roles are exercised), then, in the same
run, scores it with ``tonewatch score`` as users run it (a subprocess, a local Dask cluster)
with 1 and with 2 workers, for each tier asked (the default model by default). For each it
prints

* messages/s end to end (wall clock of the whole command: cluster start, model loading,
  planning, scoring, writing);
* peak RSS of the whole process tree (driver with the scheduler, nannies, workers: their RSS
  summed, sampled every 0.2 s) and of each worker process (its own ``getrusage``);
* the 1 -> 2 worker speedup;
* how many turns were scored and how many were repeats answered from the score cache
  ([batch] cache_entries; the benchmark's bodies repeat, as real archives' do).

So that the figures stay honest about repetition it then scores, with 2 workers, an mbox in
which every body occurs once (--unique-messages of them): the rate when nothing repeats.

Targets (a 2-core machine, default model): >= 300 messages/s, peak RSS of the process tree
< 2 GB, >= 1.7x from 1 to 2 workers. Timings are only meaningful on an otherwise idle machine:
the load average before and after each run is printed. Enron is non-commercial data:
benchmarks and tests only.

    .venv/bin/python benchmarks/batch.py                      # 1,000,000 messages (hours)
    .venv/bin/python benchmarks/batch.py --messages 50000 --bodies 850   # the same repetition
    .venv/bin/python benchmarks/batch.py --messages 20000     # 17,001 bodies: little repetition

Each run scores every distinct body once with the model: Enron bodies are long (median ~500
characters, mean ~1,000) and the default model encodes about 3-5 of them per second per core,
so the 17,001 bodies alone take about an hour of CPU per run.
    .venv/bin/python benchmarks/batch.py --messages 20000 --tiers fast

Last measured (2026-11-23, tonewatch-base 1.1.0, 2 CPUs, load average 1.1-2.6, a shared
machine): ``--messages 1000000 --bodies 850 --speedup-messages 200000 --unique-messages 500``:
1,000,000 messages at 1,982 messages/s with 2 workers; peak RSS of the process tree 1,319 MB;
1 -> 2 workers x1.78 on the first 200,000 messages (399 -> 711 messages/s); every body once
(500 bodies): 3.9 messages/s. The three targets hold only because 850 bodies repeat ~1,200
times and the score cache answers the repeats; with all 17,001 bodies (no --bodies) the
distinct bodies alone take over an hour at that uncached rate and 300 messages/s is not
reached. The uncached rate is the default model's speed (benchmarks/classify.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import psutil

from tonewatch.config import default_config

ROOT = Path(__file__).resolve().parents[1]
ENRON = ROOT.parent / "shared" / "datasets" / "aeslc-enron" / "aeslc_enron_emails.jsonl"
STAFF_TOML = '[ingest]\nstaff_domains = ["support.example"]\n'
TARGET_RATE = 300
TARGET_RSS_MB = 2048
TARGET_SPEEDUP = 1.7


def enron(distinct: bool = False) -> list[dict]:
    """The Enron records, in file order; ``distinct``: the first of each body only."""
    records = [json.loads(line) for line in ENRON.open(encoding="utf-8")]
    if distinct:
        records = list({record["body"]: record for record in reversed(records)}.values())[::-1]
    return records


def build_mbox(
    path: Path, messages: int, seed: int = 13, *, distinct: bool = False, bodies: int = 0
) -> int:
    """``messages`` Enron bodies as one mbox (``distinct``: each body once, at most as many
    messages as bodies; ``bodies``: only the first N distinct bodies, repeated); about one in
    three is a staff reply that threads on its client's message (In-Reply-To, References).
    RETURNS the number of distinct bodies in it."""
    rng = random.Random(seed)
    records = enron(distinct or bodies > 0)[: bodies or None]
    messages = min(messages, len(records)) if distinct else messages
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
    return len(
        {records[number % len(records)]["body"] for number in range(min(messages, len(records)))}
    )


class TreeMemory:
    """The peak of the RSS summed over a process and all its descendants (driver, scheduler,
    nannies, workers), sampled every ``every`` seconds on a thread. Summing RSS counts pages
    shared between processes (the model files mapped by each worker) once per process: an
    upper bound of what the tree occupies."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.root, self.every, self.peak = psutil.Process(pid), every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                tree = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                return
            total = 0
            for process in tree:
                with contextlib.suppress(psutil.Error):  # ended since the listing
                    total += process.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def stop(self) -> float:
        """Stop sampling; RETURNS the peak in MB."""
        self._stop.set()
        self._thread.join()
        return self.peak / 2**20


def score(
    archive: Path, outdir: Path, tier: str, workers: int, model: str | None, chunk_turns: int
) -> dict:
    """Run ``tonewatch score`` in a subprocess; RETURNS its summary.json plus wall seconds,
    the process tree's peak RSS and the load average before and after."""
    staff = outdir.parent / "staff.toml"
    staff.write_text(STAFF_TOML, encoding="utf-8")
    command = [
        sys.executable, "-c", "from tonewatch.cli import main; main()", "score", str(archive),
        "-o", str(outdir), "--tier", tier, "--workers", str(workers), "--staff", str(staff),
        "--set", f"batch.chunk_turns={chunk_turns}",
    ]  # fmt: skip
    if model:
        command += ["--model", model]
    before = load()
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    memory = TreeMemory(process.pid)
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    tree_mb = memory.stop()
    if process.returncode != 0:
        raise SystemExit(f"tonewatch score failed ({process.returncode}):\n{stderr}")
    summary = json.loads((outdir / "summary.json").read_text(encoding="utf-8"))
    shutil.rmtree(outdir)  # 1M rows take a gigabyte; the summary is what the benchmark needs
    return {**summary, "wall": seconds, "tree_mb": tree_mb, "output": stdout,
            "load": f"{before} -> {load()}"}  # fmt: skip


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def describe(label: str, run: dict) -> str:
    scored = run["turns"] - run["cached"]
    return (
        f"{label}: {run['messages']:,} messages in {run['wall']:.1f} s = "
        f"{run['messages'] / run['wall']:,.1f} messages/s; {run['turns']:,} turns, "
        f"{scored:,} scored by the model, {run['cached']:,} repeats answered from the cache; "
        f"peak RSS of the process tree {run['tree_mb']:,.0f} MB (workers "
        + ", ".join(f"{mb:,.0f}" for mb in run["worker_rss_mb"].values())
        + f" MB each, driver {run['driver_rss_mb']:,.0f} MB); load {run['load']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument(
        "--speedup-messages",
        type=int,
        default=None,
        help="score only the first N messages for the 1 -> 2 worker comparison (default: all; "
        "use it when two full runs would take too long)",
    )
    parser.add_argument(
        "--unique-messages",
        type=int,
        default=1000,
        help="messages of the no-repetition run (each body once; at most 17,001; 0: skip it)",
    )
    parser.add_argument(
        "--bodies",
        type=int,
        default=0,
        help="use only the first N distinct bodies (default: all 17,001): a smaller run with "
        "the repetition of a bigger one, e.g. --messages 50000 --bodies 850 repeats each body "
        "about as often as 1,000,000 messages do",
    )
    parser.add_argument("--tiers", default="default", help="comma-separated tiers")
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
    cores = len(os.sched_getaffinity(0))

    def chunking(messages: int) -> int:
        return args.chunk_turns or max(1, min(default_config().batch.chunk_turns, messages // 10))

    print(f"cores: {cores}; load average (1/5/15 min) at start: {load()}")
    with tempfile.TemporaryDirectory(prefix="tonewatch-batch-bench-", dir=args.workdir) as tmp:
        workdir = Path(tmp)
        archive = workdir / "enron.mbox"
        started = time.perf_counter()
        distinct = build_mbox(archive, args.messages, bodies=args.bodies)
        size, seconds = archive.stat().st_size / 1e6, time.perf_counter() - started
        print(
            f"built {archive.name}: {args.messages:,} messages, {distinct:,} distinct bodies, "
            f"{size:,.0f} MB, {seconds:.0f} s; {chunking(args.messages)} messages per chunk"
        )
        sliced = archive
        if args.speedup_messages and args.speedup_messages < args.messages:
            sliced = workdir / "slice.mbox"
            build_mbox(sliced, args.speedup_messages, bodies=args.bodies)  # its first messages
            print(f"1 -> 2 workers measured on the first {args.speedup_messages:,} messages")
        results: dict[tuple[str, int, str], dict] = {}
        for tier in args.tiers.split(","):
            for workers, mbox in ((2, archive), (1, sliced), (2, sliced)):
                if (tier, workers, mbox.name) in results:
                    continue  # the full run with 2 workers is the comparison's too
                messages = args.messages if mbox is archive else args.speedup_messages
                run = score(mbox, workdir / "out", tier, workers, models[tier], chunking(messages))
                results[tier, workers, mbox.name] = run
                print(f"\n[{tier}, {workers} worker(s), {mbox.name}]\n{run['output'].strip()}")
        unique = None
        if args.unique_messages:
            once = workdir / "unique.mbox"
            count = build_mbox(once, args.unique_messages, distinct=True)
            tier = args.tiers.split(",")[0]
            unique = score(once, workdir / "out", tier, 2, models[tier], chunking(count))
            print(f"\n[{tier}, 2 workers, every body once]\n{unique['output'].strip()}")

    print()
    for (tier, workers, name), run in results.items():
        print(describe(f"{tier}, {workers} worker(s), {name}", run))
    for tier in dict.fromkeys(tier for tier, _, _ in results):
        full = results[tier, 2, archive.name]
        one, two = results[tier, 1, sliced.name], results[tier, 2, sliced.name]
        rate = full["messages"] / full["wall"]
        speedup = one["wall"] / two["wall"]
        peak = max(run["tree_mb"] for key, run in results.items() if key[0] == tier)
        print(
            f"\n{tier} ({full['model']}), {full['messages']:,} messages ({distinct:,} distinct "
            f"bodies):\n  {rate:,.1f} messages/s with 2 workers (target >= {TARGET_RATE}: "
            f"{'met' if rate >= TARGET_RATE else 'MISSED'})\n  peak RSS of the process tree "
            f"{peak:,.0f} MB (target < {TARGET_RSS_MB}: "
            f"{'met' if peak < TARGET_RSS_MB else 'MISSED'})\n  1 -> 2 workers x{speedup:.2f} "
            f"on {two['messages']:,} messages (target >= {TARGET_SPEEDUP}: "
            f"{'met' if speedup >= TARGET_SPEEDUP else 'MISSED'})"
        )
        if (one["turns"], one["flagged"]) != (two["turns"], two["flagged"]):
            print(
                f"  WARNING: the two runs disagree ({one['turns']} turns / {one['flagged']} "
                f"flagged vs {two['turns']} / {two['flagged']}): was the model replaced on disk?"
            )
    if unique is not None:
        print(f"\n{describe('every body once, 2 workers', unique)}")
        print(
            f"  without repetition: {unique['messages'] / unique['wall']:,.1f} messages/s "
            "(each turn scored by the model): the cache is what carries the rate above"
        )
    print(f"\nload average at the end: {load()} on {cores} cores"
          + (" (the machine was shared: wall-clock timings are contended)"
             if os.getloadavg()[0] > cores else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
