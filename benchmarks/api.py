"""HTTP throughput and latency of `tonewatch api` on loopback, next to in-process classify.

    .venv/bin/python benchmarks/api.py [--tier fast | --model DIR] [--clients 1,8,32]
                                       [--requests 300] [--seconds 30] [--json out.json]

1. In this process: the model's classify rate on the same single-turn texts, one turn per
   call (what one request does) and in batches of 64 (the best the model can do).
2. A real server (`tonewatch api`, one worker, API key required) in a subprocess on a free
   loopback port.
3. A load generator written here (asyncio + one pooled httpx client): N concurrent clients,
   each sending single-turn POST /v1/score requests back to back, for at most --requests
   requests or --seconds seconds per level. Latency is measured per request, client side.

Texts are real client turns from data/annotations (all languages), with their language given,
cycled. Nothing leaves 127.0.0.1. Target: at 8 clients the HTTP path keeps >= 70 % of the
in-process rate.
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


def in_process(model: str | None, tier: str, items: list[tuple[str, str]]) -> dict[str, float]:
    from tonewatch.classify.api import load_model
    from tonewatch.classify.pipeline import TurnText

    classifier = load_model(model, tier=tier)
    turns = [TurnText(str(i), text, lang) for i, (text, lang) in enumerate(items)]
    # Warm-up: one turn per language builds its spaCy pipeline (seconds, once per process).
    first = {lang: TurnText("w", text, lang) for text, lang in reversed(items)}
    classifier.predict(list(first.values()))
    start = time.perf_counter()
    for turn in turns:
        classifier.predict([turn])
    single = len(turns) / (time.perf_counter() - start)
    classifier.batch_size = 64
    start = time.perf_counter()
    classifier.predict(turns)
    batched = len(turns) / (time.perf_counter() - start)
    return {"model": classifier.model_id, "per_call": single, "batch64": batched}  # type: ignore[dict-item]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    model: str | None, tier: str, keys_db: Path, port: int, overrides: list[str]
) -> subprocess.Popen[str]:
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
    server = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        if server.poll() is not None:
            raise SystemExit(f"server exited: {server.stderr.read() if server.stderr else ''}")
        if time.monotonic() > deadline:
            server.kill()
            raise SystemExit("server did not come up in 180 s")
        try:
            if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)


async def load(
    url: str,
    key: str,
    items: list[tuple[str, str]],
    clients: int,
    max_requests: int,
    max_seconds: float,
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    sent = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=url, headers={"X-API-Key": key}, limits=limits, timeout=120
    ) as client:
        # Warm the connections and the server's lazy parts.
        await asyncio.gather(
            *(
                client.post(
                    "/v1/score", json={"turns": [{"id": "w", "text": "hello", "lang": "en"}]}
                )
                for _ in range(clients)
            )
        )
        before = (await client.get("/v1/health")).json()
        start = time.perf_counter()
        stop = start + max_seconds

        async def worker() -> None:
            nonlocal sent, errors
            while sent < max_requests and time.perf_counter() < stop:
                text, lang = items[sent % len(items)]
                sent += 1
                body = {"turns": [{"id": str(sent), "text": text, "lang": lang}]}
                t0 = time.perf_counter()
                response = await client.post("/v1/score", json=body)
                latencies.append(time.perf_counter() - t0)
                errors += response.status_code != 200

        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - start
        after = (await client.get("/v1/health")).json()
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
    parser.add_argument("--requests", type=int, default=300, help="Max requests per level.")
    parser.add_argument("--seconds", type=float, default=30, help="Max seconds per level.")
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    parser.add_argument("--set", action="append", default=[], help="Server config override.")
    args = parser.parse_args()
    items = texts()
    load_before = os.getloadavg()[0]
    print(
        f"{len(items)} real client turns, {len({lang for _, lang in items})} languages; "
        f"{os.cpu_count()} CPUs, load average {load_before:.1f}"
    )
    local = in_process(args.model, args.tier, items[: args.requests])
    print(
        f"in-process {local['model']}: {local['per_call']:.1f} turns/s one per call, "
        f"{local['batch64']:.1f} turns/s in batches of 64"
    )
    from tonewatch.api.keys import KeyStore

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        keys_db = Path(tmp) / "keys.sqlite3"
        _, key = KeyStore(keys_db).create("benchmark")
        port = free_port()
        server = start_server(args.model, args.tier, keys_db, port, args.set)
        try:
            for clients in (int(c) for c in args.clients.split(",")):
                row = asyncio.run(
                    load(
                        f"http://127.0.0.1:{port}", key, items, clients, args.requests, args.seconds
                    )
                )
                rows.append(row)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print()
    print(
        "| clients | requests | errors | req/s | p50 ms | p95 ms | p99 ms | turns per model call "
        "| vs in-process per call | vs in-process batch 64 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['clients']} | {r['requests']} | {r['errors']} | {r['rps']:.1f} | "
            f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{r['turns_per_model_call']:.1f} | "
            f"{r['rps'] / local['per_call']:.0%} | {r['rps'] / local['batch64']:.0%} |"
        )
    print(
        f"\nload average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after: other "
        "processes on this machine share the CPUs with the server and the load generator"
    )
    at8 = next((r for r in rows if r["clients"] == 8), None)
    if at8:
        ratio = at8["rps"] / local["batch64"]
        verdict = "met" if ratio >= 0.7 else "NOT met"
        print(
            f"\ntarget (8 clients >= 70% of the in-process batched rate): {verdict} ({ratio:.0%})"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"in_process": local, "http": rows, "load": load_before}, indent=2)
        )


if __name__ == "__main__":
    main()
