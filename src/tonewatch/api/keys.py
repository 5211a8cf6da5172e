"""API keys: a random secret shown once, stored only as a salted SHA-256 hash.

A key reads ``tw_<id>_<secret>``: the 12-hex ``id`` finds the row without scanning, the
256-bit ``secret`` is what proves possession. The secret is high-entropy, so one salted SHA-256
is enough (a slow password hash protects guessable secrets, which these are not) and keeps
verification cheap on every request. Keys live in a small SQLite file so the CLI can create or
revoke them while servers run; a server re-reads a key at most ``cache_seconds`` later.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tonewatch.errors import ConfigError

KEY_PATTERN = re.compile(r"^tw_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    salt TEXT NOT NULL,
    hash TEXT NOT NULL,
    created TEXT NOT NULL,
    revoked TEXT,
    rate_limit_per_minute INTEGER
)
"""


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: str
    name: str
    created: str
    revoked: str | None
    rate_limit_per_minute: int | None  # None: the server's [api] rate_limit_per_minute

    @property
    def active(self) -> bool:
        return self.revoked is None


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode("ascii")).hexdigest()


class KeyStore:
    """``create`` / ``list`` / ``revoke`` for the CLI, ``verify`` for the server."""

    def __init__(self, path: str | Path, *, cache_seconds: float = 5.0) -> None:
        self.path = Path(path)
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, KeyRecord | None]] = {}
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10)
            conn.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise ConfigError(f"{self.path}: cannot open the API key store ({exc})") from exc
        return conn

    def create(self, name: str, rate_limit_per_minute: int | None = None) -> tuple[KeyRecord, str]:
        """A new key; RETURNS the record and the full key, which is never stored or shown again."""
        if not name.strip():
            raise ConfigError("an API key needs a non-empty --name")
        if rate_limit_per_minute is not None and rate_limit_per_minute <= 0:
            raise ConfigError(f"--rate-limit must be positive, got {rate_limit_per_minute}")
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        record = KeyRecord(
            key_id,
            name.strip(),
            datetime.now(UTC).isoformat(timespec="seconds"),
            None,
            rate_limit_per_minute,
        )
        conn = self._connect()
        with conn:
            conn.execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, NULL, ?)",
                (
                    key_id,
                    record.name,
                    salt,
                    _digest(salt, secret),
                    record.created,
                    rate_limit_per_minute,
                ),
            )
        conn.close()
        return record, f"tw_{key_id}_{secret}"

    def list(self) -> list[KeyRecord]:
        conn = self._connect()
        rows = conn.execute(
            "SELECT id, name, created, revoked, rate_limit_per_minute FROM api_keys "
            "ORDER BY created, id"
        ).fetchall()
        conn.close()
        return [KeyRecord(*row) for row in rows]

    def revoke(self, name_or_id: str) -> list[KeyRecord]:
        """Revoke the active keys with this id or name; RETURNS those revoked."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        targets = [k for k in self.list() if k.active and name_or_id in (k.id, k.name)]
        if not targets:
            raise ConfigError(f"no active API key with id or name {name_or_id!r} in {self.path}")
        conn = self._connect()
        with conn:
            conn.executemany(
                "UPDATE api_keys SET revoked = ? WHERE id = ?", [(now, k.id) for k in targets]
            )
        conn.close()
        with self._lock:
            self._cache.clear()
        return targets

    def verify(self, key: str) -> KeyRecord | None:
        """The key's record (active or revoked) if the key is genuine, else None."""
        match = KEY_PATTERN.match(key)
        if match is None:
            return None
        key_id, secret = match.groups()
        now = time.monotonic()
        cache_key = hashlib.sha256(key.encode("ascii")).hexdigest()
        with self._lock:
            hit = self._cache.get(cache_key)
        if hit is not None and now - hit[0] < self.cache_seconds:
            return hit[1]
        record = self._lookup(key_id, secret)
        with self._lock:
            if len(self._cache) > 10_000:  # bounded: guessed keys must not grow memory
                self._cache.clear()
            self._cache[cache_key] = (now, record)
        return record

    def _lookup(self, key_id: str, secret: str) -> KeyRecord | None:
        if not self.path.is_file():
            return None
        conn = self._connect()
        row = conn.execute(
            "SELECT id, name, created, revoked, rate_limit_per_minute, salt, hash "
            "FROM api_keys WHERE id = ?",
            (key_id,),
        ).fetchone()
        conn.close()
        if row is None or not hmac.compare_digest(_digest(row[5], secret), row[6]):
            return None
        return KeyRecord(*row[:5])
