"""The quick-start demo: a throwaway Dovecot seeded with bounces, one real `bouncewatch poll`.

Run it as `python -m bouncewatch.testing.demo [DIR]`. It leaves DIR (default ./demo) with the
config, the SQLite state and the blocklist so they can be looked at afterwards.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from . import samples
from .dovecot import ThrowawayDovecot

USER, PASSWORD = "bounces", "secret"


def seed() -> list[bytes]:
    """A morning's worth of bounces: unknown users, full mailboxes, a complaint, noise."""
    messages = [samples.dsn("no.such.user@example.org")]
    messages += [samples.soft_dsn("full.mailbox@example.net") for _ in range(5)]
    messages += [samples.soft_dsn("flaky@example.com") for _ in range(3)]
    messages += [samples.success_dsn("flaky@example.com"), samples.soft_dsn("flaky@example.com")]
    messages += [
        samples.arf_complaint("angry.reader@example.com"),
        samples.delay_dsn("slow.server@example.net"),
        samples.autoreply("on.holiday@example.org"),
        samples.not_a_bounce(),
    ]
    corpus = Path(__file__).resolve().parents[2] / "tests" / "corpus" / "sisimai"
    for name in ("lhost-postfix-01.eml", "lhost-exim-01.eml", "lhost-gmail-01.eml"):
        if (corpus / name).exists():
            messages.append((corpus / name).read_bytes())
    return messages


def write_config(directory: Path, dovecot: ThrowawayDovecot) -> Path:
    # The server's certificate is kept beside the config, so the config stays valid (and the
    # ledger commands keep working on it) after the throwaway server is gone.
    shutil.copyfile(dovecot.ca_file, directory / "demo-ca.pem")
    path = directory / "bouncewatch.toml"
    path.write_text(
        "# Demo config: a throwaway Dovecot on this machine, state next to this file.\n"
        + dovecot.mailbox_toml(USER, "demo", ca_file="demo-ca.pem", folder="INBOX", archive="Bounces")
        + '\n[log]\nlevel = "warning"\n'
    )
    return path


def _bouncewatch(*args: str) -> None:
    command = [sys.executable, "-m", "bouncewatch", *args]
    print(f"\n$ bouncewatch {' '.join(args)}", flush=True)
    subprocess.run(command, check=False)


def main(argv: list[str]) -> int:
    directory = Path(argv[0] if argv else "demo").resolve()
    directory.mkdir(parents=True, exist_ok=True)
    # A run before this one: its state, blocklist and the marker naming that state (a new demo
    # starts afresh on purpose).
    for leftover in ("state.db", "state.db-wal", "state.db-shm", "blocklist.txt", ".blocklist.txt.bouncewatch-state"):
        (directory / leftover).unlink(missing_ok=True)
    with ThrowawayDovecot(users={USER: PASSWORD}) as dovecot:
        messages = seed()
        for message in messages:  # APPEND keeps the order, which the story below depends on
            dovecot.append(USER, message)
        seeded = len(messages)
        print(f"Started a throwaway Dovecot on 127.0.0.1:{dovecot.ssl_port} (TLS) and put {seeded} messages in INBOX.")
        config_path = write_config(directory, dovecot)
        _bouncewatch("poll", "-c", str(config_path))
        print("\nFolders on the IMAP server now:")
        for folder, count in sorted(dovecot.folder_counts(USER).items()):
            print(f"  {folder:<24} {count}")
        print(f"\nThe blocklist ({directory / 'blocklist.txt'}):")
        blocklist = directory / "blocklist.txt"
        print(textwrap.indent(blocklist.read_text() if blocklist.exists() else "(none)\n", "  "), end="")
        _bouncewatch("status", "flaky@example.com", "-c", str(config_path))
    print(f"\nConfig, database and blocklist are in {directory}; the Dovecot is gone. Try:")
    print(f"  .venv/bin/bouncewatch history flaky@example.com -c {config_path}")
    print(f"  .venv/bin/bouncewatch report -c {config_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
