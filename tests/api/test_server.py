"""The real server on loopback: uvicorn in a thread, and `tonewatch api` as a user starts it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_url(app: FastAPI) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_server_serves_v1_and_perspective_over_tcp(live_url: str, api_key: str):
    with httpx.Client(base_url=live_url, timeout=30) as client:
        assert client.get("/v1/health").json()["status"] == "ok"
        spec = client.get("/openapi.json")
        assert spec.status_code == 200 and "/v1/score" in spec.json()["paths"]
        scored = client.post(
            "/v1/score",
            headers={"X-API-Key": api_key},
            json={"turns": [{"id": "1", "text": "My lawyer will contact you tomorrow."}]},
        )
        assert scored.status_code == 200, scored.text
        assert scored.json()["results"][0]["id"] == "1"
        analyzed = client.post(
            f"/v1alpha1/comments:analyze?key={api_key}",
            json={
                "comment": {"text": "You are an idiot."},
                "languages": ["en"],
                "requestedAttributes": {"TOXICITY": {}, "TW_PERSONAL_ATTACK": {}},
            },
        )
        assert analyzed.status_code == 200, analyzed.text
        assert set(analyzed.json()["attributeScores"]) == {"TOXICITY", "TW_PERSONAL_ATTACK"}


def test_server_concurrent_clients_all_answered(live_url: str, api_key: str):
    import asyncio

    async def main() -> list[int]:
        async with httpx.AsyncClient(
            base_url=live_url, timeout=60, headers={"X-API-Key": api_key}
        ) as client:
            calls = [
                client.post(
                    "/v1/score",
                    json={
                        "turns": [{"id": str(i), "text": f"Order {i} is late again, fix it now!"}]
                    },
                )
                for i in range(40)
            ]
            responses = await asyncio.gather(*calls)
        assert [r.json()["results"][0]["id"] for r in responses] == [str(i) for i in range(40)]
        return [r.status_code for r in responses]

    assert set(asyncio.run(main())) == {200}


def tonewatch_cli(*args: str) -> list[str]:
    """The `tonewatch` command, run by this interpreter."""
    return [sys.executable, "-c", "from tonewatch.cli import main; main()", *args]


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_server_started_by_the_cli_with_a_cli_created_key(
    tmp_path: Path, workers: int, model_override: str | None, perspective_map: str
):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    opts = [
        "--set",
        f"api.keys_db={tmp_path / 'keys.sqlite3'}",
        "--set",
        f"api.perspective_map={perspective_map}",
    ]
    created = subprocess.run(
        tonewatch_cli("api-key", "create", "--name", "cli-test", *opts),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    key = created.stdout.strip()
    port = free_port()
    model = ["--model", model_override] if model_override else ["--tier", "fast"]
    command = tonewatch_cli("api", "--port", str(port), "--workers", str(workers), *model, *opts)
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "the API did not come up in 120 s"
            try:
                if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.25)
        body = {"turns": [{"id": "x", "text": "Ich schalte meinen Anwalt ein.", "lang": "de"}]}
        assert httpx.post(f"{url}/v1/score", json=body).status_code == 401
        scored = httpx.post(f"{url}/v1/score", json=body, headers={"X-API-Key": key}, timeout=30)
        assert scored.status_code == 200, scored.text
        assert json.loads(scored.text)["results"][0]["lang"] == "de"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout:
            server.stdout.close()
