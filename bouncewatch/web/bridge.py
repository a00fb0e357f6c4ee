"""The Flask (WSGI) app behind the asyncio server: each request runs on a thread of a lane, and
its response goes out under a write deadline.

- `Lane`: a fixed number of daemon threads taking WSGI calls from a queue (daemon threads, so a
  request stuck on IMAP never holds up the daemon's exit). The gate gives /healthz and
  /metrics a lane of their own, so no flood of other requests can starve them.
- `serve_wsgi`: the request body is already read (the gate reads it, bounded, before a thread
  is taken, so a slow uploader never holds one); the response is sent chunk by chunk, each
  send awaited by the thread, so a big blocklist streams in bounded memory. A send that does
  not finish within `write_timeout` (a client that stopped reading) ends the response: the
  thread stops iterating, the app's iterable is closed (its database connection with it), and
  the server drops the connection.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import sys
import threading
from collections.abc import Awaitable, Callable, Iterable
from io import BytesIO
from typing import Any

Send = Callable[[dict[str, Any]], Awaitable[None]]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ClientGone(Exception):
    """The client stopped taking the response (write deadline passed, or the connection closed)."""


class LaneFull(Exception):
    """As many calls already wait for this lane as it takes: answer "busy" instead of queueing."""


class Lane:
    """`threads` daemon threads running calls in the order they come; at most `waiting` calls
    queue for a thread (LaneFull past that), so a flood is answered at once, not in minutes."""

    def __init__(self, name: str, threads: int, waiting: int) -> None:
        self._waiting = waiting
        self._queued = 0
        self._count_lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[concurrent.futures.Future, Callable[[], Any]] | None] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(threads)]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            future, call = item
            with self._count_lock:
                self._queued -= 1
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting request
                future.set_exception(exc)

    def run(self, call: Callable[[], Any]) -> asyncio.Future:
        """Run `call` on a thread of this lane; await the result. Raises LaneFull."""
        with self._count_lock:
            if self._queued >= self._waiting:
                raise LaneFull()
            self._queued += 1
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._queue.put((future, call))
        return asyncio.wrap_future(future)

    def stop(self) -> None:
        """Let the threads end after the calls in hand (they are daemon threads: none is awaited)."""
        for _ in self._threads:
            self._queue.put(None)


def build_environ(scope: dict[str, Any], body: bytes) -> dict[str, Any]:
    """The WSGI environ of an ASGI HTTP scope, with the request body already read."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 0),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "REMOTE_ADDR": str(client[0]),
        "REMOTE_PORT": str(client[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        if name.startswith(":"):  # HTTP/2 pseudo-headers
            continue
        if name == "content-length":
            key = "CONTENT_LENGTH"
        elif name == "content-type":
            key = "CONTENT_TYPE"
        else:
            key = "HTTP_" + name.upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    if "CONTENT_LENGTH" not in environ and body:
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


async def _send_within(send: Send, message: dict[str, Any], seconds: float) -> None:
    try:
        await asyncio.wait_for(send(message), seconds)
    except (asyncio.TimeoutError, ConnectionError, OSError) as exc:
        raise ClientGone(type(exc).__name__) from None


def _respond(app: WsgiApp, environ: dict[str, Any], send: Send, loop: asyncio.AbstractEventLoop, write_timeout: float) -> None:
    """On a lane thread: call the app, send its response through the loop, each send awaited."""
    started: list[dict[str, Any]] = []
    head: dict[str, Any] = {}

    def push(message: dict[str, Any]) -> None:
        try:
            future = asyncio.run_coroutine_threadsafe(_send_within(send, message, write_timeout), loop)
            future.result(write_timeout + 5)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError, RuntimeError) as exc:
            raise ClientGone(type(exc).__name__) from None

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info is not None and started:
            raise exc_info[1].with_traceback(exc_info[2])
        head["status"] = int(status.split(" ", 1)[0])
        head["headers"] = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        return write

    def begin() -> None:
        if not started:
            started.append({"type": "http.response.start", **head})
            push(started[0])

    def write(data: bytes) -> None:
        begin()
        if data:
            push({"type": "http.response.body", "body": data, "more_body": True})

    iterable = app(environ, start_response)
    try:
        for chunk in iterable:
            write(chunk)
        begin()
        push({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()


async def serve_wsgi(app: WsgiApp, scope: dict[str, Any], body: bytes, send: Send, lane: Lane, write_timeout: float) -> bool:
    """Answer one request with the WSGI app on `lane`; False when the client was dropped."""
    loop = asyncio.get_running_loop()
    environ = build_environ(scope, body)
    try:
        await lane.run(lambda: _respond(app, environ, send, loop, write_timeout))
    except ClientGone:
        return False
    return True
