"""Render the blocklist and write it atomically, only when it changed.

A reader never sees half a file: the new content goes to a temp file in the same directory,
is fsynced, renamed over the old one, and the directory is fsynced. The file is never emptied
by accident: an empty render over a non-empty file is refused unless forced.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO


class ShrinkRefused(Exception):
    """The new blocklist would drop too many of the old one's addresses; refused without force.

    `results` (publish/outputs.py's Published, one per output) says which output was refused
    and how many published addresses would have disappeared; the others were published.
    """

    def __init__(self, message: str, results: tuple = ()) -> None:
        super().__init__(message)
        self.results = results


def render_text(addresses: Iterable[str]) -> bytes:
    """One lowercase address per line, sorted, nothing else."""
    lines = sorted({address.lower() for address in addresses})
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


class AtomicFile:
    """A temp file beside `path` that replaces it on commit(), or vanishes on discard().

    Write to it in pieces (bounded memory); commit() flushes, fsyncs, sets the mode, renames
    over `path` and fsyncs the directory, so readers see the old file or the new, never a mix.
    Used as a context manager, an exception or a missing commit() discards the temp file.
    Where Linux has O_TMPFILE the temp file has no name until commit(), so even a process
    killed mid-write leaves nothing behind; elsewhere it is a named dot-file (mkstemp).
    """

    def __init__(self, path: Path, mode: int = 0o644) -> None:
        self.path = path
        self.mode = mode
        self.directory = path.parent
        self.directory.mkdir(parents=True, exist_ok=True)
        self.temp_name: str | None = None
        fd = -1
        if hasattr(os, "O_TMPFILE"):
            try:
                fd = os.open(self.directory, os.O_TMPFILE | os.O_WRONLY, 0o600)
            except OSError:  # the filesystem has no O_TMPFILE
                fd = -1
        if fd < 0:
            fd, self.temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=self.directory)
        self.file = os.fdopen(fd, "wb")
        self.done = False

    def write(self, data: bytes) -> None:
        self.file.write(data)

    def read_back(self) -> BinaryIO:
        """A new read handle on what was written so far (before commit)."""
        self.file.flush()
        if self.temp_name is not None:
            return open(self.temp_name, "rb")
        return open(f"/proc/self/fd/{self.file.fileno()}", "rb")

    def commit(self) -> None:
        try:
            self.file.flush()
            os.fchmod(self.file.fileno(), self.mode)
            os.fsync(self.file.fileno())
            if self.temp_name is None:  # give the unnamed file a name, then rename it over
                self.temp_name = os.path.join(self.directory, f".{self.path.name}.{uuid.uuid4().hex}.tmp")
                dir_fd = os.open(self.directory, os.O_RDONLY)
                try:  # a dir fd makes os.link use linkat(AT_SYMLINK_FOLLOW), which this needs
                    os.link(f"/proc/self/fd/{self.file.fileno()}", os.path.basename(self.temp_name),
                            dst_dir_fd=dir_fd, follow_symlinks=True)
                finally:
                    os.close(dir_fd)
            self.file.close()
            os.replace(self.temp_name, self.path)
        except BaseException:
            self.discard()
            raise
        self.done = True
        fsync_directory(self.directory)

    def discard(self) -> None:
        if self.done:
            return
        self.done = True
        try:
            self.file.close()
        except OSError:
            pass
        if self.temp_name is not None:
            try:
                os.unlink(self.temp_name)
            except FileNotFoundError:
                pass

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()


def fsync_directory(directory: Path) -> None:
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_atomically(path: Path, content: bytes, mode: int = 0o644) -> None:
    with AtomicFile(path, mode) as temp:
        temp.write(content)
        temp.commit()


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
