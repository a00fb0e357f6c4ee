"""Hostile HTTP clients against a real `bouncewatch run`, over real sockets on loopback: a
rebinding Host, oversized bodies, slowloris, clients that never read, a sign-in flood.

The figures printed (how long /healthz took under each attack) are for people; the tests
assert only what is refused, what answers and what is dropped.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from bouncewatch import store
from bouncewatch.records import AddressState

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
    cfg = write_config(tmp_path / "bouncewatch.toml", dovecot, f"sqlite:///{tmp_path}/state.db", extra=section)
    daemon = RunningDaemon(cfg, tmp_path / "run.log")
    try:
        wait_for(lambda: request(port, "GET", "/healthz")[0] in (200, 503), timeout=20)
        yield port
    finally:
        assert daemon.stop() == 0


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
            timeout: float = 10) -> tuple[int, bytes]:
    """(status, body) of one request on a new connection; (0, b"") when the connection fails."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.read()
    except OSError:
        return 0, b""
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
