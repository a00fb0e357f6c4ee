"""`bouncewatch console ...`: the review console's users (see bouncewatch/console/)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import EXIT_USAGE, config_option, fail, load_settings


@click.group()
def console() -> None:
    """The review console of the HTTP endpoint ([http] console = true)."""


@console.command()
@click.argument("name")
@click.option("--users-file", "users_file", type=click.Path(dir_okay=False, path_type=Path), help="The users file (default: [http] users_file of the config).")
@config_option
def adduser(name: str, users_file: Path | None, config_file: str | None) -> None:
    """Add a console user, or replace their password; the password is read from a prompt
    (twice) on a terminal, else from the first line of standard input. Stored as an argon2
    hash, the file kept at mode 0600.

    \b
    Examples:
      bouncewatch console adduser alice -c /etc/bouncewatch.toml
      printf '%s\\n' "$PASSWORD" | bouncewatch console adduser alice --users-file users.txt
    """
    from ..web.console.auth import USER_NAME, users_path, write_user

    if not USER_NAME.match(name):
        fail("a user name is 1 to 64 of A-Z a-z 0-9 _ . @ + -", EXIT_USAGE)
    if users_file is None:
        settings = load_settings(config_file)
        users_file = users_path(settings)
        if users_file is None:
            fail("config error: http.users_file is not set; set it or pass --users-file", EXIT_USAGE)
            return
    if sys.stdin.isatty():
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        fail("the password is empty", EXIT_USAGE)
    try:
        new = write_user(users_file, name, password)
    except OSError as exc:
        fail(f"cannot write {users_file}: {exc.strerror or exc}")
        return
    click.echo(f"{'added' if new else 'replaced the password of'} {name} in {users_file}")
