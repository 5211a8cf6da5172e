"""Loading models by name or path, and the plain-Python entry points."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tonewatch.classify.model import RedFlagModel
from tonewatch.classify.pipeline import Classifier, TurnText
from tonewatch.config import ClassifyConfig, default_config
from tonewatch.errors import DataError, ModelError
from tonewatch.schema import Conversation, TurnResult

PACKAGE_ROOT = Path(__file__).resolve().parents[3]
TIERS = {"default": "tonewatch-base", "fast": "tonewatch-fast"}


def resolve_model_path(model: str | None = None, tier: str = "default") -> Path:
    """A model directory from a path, a shipped model's name, or the tier's default."""
    name = model or TIERS.get(tier)
    if name is None:
        raise ModelError(f"unknown tier {tier!r}; known: {sorted(TIERS)}")
    for candidate in (
        Path(name),
        Path("models") / name,
        PACKAGE_ROOT / "models" / name,
        PACKAGE_ROOT / name,
    ):
        if (candidate / "meta.json").is_file():
            return candidate
    raise ModelError(
        f"model {name!r} not found (looked in ./, ./models and {PACKAGE_ROOT / 'models'})"
    )


@functools.cache
def _load_cached(path: str, window_chars: int, window_overlap: int) -> RedFlagModel:
    return RedFlagModel.load(path, window_chars=window_chars, window_overlap=window_overlap)


def load_model(
    model: str | None = None, *, tier: str | None = None, config: ClassifyConfig | None = None
) -> Classifier:
    """A ready Classifier; the model is loaded once per process."""
    config = config or default_config().classify
    tier = tier or config.tier
    path = resolve_model_path(model or (config.model if tier == config.tier else None), tier)
    loaded = _load_cached(str(path.resolve()), config.window_chars, config.window_overlap)
    return Classifier(
        loaded,
        score_roles=config.score_roles,
        batch_size=config.batch_size,
        word_evidence_labels=config.word_evidence_labels,
    )


def classify(
    texts: Sequence[str],
    *,
    langs: Sequence[str] | None = None,
    model: str | None = None,
    tier: str | None = None,
) -> list[TurnResult]:
    """Score plain texts (language detected when not given); one TurnResult per text."""
    langs = list(langs) if langs is not None else detect_languages(texts)
    items = [
        TurnText(id=str(i), text=t, lang=lang)
        for i, (t, lang) in enumerate(zip(texts, langs, strict=True))
    ]
    return load_model(model, tier=tier).predict(items)


def detect_languages(texts: Sequence[str]) -> list[str]:
    from tonewatch.ingest.langid import LanguageIdentifier

    identifier = LanguageIdentifier.from_config(default_config().ingest)
    return [guess.lang for guess in identifier.identify_many(texts)]


def read_turn_texts(path: str | Path) -> Iterator[TurnText]:
    """Classify's input: JSONL of ``{"id", "text"[, "lang", "role"]}`` or ``tonewatch ingest``
    output (one conversation per line, its turns expanded)."""
    path = Path(path)
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record: dict[str, Any] = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(
                    f"{path}:{line_no}: not JSON ({exc.msg} at column {exc.colno})"
                ) from exc
            if "turns" in record:
                for turn in Conversation.model_validate(record).turns:
                    yield TurnText.from_turn(turn)
            elif "text" in record and "id" in record:
                yield TurnText(
                    str(record["id"]),
                    str(record["text"] or ""),
                    record.get("lang") or "",
                    record.get("role") or "client",
                )
            else:
                raise DataError(
                    f"{path}:{line_no}: expected {{'id', 'text'}} or a conversation, "
                    f"found keys {sorted(record)}"
                )


def classify_stream(
    items: Iterable[TurnText], classifier: Classifier, batch: int = 256
) -> Iterator[TurnResult]:
    buffer: list[TurnText] = []
    for item in items:
        buffer.append(item)
        if len(buffer) >= batch:
            yield from _finish(buffer, classifier)
            buffer = []
    if buffer:
        yield from _finish(buffer, classifier)


def _finish(buffer: list[TurnText], classifier: Classifier) -> list[TurnResult]:
    missing = [t for t in buffer if not t.lang]
    if missing:
        for item, lang in zip(missing, detect_languages([t.text for t in missing]), strict=True):
            item.lang = lang
    return classifier.predict(buffer)
