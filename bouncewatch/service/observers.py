"""What a worker tells an optional observer about its cycles (metrics hang off this; nothing else).

The worker calls these on its own thread after each cycle; an observer must be quick and must
not raise. The pipeline knows nothing of observers, and nothing here imports a metrics library:
`web/metrics.py` is one implementation, used only when `[http]` is on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from ..records import CycleSummary

if TYPE_CHECKING:
    from ..publish.outputs import Published


class CycleObserver(Protocol):
    def cycle_done(self, mailbox: str, summary: CycleSummary, seconds: float) -> None:
        """A cycle (or one round of an IDLE session) over `mailbox` succeeded."""

    def cycle_failed(self, mailbox: str, error_type: str) -> None:
        """An attempt at `mailbox` failed with an exception of class `error_type`."""

    def outputs_published(self, mailbox: str, results: Sequence[Published], error: str) -> None:
        """The outputs were published after a cycle of `mailbox`: each output's result (empty when
        publishing failed before any), and the error ("" when all went well)."""
