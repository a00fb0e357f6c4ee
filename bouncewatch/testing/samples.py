"""Realistic sample messages for tests and the demo: DSNs, an ARF complaint, an auto-reply, an
ordinary email. Pure functions returning CRLF-terminated bytes, as IMAP FETCH returns them.

Every message gets a fresh Message-ID and MIME boundary. The original (bounced) mail is always
from `SENDER` with subject `ORIGINAL_SUBJECT`, so tests can look for them.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from email.utils import format_datetime, make_msgid
from typing import Any

SENDER = "newsletter@example.com"
ORIGINAL_SUBJECT = "Our November newsletter"

_HEADLINES = {
    "failed": (
        "Undelivered Mail Returned to Sender",
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.",
    ),
    "delayed": (
        "Delayed Mail (still being retried)",
        "Your message could not be delivered for more than 4 hour(s).\n"
        "It will be retried until it is 5 day(s) old.",
    ),
    "delivered": (
        "Successful Mail Delivery Report",
        "Your message was successfully delivered to the destination(s)\nlisted below.",
    ),
}


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("ascii")


def _date(date: datetime | None) -> str:
    return format_datetime(date or datetime.now(timezone.utc))


def _boundary() -> str:
    return f"=_{uuid.uuid4().hex}"


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "example.org"


def _original_headers(recipient: str, message_id: str, date: str) -> str:
    return (
        f"Return-Path: <{SENDER}>\n"
        f"From: Example Newsletter <{SENDER}>\n"
        f"To: <{recipient}>\n"
        f"Subject: {ORIGINAL_SUBJECT}\n"
        f"Date: {date}\n"
        f"Message-ID: {message_id}\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=us-ascii\n"
    )


def dsn(
    recipient: str,
    status: str = "5.1.1",
    action: str = "failed",
    diagnostic: str | None = "smtp; 550 5.1.1 <x>: Recipient address rejected: User unknown",
    original_message_id: str | None = None,
    reporting_mta: str = "mx.example.net",
    date: datetime | None = None,
) -> bytes:
    """An RFC 3464 delivery status notification, Postfix style, about one recipient.

    `<x>` in `diagnostic` becomes `<recipient>`; `diagnostic=None` leaves out Diagnostic-Code.
    The third part holds the original's headers (text/rfc822-headers) with its Message-ID.
    """
    when = _date(date)
    original_id = original_message_id or make_msgid(domain="example.com")
    subject, explanation = _HEADLINES.get(action, _HEADLINES["failed"])
    remote_mta = f"mx1.{_domain(recipient)}"
    boundary = _boundary()
    per_recipient = (
        f"Final-Recipient: rfc822; {recipient}\n"
        f"Original-Recipient: rfc822;{recipient}\n"
        f"Action: {action}\n"
        f"Status: {status}\n"
        f"Remote-MTA: dns; {remote_mta}\n"
    )
    said = ""
    if diagnostic is not None:
        diagnostic = diagnostic.replace("<x>", f"<{recipient}>")
        per_recipient += f"Diagnostic-Code: {diagnostic}\n"
        said = f": host {remote_mta}[192.0.2.25] said:\n    {diagnostic.partition(';')[2].strip()}"
    if action == "delayed":
        per_recipient += f"Will-Retry-Until: {when}\n"
    return _crlf(
        f"Return-Path: <>\n"
        f"Date: {when}\n"
        f"From: MAILER-DAEMON@{reporting_mta} (Mail Delivery System)\n"
        f"To: {SENDER}\n"
        f"Subject: {subject}\n"
        f"Message-ID: {make_msgid(domain=reporting_mta)}\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=delivery-status;\n\tboundary="{boundary}"\n'
        "Content-Transfer-Encoding: 7bit\n"
        "\n"
        "This is a MIME-encapsulated message.\n"
        "\n"
        f"--{boundary}\n"
        "Content-Description: Notification\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "\n"
        f"This is the mail system at host {reporting_mta}.\n"
        "\n"
        f"{explanation}\n"
        "\n"
        "                   The mail system\n"
        "\n"
        f"<{recipient}>{said}\n"
        "\n"
        f"--{boundary}\n"
        "Content-Description: Delivery report\n"
        "Content-Type: message/delivery-status\n"
        "\n"
        f"Reporting-MTA: dns; {reporting_mta}\n"
        f"X-Postfix-Queue-ID: {uuid.uuid4().hex[:10].upper()}\n"
        f"X-Postfix-Sender: rfc822; {SENDER}\n"
        f"Arrival-Date: {when}\n"
        "\n"
        f"{per_recipient}"
        "\n"
        f"--{boundary}\n"
        "Content-Description: Undelivered Message Headers\n"
        "Content-Type: text/rfc822-headers\n"
        "\n"
        f"{_original_headers(recipient, original_id, when)}"
        "\n"
        f"--{boundary}--\n"
    )


def soft_dsn(recipient: str, **overrides: Any) -> bytes:
    """A soft failure: Action failed, 5.2.2 mailbox full."""
    fields: dict[str, Any] = {
        "status": "5.2.2",
        "diagnostic": "smtp; 552 5.2.2 <x>: Mailbox full: quota exceeded",
    }
    return dsn(recipient, **{**fields, **overrides})


def delay_dsn(recipient: str, **overrides: Any) -> bytes:
    """A delay warning: Action delayed, 4.4.1 (the receiving host did not answer); not a failure."""
    fields: dict[str, Any] = {
        "status": "4.4.1",
        "action": "delayed",
        "diagnostic": f"X-Postfix; connect to mx1.{_domain(recipient)}[192.0.2.25]:25: Connection timed out",
    }
    return dsn(recipient, **{**fields, **overrides})


def success_dsn(recipient: str, **overrides: Any) -> bytes:
    """A success notice: Action delivered, 2.0.0."""
    fields: dict[str, Any] = {
        "status": "2.0.0",
        "action": "delivered",
        "diagnostic": "smtp; 250 2.0.0 Ok: queued as 4F2A1",
    }
    return dsn(recipient, **{**fields, **overrides})


def arf_complaint(
    recipient: str,
    feedback_type: str = "abuse",
    original_message_id: str | None = None,
    date: datetime | None = None,
) -> bytes:
    """An RFC 5965 spam complaint (ARF) whose enclosed original is addressed To: recipient."""
    when = _date(date)
    original_id = original_message_id or make_msgid(domain="example.com")
    boundary = _boundary()
    return _crlf(
        "From: Mail Abuse Feedback <feedback@fbl.example.net>\n"
        "To: abuse@example.com\n"
        f"Subject: Abuse report: {ORIGINAL_SUBJECT}\n"
        f"Date: {when}\n"
        f"Message-ID: {make_msgid(domain='fbl.example.net')}\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=feedback-report;\n\tboundary="{boundary}"\n'
        "\n"
        f"--{boundary}\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "Content-Transfer-Encoding: 7bit\n"
        "\n"
        "This is an email abuse report for an email message received from\n"
        f"IP 192.0.2.10 on {when}.\n"
        "\n"
        f"--{boundary}\n"
        "Content-Type: message/feedback-report\n"
        "\n"
        f"Feedback-Type: {feedback_type}\n"
        "User-Agent: ExampleFBL/1.0\n"
        "Version: 1\n"
        f"Original-Mail-From: <{SENDER}>\n"
        f"Original-Rcpt-To: <{recipient}>\n"
        f"Arrival-Date: {when}\n"
        "Reporting-MTA: dns; fbl.example.net\n"
        "Source-IP: 192.0.2.10\n"
        "\n"
        f"--{boundary}\n"
        "Content-Type: message/rfc822\n"
        "Content-Disposition: inline\n"
        "\n"
        f"{_original_headers(recipient, original_id, when)}"
        "\n"
        "Hello, here is what is new this month.\n"
        "\n"
        f"--{boundary}--\n"
    )


def autoreply(recipient: str, date: datetime | None = None) -> bytes:
    """An RFC 3834 vacation auto-reply sent by `recipient` to the newsletter's address."""
    original_id = make_msgid(domain="example.com")
    return _crlf(
        f"From: <{recipient}>\n"
        f"To: <{SENDER}>\n"
        f"Subject: Out of Office: I am on vacation (Re: {ORIGINAL_SUBJECT})\n"
        f"Date: {_date(date)}\n"
        f"Message-ID: {make_msgid(domain=_domain(recipient))}\n"
        f"In-Reply-To: {original_id}\n"
        f"References: {original_id}\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "\n"
        "I am on vacation until Monday and will read your message when I am back.\n"
    )


def not_a_bounce(date: datetime | None = None) -> bytes:
    """An ordinary email from a person: no report, no auto-reply headers."""
    return _crlf(
        "From: Jane Customer <jane@customer.example.org>\n"
        f"To: <{SENDER}>\n"
        "Subject: Question about my order\n"
        f"Date: {_date(date)}\n"
        f"Message-ID: {make_msgid(domain='customer.example.org')}\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "\n"
        "Hello, could you tell me when my order will ship? Thanks, Jane\n"
    )
