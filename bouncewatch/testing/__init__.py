"""Helpers for tests, the quick-start demo and the benchmarks: a throwaway Dovecot, sample bounces.

Nothing in the daemon imports this package.
"""

from .dovecot import ThrowawayDovecot

__all__ = ["ThrowawayDovecot"]
