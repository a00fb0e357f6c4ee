"""The daemon's HTTP app (Flask): an app factory, one blueprint per concern.

- `ops` blueprint: GET /healthz (200/503 with a JSON reason), GET /metrics (Prometheus text);
  open without a token: a container HEALTHCHECK and a Prometheus scraper reach them, and they
  name no address (only mailbox names, counts and error texts).
- `api` blueprint under /v1: GET /v1/addresses/<address>, GET /v1/blocklist[?format=...];
  these show addresses (personal data), so they take the bearer token when one is configured;
  without one they answer only clients on loopback (403 for others), unless
  `[http] v1_open_to_network = true` says otherwise.
- `hooks` blueprint (web/hooks.py): POST /hooks/<provider> and POST /v1/events, the only writes
  besides the console's; each checks its provider's signature or credentials.

The app learns about the daemon only through `Sources` (a health provider, the settings, the
token, the metrics registry), never through the Daemon object. More blueprints (a review
console under `/`) are registered in `create_app` beside these ones.

Database access: peewee connections are per thread; each request that reads the database
opens its own connection and closes it when the response (or its stream) ends.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import islice
from typing import Any

import structlog
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from werkzeug.exceptions import HTTPException

from .. import store
from ..config import Settings
from ..providers.keys import ProviderKeys
from ..publish import outputs
from ..rules.addresses import normalise
from ..service.worker import Health
from ..store.address_views import address_document
from .clients import is_loopback_client
from .health import judge_all, report
from .hooks import hooks
from .metrics import Metrics

log = structlog.get_logger("bouncewatch.http")

HealthProvider = Callable[[], Mapping[str, Health]]  # mailbox name → a copy of its latest Health
MEDIA_TYPES = {
    "text": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "postfix": "text/plain; charset=utf-8",
}
REALM = "bouncewatch"


@dataclass(frozen=True)
class Sources:
    """Everything the app reads from the daemon, as callables (values change on reload)."""

    health: HealthProvider
    settings: Callable[[], Settings]
    token: Callable[[], str | None] = lambda: None  # None: /v1 is open (POST /v1/events refused)
    registry: CollectorRegistry | None = None  # None: /metrics answers 404
    provider_keys: Callable[[], ProviderKeys] = lambda: ProviderKeys()  # [[providers]] secrets
    metrics: Metrics | None = None  # counts provider events and refusals (web/hooks.py)


def _sources() -> Sources:
    return current_app.extensions["bouncewatch"]


def _error(status: int, message: str, **extra: Any) -> Response:
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


# -- ops: /healthz, /metrics ---------------------------------------------------------------------

ops = Blueprint("ops", __name__)


@ops.get("/healthz")
def healthz() -> Response:
    sources = _sources()
    verdicts = judge_all(sources.settings(), sources.health(), datetime.now(timezone.utc))
    healthy, document = report(verdicts)
    response = jsonify(document)
    response.status_code = 200 if healthy else 503
    return response


@ops.get("/metrics")
def metrics() -> Response:
    registry = _sources().registry
    if registry is None:
        return _error(404, "metrics are not collected")
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encoder(registry), content_type=content_type)


def count_blocked_now() -> int:
    """Blocked addresses, on a connection of the calling thread opened for this count only."""
    with store.database_proxy.connection_context():
        return store.count_blocked()


# -- api: /v1 ------------------------------------------------------------------------------------

api = Blueprint("api", __name__)


@api.before_request
def _authorize() -> Response | None:
    sources = _sources()
    token = sources.token()
    if token is None:
        settings = sources.settings()
        if settings.http.v1_open_to_network or is_loopback_client(
            settings, request.remote_addr, request.headers.get("X-Forwarded-For")
        ):
            return None
        return _error(403, "/v1 without a token answers clients on loopback only; set [http] token_file "
                           "(or v1_open_to_network = true)")
    return bearer_refusal(token)


def bearer_refusal(token: str) -> Response | None:
    """None when the request carries `Authorization: Bearer <token>`, else the 401 to answer."""
    given = request.authorization
    if given is None or given.type != "bearer" or not given.token:
        response = _error(401, "a bearer token is required")
        response.headers["WWW-Authenticate"] = f'Bearer realm="{REALM}"'
        return response
    if not hmac.compare_digest(given.token.encode("utf-8"), token.encode("utf-8")):
        response = _error(401, "invalid token")
        response.headers["WWW-Authenticate"] = f'Bearer realm="{REALM}", error="invalid_token"'
        return response
    return None


@api.errorhandler(store.DatabaseError)
def _database_error(exc: Exception) -> Response:
    log.warning("http_database_error", path=request.path, error=repr(exc)[:300])
    return _error(503, "the database cannot be read now; try again")


@api.get("/addresses/<path:address>")
def address_state(address: str) -> Response:
    canonical = normalise(address)
    if canonical is None:
        return _error(400, "not an email address", address=address)
    window = _sources().settings().policy.sender_alert_window_minutes
    with store.database_proxy.connection_context():
        document, known = address_document(canonical, window)
    if not known:
        return _error(404, "unknown address: nothing recorded for it", address=canonical)
    return jsonify(document)


@api.get("/blocklist")
def blocklist() -> Response:
    """The blocked addresses, streamed in the format of an output (text: the blocklist file)."""
    fmt = request.args.get("format", "text")
    if fmt not in outputs.RENDERERS:
        return _error(400, f"unknown format {fmt!r}; use one of {', '.join(outputs.FORMATS)}")
    db = store.database_proxy
    db.connect(reuse_if_open=True)
    rows = store.blocked_rows()
    try:
        first = list(islice(rows, outputs.BATCH))  # a database error becomes a 503, not a cut body
    except Exception:
        _close(rows, db)
        raise
    response = Response(_render(fmt, first, rows), content_type=MEDIA_TYPES[fmt])
    response.call_on_close(lambda: _close(rows, db))  # also when the client goes away mid-stream
    return response


def _render(fmt: str, first: list[tuple], rows: Iterator[tuple]) -> Iterator[bytes]:
    renderer = outputs.RENDERERS[fmt]()
    yield renderer.header(outputs.now_text())
    batch = first
    while batch:
        data, _written = renderer.rows(list(outputs.publishable(batch)))
        if data:
            yield data
        batch = list(islice(rows, outputs.BATCH))
    yield renderer.footer()


def _close(rows: Iterator[tuple], db: store.DatabaseProxy) -> None:
    try:
        rows.close()  # type: ignore[attr-defined]  # ends a PostgreSQL server-side cursor
    finally:
        db.close()


# -- the app -------------------------------------------------------------------------------------


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
    if request.path.startswith(("/v1/", "/hooks/")) or request.path in ("/healthz", "/metrics"):
        headers["Cache-Control"] = "no-store"
    return response


def _http_error(exc: HTTPException) -> Response:
    response = _error(exc.code or 500, exc.description or exc.name)
    for key, value in exc.get_headers():  # e.g. Allow on a 405
        if key.lower() != "content-type":
            response.headers[key] = value
    return response


def _unexpected(exc: Exception) -> Response:
    log.error("http_request_failed", path=request.path, error=repr(exc)[:500], exc_info=exc)
    return _error(500, "internal error (logged)")


def create_app(sources: Sources) -> Flask:
    """The WSGI app: the ops blueprint at /, the api blueprint at /v1, security headers on all."""
    app = Flask("bouncewatch")
    app.extensions["bouncewatch"] = sources
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.register_blueprint(ops)
    app.register_blueprint(api, url_prefix="/v1")
    app.register_blueprint(hooks)  # POST /hooks/<provider>, POST /v1/events
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    settings = sources.settings()
    if settings.http.console:  # the review console under / (bouncewatch/console/)
        from .console import register

        register(app, sources)
    return app
