"""Render the blocklist and write it atomically, only when it changed.

A reader never sees half a file: the new content goes to a temp file in the same directory,
is fsynced, renamed over the old one, and the directory is fsynced. The file is never emptied
by accident: an empty render over a non-empty file is refused unless forced.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


class ShrinkRefused(Exception):
    """The new blocklist would drop every address of the old one; refused without force."""


def render_text(addresses: Iterable[str]) -> bytes:
    """One lowercase address per line, sorted, nothing else."""
    lines = sorted({address.lower() for address in addresses})
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def write_atomically(path: Path, content: bytes, mode: int = 0o644) -> None:
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as temp:
            temp.write(content)
            temp.flush()
            os.fsync(temp.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def publish(path: Path, content: bytes, *, force: bool = False) -> bool:
    """Write `content` to `path` if it differs; return True when the file changed."""
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        current = None
    if current == content:
        return False
    if not content and current and not force:
        lines = current.count(b"\n")
        raise ShrinkRefused(
            f"{path}: refusing to empty a blocklist of {lines} addresses "
            "(the database has none blocked); check the database, or force the write"
        )
    write_atomically(path, content)
    return True
