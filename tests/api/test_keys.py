"""API keys: shown once, stored only hashed, revocable from the CLI while a server runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tonewatch.api import create_app
from tonewatch.api.keys import KeyStore
from tonewatch.cli import app as cli
from tonewatch.errors import ConfigError


def test_keys_secret_is_never_stored(tmp_path: Path):
    store = KeyStore(tmp_path / "keys.sqlite3")
    record, key = store.create("helpdesk")
    secret = key.split("_", 2)[2]
    raw = (tmp_path / "keys.sqlite3").read_bytes()
    assert secret.encode() not in raw and key.encode() not in raw
    rows = sqlite3.connect(tmp_path / "keys.sqlite3").execute("SELECT salt, hash FROM api_keys")
    [(salt, digest)] = rows.fetchall()
    assert len(salt) == 32 and len(digest) == 64
    assert store.verify(key) == record


def test_keys_verify_rejects_forgeries(tmp_path: Path):
    store = KeyStore(tmp_path / "keys.sqlite3", cache_seconds=0)
    record, key = store.create("helpdesk")
    other_record, other = store.create("chat")
    forged = f"tw_{record.id}_{other.rsplit('_', 1)[1]}"  # right id, another key's secret
    for bad in (forged, key[:-1], key + "x", "", "tw_" + "0" * 12 + "_" + "A" * 43, "\u00e9" * 8):
        assert store.verify(bad) is None, bad
    assert store.verify(other) == other_record


def test_keys_revoke_by_name_or_id(tmp_path: Path):
    store = KeyStore(tmp_path / "keys.sqlite3", cache_seconds=0)
    first, key = store.create("helpdesk")
    store.create("chat")
    [revoked] = store.revoke(first.id)
    assert revoked.id == first.id
    assert store.verify(key).revoked is not None  # genuine but revoked: 403, not 401
    with pytest.raises(ConfigError, match="no active API key"):
        store.revoke("helpdesk")
    assert [k.name for k in store.list() if k.active] == ["chat"]


def test_keys_cli_create_list_revoke(tmp_path: Path):
    db = tmp_path / "cli.sqlite3"
    runner = CliRunner()
    opts = ["--set", f"api.keys_db={db}"]
    created = runner.invoke(
        cli, ["api-key", "create", "--name", "zendesk", "--rate-limit", "30", *opts]
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[0]
    assert key.startswith("tw_")
    [record] = KeyStore(db).list()
    assert record.name == "zendesk" and record.rate_limit_per_minute == 30
    listed = runner.invoke(cli, ["api-key", "list", *opts])
    assert record.id in listed.stdout and "zendesk" in listed.stdout and "30/min" in listed.stdout
    assert key.split("_", 2)[2] not in listed.stdout
    revoked = runner.invoke(cli, ["api-key", "revoke", "zendesk", *opts])
    assert revoked.exit_code == 0 and record.id in revoked.stdout
    again = runner.invoke(cli, ["api-key", "revoke", "zendesk", *opts])
    assert again.exit_code == 1 and "no active API key" in again.output


def test_keys_revoked_key_is_refused_by_a_running_app(classifier, make_config):
    config = make_config()
    app = create_app(config, classifier, warm_up=False)
    store: KeyStore = app.state.tonewatch.keys
    store.cache_seconds = 0
    record, key = store.create("soon revoked")
    body = {"turns": [{"id": "a", "text": "hello"}]}
    with TestClient(app, headers={"X-API-Key": key}) as client:
        assert client.post("/v1/score", json=body).status_code == 200
        KeyStore(config.api.keys_db).revoke(record.id)  # as the CLI would, from outside
        refused = client.post("/v1/score", json=body)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"
        assert record.id in refused.json()["error"]["message"]
