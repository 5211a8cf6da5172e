from __future__ import annotations

import numpy as np
import pytest

from tonewatch.aggregate import aggregate
from tonewatch.aggregate.signals import robust_z


def _cohort(scenarios, messages_per_client: list[int]):
    pairs = []
    for n, count in enumerate(messages_per_client):
        thread = scenarios.Thread(
            f"c{n}",
            f"client{n}@example.com",
            scenarios.Channel.chat,
            "chat/all.jsonl",
            f"Client {n}",
        )
        for k in range(count):
            # All within one working week, so the rate is the count per week.
            thread.client_says(f"Message {k} about order {n}.", scenarios.at(0, k % 5, 9 + k % 8))
        pairs.append(thread.pair())
    return pairs


def test_signals_attention_demand_flags_the_outlier_only(scenarios, config) -> None:
    reports = aggregate(_cohort(scenarios, [3, 2, 4, 3, 5, 2, 3, 40]), config)
    flagged = [r.client for r in reports if r.signals["attention_demand"].flagged]
    assert flagged == ["client7@example.com"]
    top = next(r for r in reports if r.client == "client7@example.com")
    assert top.signals["attention_demand"].value >= config.attention_z
    assert (
        "40.0 contacts/week against a cohort median of 3.0"
        in top.signals["attention_demand"].detail
    )
    assert "Attention demand" in top.explanation


def test_signals_attention_needs_a_cohort(scenarios, config) -> None:
    reports = aggregate(_cohort(scenarios, [2, 3, 40]), config)
    assert not any(r.signals["attention_demand"].flagged for r in reports)
    assert all("too small to compare" in r.signals["attention_demand"].detail for r in reports)


def test_signals_a_call_is_one_contact(scenarios, config) -> None:
    call = scenarios.Thread("call", "x@example.com", scenarios.Channel.call, "c.vtt", "X")
    for k in range(12):
        call.client_says(f"Sentence {k} of one phone call.", scenarios.at(0, 1, 10, k))
    from tonewatch.aggregate import Aggregator

    aggregator = Aggregator(config)
    aggregator.add(*call.pair())
    (detail,) = aggregator.details()
    assert detail.contacts == 1 and detail.client_turns == 12


def test_signals_robust_z_ignores_the_outlier_it_looks_for() -> None:
    z = robust_z([1, 2, 2, 3, 100])
    assert z[-1] > 50 and abs(z[2]) < 1e-9
    assert np.all(robust_z([5, 5, 5]) == 0)
    # MAD of 0 (most values equal): falls back to the mean absolute deviation.
    assert robust_z([1, 1, 1, 1, 9])[-1] == pytest.approx(8 / (1.2533 * 1.6))
