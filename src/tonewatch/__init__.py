"""tonewatch: multilingual conversation tone and red-flag classifier for support teams."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from tonewatch.schema import TurnResult


def classify(texts: list[str], **kwargs: Any) -> list[TurnResult]:
    """Score texts with the shipped default model; see ``tonewatch.classify.api``."""
    from tonewatch.classify.api import classify as _classify

    return _classify(texts, **kwargs)


__all__ = ["__version__", "classify"]
