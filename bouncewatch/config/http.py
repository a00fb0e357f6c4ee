"""The `[http]` section: the daemon's HTTP endpoint (health, metrics, read-only API), off by default.

    [http]
    enabled = true
    listen = "127.0.0.1:9117"      # host:port; "[::1]:9117" for IPv6; loopback unless written
    token_file = "/etc/bouncewatch/http.token"   # optional: bearer token for the /v1 routes
    allowed_hosts = ["bouncewatch.example.com"]  # Host names besides listen's and loopback's
    max_body_bytes = 65536         # a larger request body is refused (413) before it is read
    header_timeout_seconds = 10    # to send the request line and headers (and idle keep-alive)
    body_timeout_seconds = 30      # to send the whole body
    write_timeout_seconds = 30     # a client that takes no part of a response for this long is dropped
    v1_open_to_network = false     # true: /v1 answers clients off loopback without token_file
    session_hours = 12             # a console sign-in lasts this long, however it is used

A non-loopback `listen` is only ever what the file says (the default is loopback); without a
token the daemon logs a warning for it at start, and /v1 refuses clients that are not on
loopback unless `v1_open_to_network = true`.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from . import Settings

DEFAULT_LISTEN = "127.0.0.1:9117"
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses, where plain IMAP cannot be overheard."""
    if host.lower().rstrip(".") in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


HOST_NAME = re.compile(r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?|\[[0-9a-f:.]+\]")


def split_listen(listen: str) -> tuple[str, int]:
    """"host:port" or "[v6]:port" → (host, port); ValueError with a message for a person."""
    text = listen.strip()
    if text.endswith("]"):
        raise ValueError(f"the port is missing, e.g. '[::1]:9117' (got {listen!r})")
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"must be host:port, e.g. {DEFAULT_LISTEN!r} or '[::1]:9117' (got {listen!r})")
    if host.startswith("["):
        if not host.endswith("]"):
            raise ValueError(f"an IPv6 address goes in brackets, e.g. '[::1]:9117' (got {listen!r})")
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"not an IPv6 address in the brackets (got {listen!r})") from None
    elif ":" in host:
        raise ValueError(f"put an IPv6 address in brackets, e.g. '[::1]:9117' (got {listen!r})")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"the port must be a number from 1 to 65535 (got {listen!r})")
    return host, int(port_text)


class HttpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    enabled: bool = False
    listen: str = DEFAULT_LISTEN
    token_file: Path | None = None  # relative: to the config file
    # The review console under / (bouncewatch/console/): off unless asked for.
    console: bool = False
    users_file: Path | None = None  # "name:argon2-hash" lines (bouncewatch console adduser)
    trusted_user_header: str | None = None  # e.g. "X-Remote-User", set by a reverse proxy
    trusted_proxies: list[str] = []  # addresses/networks whose trusted_user_header is believed
    secret_key_file: Path | None = None  # session signing key; default: generated in the state dir
    session_hours: Annotated[float, Field(gt=0, le=24 * 30)] = 12  # absolute: use does not extend it
    # Host names the endpoint answers to besides listen's host and loopback (DNS rebinding:
    # a page whose name resolves to this address must not read it); "*" allows any.
    allowed_hosts: list[str] = []
    # The largest request body of the console and /v1 (a sign-in is a few hundred bytes).
    max_body_bytes: Annotated[int, Field(ge=1024, le=256 * 1024 * 1024)] = 64 * 1024
    # The largest request body POST /hooks/<provider> and POST /v1/events take (a SendGrid batch
    # of a thousand events is about 1 MB); other routes keep their own, smaller limit.
    events_max_body_bytes: Annotated[int, Field(ge=1024, le=256 * 1024 * 1024)] = 10 * 1024 * 1024
    header_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10
    body_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 30
    write_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 30
    v1_open_to_network: bool = False  # /v1 without token_file answers only loopback clients

    @field_validator("allowed_hosts")
    @classmethod
    def _check_hosts(cls, value: list[str]) -> list[str]:
        names = []
        for item in value:
            name = item.strip().lower().rstrip(".")
            if name != "*" and not HOST_NAME.fullmatch(name):
                raise ValueError(f"not a host name (no port, no scheme): {item!r}")
            names.append(name)
        return names

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or network: {item!r}") from None
        return [item.strip() for item in value]

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        split_listen(value)
        return value.strip()

    @property
    def host(self) -> str:
        return split_listen(self.listen)[0]

    @property
    def port(self) -> int:
        return split_listen(self.listen)[1]


def token_path(settings: Settings) -> Path | None:
    path = settings.http.token_file
    if path is None:
        return None
    return path if path.is_absolute() else settings.config_dir / path


def read_token(settings: Settings) -> str | None:
    """The bearer token from `token_file` (surrounding whitespace stripped), or None without one.

    Raises ValueError("http.token_file: ...") when the file cannot be read or is empty.
    """
    path = token_path(settings)
    if path is None:
        return None
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"http.token_file: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"http.token_file: {path} is not UTF-8 text") from None
    except ValueError:  # a NUL in the name
        raise ValueError(f"http.token_file: {str(path)!r} is not a file name") from None
    if not token:
        raise ValueError(f"http.token_file: {path} is empty")
    return token


# Keys that only the review console reads, and every key that only the endpoint reads.
CONSOLE_KEYS = ("users_file", "trusted_user_header", "secret_key_file", "session_hours")
ENDPOINT_KEYS = (
    "console", "listen", "token_file", "events_max_body_bytes", "allowed_hosts", "max_body_bytes",
    "header_timeout_seconds", "body_timeout_seconds", "write_timeout_seconds", "v1_open_to_network",
    "trusted_proxies",  # also whose X-Forwarded-For and X-Forwarded-Proto are believed (/v1, cookies)
    *CONSOLE_KEYS,
)


def _changed(http: HttpSettings, key: str) -> bool:
    """True when the file gives `key` a value other than its default (one that would do something)."""
    return key in http.model_fields_set and getattr(http, key) != HttpSettings.model_fields[key].get_default(
        call_default_factory=True
    )


def check_http(settings: Settings) -> None:
    """Cross-checks that need the config directory; raise ValueError("key: message").

    No silent settings: a key that cannot take effect is an error naming it and the fix, e.g.
    `console = true` without `enabled = true` (nothing would listen).
    """
    http = settings.http
    if not http.enabled:
        for key in ENDPOINT_KEYS:
            if _changed(http, key):
                raise ValueError(
                    f"http.{key}: takes effect only with the HTTP endpoint; set [http] enabled = true, "
                    f"or remove {key}"
                )
        return
    read_token(settings)
    if not http.console:
        for key in CONSOLE_KEYS:
            if _changed(http, key):
                raise ValueError(
                    f"http.{key}: only the review console uses it; set [http] console = true, or remove {key}"
                )
        return
    check_console_settings(settings)


def check_console_settings(settings: Settings) -> None:
    """Raise ValueError("console: ...") for a console that would be open to the network."""
    http = settings.http
    if http.trusted_user_header is not None and not http.trusted_proxies:
        raise ValueError("http.trusted_user_header: set trusted_proxies to the reverse proxy's address")
    if not is_loopback(http.host) and http.users_file is None and http.trusted_user_header is None:
        raise ValueError(
            f"http.console: {http.listen} is not loopback; set users_file (bouncewatch console adduser) "
            "or trusted_user_header with trusted_proxies"
        )
