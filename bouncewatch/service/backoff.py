"""Capped exponential backoff with jitter: how long to wait after n consecutive failures.

Pure: the random source is a parameter, so tests pin it. The n-th consecutive failure waits up
to `initial * factor**(n-1)` seconds, never more than `maximum`; jitter takes a random part of
that away, so instances that failed together (a server restart) do not retry in lockstep.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

_MAX_EXPONENT = 64  # beyond this every realistic cap is reached; avoids float overflow


@dataclass(frozen=True, slots=True)
class Backoff:
    """A retry schedule: `delay(1)` after the first failure, `delay(2)` after the second, ..."""

    initial: float = 1.0
    maximum: float = 300.0
    factor: float = 2.0
    jitter: float = 0.5  # the share of each delay that is randomised away: 0 none, 1 "full jitter"

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.maximum < self.initial:
            raise ValueError("backoff: need 0 < initial <= maximum")
        if self.factor < 1:
            raise ValueError("backoff: factor must be >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("backoff: jitter must be between 0 and 1")

    def ceiling(self, failures: int) -> float:
        """The delay before jitter after `failures` consecutive failures (0 for none)."""
        if failures < 1:
            return 0.0
        exponent = min(failures - 1, _MAX_EXPONENT)
        return min(self.maximum, self.initial * self.factor**exponent)

    def delay(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after `failures` consecutive failures: in [ceiling*(1-jitter), ceiling]."""
        ceiling = self.ceiling(failures)
        return ceiling * (1.0 - self.jitter * rand())
