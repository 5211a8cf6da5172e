"""Typed configuration: defaults in ``default_config.toml``, overridden by a project's
``tonewatch.toml`` and then by dotted ``section.key=value`` overrides from the CLI."""

from __future__ import annotations

import functools
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from tonewatch.errors import ConfigError

DEFAULT_CONFIG = Path(__file__).with_name("default_config.toml")


class _Section(BaseModel):
    # No defaults here: default_config.toml is the one place defaults live.
    model_config = ConfigDict(extra="forbid")


class IngestConfig(_Section):
    staff_addresses: list[str]
    staff_domains: list[str]
    staff_names: list[str]
    max_attachment_bytes: int
    max_message_bytes: int
    langid_min_chars: int
    langid_min_confidence: float
    languages: list[str]
    default_timezone: str
    chat_preset: Literal["auto", "generic", "twitter_customer_care"]
    chat_fields: dict[str, str]


class ClassifyConfig(_Section):
    model: str
    tier: str
    batch_size: int
    window_chars: int
    window_overlap: int
    score_roles: list[str]
    word_evidence_labels: list[str]


class AggregateConfig(_Section):
    pattern_min_conversations: int
    pattern_min_days: int
    trend_min_weeks: int
    trend_alpha: float
    business_hours: tuple[int, int]
    business_days: list[int]
    attention_z: float
    attention_min_cohort: int
    unresponsive_days: int
    unresponsive_min_events: int
    after_hours_min_contacts: int
    max_evidence: int


class BatchConfig(_Section):
    chunk_turns: int
    chunk_bytes: int
    workers: int
    scheduler: str
    cache_entries: int
    cache_share: bool


class ServeConfig(_Section):
    host: str
    port: int
    db: str
    session_hours: float
    secure_cookies: bool
    page_size: int
    workers: int
    threads: int


class ApiConfig(_Section):
    host: str
    port: int
    workers: int
    max_request_bytes: int
    max_turns_per_request: int
    max_comment_bytes: int
    rate_limit_per_minute: int
    rate_limit_burst: int
    require_key: bool
    keys_db: str
    perspective_map: str
    batch_max_turns: int
    batch_wait_ms: float
    model_process: bool


class TrainConfig(_Section):
    seed: int


class Config(_Section):
    ingest: IngestConfig
    classify: ClassifyConfig
    aggregate: AggregateConfig
    batch: BatchConfig
    serve: ServeConfig
    api: ApiConfig
    train: TrainConfig


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _apply_override(data: dict[str, Any], dotted: str) -> None:
    if "=" not in dotted:
        raise ConfigError(f"override {dotted!r} must look like section.key=value")
    path, raw = dotted.split("=", 1)
    keys = path.strip().split(".")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    node = data
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Defaults, then ``path`` (or ./tonewatch.toml if present), then dotted overrides."""
    data = _read_toml(DEFAULT_CONFIG)
    if path is None and Path("tonewatch.toml").is_file():
        path = "tonewatch.toml"
    if path is not None:
        data = _merge(data, _read_toml(Path(path)))
    for dotted in overrides or []:
        _apply_override(data, dotted)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"[{' -> '.join(str(p) for p in err['loc'])}] {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path or DEFAULT_CONFIG}: {problems}") from exc


@functools.cache
def default_config() -> Config:
    """The packaged defaults alone (no tonewatch.toml); cached, and frozen by convention."""
    return load_config(DEFAULT_CONFIG)
