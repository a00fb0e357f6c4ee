"""Sign-in throttling: failed attempts counted per client address and per user name; past a few
free ones, each further attempt must wait twice as long as the last, else 429.

A key's first FREE_FAILURES failures cost nothing (a person mistyping); after that an attempt
must wait FIRST_DELAY_SECONDS * 2^(failures - FREE_FAILURES), at most MAX_DELAY_SECONDS, after
the last failure. Both keys are checked: the client's address (an IPv6 client by its /64) stops
one machine guessing many names, the user name stops many machines guessing one password. A
refused attempt is not checked at all (no password hashing) and does not count. A key is
forgotten FORGET_AFTER_SECONDS after its last failure; a success forgets its user name's key.
At most MAX_KEYS keys are kept (the oldest go first), so a flood of names is bounded memory.

An attacker who knows one user name gets FREE_FAILURES guesses, then about one guess per
MAX_DELAY_SECONDS per name, whatever the number of addresses used.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

FREE_FAILURES = 5
FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 15 * 60.0
FORGET_AFTER_SECONDS = 60 * 60.0
MAX_KEYS = 10_000


def delay(failures: int) -> float:
    """Seconds an attempt must wait after the last of `failures` failures."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** min(failures - FREE_FAILURES, 30))


def keys(client: str, user: str) -> tuple[str, str]:
    return f"client:{client}", f"user:{user[:64]}"


class Throttle:
    """Failures per key, in memory (a restart forgets them); safe across threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()  # key → (failures, last)

    def _current(self, key: str, now: float) -> tuple[int, float]:
        failures, last = self._failures.get(key, (0, 0.0))
        if failures and now - last > FORGET_AFTER_SECONDS:
            del self._failures[key]
            return 0, 0.0
        return failures, last

    def wait(self, names: Iterable[str]) -> float:
        """Seconds until another attempt under these keys may be checked (0: now)."""
        now = self._clock()
        with self._lock:
            waits = []
            for key in names:
                failures, last = self._current(key, now)
                waits.append(last + delay(failures) - now if failures else 0.0)
        return max([0.0, *waits])

    def failed(self, names: Iterable[str]) -> None:
        now = self._clock()
        with self._lock:
            for key in names:
                failures, _last = self._current(key, now)
                self._failures[key] = (failures + 1, now)
                self._failures.move_to_end(key)
            while len(self._failures) > MAX_KEYS:
                self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
