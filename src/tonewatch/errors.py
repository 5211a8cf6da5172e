"""Errors, each with a code and a message that names the place and what to do next.

TonewatchError
├── ConfigError        bad tonewatch.toml or CLI override
├── IngestError        an input file or message could not be read (carries a Location)
├── ModelError         a model directory is missing, incompatible or corrupt
│   └── NotFittedError a component was used before fit()/load()
└── DataError          a training or evaluation corpus is malformed
"""

from __future__ import annotations

from tonewatch.schema import Location


class TonewatchError(Exception):
    code = "T000"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code

    def __str__(self) -> str:
        return f"[{self.code}] {super().__str__()}"


class ConfigError(TonewatchError):
    code = "C001"


class IngestError(TonewatchError):
    """A file or one message in it could not be read; ``location`` says where."""

    code = "I000"

    def __init__(self, location: Location, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.location = location
        self.detail = message

    def __str__(self) -> str:
        return f"{self.location}: [{self.code}] {self.detail}"


class ModelError(TonewatchError):
    code = "M001"


class NotFittedError(ModelError):
    code = "M002"


class DataError(TonewatchError):
    code = "D001"
