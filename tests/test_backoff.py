"""The retry schedule: exponential, capped, jittered within bounds."""

from __future__ import annotations

import random

import pytest

from bouncewatch.service.backoff import Backoff


def test_no_failure_no_wait():
    """Zero failures means no delay."""
    assert Backoff().delay(0) == 0.0


def test_doubles_until_the_cap():
    """Without jitter the delay doubles per failure and stops at the maximum."""
    backoff = Backoff(initial=1, maximum=10, jitter=0)
    assert [backoff.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_huge_failure_counts_stay_at_the_cap():
    """A failure count far past any exponent still gives the cap, not an overflow."""
    assert Backoff(initial=1, maximum=300, jitter=0).delay(10_000) == 300


@pytest.mark.parametrize("failures", [1, 3, 9])
def test_jitter_stays_within_bounds(failures):
    """Jittered delays lie between (1 - jitter) * ceiling and the ceiling."""
    backoff = Backoff(initial=2, maximum=60, jitter=0.5)
    rng = random.Random(7)
    ceiling = backoff.ceiling(failures)
    delays = [backoff.delay(failures, rng.random) for _ in range(200)]
    assert all(ceiling * 0.5 <= d <= ceiling for d in delays)
    assert len(set(delays)) > 100  # actually spread, not one value


def test_random_source_is_injected():
    """The random source decides the point inside the jitter band."""
    backoff = Backoff(initial=4, maximum=60, jitter=1.0)
    assert backoff.delay(1, lambda: 0.0) == 4
    assert backoff.delay(1, lambda: 0.25) == 3


def test_rejects_nonsense():
    """A cap below the first delay, or a jitter outside 0..1, is refused."""
    with pytest.raises(ValueError):
        Backoff(initial=10, maximum=1)
    with pytest.raises(ValueError):
        Backoff(jitter=1.5)
