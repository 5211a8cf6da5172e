"""HTTP throughput and latency of `tonewatch api` on loopback, next to in-process classify.

    .venv/bin/python benchmarks/api.py [--tier fast | --model DIR] [--clients 1,8,32]
                                       [--requests 300] [--seconds 60] [--json out.json]

1. In this process: the model's classify rate (``Classifier.predict``) on the same texts, one
   turn per call (what a caller with the same single-turn work gets in-process: the baseline
   of the target), 8 per call (the most that 8 single-turn clients can ever have outstanding)
   and 64 per call (the model's best). Each call is timed, so every HTTP level is compared
   with the in-process rate on exactly the texts it sent (turn costs vary tenfold with length,
   and a level cut short by --seconds sends only the first ones).
2. A real server (`tonewatch api`, one worker, API key required) in a subprocess on a free
   loopback port.
3. A load generator written here (asyncio streams, one keep-alive HTTP/1.1 connection per
   client, requests encoded in advance so the generator costs little CPU): N concurrent
   clients, each sending single-turn POST /v1/score requests back to back, the first --requests
   texts in order, each once, stopping early after --seconds. Latency is measured per request,
   client side.

Texts are real client turns from data/annotations (all languages), with their language given.
Both sides score every text once before they are measured (warm caches, the regime of a
long-running server). Nothing leaves 127.0.0.1. Target: at 8 clients the HTTP path keeps
>= 70 % of the in-process rate for the same single-turn work (one turn per classify call); the
ratios to the batch-8 and batch-64 rates are printed beside it, so what batching buys shows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def texts(limit: int = 600) -> list[tuple[str, str]]:
    from tonewatch.train.gold import read_annotations

    turns = [
        (t.text, t.lang)
        for path in sorted((ROOT / "data" / "annotations").glob("*.jsonl"))
        for t in read_annotations(path)
        if t.role == "client" and t.text.strip()
    ]
    turns.sort(key=lambda pair: zlib.crc32(pair[0].encode()))  # languages interleaved, fixed
    return turns[:limit]


MODES = {"per_call": 1, "batch8": 8, "batch64": 64}  # turns per in-process classify call


def in_process(
    model: str | None, tier: str, items: list[tuple[str, str]]
) -> tuple[str, dict[str, list[tuple[int, float]]]]:
    """The model id and, per mode of MODES, (turns, seconds) of each ``Classifier.predict``
    call over these turns in order."""
    from tonewatch.classify.api import load_model
    from tonewatch.classify.pipeline import TurnText

    classifier = load_model(model, tier=tier)
    turns = [TurnText(str(i), text, lang) for i, (text, lang) in enumerate(items)]
    # Warm-up: every text once. The featurizer remembers each distinct word's n-grams (and
    # spaCy pipelines, lexicon scanners are built on first use), so a first pass costs more
    # than later ones; the server gets the same pass (warm_server) before it is measured.
    classifier.predict(turns)
    calls: dict[str, list[tuple[int, float]]] = {}
    for name, size in MODES.items():
        calls[name] = []
        for i in range(0, len(turns), size):
            chunk = turns[i : i + size]
            start = time.perf_counter()
            classifier.predict(chunk)
            calls[name].append((len(chunk), time.perf_counter() - start))
    return classifier.model_id, calls


def rate(calls: list[tuple[int, float]], first: int) -> float:
    """In-process turns/s over the first ``first`` turns (whole calls: the last may reach past)."""
    turns = seconds = 0.0
    for size, elapsed in calls:
        if turns >= first:
            break
        turns, seconds = turns + size, seconds + elapsed
    return turns / seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    model: str | None, tier: str, keys_db: Path, port: int, overrides: list[str], log: Path
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-c",
        "from tonewatch.cli import main; main()",
        "api",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        *(["--model", model] if model else ["--tier", tier]),
        "--set",
        f"api.keys_db={keys_db}",
        "--set",
        "api.rate_limit_per_minute=100000000",
        "--set",
        "api.rate_limit_burst=1000000",
        *(arg for item in overrides for arg in ("--set", item)),
    ]
    # The server's log (one access line per request) goes to a file: an unread pipe would
    # fill up and stall the server mid-run.
    with log.open("wb") as sink:
        server = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=sink,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        if server.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text(errors='replace')[-4000:]}")
        if time.monotonic() > deadline:
            server.kill()
            raise SystemExit("server did not come up in 180 s")
        try:
            if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)


class Connection:
    """One keep-alive HTTP/1.1 connection, requests pre-encoded: the load generator must cost
    far less CPU than the server it measures (httpx spends milliseconds per request, which on
    a small machine is taken from the server)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def request(
        self, method: str, path: str, key: str, body: bytes = b""
    ) -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode("ascii") + body)
        status_line = await self.reader.readuntil(b"\r\n")
        length = 0
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def warm_server(port: int, key: str, items: list[tuple[str, str]]) -> None:
    """Every text once, 64 turns a request: the same warm-up as the in-process side."""
    connection = await Connection.open(port)
    for start in range(0, len(items), 64):
        turns = [
            {"id": str(i), "text": text, "lang": lang}
            for i, (text, lang) in enumerate(items[start : start + 64])
        ]
        status, body = await connection.request(
            "POST", "/v1/score", key, json.dumps({"turns": turns}).encode()
        )
        if status != 200:
            raise SystemExit(f"warm-up request failed: {status} {body[:300]!r}")
    await connection.close()


async def load(
    port: int,
    key: str,
    items: list[tuple[str, str]],
    clients: int,
    max_requests: int,
    max_seconds: float,
) -> dict[str, Any]:
    """``clients`` connections, each sending single-turn requests back to back."""
    bodies = [
        json.dumps({"turns": [{"id": str(i), "text": text, "lang": lang}]}).encode()
        for i, (text, lang) in enumerate(items)
    ]
    connections = [await Connection.open(port) for _ in range(clients)]
    warm = json.dumps({"turns": [{"id": "w", "text": "hello", "lang": "en"}]}).encode()
    await asyncio.gather(*(c.request("POST", "/v1/score", key, warm) for c in connections))
    before = json.loads((await connections[0].request("GET", "/v1/health", key))[1])
    latencies: list[float] = []
    errors = sent = 0
    start = time.perf_counter()
    stop = start + max_seconds

    async def worker(connection: Connection) -> None:
        nonlocal sent, errors
        while sent < max_requests and time.perf_counter() < stop:
            body = bodies[sent % len(bodies)]
            sent += 1
            t0 = time.perf_counter()
            status, _ = await connection.request("POST", "/v1/score", key, body)
            latencies.append(time.perf_counter() - t0)
            errors += status != 200

    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = time.perf_counter() - start
    after = json.loads((await connections[0].request("GET", "/v1/health", key))[1])
    for connection in connections:
        await connection.close()
    calls = after["model_calls"] - before["model_calls"]
    ms = np.array(latencies) * 1000
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 2),
        "rps": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "p99_ms": float(np.percentile(ms, 99)),
        "turns_per_model_call": (after["turns_scored"] - before["turns_scored"]) / max(calls, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="Model directory (default: the tier's shipped model).")
    parser.add_argument("--tier", default="fast", help="default or fast (default: fast).")
    parser.add_argument("--clients", default="1,8,32", help="Concurrency levels.")
    parser.add_argument(
        "--requests", type=int, default=300, help="Texts (and so requests) per level."
    )
    parser.add_argument("--seconds", type=float, default=60, help="Max seconds per level.")
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    parser.add_argument("--set", action="append", default=[], help="Server config override.")
    args = parser.parse_args()
    items = texts(args.requests)
    load_before = os.getloadavg()[0]
    print(
        f"{len(items)} real client turns, {len({lang for _, lang in items})} languages; "
        f"{os.cpu_count()} CPUs, load average {load_before:.1f}"
    )
    model_id, calls = in_process(args.model, args.tier, items)
    whole = {name: rate(c, len(items)) for name, c in calls.items()}
    print(
        f"in-process classify, {model_id}, all {len(items)} texts: "
        f"{whole['per_call']:.1f} turns/s one turn per call, {whole['batch8']:.1f} in calls of "
        f"8, {whole['batch64']:.1f} in calls of 64"
    )
    from tonewatch.api.keys import KeyStore

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        keys_db = Path(tmp) / "keys.sqlite3"
        _, key = KeyStore(keys_db).create("benchmark")
        port = free_port()
        server = start_server(
            args.model, args.tier, keys_db, port, args.set, Path(tmp) / "server.log"
        )
        try:
            asyncio.run(warm_server(port, key, items))
            for clients in (int(c) for c in args.clients.split(",")):
                row = asyncio.run(load(port, key, items, clients, args.requests, args.seconds))
                rows.append(row)
        finally:
            server.terminate()
            server.wait(timeout=30)
    for r in rows:  # in-process rates on exactly the texts this level sent
        r["in_process"] = {name: rate(c, r["requests"]) for name, c in calls.items()}
    print(
        "\nHTTP: single-turn POST /v1/score, one worker; in-process: classify on the same texts "
        "(turns/s); HTTP / in-process in the last three columns\n"
    )
    print(
        "| clients | requests | errors | req/s | p50 ms | p95 ms | p99 ms | turns per model call "
        "| in-process 1 per call | 8 per call | 64 per call "
        "| HTTP / 1 per call | HTTP / 8 per call | HTTP / 64 per call |"
    )
    print("|---" * 14 + "|")
    for r in rows:
        local = r["in_process"]
        print(
            f"| {r['clients']} | {r['requests']} | {r['errors']} | {r['rps']:.1f} | "
            f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{r['turns_per_model_call']:.1f} | {local['per_call']:.1f} | "
            f"{local['batch8']:.1f} | {local['batch64']:.1f} | "
            f"{r['rps'] / local['per_call']:.0%} | {r['rps'] / local['batch8']:.0%} | "
            f"{r['rps'] / local['batch64']:.0%} |"
        )
    print(
        f"\nload average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after: other "
        "processes on this machine share the CPUs with the server and the load generator"
    )
    at8 = next((r for r in rows if r["clients"] == 8), None)
    if at8:
        local = at8["in_process"]
        ratio = at8["rps"] / local["per_call"]
        print(
            "\ntarget: 8 HTTP clients sending single-turn requests keep >= 70% of in-process "
            "classify on the same single-turn work (one turn per call, same texts, "
            f"{local['per_call']:.1f} turns/s): {'met' if ratio >= 0.7 else 'NOT met'} "
            f"({ratio:.0%}). Against in-process calls of 8 (the most the same concurrency can "
            f"batch): {at8['rps'] / local['batch8']:.0%}; of 64: "
            f"{at8['rps'] / local['batch64']:.0%}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"model": model_id, "in_process": whole, "http": rows, "load": load_before},
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
