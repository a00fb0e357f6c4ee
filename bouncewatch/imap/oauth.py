"""OAuth2 access tokens for XOAUTH2 logins, from a configured command, cached per mailbox.

bouncewatch does not speak to an OAuth provider itself: `oauth2_token_command` (for example a
script around the provider's CLI) prints a fresh access token on stdout. The token is cached
in memory and used until the server refuses it; then the command runs again. A token is a
secret: it is never logged, and errors about the command never quote its output.
"""

from __future__ import annotations

import shlex
import subprocess
import threading

COMMAND_TIMEOUT_SECONDS = 30.0


class TokenError(Exception):
    """The token command failed or printed nothing; says which mailbox, never the token."""


class TokenCache:
    """Access tokens by mailbox name; thread-safe; `invalidate` after the server refused one."""

    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()
        self.runs = 0  # how often a command ran (for tests and debugging)

    def get(self, mailbox: str, command: str) -> str:
        """The cached token, or a fresh one from `command`."""
        with self._lock:
            token = self._tokens.get(mailbox)
            if token is None:
                token = self._tokens[mailbox] = run_token_command(mailbox, command)
                self.runs += 1
            return token

    def invalidate(self, mailbox: str) -> None:
        with self._lock:
            self._tokens.pop(mailbox, None)


def run_token_command(mailbox: str, command: str) -> str:
    """Run the command (no shell) and return the first line it prints."""
    where = f"mailbox {mailbox}: oauth2_token_command"
    try:
        result = subprocess.run(
            shlex.split(command),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise TokenError(f"{where}: program not found") from None
    except PermissionError:
        raise TokenError(f"{where}: program not executable") from None
    except subprocess.TimeoutExpired:
        raise TokenError(f"{where}: no token within {COMMAND_TIMEOUT_SECONDS:.0f} s") from None
    if result.returncode != 0:
        # stderr may be useful, but could echo a secret; give its size, not its content.
        raise TokenError(
            f"{where}: exited with status {result.returncode} ({len(result.stderr)} bytes on stderr)"
        )
    lines = result.stdout.decode("utf-8", errors="replace").strip().splitlines()
    if not lines or not lines[0].strip():
        raise TokenError(f"{where}: printed no token")
    return lines[0].strip()


tokens = TokenCache()  # the process-wide cache: tokens outlive one connection
