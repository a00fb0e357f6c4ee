"""Detectors for bounce formats that are not (only) RFC 3464, in the order they are tried.

Most specific first: a family module claims a message only by its own marks (a header, the
From address, a fixed sentence); ``generic`` reads any remaining human-readable bounce.
Each detector takes a MailView and returns a list of Drafts, or None when it does not apply.
"""

from __future__ import annotations

from collections.abc import Callable

from ..finalize import Draft
from ..mailview import MailView
from . import amazonses, exim, generic

Detector = Callable[[MailView], "list[Draft] | None"]

DETECTORS: tuple[tuple[str, Detector], ...] = (
    ("amazonses", amazonses.detect),
    ("exim", exim.detect),
    ("generic", generic.detect),
)
