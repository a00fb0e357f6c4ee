"""The rule for expired deliveries and for failures a sending server decided itself.

An expired delivery the sending server gave up on is soft; one it is still trying is ignored.
Where the server decided a failure itself (Diagnostic-Code X-Postfix, x-unix), its status code
and action, not the diagnostic type, give the reason. Real Postfix DSNs of these kinds are in
tests/test_postfix_rig.py; these pin the rule on small messages.
"""

from __future__ import annotations

import pytest

from bouncewatch.parse import parse_message
from bouncewatch.records import BounceClass, BounceRecord
from bouncewatch.rules.classify import ClassPolicy, classify
from bouncewatch.testing import samples

ADDRESS = "kijitora@example.jp"


def _plain(subject: str, body: str) -> bytes:
    """A bounce in no standard layout: one text/plain part from a mailer daemon."""
    return (
        "From: Mail Delivery Subsystem <mailer-daemon@mx.example.net>\r\n"
        f"To: {samples.SENDER}\r\nSubject: {subject}\r\n"
        "Date: Mon, 23 Nov 2026 08:00:00 +0000\r\nMessage-ID: <n1@mx.example.net>\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + body.replace("\n", "\r\n")
    ).encode()


def _only(raw: bytes) -> BounceRecord:
    (record,) = parse_message(raw).records
    return record


@pytest.mark.parametrize(
    ("action", "expected"),
    [("failed", BounceClass.SOFT), ("delayed", BounceClass.IGNORE)],
)
def test_expired_is_soft_when_given_up_and_ignored_while_still_trying(action, expected):
    """An expired record counts as soft when the server gave up (failed), nothing when it still tries."""
    record = BounceRecord(ADDRESS, status="4.4.7", reason="expired", action=action)
    assert classify(record).bounce_class is expected


def test_override_on_expired_wins_for_failures_but_not_for_delays():
    """`overrides = { expired = ... }` changes the class of a given-up delivery, never of a delay warning."""
    policy = ClassPolicy(overrides={"expired": BounceClass.IGNORE})
    failed = BounceRecord(ADDRESS, status="4.4.7", reason="expired", action="failed")
    assert classify(failed, policy).bounce_class is BounceClass.IGNORE
    hard = ClassPolicy(overrides={"expired": BounceClass.HARD})
    delayed = BounceRecord(ADDRESS, status="4.4.7", reason="expired", action="delayed")
    assert classify(delayed, hard).bounce_class is BounceClass.IGNORE


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Delivery Status Notification (Delay)",
         f"Delivery to the following recipient has been delayed:\n\n     {ADDRESS}\n\n"
         "Message will be retried for 2 more day(s)\n"),
        ("Warning: could not send message for past 4 hours",
         f"    **********************************************\n    **      THIS IS A WARNING MESSAGE ONLY      **\n"
         f"<{ADDRESS}>... Deferred: Connection timed out with example.jp.\n"
         "Will keep trying until message is 5 days old\n"),
        ("Mail delivery delayed",
         f"A message that you sent has not yet been delivered to one or more of its recipients.\n\n  {ADDRESS}\n"
         "    Delay reason: connection timed out\n\nNo action is required on your part.\n"),
    ],
)
def test_a_warning_in_words_is_a_delay(subject, body):
    """A bounce in no standard layout that says it will retry gets Action delayed: class ignore."""
    record = _only(_plain(subject, body))
    assert record.address == ADDRESS
    assert (record.action, classify(record).bounce_class) == ("delayed", BounceClass.IGNORE)
    assert record.status.startswith("4.")  # a delay is temporary even where no code says so


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Mail delivery failed: returning message to sender",
         f"  {ADDRESS}\n    retry timeout exceeded\n"),
        ("Returned mail: Cannot send message for 5 days",
         f"Message could not be delivered for 5 days\n<{ADDRESS}>... Deferred: Connection timed out\n"),
        ("Delivery Status Notification (Delay)",  # a quoted warning subject, then the final word
         f"Delivery to {ADDRESS} failed permanently: the message will not be retried.\n"),
    ],
)
def test_words_that_say_the_server_gave_up_are_final(subject, body):
    """A bounce that says it gave up, even one that also speaks of retrying, counts as a failure."""
    record = _only(_plain(subject, body))
    assert record.action == "failed"
    assert classify(record).bounce_class is BounceClass.SOFT


def test_dsn_action_expired_means_returned():
    """`Action: expired` (not in RFC 3464, written on returned mail) is a given-up delivery: soft."""
    record = _only(samples.dsn(ADDRESS, status="4.4.7", action="expired", diagnostic="smtp; Connection timed out"))
    assert (record.action, record.reason, classify(record).bounce_class) == ("failed", "expired", BounceClass.SOFT)


@pytest.mark.parametrize(
    ("status", "action", "diagnostic", "reason"),
    [
        ("5.2.2", "failed", "x-unix; input/output error", "mailboxfull"),
        ("5.2.2", "failed", "X-Postfix; cannot update mailbox /var/mail/kijitora", "mailboxfull"),
        ("4.4.1", "failed", "X-Postfix; connect to mx.example.jp[192.0.2.1]:25: Connection refused", "expired"),
        ("4.4.1", "delayed", "X-Postfix; connect to mx.example.jp[192.0.2.1]:25: Connection refused", "expired"),
        ("5.3.0", "failed", "X-Unix; 77", "mailererror"),  # "other mail system status": the mailer
        ("5.2.2", "failed", "x-unix; procmail: Couldn't create /var/mail/kijitora", "mailererror"),
    ],
)
def test_the_diagnostic_type_does_not_outrank_the_status_code(status, action, diagnostic, reason):
    """A failure the sending server decided itself takes its reason from a specific status code; a
    vague one, or words naming a failed delivery program, leave `mailererror`."""
    record = _only(samples.dsn(ADDRESS, status=status, action=action, diagnostic=diagnostic))
    assert (record.status, record.reason) == (status, reason)


@pytest.mark.parametrize(("reason", "expected"), [("mailboxfull", BounceClass.IGNORE), ("expired", BounceClass.HARD)])
def test_overrides_reach_failures_the_sending_server_decided(reason, expected):
    """`overrides` on `mailboxfull` and `expired` apply to X-Postfix / x-unix failures too."""
    raw = {
        "mailboxfull": samples.dsn(ADDRESS, status="5.2.2", diagnostic="x-unix; input/output error"),
        "expired": samples.dsn(ADDRESS, status="4.4.1", diagnostic="X-Postfix; connect to mx: Connection refused"),
    }[reason]
    assert classify(_only(raw), ClassPolicy(overrides={reason: expected})).bounce_class is expected
