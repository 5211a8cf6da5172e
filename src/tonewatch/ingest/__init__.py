"""Ingest: support archives -> Conversations of speaker-attributed turns.

    from tonewatch.ingest.pipeline import ingest_paths
    for conversation in ingest_paths(["exports/"], config.ingest, on_quarantine=print): ...

Readers (one module per format family) register themselves in ``tonewatch.registry.readers``
when imported; ``load_readers()`` imports them all and fails loudly if one is missing, so a
broken install never silently reads fewer formats.
"""

from __future__ import annotations

import importlib

from tonewatch.errors import ConfigError
from tonewatch.ingest.base import Reader
from tonewatch.registry import readers

# The modules whose import registers the readers, with the readers each must register.
READER_MODULES: dict[str, tuple[str, ...]] = {
    "tonewatch.ingest.email": ("tonewatch.eml.v1", "tonewatch.mbox.v1", "tonewatch.maildir.v1"),
    "tonewatch.ingest.chat": ("tonewatch.chat_json.v1", "tonewatch.chat_csv.v1"),
    "tonewatch.ingest.whatsapp": ("tonewatch.whatsapp.v1",),
    "tonewatch.ingest.transcript": (
        "tonewatch.webvtt.v1",
        "tonewatch.srt.v1",
        "tonewatch.speaker_text.v1",
    ),
    "tonewatch.ingest.asr_json": ("tonewatch.asr_json.v1",),
}


def load_readers() -> list[Reader]:
    """One instance of every registered reader, in registry-name order."""
    for module, names in READER_MODULES.items():
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise  # a dependency of the module is missing: its own error says which
            raise ConfigError(
                f"reader module {module} is missing (it should register {', '.join(names)}); "
                "reinstall tonewatch"
            ) from exc
        absent = [name for name in names if name not in readers]
        if absent:
            raise ConfigError(f"{module} did not register the readers {', '.join(absent)}")
    found = [readers.get(name) for name in readers.names()]
    return [item() if isinstance(item, type) else item for item in found]
