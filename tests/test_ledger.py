"""The address rules, pure: hard blocks, soft counts consecutively, success resets."""

from datetime import datetime

from bouncewatch.records import AddressState, BounceClass, BounceRecord, Verdict
from bouncewatch.rules.ledger import LedgerPolicy, apply_verdict, block_by_hand, unblock

AT = datetime(2026, 1, 1, 12, 0, 0)
POLICY = LedgerPolicy(soft_limit=5)


def verdict(bounce_class: BounceClass, action: str = "failed", reason: str = "mailboxfull") -> Verdict:
    return Verdict(BounceRecord("a@example.com", status="4.2.2", reason=reason, action=action), bounce_class)


def fold(*verdicts: Verdict, state: AddressState | None = None) -> AddressState:
    state = state or AddressState("a@example.com")
    for v in verdicts:
        state = apply_verdict(state, v, AT, POLICY)
    return state


def test_fifth_consecutive_soft_bounce_blocks():
    """Five soft bounces in a row block the address; the reason says so."""
    state = fold(*[verdict(BounceClass.SOFT)] * 5)
    assert state.blocked
    assert state.soft_count == 5
    assert "5 consecutive soft" in state.blocked_reason


def test_four_soft_bounces_do_not_block():
    """Four soft bounces leave the address usable."""
    state = fold(*[verdict(BounceClass.SOFT)] * 4)
    assert not state.blocked
    assert state.soft_count == 4


def test_success_resets_the_consecutive_count():
    """4 soft, a success notice, 4 soft: never five in a row, so not blocked."""
    soft = verdict(BounceClass.SOFT)
    success = verdict(BounceClass.IGNORE, action="delivered", reason="delivered")
    state = fold(*[soft] * 4, success, *[soft] * 4)
    assert not state.blocked
    assert state.soft_count == 4
    assert state.bounces == 8


def test_delay_counts_nothing():
    """A delay warning neither counts nor resets."""
    state = fold(*[verdict(BounceClass.SOFT)] * 2, verdict(BounceClass.IGNORE, action="delayed", reason="expired"))
    assert state.soft_count == 2
    assert state.bounces == 2


def test_hard_bounce_blocks_at_once():
    """One hard bounce blocks, naming the reason and status."""
    state = fold(Verdict(BounceRecord("a@example.com", status="5.1.1", reason="userunknown", action="failed"), BounceClass.HARD))
    assert state.blocked
    assert state.blocked_reason == "hard: userunknown 5.1.1"


def test_complaint_blocks_unless_policy_says_record_only():
    """A spam complaint blocks by default; a policy may only record it."""
    complaint = Verdict(BounceRecord("a@example.com", feedback_type="abuse"), BounceClass.COMPLAINT)
    assert fold(complaint).blocked
    relaxed = apply_verdict(AddressState("a@example.com"), complaint, AT, LedgerPolicy(block_on_complaint=False))
    assert not relaxed.blocked and relaxed.bounces == 1


def test_unblock_starts_again_at_zero():
    """After an unblock, four soft bounces do not block again; the fifth does."""
    blocked = fold(*[verdict(BounceClass.SOFT)] * 5)
    state = unblock(blocked)
    assert not state.blocked and state.soft_count == 0
    state = fold(*[verdict(BounceClass.SOFT)] * 4, state=state)
    assert not state.blocked
    assert fold(verdict(BounceClass.SOFT), state=state).blocked


def test_manual_block_survives_success():
    """An address blocked by hand stays blocked when a success notice arrives."""
    state = block_by_hand(AddressState("a@example.com"), "asked to stop", AT)
    state = fold(verdict(BounceClass.IGNORE, action="delivered", reason="delivered"), state=state)
    assert state.blocked and state.manual


def test_soft_bounces_outside_the_window_no_longer_count():
    """With a 30-day window, soft bounces older than 30 days drop out of the streak."""
    from datetime import timedelta

    policy = LedgerPolicy(soft_limit=5, soft_window=timedelta(days=30))
    state = AddressState("a@example.com")
    for day in (0, 10, 20, 35, 45):  # by day 45 the bounces of days 0 and 10 are stale
        state = apply_verdict(state, verdict(BounceClass.SOFT), AT + timedelta(days=day), policy)
    assert not state.blocked and state.soft_count == 3
    for day in (46, 47):
        state = apply_verdict(state, verdict(BounceClass.SOFT), AT + timedelta(days=day), policy)
    assert state.blocked and state.soft_count == 5


def test_sender_side_rejections_are_recorded_not_counted():
    """A policy rejection is noted on the address but does not advance its count, unless told to."""
    rejection = Verdict(BounceRecord("a@example.com", status="5.7.1", reason="policyviolation", action="failed"), BounceClass.SOFT)
    state = fold(*[rejection] * 6)
    assert not state.blocked and state.soft_count == 0 and state.bounces == 6
    assert state.last_reason == "policyviolation"
    counting = LedgerPolicy(soft_limit=5, count_sender_side=True)
    state = AddressState("a@example.com")
    for _ in range(5):
        state = apply_verdict(state, rejection, AT, counting)
    assert state.blocked
