"""Fixtures of the review UI tests: stores (SQLite, and PostgreSQL from scripts/postgres.sh),
the fixture archive of tests/fixtures/report/scenarios.py written as ingest + classify output,
a tiny real model, a logged-in TestClient and the real server on loopback."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tonewatch.config import Config, load_config

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "fixtures" / "report" / "scenarios.py"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
POSTGRES_SCRIPT = ROOT / "scripts" / "postgres.sh"
PASSWORD = "correct horse battery staple"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def load_scenarios() -> ModuleType:
    """The report tests' fixture archive (six clients whose truth is known)."""
    if "report_scenarios" not in sys.modules:
        spec = importlib.util.spec_from_file_location("report_scenarios", SCENARIOS)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["report_scenarios"] = module
        spec.loader.exec_module(module)
    return sys.modules["report_scenarios"]


@pytest.fixture(scope="session")
def scenarios() -> ModuleType:
    return load_scenarios()


@pytest.fixture(scope="session")
def archive(scenarios):
    return scenarios.archive()


@pytest.fixture(scope="session")
def scored_files(tmp_path_factory, archive) -> tuple[Path, Path]:
    """The archive as `tonewatch ingest` output and `tonewatch classify` output."""
    folder = tmp_path_factory.mktemp("scored")
    conversations, results = folder / "conversations.jsonl", folder / "results.jsonl"
    with conversations.open("w") as conv, results.open("w") as res:
        for conversation, found in archive:
            conv.write(conversation.model_dump_json() + "\n")
            for result in found:
                res.write(json.dumps(result.to_contract(), ensure_ascii=False) + "\n")
    return conversations, results


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A real model trained in seconds on configs/tiny.toml."""
    from tonewatch.train.trainer import read_train_config, train

    out = tmp_path_factory.mktemp("model") / "tiny"
    config, text = read_train_config(ROOT / "configs" / "tiny.toml")
    train(config, text, out, base=ROOT, log=lambda _: None)
    return out


# -- stores ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory) -> Iterator[str]:
    """A PostgreSQL server for this test session (scripts/postgres.sh), as its URL."""
    if not any(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("PostgreSQL is not installed (/usr/lib/postgresql/*/bin); scripts/install.sh")
    folder = Path(f"/tmp/tonewatch-pg-tests-{os.getpid()}")
    started = subprocess.run(
        ["bash", str(POSTGRES_SCRIPT), "start", str(folder)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    if started.returncode != 0:
        pytest.fail(f"scripts/postgres.sh start failed:\n{started.stderr}")
    try:
        yield started.stdout.strip()
    finally:
        stopped = subprocess.run(
            ["bash", str(POSTGRES_SCRIPT), "stop", str(folder)], capture_output=True, text=True
        )
        assert not folder.exists(), f"PostgreSQL in {folder} not stopped: {stopped.stderr}"


def _fresh_postgres(server: str) -> str:
    """A new empty database on the session's server, so tests never see each other's rows."""
    import psycopg

    name = f"t{time.monotonic_ns()}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server.rsplit("/", 1)[0] + "/" + name


def _drop_postgres(server: str, url: str) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> Iterator[str]:
    """An empty store, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    url = _fresh_postgres(server)
    yield url
    _drop_postgres(server, url)


@pytest.fixture
def config(db_url) -> Config:
    return load_config(overrides=[f"serve.db={db_url}"])


@pytest.fixture
def engine(config) -> Iterator[Engine]:
    from tonewatch.serve.store import connect, migrate

    engine = connect(config.serve.db)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine) -> Iterator[Session]:
    from tonewatch.serve.store import session_factory

    with session_factory(engine)() as session:
        yield session


@pytest.fixture(scope="session")
def password_hash() -> str:
    """PASSWORD hashed once (argon2 is slow on purpose)."""
    from tonewatch.serve.security import hash_password

    return hash_password(PASSWORD)


@pytest.fixture
def loaded(session, archive, config, password_hash) -> Session:
    """A store holding the archive, ranked, with one account per role (password PASSWORD)."""
    from tonewatch.serve.store import load_pairs, recompute_clients
    from tonewatch.serve.store.db import utcnow
    from tonewatch.serve.store.models import User

    load_pairs(session, archive)
    recompute_clients(session, config.aggregate)
    for name, role in (("rita", "reviewer"), ("lena", "lead"), ("adam", "admin")):
        session.add(User(name=name, role=role, password_hash=password_hash, created_at=utcnow()))
    session.commit()
    return session


# -- the web app -------------------------------------------------------------------------


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def log_in(client, name: str, password: str = PASSWORD) -> httpx.Response:
    form = client.get("/login")
    token = CSRF.search(form.text).group(1)
    return client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


@pytest.fixture
def app(loaded, engine, config):
    from tonewatch.serve import create_app

    return create_app(config, engine=engine)


@pytest.fixture
def client_as(app):
    """``client_as("rita")``: a TestClient logged in as that user, and its CSRF token."""
    from fastapi.testclient import TestClient

    clients = []

    def make(name: str):
        client = TestClient(app)
        clients.append(client)
        assert log_in(client, name).status_code == 303
        client.csrf = CSRF.search(client.get("/clients").text).group(1)
        return client

    yield make
    for client in clients:
        client.close()


# -- the real server ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    db: str
    process: subprocess.Popen


def tonewatch(*args: str, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess:
    """Run the real ``tonewatch`` command line."""
    return subprocess.run(
        [sys.executable, "-c", "from tonewatch.cli import main; main()", *args],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, **kw,
    )  # fmt: skip


def start_server(db: str, cwd: Path, workers: int = 1) -> LiveServer:
    port = free_port()
    log = (cwd / "server.log").open("w")  # a pipe nobody reads would fill up and block it
    process = subprocess.Popen(
        [sys.executable, "-c", "from tonewatch.cli import main; main()",
         "serve", "--db", db, "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers)],
        cwd=cwd, stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tonewatch serve exited:\n{(cwd / 'server.log').read_text()}")
        try:
            if httpx.get(url + "/login", timeout=2).status_code == 200:
                return LiveServer(url, db, process)
        except httpx.TransportError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("tonewatch serve did not answer within 90 s")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
