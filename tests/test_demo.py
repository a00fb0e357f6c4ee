"""The quick-start demo runs end to end and shows what it promises."""

import os
import subprocess
import sys


def test_demo_blocks_and_archives(tmp_path):
    """The demo polls its throwaway Dovecot over TLS, archives every message and writes the blocklist,
    again when run a second time in the same directory."""
    for _run in range(2):  # a second run in the same directory starts afresh, with no extra step
        result = subprocess.run(
            [sys.executable, "-m", "bouncewatch.testing.demo", str(tmp_path / "demo")],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "state missing" not in result.stdout + result.stderr
    assert "newly blocked: 4" in result.stdout
    assert "INBOX                    0" in result.stdout
    blocklist = (tmp_path / "demo" / "blocklist.txt").read_text().split()
    assert blocklist == [
        "angry.reader@example.com", "full.mailbox@example.net", "no.such.user@example.org", "userunknown@example.jp"
    ]
    assert "consecutive soft bounces: 1 of 5" in result.stdout  # the success notice reset flaky's count
