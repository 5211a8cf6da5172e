"""Review UI under load: 100,000 turns in the store, 20 concurrent clients on loopback.

    .venv/bin/python benchmarks/serve.py [--turns 100000] [--concurrency 20 [1 ...]]
        [--requests 2000] [--workers CORES] [--db postgresql://...] [--keep DIR [--reuse]]

1. Builds a synthetic archive of ``--turns`` turns: real annotated turns of the eight
   languages (data/annotations) as client text, with their labels and evidence as the model's
   flags, in emails, chats and calls of ~``turns / 50`` clients over 26 weeks;
2. loads it with the store's own loader (``load_pairs``) and ranks it (``recompute_clients``),
   timing both;
3. starts the real server (``tonewatch serve --workers N``, uvicorn, default one worker
   process per core) on 127.0.0.1, logs in, and has ``--concurrency`` clients request, each
   as soon as its last answer came, the client list (pages and filters drawn at random:
   language, flag, family, channel, verdict, dates) and conversation pages (drawn at random).
   The clients are coroutines of this one process on raw keep-alive connections (see
   ``Connection``): the generator shares the cores with the server, so it must be cheap;
4. prints p50 / p95 / p99 latency per page and the throughput, with the CPU each request
   cost the server and the load generator, and how many cores other processes took during
   the run (the contention the figures were taken under). Target: p95 under 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tonewatch.config import default_config  # noqa: E402
from tonewatch.schema import (  # noqa: E402
    LABELS,
    Channel,
    Conversation,
    Evidence,
    Flag,
    Location,
    Participant,
    Role,
    Tone,
    ToneResult,
    Turn,
    TurnResult,
)
from tonewatch.serve.deps import SESSION_COOKIE  # noqa: E402

START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
WEEKS = 26
MODEL = "tonewatch-bench@0"
STAFF_LINES = (
    "Thanks for your message, we are looking into it.",
    "Could you please send the signed order form?",
    "The fix is live now. Anything else we can help with?",
)
PASSWORD = "benchmark password"


def annotated_turns() -> list[dict]:
    records = []
    for path in sorted((ROOT / "data" / "annotations").glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            records += [json.loads(line) for line in handle if line.strip()]
    return [r for r in records if r.get("role", "client") == "client" and r["text"].strip()]


def _result(turn: Turn, record: dict | None, rng: random.Random) -> TurnResult:
    labels = set(record["labels"]) if record else set()
    scores = {label: (rng.uniform(0.6, 0.99) if label in labels else rng.uniform(0, 0.2))
              for label in LABELS}  # fmt: skip
    flags = []
    for label in sorted(labels):
        spans = [e for e in record.get("evidence", []) if e["label"] == label]
        evidence = tuple(Evidence.from_span(turn.text, e["start"], e["end"]) for e in spans)
        flags.append(Flag(label=label, score=scores[label], evidence=evidence))
    tone = Tone((record or {}).get("tone") or ("polite" if turn.role == Role.agent else "neutral"))
    return TurnResult(
        id=turn.id,
        lang=turn.lang,
        tone=ToneResult(label=tone, level=tone.level, scores={t: float(t == tone) for t in Tone}),
        scores=scores,
        flags=tuple(flags),
        model=MODEL,
    )


def archive(total_turns: int, seed: int = 13) -> list[tuple[Conversation, list[TurnResult]]]:
    rng = random.Random(seed)
    pool = annotated_turns()
    by_lang: dict[str, list[dict]] = {}
    for record in pool:
        by_lang.setdefault(record["lang"], []).append(record)
    langs = sorted(by_lang)
    n_clients = max(10, total_turns // 50)
    pairs, made, n = [], 0, 0
    while made < total_turns:
        client = rng.randrange(n_clients)
        lang = langs[client % len(langs)]
        zone = timezone(timedelta(hours=(client % 15) - 5))
        channel = rng.choice([Channel.email, Channel.email, Channel.chat, Channel.call])
        size = min(total_turns - made, rng.randint(2, 18))
        when = START + timedelta(days=rng.randrange(WEEKS * 7), hours=rng.randrange(10))
        cid, key = f"bench-{n}", f"client{client}@example.{lang}"
        name = f"Client {client}"
        turns, results = [], []
        for k in range(size):
            client_turn = k % 2 == 0
            record = rng.choice(by_lang[lang]) if client_turn else None
            turn = Turn(
                id=f"{cid}:{k}",
                speaker=name if client_turn else "Anna Weber",
                role=Role.client if client_turn else Role.agent,
                text=record["text"] if record else rng.choice(STAFF_LINES),
                timestamp=(when + timedelta(minutes=37 * k)).astimezone(zone),
                lang=lang if client_turn else "en",
                source=Location(path=f"bench/{channel.value}/{client}.dat", item=n, line=k + 1),
            )
            turns.append(turn)
            if client_turn:
                results.append(_result(turn, record, rng))
        conversation = Conversation(
            id=cid,
            channel=channel,
            client_key=key,
            participants=(
                Participant(name=name, addresses=(key,), role=Role.client),
                Participant(name="Anna Weber", role=Role.agent),
            ),
            turns=tuple(turns),
            source=Location(path=f"bench/{channel.value}/{client}.dat"),
            subject=f"Order {n}" if channel == Channel.email else None,
        )
        pairs.append((conversation, results))
        made += size
        n += 1
    return pairs


def build_store(db: str, turns: int) -> dict[str, float]:
    from tonewatch.serve.store import (
        connect,
        load_pairs,
        migrate,
        recompute_clients,
        session_factory,
    )
    from tonewatch.serve.store.users import add_user

    timings = {}
    started = time.perf_counter()
    pairs = archive(turns)
    timings["build archive"] = time.perf_counter() - started
    engine = connect(db)
    migrate(engine)
    with session_factory(engine)() as session:
        started = time.perf_counter()
        stats = load_pairs(session, pairs)
        timings["load"] = time.perf_counter() - started
        started = time.perf_counter()
        clients = recompute_clients(session, default_config().aggregate)
        timings["rank"] = time.perf_counter() - started
        add_user(session, "bench", "admin", PASSWORD)
        session.commit()
    engine.dispose()
    print(f"store: {stats.added} conversations, {stats.turns} turns, {stats.flags} flags, "
          f"{clients} clients")  # fmt: skip
    return timings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    db: str, port: int, workers: int, log: Path, threads: int | None = None
) -> subprocess.Popen:
    extra = ["--set", f"serve.threads={threads}"] if threads else []
    process = subprocess.Popen(
        [sys.executable, "-c", "from tonewatch.cli import main; main()", "serve",
         "--db", db, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
         "--log-level", "warning", *extra],
        stdout=log.open("w"), stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("server did not start within 120 s")


def log_in(base: str) -> httpx.Cookies:
    with httpx.Client(base_url=base) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)[1]
        answer = client.post(
            "/login", data={"name": "bench", "password": PASSWORD, "csrf_token": token}
        )
        if answer.status_code not in (200, 303):
            raise SystemExit(f"login failed: {answer.status_code}")
        return client.cookies


def client_list_url(rng: random.Random, pages: int) -> str:
    params = {"page": str(rng.randint(1, pages))}
    choice = rng.random()
    if choice < 0.2:
        params["lang"] = rng.choice(["en", "pl", "de", "fr", "es", "ar", "ko", "ka"])
    elif choice < 0.4:
        params["flag"] = rng.choice(LABELS)
        params["page"] = "1"
    elif choice < 0.5:
        params["family"] = rng.choice(["abuse", "leverage", "demands", "payment"])
        params["channel"] = rng.choice(["email", "chat", "call"])
        params["page"] = "1"
    elif choice < 0.6:
        params["verdict"] = rng.choice(["pattern", "incident"])
        params["page"] = "1"
    elif choice < 0.7:
        start = START.date() + timedelta(days=rng.randrange(150))
        params["since"], params["until"] = str(start), str(start + timedelta(days=14))
        params["page"] = "1"
    return "/clients?" + "&".join(f"{k}={v}" for k, v in params.items())


def server_cpu(pid: int) -> dict[int, float]:
    """CPU seconds used so far by the server and each of its worker processes, by pid."""
    import psutil

    root = psutil.Process(pid)
    used = {}
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
            used[process.pid] = times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return used


class Connection:
    """A keep-alive HTTP/1.1 connection that sends prepared GETs and reads the answers.

    The load generator shares the machine's cores with the server, so it must cost next to
    nothing: no HTTP library, just a request line and headers written and the answer read by
    its Content-Length (or chunks). About 0.1 ms of CPU per request (httpx: ~1.5 ms)."""

    def __init__(self, host: str, port: int, cookie: str) -> None:
        self.host, self.port = host, port
        self.head = f"Host: {host}:{port}\r\nCookie: {cookie}\r\n\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        """The status of GET ``path``; the body is read and dropped."""
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + self.head)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lines = head.lower().split(b"\r\n")
        length = next((int(x[15:]) for x in lines if x.startswith(b"content-length:")), None)
        if length is not None:
            await self.reader.readexactly(length)
        elif b"transfer-encoding: chunked" in lines:
            while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readuntil(b"\r\n")
        if b"connection: close" in lines:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def hammer(
    port: int, cookie: str, kind: str, urls: list[str], concurrency: int
) -> list[float]:
    """Every URL once, ``concurrency`` clients at a time, each asking again as soon as it has
    its answer; RETURNS the latencies (a failed request counts, with its time)."""
    latencies: list[float] = []
    errors: list[str] = []
    queue = iter(urls)

    async def client() -> None:
        connection = Connection("127.0.0.1", port, cookie)
        for url in queue:
            started = time.perf_counter()
            try:
                status = await connection.get(url)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                errors.append(f"{url}: {type(exc).__name__}")
                connection.close()
            else:
                if status != 200:
                    errors.append(f"{url}: HTTP {status}")
            latencies.append(time.perf_counter() - started)
        connection.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    if errors:
        print(f"{kind}: {len(errors)} failed requests, e.g. {errors[:3]}")
    return latencies


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (every process, every core)."""
    import psutil

    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def run_load(server: subprocess.Popen, port: int, cookie: str, kind: str, urls: list[str],
             concurrency: int) -> None:  # fmt: skip
    """One measured run, with the CPU it took: the server's, the load generator's and
    everyone else's on the machine (the contention the figures were taken under)."""
    uvloop.run(hammer(port, cookie, kind, urls[:50], concurrency))  # warm up
    server_before, busy_before = server_cpu(server.pid), machine_busy()
    mine_before, started = time.process_time(), time.perf_counter()
    latencies = uvloop.run(hammer(port, cookie, kind, urls, concurrency))
    seconds = time.perf_counter() - started
    mine = time.process_time() - mine_before
    by_process = {k: v - server_before.get(k, 0.0) for k, v in server_cpu(server.pid).items()}
    server_used = sum(by_process.values())
    others = max(0.0, machine_busy() - busy_before - server_used - mine)
    # Keep-alive connections stay with the worker that accepted them, so the workers' shares
    # of the work show how evenly the kernel spread the clients' connections.
    shares = sorted((v / server_used for v in by_process.values() if v > 0.05 * server_used),
                    reverse=True)  # fmt: skip
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100)
    n = len(ms)
    print(f"{kind:<18} {concurrency:>2} clients  n={n:<5} p50 {q[49]:6.1f} ms  "
          f"p95 {q[94]:6.1f} ms  p99 {q[98]:6.1f} ms  {n / seconds:6.1f} req/s  "
          f"CPU/request: server {server_used / n * 1000:4.1f} ms, "
          f"load generator {mine / n * 1000:4.2f} ms; "
          f"other processes {others / seconds:4.2f} cores; "
          f"server CPU by process {'/'.join(f'{x:.0%}' for x in shares)}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=100_000)
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=[20],
        help="clients at a time (several values: one run each)",
    )
    parser.add_argument("--requests", type=int, default=2000, help="per page kind")
    parser.add_argument("--db", help="database URL (default: SQLite in a temp dir)")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="server processes (default: one per core)",
    )
    parser.add_argument(
        "--threads", type=int, help="page threads per server process (default: [serve] threads)"
    )
    parser.add_argument("--keep", type=Path, help="keep the SQLite store in this folder")
    parser.add_argument("--reuse", action="store_true", help="serve the store in --keep as it is")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="tonewatch-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = args.db or f"sqlite:///{folder / 'bench.db'}"
    print(f"{os.cpu_count()} cores; {args.turns} turns; {args.concurrency} concurrent clients; "
          f"{args.workers} server worker process(es); load average {os.getloadavg()[0]:.1f} "
          f"at start")  # fmt: skip
    if not args.reuse:
        for step, seconds in build_store(db, args.turns).items():
            print(f"  {step:<14} {seconds:7.1f} s")
    port = free_port()
    server = start_server(db, port, args.workers, folder / "server.log", args.threads)
    base = f"http://127.0.0.1:{port}"
    try:
        cookies = log_in(base)
        rng = random.Random(5)
        first = httpx.get(base + "/clients", cookies=cookies).text
        pages = int(re.search(r"Page 1 of (\d+)", first)[1])
        from sqlalchemy import func, select

        from tonewatch.serve.store import connect
        from tonewatch.serve.store.models import Conversation as Row

        engine = connect(db)
        with engine.connect() as connection:
            conversations = connection.scalar(select(func.max(Row.id)))
        engine.dispose()
        workloads = {
            "client list": [client_list_url(rng, pages) for _ in range(args.requests)],
            "conversation page": [
                f"/conversations/{rng.randint(1, conversations)}" for _ in range(args.requests)
            ],
        }
        cookie = f"{SESSION_COOKIE}={cookies[SESSION_COOKIE]}"
        for concurrency in args.concurrency:
            for kind, urls in workloads.items():
                run_load(server, port, cookie, kind, urls, concurrency)
    finally:
        server.terminate()
        server.wait(30)
    load = os.getloadavg()[0]
    print(f"checked at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {load:.1f} at the "
          f"end, {os.cpu_count()} cores; store in {folder}")  # fmt: skip


if __name__ == "__main__":
    main()
