"""Hostile HTTP clients against a real `bouncewatch run`, over real sockets on loopback: a
rebinding Host, oversized bodies, slowloris, clients that never read, a sign-in flood.

The figures printed (how long /healthz took under each attack) are for people; the tests
assert only what is refused, what answers and what is dropped.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

import pytest

from bouncewatch import store
from bouncewatch.records import AddressState
from bouncewatch.web.console.auth import write_user

from .daemonkit import RunningDaemon, wait_for, write_config
from .test_http import _free_port

QUICK = "header_timeout_seconds = 2\nbody_timeout_seconds = 2\nwrite_timeout_seconds = 2\n"


@contextmanager
def daemon_with(dovecot, tmp_path: Path, http_extra: str = "", console: bool = False):
    """A running daemon with [http] on a free loopback port; yields its port."""
    port = _free_port()
    section = f'[http]\nenabled = true\nlisten = "127.0.0.1:{port}"\n{http_extra}'
    if console:
        section += 'console = true\nusers_file = "users"\n'
        write_user(tmp_path / "users", "reviewer", "correct horse")
    cfg = write_config(tmp_path / "bouncewatch.toml", dovecot, f"sqlite:///{tmp_path}/state.db", extra=section)
    daemon = RunningDaemon(cfg, tmp_path / "run.log")
    try:
        wait_for(lambda: request(port, "GET", "/healthz")[0] in (200, 503), timeout=20)
        yield port
    finally:
        assert daemon.stop() == 0


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
            timeout: float = 10, source: str | None = None) -> tuple[int, bytes]:
    """(status, body) of one request on a new connection; (0, b"") when the connection fails."""
    status, _headers, data = exchange(port, method, path, body, headers, timeout, source)
    return status, data


def exchange(port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
             timeout: float = 10, source: str | None = None) -> tuple[int, http.client.HTTPMessage | None, bytes]:
    """(status, headers, body) of one request from `source` (a loopback address) on a new connection."""
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


def timed_health(port: int) -> tuple[int, float]:
    start = time.monotonic()
    status, _ = request(port, "GET", "/healthz", timeout=10)
    return status, time.monotonic() - start


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server has closed this connection (EOF or reset), without blocking."""
    sock.setblocking(False)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


# -- finding 7: DNS rebinding -------------------------------------------------------------------


def test_a_rebinding_host_gets_no_answer(dovecot, tmp_path):
    """A request naming Host: rebind.example (a page whose name resolves to 127.0.0.1) gets 421 on every route; listen's address, localhost and allowed_hosts get through."""
    with daemon_with(dovecot, tmp_path, 'allowed_hosts = ["bouncewatch.example.com"]\n') as port:
        for path in ("/healthz", "/metrics", "/v1/blocklist", "/v1/addresses/a@example.org"):
            status, body = request(port, "GET", path, headers={"Host": "rebind.example"})
            assert status == 421, (path, status)
            assert b"@" not in body
        assert request(port, "GET", "/v1/blocklist", headers={"Host": f"rebind.example:{port}"})[0] == 421
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "bouncewatch.example.com", "[::1]"):
            assert request(port, "GET", "/v1/blocklist", headers={"Host": host})[0] == 200, host


# -- finding 9: bodies ------------------------------------------------------------------------


def test_a_big_body_is_refused_before_it_is_read(dovecot, tmp_path):
    """A 1 MB POST to /login gets 413 at once; so does a chunked body past the limit; a small one reaches the app."""
    with daemon_with(dovecot, tmp_path, console=True) as port:
        assert request(port, "POST", "/login", body=b"a" * (1 << 20), headers={"Content-Type": "application/x-www-form-urlencoded"})[0] == 413

        # Chunked, no Content-Length: counted as it comes, refused past 64 KiB.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"POST /login HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
                         b"Content-Type: application/x-www-form-urlencoded\r\n\r\n")
            chunk = b"a" * 16384
            answer = b""
            try:
                for _ in range(8):
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                answer = sock.recv(1024)
            except OSError:
                pass
            assert answer.startswith(b"HTTP/1.1 413"), answer[:80]

        status, _ = request(port, "POST", "/login", body=b"username=x&password=y",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 400  # the app answered: no CSRF token


# -- findings 8 and 10: slow clients ----------------------------------------------------------


def test_slowloris_cannot_silence_healthz(dovecot, tmp_path):
    """150 connections trickling header bytes: /healthz and /metrics keep answering, and the server drops every trickler at its header deadline."""
    with daemon_with(dovecot, tmp_path, QUICK) as port:
        slow = []
        for _ in range(150):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            slow.append(sock)
        latencies = []
        for round_ in range(8):
            for sock in slow:
                try:
                    sock.sendall(b"X-a: b\r\n")
                except OSError:
                    pass
            status, seconds = timed_health(port)
            assert status in (200, 503), f"/healthz did not answer in round {round_}"
            assert request(port, "GET", "/metrics")[0] == 200
            latencies.append(seconds)
            time.sleep(0.5)
        dropped = sum(closed_by_server(sock) for sock in slow)
        for sock in slow:
            sock.close()
    print(f"/healthz under 150 slowloris connections: max {max(latencies) * 1000:.0f} ms, "
          f"median {sorted(latencies)[len(latencies) // 2] * 1000:.0f} ms; dropped {dropped}/150")
    assert dropped == 150


def seed_blocked(url: str, count: int) -> None:
    store.open_database(url)
    try:
        at = store.utcnow()
        with store.database_proxy.atomic():
            store.save_states(
                AddressState(address=f"someone.with.a.long.name.{i:06d}@example.org", blocked=True,
                             blocked_reason="hard: userunknown 5.1.1 " + "x" * 1000, blocked_at=at, last_class="hard")
                for i in range(count)
            )
    finally:
        store.close_database()


@pytest.mark.slow
def test_clients_that_never_read_are_dropped(dovecot, tmp_path):
    """Four clients asking for /v1/blocklist (megabytes) and never reading: /healthz, /metrics and a fifth reader still get answers, and the four are dropped at the write deadline."""
    seed_blocked(f"sqlite:///{tmp_path}/state.db", 20_000)
    with daemon_with(dovecot, tmp_path, QUICK) as port:
        stuck = []
        for _ in range(4):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", port))
            sock.sendall(b"GET /v1/blocklist?format=json HTTP/1.1\r\nHost: localhost\r\n\r\n")
            stuck.append(sock)
        time.sleep(0.5)
        status, seconds = timed_health(port)
        assert status in (200, 503)
        assert request(port, "GET", "/metrics")[0] == 200
        status, body = request(port, "GET", "/v1/blocklist?format=json", timeout=30)
        assert status == 200 and len(json.loads(body)["addresses"]) == 20_000
        wait_for(lambda: all(closed_by_server(sock) for sock in stuck), timeout=20, step=0.2)
        for sock in stuck:
            sock.close()
        assert request(port, "GET", "/v1/blocklist")[0] == 200
    print(f"/healthz with four clients that never read: {seconds * 1000:.0f} ms")


# -- findings 6 and 11: sessions and guessing, black-box ---------------------------------------


class Browser:
    """A console client from one loopback address, keeping its session cookie."""

    def __init__(self, port: int, source: str = "127.0.0.1") -> None:
        self.port, self.source, self.cookie = port, source, ""

    def go(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, bytes]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, answer_headers, data = exchange(self.port, method, path, body, headers, timeout=30, source=self.source)
        if answer_headers is not None and answer_headers.get("Set-Cookie"):
            self.cookie = answer_headers["Set-Cookie"].split(";", 1)[0]
        return status, data

    def token(self) -> str:
        return re.search(rb'name="csrf_token" value="([^"]+)"', self.go("GET", "/login")[1]).group(1).decode()

    def sign_in(self, name: str, password: str) -> int:
        return self.go("POST", "/login", {"username": name, "password": password, "csrf_token": self.token()})[0]


def test_sign_out_and_guessing_against_a_real_daemon(dovecot, tmp_path):
    """After sign-out the old session cookie no longer opens the console; the 30th wrong password in a minute gets 429."""
    with daemon_with(dovecot, tmp_path, console=True) as port:
        browser = Browser(port)
        assert browser.sign_in("reviewer", "correct horse") == 302
        stolen = browser.cookie
        assert browser.go("GET", "/blocked")[0] == 200
        assert browser.go("POST", "/logout", {"csrf_token": re.search(
            rb'name="csrf_token" value="([^"]+)"', browser.go("GET", "/")[1]).group(1).decode()})[0] == 302
        thief = Browser(port)
        thief.cookie = stolen
        status, _ = thief.go("GET", "/blocked")
        assert status == 302  # sent to sign-in

        guesser = Browser(port, "127.0.0.2")
        token = guesser.token()
        statuses = [guesser.go("POST", "/login", {"username": "reviewer", "password": f"guess {i}", "csrf_token": token})[0]
                    for i in range(30)]
    assert statuses[-1] == 429 and statuses.count(401) <= 6


@pytest.mark.slow
def test_a_sign_in_flood_cannot_silence_healthz(dovecot, tmp_path):
    """100 clients from 100 loopback addresses guessing at once: /healthz keeps answering, password checks are bounded, and the flood meets 429s."""
    with daemon_with(dovecot, tmp_path, console=True) as port:
        clients = [Browser(port, f"127.0.1.{i}") for i in range(1, 101)]
        tokens = [client.token() for client in clients]
        outcomes: list[int] = []
        latencies: list[float] = []
        health_status: list[int] = []
        flooding = threading.Event()
        flooding.set()

        def guess(index: int) -> None:
            client, token = clients[index], tokens[index]
            for attempt in range(6):
                status, _ = client.go("POST", "/login", {"username": f"user{index}", "password": f"guess {attempt}",
                                                          "csrf_token": token})
                outcomes.append(status)

        def watch() -> None:
            while flooding.is_set():
                status, seconds = timed_health(port)
                health_status.append(status)
                latencies.append(seconds)
                time.sleep(0.2)

        watcher = threading.Thread(target=watch)
        watcher.start()
        threads = [threading.Thread(target=guess, args=(i,)) for i in range(100)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        flood_seconds = time.monotonic() - started
        flooding.clear()
        watcher.join()
    checked = outcomes.count(401)
    print(f"sign-in flood: {len(outcomes)} attempts in {flood_seconds:.1f} s, {checked} checked "
          f"({checked / flood_seconds:.1f} guesses/s), {outcomes.count(429)} answered 429, {outcomes.count(503)} 503; "
          f"/healthz max {max(latencies) * 1000:.0f} ms, median {sorted(latencies)[len(latencies) // 2] * 1000:.0f} ms "
          f"over {len(latencies)} checks")
    assert health_status and all(status in (200, 503) for status in health_status)
    assert outcomes.count(429) > 0 and set(outcomes) <= {401, 429, 503}
