"""Settings for events from sending services (`[[providers]]`) and webhooks out (`[[webhooks]]`).

    [[providers]]                       # one table per sending service, each kind at most once
    kind = "mailgun"                    # POST /hooks/mailgun
    signing_key_file = "mailgun.key"    # the HTTP webhook signing key
    [[providers]]
    kind = "ses"                        # POST /hooks/ses (Amazon SES through SNS)
    topic_arns = ["arn:aws:sns:eu-west-1:123456789012:ses-bounces"]
    [[providers]]
    kind = "sendgrid"                   # POST /hooks/sendgrid
    public_key_file = "sendgrid.pub"    # the signed Event Webhook's verification key
    [[providers]]
    kind = "postmark"                   # POST /hooks/postmark, HTTP basic auth
    username = "postmark"
    password_file = "postmark.password"

    [[webhooks]]                        # one table per receiver
    url = "https://crm.example.com/bouncewatch"
    events = ["blocked", "unblocked", "sender_alert"]
    secret_file = "webhook.secret"

Secrets live in files (relative paths: to the config file), read at start and on SIGHUP; a
missing or empty one is a config error naming its key. Provider events arrive on the HTTP
endpoint, so `[[providers]]` without `[http] enabled = true` is an error too.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .http import is_loopback

if TYPE_CHECKING:
    from . import Settings

PROVIDER_KINDS = ("mailgun", "ses", "sendgrid", "postmark")
WEBHOOK_EVENTS = ("blocked", "unblocked", "sender_alert")
# The keys each kind needs (first) and may have; any other key is an error.
_REQUIRED = {
    "mailgun": ("signing_key_file",),
    "ses": ("topic_arns",),
    "sendgrid": ("public_key_file",),
    "postmark": ("username", "password_file"),
}
_OPTIONAL = {"ses": ("certificate_hosts", "ca_file")}
_SECRET_FILES = ("signing_key_file", "public_key_file", "password_file")


class ProviderSettings(BaseModel):
    """One sending service whose events come in on `/hooks/<kind>`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    signing_key_file: Path | None = None  # mailgun
    topic_arns: list[Annotated[str, Field(min_length=1)]] | None = None  # ses: the allowed topics
    # ses: hosts (host or host:port) to fetch signing certificates from besides AWS's own
    # sns.<region>.amazonaws.com; for tests and private mirrors only.
    certificate_hosts: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    ca_file: Path | None = None  # ses: the CA that certificate hosts' TLS is checked against
    public_key_file: Path | None = None  # sendgrid
    username: str | None = None  # postmark
    password_file: Path | None = None  # postmark

    @model_validator(mode="after")
    def _check(self) -> ProviderSettings:
        if self.kind not in PROVIDER_KINDS:
            raise ValueError(f"kind: unknown kind {self.kind!r}; use one of {', '.join(PROVIDER_KINDS)}")
        given = self.model_fields_set - {"kind"}
        for key in _REQUIRED[self.kind]:
            if key not in given or getattr(self, key) in (None, "", []):
                raise ValueError(f"{key}: missing; a {self.kind} provider needs {' and '.join(_REQUIRED[self.kind])}")
        allowed = set(_REQUIRED[self.kind]) | set(_OPTIONAL.get(self.kind, ()))
        for key in sorted(given - allowed):
            raise ValueError(f"{key}: not a key of a {self.kind} provider")
        return self


class WebhookSettings(BaseModel):
    """One receiver of `blocked`, `unblocked` and `sender_alert` events."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    events: Annotated[list[Literal["blocked", "unblocked", "sender_alert"]], Field(min_length=1)] = Field(
        default_factory=lambda: list(WEBHOOK_EVENTS)
    )
    secret_file: Path
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"not an http(s) URL ({value!r}); e.g. 'https://crm.example.com/bouncewatch'")
        return value.strip()

    @property
    def plaintext_off_loopback(self) -> bool:
        parts = urlsplit(self.url)
        return parts.scheme == "http" and not is_loopback(parts.hostname or "")


def resolve(settings: Settings, path: Path) -> Path:
    return path if path.is_absolute() else settings.config_dir / path


def read_secret(settings: Settings, key: str, path: Path) -> bytes:
    """The bytes of a secret file, surrounding whitespace stripped; ValueError("key: ...") otherwise."""
    full = resolve(settings, path)
    try:
        data = full.read_bytes().strip()
    except OSError as exc:
        raise ValueError(f"{key}: cannot read {full}: {exc.strerror}") from None
    if not data:
        raise ValueError(f"{key}: {full} is empty")
    return data


def provider(settings: Settings, kind: str) -> ProviderSettings | None:
    """The `[[providers]]` table of `kind`, or None when that service is not configured."""
    return next((p for p in settings.providers if p.kind == kind), None)


def check_providers(settings: Settings) -> None:
    """Cross-checks that need the config directory and the other sections; ValueError("key: ...")."""
    seen: dict[str, int] = {}
    for index, item in enumerate(settings.providers):
        key = f"providers[{index}]"
        if item.kind in seen:
            raise ValueError(f"{key}.kind: {item.kind!r} is also providers[{seen[item.kind]}]; give each kind once")
        seen[item.kind] = index
        if not settings.http.enabled:
            raise ValueError(
                f"{key}: {item.kind} events arrive on the HTTP endpoint (POST /hooks/{item.kind}); "
                "set [http] enabled = true"
            )
        for name in _SECRET_FILES:
            path = getattr(item, name)
            if path is not None:
                read_secret(settings, f"{key}.{name}", path)
        if item.ca_file is not None and not resolve(settings, item.ca_file).is_file():
            raise ValueError(f"{key}.ca_file: {resolve(settings, item.ca_file)} is not a readable file")
    for index, hook in enumerate(settings.webhooks):
        read_secret(settings, f"webhooks[{index}].secret_file", hook.secret_file)
