"""Record → class (hard, soft, ignore, complaint) through a policy table; no I/O.

The default table follows the project's rules: only reasons that say the address itself is
unusable are hard; every other failure is soft, including rejections that point at the sender.
A policy may override the class of any reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..records import BounceClass, BounceRecord, Verdict

HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved"})
# Rejections that say something about the sender (its IP, domain, content, authentication),
# nothing final about the recipient's address.
SENDER_SIDE_REASONS = frozenset(
    {
        "blocked",
        "spamdetected",
        "policyviolation",
        "authfailure",
        "requireptr",
        "badreputation",
        "norelaying",
        "securityerror",
        "virusdetected",
        "contenterror",
    }
)
# "expired" is not among them: an expired delivery the sending server gave up on (Action:
# failed) is soft, as a receiving server that cannot be reached is; one it is still trying
# (Action: delayed, which the parser also sets for a warning that says it will retry) is ignored
# by its action.
IGNORE_REASONS = frozenset({"vacation", "delivered", "delayed"})
IGNORE_ACTIONS = frozenset({"delayed", "delivered", "relayed", "expanded"})


@dataclass(frozen=True, slots=True)
class ClassPolicy:
    """Reason → class overrides on top of the default rules."""

    overrides: Mapping[str, BounceClass] = field(default_factory=dict)


DEFAULT_POLICY = ClassPolicy()


def default_class(record: BounceRecord) -> BounceClass:
    """The class the project's rules give a record, before any override."""
    if record.feedback_type or record.reason == "feedback":
        return BounceClass.COMPLAINT
    if record.action in IGNORE_ACTIONS or record.reason in IGNORE_REASONS:
        return BounceClass.IGNORE
    if record.reason in HARD_REASONS:
        return BounceClass.HARD
    if record.reason == "notaccept":
        # A domain that accepts no mail (null MX) is final with a 5xx, temporary with a 4xx.
        code = record.status or record.reply_code
        return BounceClass.SOFT if code.startswith("4") else BounceClass.HARD
    return BounceClass.SOFT


def classify(record: BounceRecord, policy: ClassPolicy = DEFAULT_POLICY) -> Verdict:
    """Give one record its class; a policy override for its reason wins over the default."""
    overridden = policy.overrides.get(record.reason) if record.reason else None
    # Success notices and delays stay "ignore" whatever the reason table says.
    if overridden is not None and record.action not in IGNORE_ACTIONS:
        return Verdict(record, overridden)
    return Verdict(record, default_class(record))


def is_sender_side(record: BounceRecord) -> bool:
    """True when the rejection points at the sender rather than the address."""
    return record.reason in SENDER_SIDE_REASONS
