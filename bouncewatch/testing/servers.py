"""What the throwaway servers of this package share: a master process in a process group of its
own that dies with the process that started it, free ports, a directory of its own.

Learnt the hard way (Dovecot and Postfix alike): signal the whole process group, since killing
only the master leaves its children serving; and have the kernel end the master when its parent
dies (PR_SET_PDEATHSIG), or a crashed test run leaves servers holding their ports.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self


def program(name: str, hint: str) -> str:
    """Full path of `name`, also looking in the sbin dirs an ordinary user's PATH may lack."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")
    if not found:
        raise RuntimeError(f"{name} is not installed or not on PATH; {hint}")
    return found


def free_ports(count: int = 2) -> list[int]:
    """`count` distinct free ports on 127.0.0.1: the sockets stay bound until all are picked."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def die_with_parent() -> None:
    """preexec_fn: have the kernel send SIGTERM to the server when the process that started it dies.

    PR_SET_PDEATHSIG follows the *thread* that forked: start servers from a long-lived thread.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class ServerProcess:
    """One server's master process and the directory it lives in; a context manager.

    Subclasses set `root`, `log_path` and `_owns_root`, and implement `start()`; the directory
    is removed on exit when the server made it.
    """

    host: str = "127.0.0.1"
    stop_grace: float = 0.5  # seconds between SIGTERM and SIGKILL to the group
    root: Path
    log_path: Path
    _owns_root: bool = False
    _proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _spawn(self, argv: Sequence[str], output: Path) -> None:
        """Start the master in a session (so a process group) of its own; its output to `output`."""
        with open(output, "ab") as out:
            self._proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,  # own process group, so stopping reaches every child
                preexec_fn=die_with_parent,  # the server dies with its parent
            )

    def _wait_until(self, ready: Callable[[], bool], timeout: float) -> bool:
        """Poll `ready` until it holds (True), the master exits or `timeout` passes (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            if ready():
                return True
            time.sleep(0.005)
        return False

    def stop(self) -> None:
        """SIGTERM to the whole process group, then wait for the master (see `_signal_group`)."""
        self._signal_group(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL to the whole process group: a simulated crash. What is on disk survives."""
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, signum: int) -> None:
        """Signal every process of the group; SIGKILL after `stop_grace` if the master lingers,
        and SIGKILL whatever child outlived it."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=self.stop_grace)
        except subprocess.TimeoutExpired:  # the master is alive, so the group is still ours
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        try:  # a child finishing a request may outlive the master for a moment
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)
