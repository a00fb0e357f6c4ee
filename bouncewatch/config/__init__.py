"""TOML file (+ environment) → frozen, validated settings; every error names its key in one line.

The file is read once; nothing else in the program sees a raw dict. Secrets are held as
`SecretStr`, so printing or logging a settings object never shows them.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from .. import CONFIG_ENV
from ..records import REASONS, BounceClass
from .http import HttpSettings, check_http, is_loopback
from .outputs import OutputSettings, VerpSettings, check_publishing
from .providers import ProviderSettings, WebhookSettings, check_providers


class ConfigError(Exception):
    """A configuration problem, phrased as one line for a person."""


class _Section(BaseModel):
    # inf and nan are TOML numbers too; no timer, size or limit here means them.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def readable_file(path: Path) -> bool:
    """True for an existing regular file; False, never an error, for any name (NUL, too long)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


class DatabaseSettings(_Section):
    url: str = ""  # empty: an SQLite file next to the config file


class MailboxSettings(_Section):
    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    security: Literal["tls", "starttls", "none"] = "tls"
    username: Annotated[str, Field(min_length=1)]
    password: SecretStr | None = None
    password_file: Path | None = None
    password_env: str | None = None
    # XOAUTH2: a command (no shell) that prints a fresh access token; run when none is cached
    # or the server refused the cached one.
    oauth2_token_command: str | None = None
    folder: str = "INBOX"
    folders: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] | None = None
    idle: bool = False  # wait with IMAP IDLE between cycles where the server has it
    archive: Annotated[str, Field(min_length=1)] = "Bounces"
    ca_file: Path | None = None
    tls_verify: bool = True
    timeout_seconds: Annotated[float, Field(gt=0)] = 60.0

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return 993 if self.security == "tls" else 143

    @model_validator(mode="after")
    def _check(self) -> MailboxSettings:
        sources = [
            key
            for key in ("password", "password_file", "password_env", "oauth2_token_command")
            if getattr(self, key) is not None
        ]
        if not sources:
            raise ValueError(
                "password: missing; set one of password, password_file, password_env "
                "or oauth2_token_command"
            )
        if len(sources) > 1:
            raise ValueError(f"{sources[1]}: give only one of {', '.join(sources)}")
        if self.security == "none" and not is_loopback(self.host):
            raise ValueError(
                f'security: "none" sends the password in clear; it is only allowed for '
                f"loopback hosts, not {self.host!r} (use tls or starttls)"
            )
        if self.password_env is not None and self.password_env not in os.environ:
            raise ValueError(f"password_env: environment variable {self.password_env} is not set")
        if self.password_file is not None and not readable_file(self.password_file):
            raise ValueError(f"password_file: {self.password_file} is not a readable file")
        if self.ca_file is not None and not readable_file(self.ca_file):
            raise ValueError(f"ca_file: {self.ca_file} is not a readable file")
        if self.folders is not None and "folder" in self.model_fields_set:
            raise ValueError("folders: give either folder or folders, not both")
        if self.folders is not None and len(set(self.folders)) != len(self.folders):
            raise ValueError("folders: a folder is listed twice")
        if self.oauth2_token_command is not None and not self.oauth2_token_command.strip():
            raise ValueError("oauth2_token_command: empty command")
        return self

    @property
    def folder_list(self) -> tuple[str, ...]:
        """The folders to watch: `folders` when given, else the single `folder`."""
        return tuple(self.folders) if self.folders is not None else (self.folder,)

    @property
    def uses_oauth2(self) -> bool:
        return self.oauth2_token_command is not None

    def secret(self) -> str:
        """The password, read from wherever the config says it lives (not for oauth2)."""
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_file is not None:
            return self.password_file.read_text(encoding="utf-8").rstrip("\r\n")
        assert self.password_env is not None
        return os.environ[self.password_env]


def default_parse_workers() -> int:
    """A parsing process per core but one, up to 4: that core fetches, writes, and runs the IMAP
    server when it is local. Measured on 2 cores, 10,000 bounces: 0 workers 6.7 s, 1 worker
    3.5 s, 2 workers 5.4 s (three busy processes on two cores)."""
    cores = os.cpu_count() or 1
    return max(0, min(cores - 1, 4))


class PollSettings(_Section):
    interval_seconds: Annotated[float, Field(gt=0)] = 60
    batch_size: Annotated[int, Field(ge=1, le=10000)] = 500
    # Larger messages are fetched as headers + this many bytes, and parsed from that prefix.
    max_message_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024
    # Processes that parse large batches beside the one fetching and writing; 0: parse here.
    parse_workers: Annotated[int, Field(ge=0, le=64)] = Field(default_factory=lambda: default_parse_workers())


class DaemonSettings(_Section):
    """How `bouncewatch run` retries, shares mailboxes with other instances, and reports health."""

    backoff_initial_seconds: Annotated[float, Field(gt=0)] = 1.0
    backoff_max_seconds: Annotated[float, Field(gt=0)] = 300.0
    # A standby instance tries to take over a mailbox's lease this often.
    lease_retry_seconds: Annotated[float, Field(gt=0)] = 15.0
    # Re-issue IDLE this often (RFC 2177: servers may drop an IDLE after 30 minutes).
    idle_renew_seconds: Annotated[float, Field(gt=0, le=29 * 60)] = 25 * 60
    health_file: Path | None = None  # JSON, rewritten atomically after every attempt


class PolicySettings(_Section):
    soft_limit: Annotated[int, Field(ge=1)] = 5
    # Soft bounces older than this no longer count; 0 turns the window off. 30 days: a soft
    # bounce says how the address is now, and sending systems rarely report successes, so
    # without a window a few transient failures spread over years would add up to a block.
    soft_window_days: Annotated[float, Field(ge=0)] = 30
    overrides: dict[str, BounceClass] = Field(default_factory=dict)
    complaint_action: Literal["block", "record"] = "block"
    # Rejections that point at the sender (blocked IP, spam filter, policy, auth) say nothing
    # about the address: recorded with their reason, counted only when this is on.
    count_sender_side: bool = False
    sender_alert_threshold: Annotated[int, Field(ge=1)] = 20
    sender_alert_window_minutes: Annotated[float, Field(gt=0)] = 60

    @field_validator("overrides")
    @classmethod
    def _known_reasons(cls, overrides: dict[str, BounceClass]) -> dict[str, BounceClass]:
        for reason in overrides:
            if reason not in REASONS:
                raise ValueError(
                    f"{reason}: unknown reason, so the override would never apply; use one of {', '.join(sorted(REASONS))}"
                )
        return overrides


class RetentionSettings(_Section):
    """How long the history is kept; each address's state, the audit trail and the folder
    cursors are kept forever. 0 keeps that kind of row forever."""

    # Bounce events (what `history`, `report` and the console's timeline show) older than this
    # are removed; the address states they built stay.
    events_days: Annotated[int, Field(ge=0, le=36500)] = 180
    # The per-message rows (fingerprint, and which addresses the message counted) that keep a
    # message, or a second report about the same original message, from counting twice. Kept
    # longer than the events, so a message moved back into the watched folder by hand months
    # later is still recognised.
    messages_days: Annotated[int, Field(ge=0, le=36500)] = 400

    @model_validator(mode="after")
    def _check(self) -> RetentionSettings:
        # A message row takes its events with it, so it must not go before them.
        if self.messages_days and (not self.events_days or self.messages_days < self.events_days):
            raise ValueError(
                f"messages_days: must be 0 (keep forever) or at least events_days "
                f"({self.events_days or 'forever'}): a message's record takes its events with it"
            )
        return self


class BlocklistSettings(_Section):
    path: Path | None = None  # default: blocklist.txt next to the config file
    # The daemon writes the outputs (this file and every [[outputs]]) at most this often; the
    # changes in between are written together, and the last one before it stops.
    min_interval_seconds: Annotated[float, Field(ge=0, le=86400)] = 10


class LogSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class Settings(_Section):
    database: DatabaseSettings = DatabaseSettings()
    mailboxes: list[MailboxSettings] = Field(default_factory=list)
    poll: PollSettings = PollSettings()
    policy: PolicySettings = PolicySettings()
    blocklist: BlocklistSettings = BlocklistSettings()
    log: LogSettings = LogSettings()
    daemon: DaemonSettings = DaemonSettings()
    outputs: list[OutputSettings] = Field(default_factory=list)  # [[outputs]], beside [blocklist]
    verp: VerpSettings = VerpSettings()
    http: HttpSettings = HttpSettings()  # the daemon's HTTP endpoint (config/http.py)
    providers: list[ProviderSettings] = Field(default_factory=list)  # events from sending services
    webhooks: list[WebhookSettings] = Field(default_factory=list)  # events out (config/providers.py)
    retention: RetentionSettings = RetentionSettings()
    config_dir: Path = Path(".")  # filled by load(); not a file key

    @model_validator(mode="after")
    def _check_publishing(self) -> Settings:
        check_publishing(self)  # output paths, VERP key files (config/outputs.py)
        check_http(self)  # [http] token_file, keys that need enabled or console (config/http.py)
        check_providers(self)  # [[providers]] and [[webhooks]] secrets (config/providers.py)
        return self

    @field_validator("mailboxes")
    @classmethod
    def _unique_names(cls, mailboxes: list[MailboxSettings]) -> list[MailboxSettings]:
        names = [m.name for m in mailboxes]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"name: {name!r} is used by more than one mailbox")
        return mailboxes

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.config_dir / 'state.db'}"

    @property
    def health_path(self) -> Path | None:
        path = self.daemon.health_file
        if path is None:
            return None
        return path if path.is_absolute() else self.config_dir / path

    @property
    def blocklist_path(self) -> Path:
        path = self.blocklist.path or Path("blocklist.txt")
        return path if path.is_absolute() else self.config_dir / path


def _key_path(location: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in location:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
        else:
            parts.append(item)
    return ".".join(parts)


# pydantic's words for a value of the wrong TOML type, in the file's terms.
_TYPE_WORDS = {
    "missing": "missing",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "list_type": "must be an array",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "finite_number": "must be a finite number",
    "path_type": "must be a file name (a string)",
}


def _one_line(error: ValidationError) -> str:
    first = error.errors()[0]
    key = _key_path(tuple(first["loc"]))
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif first["type"] in _TYPE_WORDS:
        message = _TYPE_WORDS[first["type"]]
    # Validators report "key: message" for keys they check across fields; join, not repeat.
    if ":" in message.split(" ", 1)[0]:
        inner_key, _, message = message.partition(": ")
        key = f"{key}.{inner_key}" if key else inner_key
    return f"{key}: {message}" if key else message


def config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """The config file to read: the -c argument, else $BOUNCEWATCH_CONFIG."""
    chosen = explicit or os.environ.get(CONFIG_ENV)
    if not chosen:
        raise ConfigError(f"no config file: pass -c FILE or set {CONFIG_ENV}")
    return Path(chosen)


def load(path: str | os.PathLike[str] | None) -> Settings:
    """Read and validate the config file; raise ConfigError with one line naming the key."""
    file = config_path(path)
    data = _read_toml(file)
    if "config_dir" in data:
        raise ConfigError(f"{file}: config_dir: unknown key")
    config_dir = file.resolve().parent
    data["config_dir"] = config_dir
    for table in ("mailboxes", "outputs"):
        items = data.get(table, [])
        if not isinstance(items, list):
            raise ConfigError(f"{file}: {table}: must be an array of tables ([[{table}]])")
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise ConfigError(f"{file}: {table}[{index}]: must be a table ([[{table}]])")
    for mailbox in data.get("mailboxes", []):
        for key in ("password_file", "ca_file"):
            # Relative paths in the file mean relative to the file, not to the working directory.
            if isinstance(mailbox.get(key), str) and not Path(mailbox[key]).is_absolute():
                mailbox[key] = str(config_dir / mailbox[key])
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{file}: {_one_line(exc)}") from None
    except (TypeError, ValueError, OSError) as exc:  # a check that met a value no rule foresaw
        raise ConfigError(f"{file}: cannot be used ({type(exc).__name__}: {exc}); check the values it gives") from None


def _read_toml(file: Path) -> dict:
    """The file's TOML as a dict; ConfigError for a missing, unreadable, non-UTF-8 or non-TOML file."""
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such config file") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{file}: not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); save the file as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
