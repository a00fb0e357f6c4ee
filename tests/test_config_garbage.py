"""Garbage configs: every key given every wrong type, and bytes that are not a config at all.

Each case must end in one of two ways: a valid Settings, or a ConfigError of one line that
names the file and the key it is about. Any other exception (a TypeError, an OSError, a
UnicodeDecodeError) is a crash the operator would see as a traceback, at start, in `check`,
or when SIGHUP reloads the file.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from datetime import date, datetime, time, timezone
from pathlib import Path

import pytest

from bouncewatch.config import ConfigError, load

# TOML values of every type, each wrong somewhere: numbers out of range, non-finite floats,
# strings where tables go, tables where strings go, dates, NUL bytes, overlong paths.
GARBAGE: tuple[object, ...] = (
    5, -1, 0, 2**63 - 1, 1.5, math.nan, math.inf, -math.inf, True, "", "x", "\x00", "a" * 300,
    "é\u202e", [], [1, "a"], [[1]], {}, {"k": 1}, [{}], [{"path": 5}],
    datetime(1979, 5, 27, 7, 32, tzinfo=timezone.utc), date(1979, 5, 27), time(7, 32),
)


def full_config(directory: Path) -> dict:
    """A valid config that sets every key (the files it names exist)."""
    for name, content in {
        "password.txt": "secret\n", "ca.pem": "x\n", "verp.key": "k" * 32 + "\n",
        "verp.old": "o" * 32 + "\n", "token": "t" * 32 + "\n", "users": "",
    }.items():
        (directory / name).write_text(content)
    return {
        "database": {"url": f"sqlite:///{directory}/state.db"},
        "mailboxes": [{
            "name": "bounces", "host": "127.0.0.1", "port": 993, "security": "tls", "username": "u",
            "password_file": "password.txt", "folders": ["INBOX", "Junk"], "archive": "Bounces",
            "idle": False, "ca_file": "ca.pem", "tls_verify": True, "timeout_seconds": 60,
        }],
        "poll": {"interval_seconds": 60, "batch_size": 500, "max_message_bytes": 10485760, "parse_workers": 1},
        "policy": {
            "soft_limit": 5, "soft_window_days": 30, "complaint_action": "block", "count_sender_side": False,
            "sender_alert_threshold": 20, "sender_alert_window_minutes": 60, "overrides": {"expired": "soft"},
        },
        "blocklist": {"path": "blocklist.txt"},
        "outputs": [{"path": "blocklist.csv", "format": "csv", "mode": "0644", "max_shrink": 0.5,
                     "command": ["true"]}],
        "verp": {"key_file": "verp.key", "old_key_files": ["verp.old"], "domain": "b.example.com",
                 "local_part": "bounces", "max_age_days": 30, "require_signature": False},
        "http": {"enabled": True, "listen": "127.0.0.1:9117", "token_file": "token", "console": True,
                 "users_file": "users", "trusted_user_header": "X-User", "trusted_proxies": ["127.0.0.1"],
                 "secret_key_file": "secret.key"},
        "daemon": {"backoff_initial_seconds": 1, "backoff_max_seconds": 300, "lease_retry_seconds": 15,
                   "idle_renew_seconds": 1500, "health_file": "health.json"},
        "log": {"level": "info", "format": "json"},
    }


def toml_value(value: object) -> str:
    """`value` as an inline TOML value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON's escapes are TOML basic-string escapes
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def toml_document(config: dict) -> str:
    return "".join(f"{key} = {toml_value(value)}\n" for key, value in config.items())


def key_paths(value: object, prefix: tuple = ()) -> list[tuple]:
    """Every key path in a config (tables, arrays and their items, leaves)."""
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            paths += key_paths(item, (*prefix, key))
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        paths += key_paths(value[0], (*prefix, 0))
    return paths


def replaced(config: dict, path: tuple, new: object) -> dict:
    copy = json.loads(json.dumps(config))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copy


def shown(path: tuple) -> str:
    """The key as the config error names it: mailboxes[0].port."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def not_finite(value: object) -> bool:
    """True if a loaded config holds inf or nan anywhere (a timer of inf seconds crashes later)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(not_finite(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(not_finite(item) for item in value)
    return False


def outcome(path: Path) -> str | None:
    """None when the file loads; the ConfigError's text otherwise. Anything else raises."""
    try:
        load(path)
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message, message
        assert message.startswith(f"{path}: "), message
        return message
    return None


def test_the_full_config_is_valid(tmp_path):
    """The config the garbage is made from loads, so each error below comes from the garbage."""
    path = tmp_path / "bouncewatch.toml"
    path.write_text(toml_document(full_config(tmp_path)))
    assert outcome(path) is None


def test_every_key_with_every_wrong_type(tmp_path):
    """Each key of a full config replaced by each TOML type: loads, or one line naming that key (or one within it)."""
    base = full_config(tmp_path)
    path = tmp_path / "bouncewatch.toml"
    cases, wrong = 0, []
    for key in key_paths(base):
        for value in GARBAGE:
            path.write_text(toml_document(replaced(base, key, value)))
            cases += 1
            case = f"{shown(key)} = {toml_value(value)[:40]}"
            try:
                message = outcome(path)
            except Exception as exc:  # noqa: BLE001 - the failure this test looks for
                wrong.append(f"{case}: {type(exc).__name__}: {exc}"[:300])
                continue
            if message is None:
                if not_finite(load(path).model_dump()):
                    wrong.append(f"{case}: accepted a number that is not finite")
                continue
            where = message.removeprefix(f"{path}: ")
            named = shown(key)
            # The key itself, or a key inside it, or (for a cross-check) its table.
            table = named.rsplit(".", 1)[0].split("[")[0]
            if not where.startswith((named, table)):
                wrong.append(f"{case}: the message does not name the key: {where}"[:300])
    assert cases > 1000
    assert not wrong, f"{len(wrong)} of {cases} cases:\n" + "\n".join(wrong[:40])


def test_bytes_that_are_not_a_config(tmp_path):
    """Random bytes, truncations and byte flips of a valid file: loads, or one line naming the file."""
    rng = random.Random(16)
    good = toml_document(full_config(tmp_path)).encode()
    path = tmp_path / "bouncewatch.toml"
    samples = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))) for _ in range(150)]
    samples += [good[:cut] for cut in range(0, len(good), 37)]
    for _ in range(300):
        flipped = bytearray(good)
        for _ in range(rng.randrange(1, 4)):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        samples.append(bytes(flipped))
    samples += [b"\xff\xfe" + good, good.replace(b"bounces", b"bo\xe9nces", 1), "é".encode("latin-1") * 10]
    for sample in samples:
        path.write_bytes(sample)
        try:
            outcome(path)
        except Exception as exc:  # noqa: BLE001 - the failure this test looks for
            pytest.fail(f"{sample[:80]!r}: {type(exc).__name__}: {exc}"[:400])


def test_latin1_file_names_the_encoding(tmp_path):
    """A config saved as Latin-1 is reported as not UTF-8, with the line of the first bad byte."""
    path = tmp_path / "bouncewatch.toml"
    path.write_bytes(b'[[mailboxes]]\nname = "b"\nhost = "h"\nusername = "J\xfcrgen"\npassword = "x"\n')
    message = outcome(path)
    assert message is not None and "not UTF-8" in message and "line 4" in message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (b"mailboxes = 5\n", "mailboxes"),
        (b'mailboxes = "bounces"\n', "mailboxes"),
        (b"database = 5\n", "database"),
        (b'outputs = [5]\n', "outputs[0]"),
        (b"\xff\xfe[[mailboxes]]\n", "not UTF-8"),
    ],
)
def test_check_exits_2_with_one_line(tmp_path, text, key):
    """`bouncewatch check --config-only` on garbage exits 2 with one line naming the key, no traceback."""
    assert_config_error(tmp_path, text, key, "check", "--config-only")


@pytest.mark.parametrize("command", ["run", "poll"])
@pytest.mark.parametrize(("text", "key"), [(b"mailboxes = 5\n", "mailboxes"), (b"\xff[[mailboxes]]\n", "not UTF-8")])
def test_start_exits_2_with_one_line(tmp_path, command, text, key):
    """`run` and `poll` on garbage exit 2 with the one line (under systemd: no restart loop of tracebacks)."""
    assert_config_error(tmp_path, text, key, command)


def assert_config_error(tmp_path: Path, text: bytes, key: str, *command: str) -> None:
    path = tmp_path / "bouncewatch.toml"
    path.write_bytes(text)
    result = subprocess.run(
        [sys.executable, "-m", "bouncewatch", *command, "-c", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"bouncewatch: config error: {path}: {key}"), result.stderr
