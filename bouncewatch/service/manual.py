"""Manual block/unblock: the one function behind `bouncewatch block|unblock` and the console.

Records the new state, an audit entry and the webhook events it owes (`blocked` or
`unblocked`, with the actor) in one transaction, then republishes every blocklist output with
the shrink guard overridden (an unblock of many addresses is a person's decision).
Prints nothing; the callers tell people what happened.
"""

from __future__ import annotations

from .. import store
from ..config import Settings
from ..publish import webhooks
from ..records import AddressState
from ..rules.ledger import block_by_hand, block_class, unblock

ACTIONS = ("block", "unblock")


class PublishFailed(Exception):
    """The action is recorded, but the blocklist outputs could not be written."""


def manual_action(settings: Settings, address: str, reason: str, actor: str | None, action: str) -> AddressState:
    """Block or unblock a normalised `address` for `reason` as `actor`; return the new state.

    Raises ValueError for an unknown action or an empty reason, PublishFailed (after the
    commit) when an output could not be written.
    """
    from .pipeline import publish_blocklist

    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    reason = reason.strip()
    if not reason:
        raise ValueError("a reason is required")
    at = store.utcnow()
    actor = actor or store.default_actor()
    with store.write_transaction():
        state = store.get_state(address) or AddressState(address=address)
        new_state = block_by_hand(state, reason, at) if action == "block" else unblock(state)
        store.save_states([new_state])
        store.write_audit(address, action, reason, actor, at)
        if settings.webhooks and new_state.blocked != state.blocked:
            was = state if state.blocked else new_state
            change = webhooks.Change(
                event="blocked" if new_state.blocked else "unblocked",
                at=at,
                address=address,
                bounce_class=block_class(was.manual, was.blocked_reason, was.last_class),
                reason=reason,
                status=new_state.last_status,
                actor=actor,
            )
            webhooks.enqueue(settings, [change], at)
    try:
        publish_blocklist(settings, force=True)
    except OSError as exc:
        raise PublishFailed(f"{action} recorded, but the blocklist could not be written: {exc}") from exc
    return new_state
