"""`bouncewatch check`: the config alone (exit 0/2), or each mailbox's capabilities and folders (exit 0/1)."""

from __future__ import annotations

import subprocess
import sys

from .daemonkit import environment, write_config


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bouncewatch", "check", *args], capture_output=True, text=True, env=environment(), timeout=60
    )


def test_config_only_valid_and_invalid(dovecot, tmp_path):
    """--config-only exits 0 for a valid config and 2, naming the key, for an invalid one."""
    path = write_config(tmp_path / "bouncewatch.toml", dovecot, f"sqlite:///{tmp_path}/state.db")
    dovecot.stop()  # nothing is contacted
    ok = _check("--config-only", "-c", str(path))
    assert ok.returncode == 0 and "valid" in ok.stdout
    write_config(path, dovecot, f"sqlite:///{tmp_path}/state.db", mailbox_extra='folder = "X"\nfolders = ["Y"]')
    bad = _check("--config-only", "-c", str(path))
    assert bad.returncode == 2 and "folders: give either folder or folders" in bad.stderr


def test_check_shows_capabilities_folders_and_plans(dovecot, tmp_path):
    """check lists capabilities and folders and the archive folders a first run would create."""
    path = write_config(tmp_path / "bouncewatch.toml", dovecot, f"sqlite:///{tmp_path}/state.db")
    result = _check("-c", str(path))
    assert result.returncode == 0, result.stderr
    assert "IDLE" in result.stdout and "MOVE" in result.stdout
    assert "folders: INBOX" in result.stdout
    assert "would create: Bounces, Bounces/Hard" in result.stdout


def test_check_fails_with_a_reason(dovecot, tmp_path):
    """A missing watched folder or an unreachable server makes check exit 1 and say why."""
    path = write_config(tmp_path / "bouncewatch.toml", dovecot, f"sqlite:///{tmp_path}/state.db", mailbox_extra='folder = "Nope"')
    missing = _check("-c", str(path))
    assert missing.returncode == 1 and "watched folder 'Nope' does not exist" in missing.stderr
    dovecot.stop()
    down = _check("-c", str(path))
    assert down.returncode == 1 and "cannot connect" in down.stderr
