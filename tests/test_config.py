"""Config loading: defaults, one clear line naming the bad key, exit code 2 from the CLI."""

import subprocess
import sys
import textwrap

import pytest

from bouncewatch.config import ConfigError, load

GOOD = """
[[mailboxes]]
name = "bounces"
host = "imap.example.com"
username = "bounces@example.com"
password = "s3cret-value"
"""


def write(tmp_path, text):
    path = tmp_path / "bouncewatch.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_defaults_live_next_to_the_config(tmp_path):
    """Without [database] and [blocklist], state and blocklist sit beside the config file."""
    settings = load(write(tmp_path, GOOD))
    assert settings.database_url == f"sqlite:///{tmp_path}/state.db"
    assert settings.blocklist_path == tmp_path / "blocklist.txt"
    mailbox = settings.mailboxes[0]
    assert (mailbox.security, mailbox.effective_port, mailbox.folder, mailbox.archive) == ("tls", 993, "INBOX", "Bounces")
    assert settings.policy.soft_limit == 5 and settings.poll.batch_size == 500


def test_secret_is_not_in_repr(tmp_path):
    """Printing the settings never shows the password."""
    settings = load(write(tmp_path, GOOD))
    assert "s3cret-value" not in repr(settings)
    assert settings.mailboxes[0].secret() == "s3cret-value"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD + "colour = 'blue'\n", "mailboxes[0].colour: unknown key"),
        (GOOD + "[poll]\ninterval_seconds = 'often'\n", "poll.interval_seconds:"),
        (GOOD + "[polll]\n", "polll: unknown key"),
        (GOOD.replace('password = "s3cret-value"', ""), "mailboxes[0].password: missing"),
        (GOOD + 'security = "none"\n', 'mailboxes[0].security: "none" sends the password in clear'),
        (GOOD + 'password_env = "NO_SUCH_VARIABLE_X"\n', "mailboxes[0].password_env: give only one"),
        (GOOD.replace('password = "s3cret-value"', 'password_env = "NO_SUCH_VARIABLE_X"'), "mailboxes[0].password_env: environment variable"),
        (GOOD + "[policy]\nsoft_limit = 0\n", "policy.soft_limit:"),
        ("this is = not toml [", "not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path, text, expected):
    """Each kind of mistake is reported as one line that names the offending key."""
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, text))
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


def test_none_security_is_allowed_on_loopback(tmp_path):
    """Plain IMAP is accepted for 127.0.0.1 and localhost only."""
    text = GOOD.replace("imap.example.com", "127.0.0.1") + 'security = "none"\n'
    assert load(write(tmp_path, text)).mailboxes[0].effective_port == 143


def test_cli_exits_2_with_one_line_and_touches_nothing(tmp_path):
    """`bouncewatch poll` with a bad config exits 2, prints one line, creates no files."""
    path = write(tmp_path, GOOD + "colour = 'blue'\n")
    result = subprocess.run(
        [sys.executable, "-m", "bouncewatch", "poll", "-c", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "mailboxes[0].colour: unknown key" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bouncewatch.toml"]
