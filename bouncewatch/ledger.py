"""The address rules: (state, verdict, time) → new state. Pure; the store persists the result.

- hard: blocks at once;
- soft: one more consecutive soft bounce; the `soft_limit`-th in a row blocks;
- complaint: blocks (unless the policy says to only record it);
- ignore: counts nothing, but a success notice resets the consecutive count;
- an address blocked by hand stays blocked whatever arrives; an unblocked one starts at zero.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from .records import AddressState, BounceClass, Verdict


@dataclass(frozen=True, slots=True)
class LedgerPolicy:
    soft_limit: int = 5
    block_on_complaint: bool = True


def _describe(verdict: Verdict) -> str:
    record = verdict.record
    detail = " ".join(part for part in (record.reason, record.status) if part)
    return f"{verdict.bounce_class.value}: {detail}" if detail else verdict.bounce_class.value


def _block(state: AddressState, why: str, at: datetime) -> AddressState:
    if state.blocked:
        return state
    return replace(state, blocked=True, blocked_reason=why, blocked_at=at)


def apply_verdict(
    state: AddressState, verdict: Verdict, at: datetime, policy: LedgerPolicy
) -> AddressState:
    """The address's state after one more record about it."""
    record = verdict.record
    bounce_class = verdict.bounce_class
    if bounce_class is BounceClass.IGNORE:
        return replace(state, soft_count=0) if record.is_success else state

    noted = replace(
        state,
        last_class=bounce_class.value,
        last_reason=record.reason,
        last_status=record.status,
        first_bounce=state.first_bounce or at,
        last_bounce=at,
        bounces=state.bounces + 1,
    )
    if bounce_class is BounceClass.HARD:
        return _block(noted, _describe(verdict), at)
    if bounce_class is BounceClass.COMPLAINT:
        if not policy.block_on_complaint:
            return noted
        kind = record.feedback_type or "abuse"
        return _block(noted, f"complaint: {kind}", at)
    counted = replace(noted, soft_count=noted.soft_count + 1)
    if counted.soft_count >= policy.soft_limit:
        return _block(counted, f"{counted.soft_count} consecutive soft bounces ({_describe(verdict)})", at)
    return counted


def block_by_hand(state: AddressState, reason: str, at: datetime) -> AddressState:
    """Block on an operator's word; such a block survives every later success."""
    blocked = _block(state, f"manual: {reason}", at)
    return replace(blocked, manual=True)


def unblock(state: AddressState) -> AddressState:
    """Lift a block after review: the address starts again with no soft bounces counted."""
    return replace(
        state, blocked=False, blocked_reason="", blocked_at=None, soft_count=0, manual=False
    )
