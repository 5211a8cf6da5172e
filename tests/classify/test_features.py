"""The featurizer's fast paths produce the shipped models' features unchanged."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pytest

from tonewatch.classify.features import CharNgrams
from tonewatch.train.gold import read_annotations

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("model", ["tonewatch-base", "tonewatch-fast"])
def test_char_ngrams_equal_sklearn_transform(model: str) -> None:
    vectorizer = joblib.load(ROOT / "models" / model / "weights" / "featurizer.joblib").ngrams_
    turns = [
        t for p in sorted((ROOT / "data/annotations").glob("*.jsonl")) for t in read_annotations(p)
    ]
    texts = [t.text for t in turns[::3]] + [
        "",
        "   ",
        "a",
        "A\\tB\\n\\n c  d",
        "İstanbul ẞ ß ﬁ",
        "x" * 3000,
        "k*rwa f***ing 1-star!!!",
    ]
    fast = CharNgrams(vectorizer)
    for _ in range(2):  # cold, then with every word cached
        expected, got = vectorizer.transform(texts), fast.transform(texts)
        expected.sort_indices()
        assert got.shape == expected.shape and got.dtype == expected.dtype
        assert np.array_equal(got.indptr, expected.indptr)
        assert np.array_equal(got.indices, expected.indices)
        assert np.array_equal(got.data, expected.data)  # bit for bit
