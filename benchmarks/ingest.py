"""Ingest throughput and memory: ``tonewatch ingest`` against a bare stdlib mbox parse.

Builds an mbox of --messages messages from the Enron bodies in ../shared/datasets/aeslc-enron/
(repeated; every message has its own Message-ID; about a third are replies with In-Reply-To
and References, so threading and the fragment merge are exercised; replies come from a staff
domain, so roles are too). In the same run it times

* a bare ``mailbox.mbox`` parse of the file (every message parsed, nothing else), and
* ``tonewatch ingest`` on it, as a user runs it: a subprocess writing JSON Lines, whose peak
  RSS comes from ``os.wait4`` (the child's own ``getrusage``, RUSAGE_CHILDREN-style, per child).

Memory must stay flat in the archive's size, so the ingest runs at --flat-check messages too
(default: a quarter of --messages) and both peaks are printed. Enron is non-commercial data:
benchmarks and tests only.

    .venv/bin/python benchmarks/ingest.py                  # 200,000 messages (minutes)
    .venv/bin/python benchmarks/ingest.py --messages 20000 # quick
"""

from __future__ import annotations

import argparse
import json
import mailbox
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENRON = ROOT.parent / "shared" / "datasets" / "aeslc-enron" / "aeslc_enron_emails.jsonl"
TARGET_RATIO = 0.5
TARGET_RSS_MB = 500
STAFF_TOML = '[ingest]\nstaff_domains = ["support.example"]\n'


def build_mbox(path: Path, messages: int, seed: int = 13) -> None:
    """An mbox of ``messages`` Enron bodies; about one in three is a reply in a thread."""
    rng = random.Random(seed)
    records = [json.loads(line) for line in ENRON.open(encoding="utf-8")]
    start = datetime(2001, 1, 1, 8, tzinfo=UTC)
    open_threads: list[tuple[str, str, str]] = []  # (root id, last id, subject)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for number in range(messages):
            record = records[number % len(records)]
            message_id = f"<{number}.{number % len(records)}@bench.enron.com>"
            client = f"client{rng.randrange(5000)}@enron.com"
            headers = []
            if open_threads and rng.random() < 0.35:
                slot = rng.randrange(len(open_threads))
                root, last, subject = open_threads[slot]
                sender, to = f"agent{rng.randrange(40)}@support.example", client
                headers += [
                    f"Subject: Re: {subject}",
                    f"In-Reply-To: {last}",
                    f"References: {root} {last}",
                ]
                open_threads[slot] = (root, message_id, subject)
            else:
                subject = " ".join(record["subject"].split()) or "(no subject)"
                sender, to = client, "help@support.example"
                headers.append(f"Subject: {subject}")
                open_threads.append((message_id, message_id, subject))
                if len(open_threads) > 2000:  # old threads go quiet
                    open_threads.pop(rng.randrange(len(open_threads)))
            stamp = format_datetime(start + timedelta(minutes=7 * number))
            body = "\n".join(
                ">" + line if line.startswith("From ") else line
                for line in record["body"].splitlines()
            )
            out.write(
                f"From {sender} Mon Jan  1 08:00:00 2001\n"
                f"From: {sender}\nTo: {to}\nDate: {stamp}\nMessage-ID: {message_id}\n"
                + "\n".join(headers)
                + "\nContent-Type: text/plain; charset=utf-8\n\n"
                + body
                + "\n\n"
            )


def bare_parse(path: Path) -> tuple[int, float]:
    """Messages parsed by a bare ``mailbox.mbox`` loop, and the seconds it took."""
    started = time.perf_counter()
    box = mailbox.mbox(path, create=False)
    count = sum(1 for _ in box)
    box.close()
    return count, time.perf_counter() - started


def reader_alone(path: Path) -> float:
    """Seconds the mbox reader alone takes (parse, decode, quote stripping, threading)."""
    import tonewatch.ingest.email  # noqa: F401  (registers the email readers)
    from tonewatch.config import default_config
    from tonewatch.registry import readers

    reader = readers.get("tonewatch.mbox.v1")()
    started = time.perf_counter()
    for _ in reader.read(path, default_config().ingest):
        pass
    return time.perf_counter() - started


def tonewatch_ingest(path: Path, workdir: Path) -> tuple[float, float, str]:
    """Seconds and peak RSS (MB) of ``tonewatch ingest`` in a subprocess, and its summary."""
    staff = workdir / "staff.toml"
    staff.write_text(STAFF_TOML, encoding="utf-8")
    command = [
        sys.executable,
        "-c",
        "from tonewatch.cli import main; main()",
        "ingest",
        str(path),
        "-o",
        str(workdir / f"{path.stem}.jsonl"),
        "--staff",
        str(staff),
    ]
    env = {**os.environ, "TMPDIR": str(workdir)}  # the fragment spool goes beside the data
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    assert child.stdout is not None
    output = child.stdout.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"tonewatch ingest failed ({child.returncode}):\n{output}")
    return seconds, usage.ru_maxrss / 1024, output  # ru_maxrss is in KiB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument(
        "--flat-check",
        type=int,
        default=None,
        help="smaller size for the memory comparison (default: messages / 4; 0 to skip)",
    )
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary dir")
    args = parser.parse_args(argv)
    flat = args.messages // 4 if args.flat_check is None else args.flat_check

    with tempfile.TemporaryDirectory(prefix="tonewatch-bench-", dir=args.workdir) as tmp:
        workdir = Path(tmp)
        sizes = [n for n in (flat, args.messages) if n]
        rows = []
        for size in sizes:
            archive = workdir / f"enron-{size}.mbox"
            build_mbox(archive, size)
            count, bare_seconds = bare_parse(archive)
            alone = size / reader_alone(archive)
            seconds, rss, summary = tonewatch_ingest(archive, workdir)
            rows.append(
                (size, archive.stat().st_size, count / bare_seconds, alone, size / seconds, rss)
            )
            print(summary.strip(), "\n")
            archive.unlink()

    print(
        f"{'messages':>9} {'mbox MB':>8} {'bare mailbox':>13} {'mbox reader':>12} "
        f"{'tonewatch ingest':>17} {'ratio':>6} {'peak RSS':>9}"
    )
    for size, nbytes, bare_rate, alone, rate, rss in rows:
        print(
            f"{size:>9,} {nbytes / 1e6:>8.1f} {bare_rate:>9,.0f} m/s {alone:>8,.0f} m/s "
            f"{rate:>13,.0f} m/s {rate / bare_rate:>6.2f} {rss:>6.0f} MB"
        )
    print(
        "(mbox reader: the email reader alone, in process; tonewatch ingest: the whole "
        "command in a subprocess: start-up, reading, merge, roles, langid, JSON output)"
    )
    size, _, bare_rate, _, rate, rss = rows[-1]
    print(
        f"\ntarget: tonewatch >= {TARGET_RATIO:.0%} of the bare parse: "
        f"{'met' if rate >= TARGET_RATIO * bare_rate else 'MISSED'} ({rate / bare_rate:.0%}); "
        f"peak RSS < {TARGET_RSS_MB} MB: {'met' if rss < TARGET_RSS_MB else 'MISSED'}"
    )
    if len(rows) == 2:
        growth = rows[1][5] / rows[0][5]
        print(
            f"peak RSS at {rows[1][0]:,} vs {rows[0][0]:,} messages: x{growth:.2f} "
            f"for x{rows[1][0] / rows[0][0]:.0f} the messages"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
