"""Detectors for bounce formats that are not (only) RFC 3464, in the order they are tried.

Most specific first: a family module claims a message only by its own marks (a header, the
From address, a fixed sentence); ``generic`` reads any remaining human-readable bounce.
``PRE_DSN`` families are tried before RFC 3464 reports: their own text is more reliable than
the delivery-status part they attach. Each detector takes a MailView and returns a list of Drafts, or None when it does not apply.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..finalize import Draft
from ..mailview import MailView
from . import amazonses, aol, domino, exim, fml, generic, googlegroups, verizon

Detector = Callable[[MailView], "list[Draft] | None"]

PRE_DSN: tuple[tuple[str, Detector], ...] = (("domino", domino.detect),)

DETECTORS: tuple[tuple[str, Detector], ...] = (
    ("amazonses", amazonses.detect),
    ("googlegroups", googlegroups.detect),
    ("fml", fml.detect),
    ("verizon", verizon.detect),
    ("aol", aol.detect),
    ("exim", exim.detect),
    ("generic", generic.detect),
)


_OUTLOOK_DOMAINS = ("hotmail.", "outlook.", "live.", "msn.")
# Amazon SES receiving reports "Reporting-MTA: dns; inbound-smtp.<region>.amazonaws.com"
_SES_INBOUND = re.compile(r"^Reporting-MTA:[ \t]*dns;[ \t]*inbound-smtp\.[a-z0-9-]+\.amazonaws\.com\b", re.I | re.M)


def family_of(view: MailView) -> str:
    """The MTA family a message comes from, by cheap header marks only; ``""`` when unknown.

    Used to apply a family's own reason wording (reasons.FAMILY_PHRASES); the marks are those
    Sisimai's Lhost modules check first.
    """
    has = view.has_header
    if view.reports and "inbound-smtp." in view.reports[0] and _SES_INBOUND.search(view.reports[0]):
        return "receivingses"
    if has("X-NAI-Header"):
        return "mcafee"
    if has("X-PowerMTA-BounceCategory") or any("x-powermta-" in r.lower() for r in view.reports):
        return "powermta"
    if has("X-MS-Exchange-Message-Is-Ndr") or has("X-MS-Exchange-CrossTenant-OriginalArrivalTime"):
        return "office365"
    local, _, domain = view.from_addr.partition("@")
    if local == "postmaster" and domain.startswith(_OUTLOOK_DOMAINS):
        return "outlook"
    if view.header("X-Mailer").startswith("<SMTP32 v"):
        return "imailserver"
    mailer = view.header("X-Mailer").lower() + " " + view.header("X-MimeOLE").lower()
    if "internet mail service" in mailer or "produced by microsoft exchange" in mailer or _via_ims(view):
        return "exchange2003"
    subject = view.subject.lower()
    if subject.startswith(("undeliverable message", "delivery failure:", "delivery_failure:")):
        return "notes"
    return ""


def _via_ims(view: MailView) -> bool:
    """Passed through Exchange's Internet Mail Service, which writes its NDRs without an X-Mailer:
    "Received: by host with Internet Mail Service (5.5.2657.72)"."""
    received = view.msg.get_all("Received") or ()
    return any("with Internet Mail Service (" in str(value) for value in received[:20])
