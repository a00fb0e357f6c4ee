"""How fast /healthz answers while hostile clients hit a real `bouncewatch run`, and how many
passwords an attacker gets checked.

    python benchmarks/hostile_http.py [--seconds 20] [--slow 150] [--flood 100]

Starts a throwaway Dovecot and `bouncewatch run` with [http] and the console on loopback
(default timeouts), then, one after another:

1. baseline: /healthz alone;
2. slowloris: `--slow` connections trickling header bytes, each opened again when the server
   drops it (as a real attacker would), for `--seconds`;
3. sign-in flood: `--flood` clients, each from a loopback address of its own (127.0.1.N) and
   guessing a user name of its own, posting wrong passwords as fast as answers come;
4. one guesser: one client, one user name, wrong passwords as fast as answers come.

Prints /healthz latency (median, 95th percentile, max) under each, and the attempts, checks
(401), refusals (429, 503) and passwords checked per second of the flood and the guesser.
"""

from __future__ import annotations

import argparse
import http.client
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from bouncewatch.testing.dovecot import ThrowawayDovecot
from bouncewatch.web.console.auth import write_user

USER = "bounces"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
         source: str | None = None, timeout: float = 30) -> tuple[int, http.client.HTTPMessage | None, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                            source_address=(source, 0) if source else None)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.headers, answer.read()
    except OSError:
        return 0, None, b""
    finally:
        connection.close()


class Health:
    """Polls /healthz every 0.2 s on a thread; keeps each answer's time (None: no answer in 10 s)."""

    def __init__(self, port: int) -> None:
        self.port, self.times, self._on = port, [], threading.Event()

    def __enter__(self) -> Health:
        self._on.set()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while self._on.is_set():
            start = time.monotonic()
            status = call(self.port, "GET", "/healthz", timeout=10)[0]
            self.times.append(time.monotonic() - start if status else None)
            time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        self._on.clear()
        self._thread.join()

    def line(self) -> str:
        answered = sorted(t for t in self.times if t is not None)
        missing = len(self.times) - len(answered)
        if not answered:
            return f"/healthz: no answer in {len(self.times)} tries"
        pick = lambda q: answered[min(len(answered) - 1, int(q * len(answered)))] * 1000
        return (f"/healthz: median {pick(0.5):.0f} ms, p95 {pick(0.95):.0f} ms, max {answered[-1] * 1000:.0f} ms "
                f"over {len(self.times)} tries" + (f", {missing} without an answer" if missing else ""))


def slowloris(port: int, count: int, seconds: float) -> int:
    """Keep `count` connections trickling header bytes for `seconds`; returns how many the server dropped."""
    sockets: list[socket.socket | None] = [None] * count
    dropped = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for i in range(count):
            sock = sockets[i]
            try:
                if sock is None:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
                    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
                    sockets[i] = sock
                else:
                    sock.sendall(b"X-a: b\r\n")
            except OSError:
                if sock is not None:
                    sock.close()
                    dropped += 1
                sockets[i] = None
        time.sleep(0.5)
    for sock in sockets:
        if sock is not None:
            sock.close()
    return dropped


def guesser(port: int, source: str, user: str, end: float, outcomes: list[int]) -> None:
    found = None
    while found is None and time.monotonic() < end:  # the sign-in page may answer 503 (busy)
        status, headers, body = call(port, "GET", "/login", source=source)
        found = re.search(rb'name="csrf_token" value="([^"]+)"', body)
    if found is None:
        return
    token = found.group(1).decode()
    cookie = (headers.get("Set-Cookie") or "").split(";", 1)[0]
    attempt = 0
    while time.monotonic() < end:
        form = urllib.parse.urlencode({"username": user, "password": f"guess {attempt}", "csrf_token": token}).encode()
        status, _headers, _body = call(port, "POST", "/login", form, source=source,
                                       headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
        outcomes.append(status)
        attempt += 1


def guessing(port: int, clients: int, seconds: float) -> str:
    outcomes: list[int] = []
    end = time.monotonic() + seconds
    threads = [threading.Thread(target=guesser, args=(port, f"127.0.1.{i % 250 + 1}" if clients > 1 else "127.0.0.3",
                                                      f"user{i}" if clients > 1 else "reviewer", end, outcomes))
               for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    checked = outcomes.count(401)
    return (f"{len(outcomes)} attempts, {checked} passwords checked ({checked / seconds:.2f} a second), "
            f"{outcomes.count(429)} answered 429, {outcomes.count(503)} answered 503, "
            f"{sum(1 for s in outcomes if s not in (401, 429, 503))} other")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--slow", type=int, default=150)
    parser.add_argument("--flood", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name, ThrowawayDovecot() as dovecot:
        directory = Path(name)
        port = free_port()
        write_user(directory / "users", "reviewer", "correct horse")
        config = directory / "bouncewatch.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{directory}/state.db"\n[blocklist]\npath = "{directory}/blocklist.txt"\n'
            f'[log]\nlevel = "error"\nformat = "json"\n'
            f'[http]\nenabled = true\nlisten = "127.0.0.1:{port}"\nconsole = true\nusers_file = "users"\n'
            + dovecot.mailbox_toml(USER)
        )
        daemon = subprocess.Popen([sys.executable, "-m", "bouncewatch", "run", "-c", str(config)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while call(port, "GET", "/healthz", timeout=2)[0] == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            with Health(port) as health:
                time.sleep(min(args.seconds, 5))
            print(f"baseline: {health.line()}")
            with Health(port) as health:
                dropped = slowloris(port, args.slow, args.seconds)
            print(f"{args.slow} slowloris connections for {args.seconds:g} s ({dropped} dropped by the server "
                  f"and opened again): {health.line()}")
            with Health(port) as health:
                flood = guessing(port, args.flood, args.seconds)
            print(f"sign-in flood, {args.flood} clients for {args.seconds:g} s: {flood}; {health.line()}")
            print(f"one guesser on one user for {args.seconds:g} s: {guessing(port, 1, args.seconds)}")
        finally:
            daemon.terminate()
            daemon.wait(30)


if __name__ == "__main__":
    main()
