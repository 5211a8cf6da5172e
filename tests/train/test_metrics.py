import numpy as np
import pytest

from tonewatch.train.metrics import bootstrap_interval, macro_f1


def test_macro_f1_averages_only_labels_with_support():
    Y = np.array([[1, 0], [0, 0], [1, 0]])
    F = np.array([[1, 1], [0, 0], [0, 0]])  # label 1 has no support: a false alarm, not averaged
    assert macro_f1(Y, F) == pytest.approx(2 / 3)
    assert macro_f1(np.zeros((2, 2), int), np.ones((2, 2), int)) is None


def test_bootstrap_interval_brackets_the_figure_and_narrows_with_more_conversations():
    rng = np.random.default_rng(0)

    def sample(n: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
        Y = rng.integers(0, 2, (n, 3))
        F = np.where(rng.random((n, 3)) < 0.8, Y, 1 - Y)  # 80% of decisions right
        return Y, F, [f"c{i // 2}" for i in range(n)]

    Y, F, groups = sample(40)
    low, high = bootstrap_interval(macro_f1, Y, F, groups=groups, rounds=400)
    assert low <= macro_f1(Y, F) <= high
    Y2, F2, groups2 = sample(2000)
    low2, high2 = bootstrap_interval(macro_f1, Y2, F2, groups=groups2, rounds=400)
    assert high2 - low2 < (high - low) / 3
    assert bootstrap_interval(macro_f1, Y[:2], F[:2], groups=["one", "one"]) is None
