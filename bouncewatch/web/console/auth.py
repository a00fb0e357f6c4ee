"""Who is using the console: no one needs to sign in on a loopback listener without users;
otherwise a user from `[http] users_file` (argon2 hashes) or a trusted reverse-proxy header.

- `users_file`: one `name:argon2-hash` line per user, written by `bouncewatch console adduser`;
  read again whenever its modification time changes, so a removed user, or one whose password
  changed, is signed out at their next request (a session remembers a fingerprint of the hash
  it was opened with: store/console_sessions.py).
- password checks are bounded: at most HASHING_SLOTS argon2 verifications run at once (each
  takes tens of megabytes and most of a core); a sign-in that cannot get a slot within
  HASHING_WAIT_SECONDS is answered "busy" instead of queueing, so a flood of sign-ins cannot
  take every thread and core.
- `trusted_user_header` (e.g. "X-Remote-User"): believed only when the request's peer address
  (REMOTE_ADDR, the proxy's own connection) is in `trusted_proxies`; from anyone else it is
  ignored, so a client cannot name itself.
- on a loopback `listen` with neither configured, the console is open to local users and the
  actor of an action is "console@localhost".
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ...config import is_loopback

if TYPE_CHECKING:
    from ...config import Settings

USER_NAME = re.compile(r"^[A-Za-z0-9_.@+-]{1,64}$")
HASHING_SLOTS = 1
HASHING_WAIT_SECONDS = 0.5
_hashing = threading.BoundedSemaphore(HASHING_SLOTS)


class Busy(Exception):
    """No password-checking slot came free in time: try again in a moment."""
LOOPBACK_ACTOR = "console@localhost"
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("a password no one has")  # same work for unknown users


def _resolve(settings: Settings, path: Path | None) -> Path | None:
    if path is None:
        return None
    return path if path.is_absolute() else settings.config_dir / path


def users_path(settings: Settings) -> Path | None:
    return _resolve(settings, settings.http.users_file)


def state_dir(settings: Settings) -> Path:
    """Where the daemon keeps what it writes: the directory of the blocklist file."""
    return settings.blocklist_path.parent


def secret_key_path(settings: Settings) -> Path:
    return _resolve(settings, settings.http.secret_key_file) or state_dir(settings) / "console-secret.key"


def auth_required(settings: Settings) -> bool:
    http = settings.http
    return not is_loopback(http.host) or http.users_file is not None or http.trusted_user_header is not None


def load_secret_key(settings: Settings) -> bytes:
    """The session signing key; generated (32 random bytes, mode 0600) when the file is absent."""
    path = secret_key_path(settings)
    try:
        data = path.read_bytes().strip()
    except FileNotFoundError:
        data = secrets.token_hex(32).encode()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_secret_key(settings)  # another process made it first
        except OSError as exc:
            raise ValueError(f"http.secret_key_file: cannot create {path}: {exc.strerror}") from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(data + b"\n")
    except OSError as exc:
        raise ValueError(f"http.secret_key_file: cannot read {path}: {exc.strerror}") from None
    if len(data) < 16:
        raise ValueError(f"http.secret_key_file: {path} holds fewer than 16 bytes")
    return data


# -- the users file -------------------------------------------------------------------------


def parse_users(text: str) -> dict[str, str]:
    users: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, digest = line.partition(":")
        if sep and USER_NAME.match(name) and digest.startswith("$argon2"):
            users[name] = digest
    return users


class UsersFile:
    """The users of `users_file`, read again when the file changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[str, float, int] | None = None
        self._users: dict[str, str] = {}

    def users(self, path: Path) -> dict[str, str]:
        try:
            stat = path.stat()
        except OSError:
            return {}
        key = (str(path), stat.st_mtime, stat.st_size)
        with self._lock:
            if key != self._key:
                try:
                    self._users = parse_users(path.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError):
                    self._users = {}
                self._key = key
            return self._users

    def verify(self, path: Path, name: str, password: str) -> bool:
        """True for the right password; raises Busy when no hashing slot comes free in time."""
        digest = self.users(path).get(name)
        if not _hashing.acquire(timeout=HASHING_WAIT_SECONDS):
            raise Busy()
        try:
            return _hasher.verify(digest or _DUMMY_HASH, password) and digest is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        finally:
            _hashing.release()

    def credential(self, path: Path, name: str) -> str | None:
        """A fingerprint of the user's current password hash (None: no such user); a session
        opened under another one is over."""
        digest = self.users(path).get(name)
        return hashlib.sha256(digest.encode("utf-8")).hexdigest() if digest else None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def write_user(path: Path, name: str, password: str) -> bool:
    """Add or replace `name` in the users file (atomically, mode 0600); True when it was new."""
    if not USER_NAME.match(name):
        raise ValueError("a user name is 1 to 64 of A-Z a-z 0-9 _ . @ + -")
    if not password:
        raise ValueError("the password is empty")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    kept = [line for line in lines if line.partition(":")[0].strip() != name]
    new = len(kept) == len(lines)
    kept.append(f"{name}:{hash_password(password)}")
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(kept) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return new


def proxy_user(values: list[str]) -> str | None:
    """The user a trusted proxy names, or None: the header must come once, with one printable
    name of at most 128 characters and no comma (a duplicated header arrives comma-joined, and
    "alice, mallory" is no one)."""
    if len(values) != 1:
        return None
    name = values[0].strip()
    if not name or len(name) > 128 or not name.isprintable() or "," in name:
        return None
    return name
