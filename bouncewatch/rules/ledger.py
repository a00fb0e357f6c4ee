"""The address rules: (state, verdict, time) → new state. Pure; the store persists the result.

- hard: blocks at once;
- soft: one more consecutive soft bounce; the `soft_limit`-th in a row blocks. Only soft
  bounces inside `soft_window` count (when a window is set), and rejections that point at the
  sender count only when `count_sender_side` is on; otherwise they are recorded, not counted;
- complaint: blocks (unless the policy says to only record it);
- ignore: counts nothing, but a success (a delivery notice, or the sending system reporting a
  delivery) resets the consecutive count;
- an address blocked by hand stays blocked whatever arrives; an unblocked one starts at zero.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ..records import AddressState, BounceClass, Verdict
from .classify import is_sender_side


@dataclass(frozen=True, slots=True)
class LedgerPolicy:
    soft_limit: int = 5
    block_on_complaint: bool = True
    count_sender_side: bool = False
    soft_window: timedelta | None = None  # None: soft bounces never grow stale


def _describe(verdict: Verdict) -> str:
    record = verdict.record
    detail = " ".join(part for part in (record.reason, record.status) if part)
    return f"{verdict.bounce_class.value}: {detail}" if detail else verdict.bounce_class.value


def _block(state: AddressState, why: str, at: datetime) -> AddressState:
    if state.blocked:
        return state
    return replace(state, blocked=True, blocked_reason=why, blocked_at=at)


def counts(verdict: Verdict, policy: LedgerPolicy) -> bool:
    """Whether a verdict moves the address towards a block."""
    if verdict.bounce_class is BounceClass.IGNORE:
        return False
    if verdict.bounce_class is BounceClass.SOFT and is_sender_side(verdict.record):
        return policy.count_sender_side
    return True


def recent_soft_times(state: AddressState, at: datetime, policy: LedgerPolicy) -> tuple[datetime, ...]:
    """The soft bounces of the current streak that still count at `at`."""
    if policy.soft_window is None:
        return state.soft_times
    horizon = at - policy.soft_window
    return tuple(t for t in state.soft_times if t >= horizon)


def record_success(state: AddressState, at: datetime) -> AddressState:
    """A message reached the address: the consecutive soft count starts again."""
    return replace(state, soft_count=0, soft_times=(), last_success=at)


def apply_verdict(
    state: AddressState, verdict: Verdict, at: datetime, policy: LedgerPolicy
) -> AddressState:
    """The address's state after one more record about it."""
    record = verdict.record
    bounce_class = verdict.bounce_class
    if bounce_class is BounceClass.IGNORE:
        return record_success(state, at) if record.is_success else state

    noted = replace(
        state,
        last_class=bounce_class.value,
        last_reason=record.reason,
        last_status=record.status,
        first_bounce=state.first_bounce or at,
        last_bounce=at,
        bounces=state.bounces + 1,
    )
    if not counts(verdict, policy):
        return noted
    if bounce_class is BounceClass.HARD:
        return _block(noted, _describe(verdict), at)
    if bounce_class is BounceClass.COMPLAINT:
        if not policy.block_on_complaint:
            return noted
        return _block(noted, f"complaint: {record.feedback_type or 'abuse'}", at)
    # Keeping only the newest soft_limit times is enough to decide the next block.
    times = (*recent_soft_times(state, at, policy), at)[-policy.soft_limit :]
    counted = replace(noted, soft_times=times, soft_count=len(times))
    if counted.soft_count >= policy.soft_limit:
        why = f"{counted.soft_count} consecutive soft bounces (last {_describe(verdict)})"
        return _block(counted, why, at)
    return counted


def block_by_hand(state: AddressState, reason: str, at: datetime) -> AddressState:
    """Block on an operator's word; such a block survives every later success."""
    blocked = replace(state, blocked=False) if state.blocked else state
    return replace(_block(blocked, f"manual: {reason}", at), manual=True)


def unblock(state: AddressState) -> AddressState:
    """Lift a block after review: the address starts again with no soft bounces counted."""
    return replace(
        state,
        blocked=False,
        blocked_reason="",
        blocked_at=None,
        soft_count=0,
        soft_times=(),
        manual=False,
    )


def block_class(manual: bool, reason: str, last_class: str) -> str:
    """Why an address is blocked, from its ledger state: hard | complaint | soft-limit | manual."""
    if manual or reason.startswith("manual"):
        return "manual"
    if reason.startswith("complaint"):
        return "complaint"
    if reason.startswith("hard"):
        return "hard"
    if "consecutive soft" in reason:
        return "soft-limit"
    return last_class or "unknown"
