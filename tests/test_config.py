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


HTTP_ON = '[http]\nenabled = true\n'


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("[http]\nconsole = true\n", "http.console: takes effect only with the HTTP endpoint; set [http] enabled = true, or remove console"),
        ('[http]\nlisten = "127.0.0.1:9200"\n', "http.listen: takes effect only with the HTTP endpoint; set [http] enabled = true"),
        ('[http]\ntoken_file = "token"\n', "http.token_file: takes effect only with the HTTP endpoint"),
        (HTTP_ON + 'users_file = "users"\n', "http.users_file: only the review console uses it; set [http] console = true, or remove users_file"),
        ('[[providers]]\nkind = "mailgun"\nsigning_key_file = "key"\n', "providers[0]: mailgun events arrive on the HTTP endpoint (POST /hooks/mailgun); set [http] enabled = true"),
        (HTTP_ON + '[[providers]]\nkind = "sparkpost"\n', "providers[0].kind: unknown kind 'sparkpost'; use one of mailgun, ses, sendgrid, postmark"),
        (HTTP_ON + '[[providers]]\nkind = "mailgun"\n', "providers[0].signing_key_file: missing; a mailgun provider needs signing_key_file"),
        (HTTP_ON + '[[providers]]\nkind = "postmark"\nusername = "pm"\n', "providers[0].password_file: missing"),
        (HTTP_ON + '[[providers]]\nkind = "ses"\ntopic_arns = []\n', "providers[0].topic_arns: missing"),
        (HTTP_ON + '[[providers]]\nkind = "mailgun"\nsigning_key_file = "nothere"\n', "providers[0].signing_key_file: cannot read"),
        (HTTP_ON + '[[providers]]\nkind = "mailgun"\nsigning_key_file = "key"\ntopic_arns = ["x"]\n', "providers[0].topic_arns: not a key of a mailgun provider"),
        (HTTP_ON + '[[providers]]\nkind = "mailgun"\nsigning_key_file = "key"\n[[providers]]\nkind = "mailgun"\nsigning_key_file = "key"\n', "providers[1].kind: 'mailgun' is also providers[0]"),
        ('[[webhooks]]\nurl = "https://crm.example.com/hook"\n', "webhooks[0].secret_file: missing"),
        ('[[webhooks]]\nurl = "https://crm.example.com/hook"\nsecret_file = "empty"\n', "webhooks[0].secret_file: "),
        ('[[webhooks]]\nurl = "ftp://crm.example.com/hook"\nsecret_file = "key"\n', "webhooks[0].url: not an http(s) URL ('ftp://crm.example.com/hook')"),
        ('[[webhooks]]\nurl = "https://crm.example.com/hook"\nsecret_file = "key"\nevents = ["bounced"]\n', "webhooks[0].events[0]:"),
    ],
)
def test_settings_that_cannot_take_effect_are_errors(tmp_path, extra, expected):
    """A setting that could not take effect (no HTTP endpoint, no console, no secret, an unknown
    kind) stops the program with one line naming the key and the fix."""
    (tmp_path / "key").write_text("a-signing-key\n")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, GOOD + extra))
    message = str(caught.value)
    assert expected in message, message
    assert "\n" not in message


def test_providers_and_webhooks_load(tmp_path):
    """Each provider kind with its keys, and a webhook with the default events, make a valid config."""
    for name in ("mg.key", "pm.password", "hook.secret"):
        (tmp_path / name).write_text("s3cret\n")
    text = GOOD + HTTP_ON + textwrap.dedent("""
        [[providers]]
        kind = "mailgun"
        signing_key_file = "mg.key"
        [[providers]]
        kind = "ses"
        topic_arns = ["arn:aws:sns:eu-west-1:123456789012:ses"]
        [[providers]]
        kind = "postmark"
        username = "pm"
        password_file = "pm.password"
        [[webhooks]]
        url = "https://crm.example.com/hook"
        secret_file = "hook.secret"
    """)
    settings = load(write(tmp_path, text))
    assert [p.kind for p in settings.providers] == ["mailgun", "ses", "postmark"]
    assert settings.webhooks[0].events == ["blocked", "unblocked", "sender_alert"]
    assert "s3cret" not in repr(settings)


def test_an_override_for_an_unknown_reason_is_an_error(tmp_path):
    """`overrides = { mailboxful = "ignore" }` (a typo) would never apply: it is an error naming it."""
    with pytest.raises(ConfigError, match=r"policy\.overrides\.mailboxful: unknown reason, so the override would never apply; use one of authfailure,"):
        load(write(tmp_path, GOOD + '[policy]\noverrides = { mailboxful = "ignore" }\n'))
    assert load(write(tmp_path, GOOD + '[policy]\noverrides = { mailboxfull = "ignore" }\n')).policy.overrides


def test_every_reason_the_parser_names_is_in_the_vocabulary():
    """Each reason of the parser's tables is in records.REASONS, so an override can name it."""
    from bouncewatch.parse import reasons_data as tables
    from bouncewatch.records import REASONS
    from bouncewatch.rules.classify import HARD_REASONS, IGNORE_REASONS, SENDER_SIDE_REASONS

    named = set(tables.WORDING) | set(tables.STATUS_REASON.values())
    named |= set(tables.FRANCEPTT_CODES.values()) | set(tables.GODADDY_CODES.values()) | set(tables.POWERMTA_CATEGORIES.values())
    for phrases in (*tables.FAMILY_PHRASES.values(), *tables.RHOST_PHRASES.values()):
        named |= set(phrases)
    named |= HARD_REASONS | IGNORE_REASONS | SENDER_SIDE_REASONS
    assert named - {"", None} <= REASONS
