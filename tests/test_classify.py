"""Record → class through the default rules and policy overrides."""

import pytest

from bouncewatch.records import BounceClass, BounceRecord
from bouncewatch.rules.classify import ClassPolicy, classify


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (BounceRecord("a@x.example", status="5.1.1", reason="userunknown", action="failed"), BounceClass.HARD),
        (BounceRecord("a@x.example", status="5.4.4", reason="hostunknown", action="failed"), BounceClass.HARD),
        (BounceRecord("a@x.example", status="5.2.2", reason="mailboxfull", action="failed"), BounceClass.SOFT),
        (BounceRecord("a@x.example", status="5.7.1", reason="blocked", action="failed"), BounceClass.SOFT),
        (BounceRecord("a@x.example", status="5.1.10", reason="notaccept", action="failed"), BounceClass.HARD),
        (BounceRecord("a@x.example", status="4.1.10", reason="notaccept", action="failed"), BounceClass.SOFT),
        (BounceRecord("a@x.example", status="4.4.7", reason="expired", action="delayed"), BounceClass.IGNORE),
        (BounceRecord("a@x.example", status="2.0.0", reason="delivered", action="delivered"), BounceClass.IGNORE),
        (BounceRecord("a@x.example", reason="vacation"), BounceClass.IGNORE),
        (BounceRecord("a@x.example", reason="feedback", feedback_type="abuse"), BounceClass.COMPLAINT),
        (BounceRecord("a@x.example", status="5.0.0", reason="", action="failed"), BounceClass.SOFT),
    ],
)
def test_default_classes(record, expected):
    """Only address-final reasons are hard; sender-side and unknown failures are soft."""
    assert classify(record).bounce_class is expected


def test_override_changes_class_but_not_for_success():
    """A reason override applies to failures, never to a success notice of that reason."""
    policy = ClassPolicy(overrides={"blocked": BounceClass.IGNORE, "delivered": BounceClass.HARD})
    assert classify(BounceRecord("a@x.example", reason="blocked", action="failed"), policy).bounce_class is BounceClass.IGNORE
    assert classify(BounceRecord("a@x.example", reason="delivered", action="delivered"), policy).bounce_class is BounceClass.IGNORE
