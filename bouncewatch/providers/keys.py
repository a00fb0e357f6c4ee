"""The secrets of the configured providers, read from their files once (at start and on SIGHUP)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..config.providers import read_secret, resolve
from .sendgrid import load_public_key
from .sns import Fetcher

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

    from ..config import Settings


@dataclass(frozen=True)
class ProviderKeys:
    """What each configured provider's requests are checked with (None: not configured)."""

    mailgun: bytes | None = None
    sendgrid: EllipticCurvePublicKey | None = None
    postmark: tuple[str, bytes] | None = None  # user name, password
    ses_topics: frozenset[str] = frozenset()
    ses_fetcher: Fetcher | None = None
    configured: frozenset[str] = field(default=frozenset())


def load_keys(settings: Settings, old: ProviderKeys | None = None) -> ProviderKeys:
    """Read every provider's secret; ValueError("providers[i].key: ...") for one that is unusable.

    The SES certificate cache of `old` is kept when its hosts and CA are unchanged.
    """
    values: dict[str, object] = {}
    for index, item in enumerate(settings.providers):
        key = f"providers[{index}]"
        if item.kind == "mailgun" and item.signing_key_file is not None:
            values["mailgun"] = read_secret(settings, f"{key}.signing_key_file", item.signing_key_file)
        elif item.kind == "sendgrid" and item.public_key_file is not None:
            data = read_secret(settings, f"{key}.public_key_file", item.public_key_file)
            try:
                values["sendgrid"] = load_public_key(data)
            except ValueError as exc:
                raise ValueError(f"{key}.public_key_file: {exc}") from None
        elif item.kind == "postmark" and item.password_file is not None:
            values["postmark"] = (item.username or "", read_secret(settings, f"{key}.password_file", item.password_file))
        elif item.kind == "ses":
            values["ses_topics"] = frozenset(item.topic_arns or ())
            ca_file = resolve(settings, item.ca_file) if item.ca_file else None
            reuse = old is not None and old.ses_fetcher is not None
            if reuse and old.ses_fetcher.extra_hosts == tuple(item.certificate_hosts) and old.ses_fetcher.ca_file == ca_file:
                values["ses_fetcher"] = old.ses_fetcher
            else:
                values["ses_fetcher"] = Fetcher(item.certificate_hosts, ca_file)
    return ProviderKeys(configured=frozenset(p.kind for p in settings.providers), **values)  # type: ignore[arg-type]
