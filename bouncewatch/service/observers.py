"""What a worker tells an optional observer about its cycles (metrics hang off this; nothing else).

The worker calls these on its own thread after each cycle; an observer must be quick and must
not raise. The pipeline knows nothing of observers, and nothing here imports a metrics library:
`web/metrics.py` is one implementation, used only when `[http]` is on.
"""

from __future__ import annotations

from typing import Protocol

from ..records import CycleSummary


class CycleObserver(Protocol):
    def cycle_done(self, mailbox: str, summary: CycleSummary, seconds: float) -> None:
        """A cycle (or one round of an IDLE session) over `mailbox` succeeded."""

    def cycle_failed(self, mailbox: str, error_type: str) -> None:
        """An attempt at `mailbox` failed with an exception of class `error_type`."""
