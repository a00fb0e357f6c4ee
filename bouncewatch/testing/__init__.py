"""Helpers for tests, the quick-start demo and the benchmarks: a throwaway Dovecot, a throwaway
Postfix that writes real DSNs into it, sample bounces.

Nothing in the daemon imports this package.
"""

from .dovecot import ThrowawayDovecot
from .postfix import ThrowawayPostfix

__all__ = ["ThrowawayDovecot", "ThrowawayPostfix"]
