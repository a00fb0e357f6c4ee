"""The review console: a server-rendered blueprint under / of the daemon's HTTP endpoint.

Off unless `[http] console = true`. Pages: overview (bounces per day by class, sender-side
alerts), search, an address (state, timeline of bounces and manual actions, each bounce's
original message on demand), the blocked list (filters, keyset paging), sign-in. The only
writes are block/unblock with a reason (service/manual.py, as the CLI).

Sign-in: sessions live in the database (store/console_sessions.py), so signing out, a new
password or a removed user ends them, and they end `session_hours` after sign-in whatever the
use; failed sign-ins are throttled per client address and per user name (throttle.py), and
password checks are bounded (auth.py).

Safety: Jinja escapes everything; the bounce text is shown in <pre>, never as HTML; every
form carries a CSRF token (Flask-WTF's CSRFProtect, tied to the session); the session cookie
is HttpOnly, SameSite=Strict, and Secure when the listener is not loopback or a trusted proxy
says the browser used https (X-Forwarded-Proto); responses carry a
strict Content-Security-Policy (no inline script or style), X-Frame-Options: DENY and
Referrer-Policy: no-referrer. A console user can read only the message of an event: the
mailbox, folder and UID come from the database, never from the request.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import structlog
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from ... import store
from ...config import is_loopback
from ...rules.addresses import domain_of, lookalike_hint, normalise
from ...store import console_queries as queries, console_sessions
from ..clients import client_address, forwarded_https, proxy_trusted, throttle_key
from . import auth, chart, throttle
from .message import NotFound, find_message

if TYPE_CHECKING:
    from ...config import Settings
    from ..api import Sources

log = structlog.get_logger("bouncewatch.console")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
OPEN_ENDPOINTS = {"console.login", "console.static"}
CHART_DAYS = 30
MAX_REASON = 1000
MAX_ROW_ID = 2**63 - 1  # the largest id a database column holds
# A sign-in target: an absolute path on this site, printable ASCII without backslash or spaces,
# never "//" or "/\" (a browser would take either for another host).
NEXT_TARGET = re.compile(r"/(?![/\\])[!#-\[\]-~]*")

_csrf = CSRFProtect()
console = Blueprint(
    "console",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/console-static",
)
_users = auth.UsersFile()


def _settings() -> Settings:
    return current_app.extensions["bouncewatch"].settings()


# -- who is asking --------------------------------------------------------------------------


def current_user(settings: Settings) -> str | None:
    if not auth.auth_required(settings):
        return auth.LOOPBACK_ACTOR
    http = settings.http
    if http.trusted_user_header and proxy_trusted(settings, request.remote_addr):
        name = auth.proxy_user(request.headers.getlist(http.trusted_user_header))
        if name is not None:
            return name
    path = auth.users_path(settings)
    token = session.get("sid")
    if path is None or not isinstance(token, str):
        return None
    found = console_sessions.find_session(token)
    if found is None:
        return None
    if found.credential != _users.credential(path, found.user):  # removed, or a new password
        console_sessions.end_user_sessions(found.user)
        log.info("console_sessions_ended", user=found.user, reason="user removed or password changed")
        return None
    return found.user


@console.before_request
def _open_database() -> None:
    if request.endpoint != "console.static":
        store.database_proxy.connect(reuse_if_open=True)
        g.db_open = True


@console.before_request
def _authenticate() -> Response | None:
    if any("\x00" in value for value in request.values.values()):
        abort(400, "A NUL character is not allowed in a form or query value.")
    settings = _settings()
    g.settings = settings
    g.user = current_user(settings)
    g.login_possible = settings.http.users_file is not None
    if g.user is None and request.endpoint not in OPEN_ENDPOINTS:
        if request.method == "GET" and g.login_possible:
            return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
        return Response(render_template("denied.html"), status=401)
    # Who is asking comes first, the form's CSRF token second: an unauthenticated POST is
    # refused as such (401), whatever token it carries.
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        _csrf.protect()
    return None


@console.teardown_request
def _close_database(_exc: BaseException | None) -> None:
    if g.get("db_open"):
        store.database_proxy.close()


@console.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@console.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> Response:
    return Response(render_template("error.html", title="Refused", message=f"The form was refused: {exc.description} Reload the page and try again."), status=400)


@console.errorhandler(store.DatabaseError)
def _database_error(exc: Exception) -> Response:
    log.warning("console_database_error", path=request.path, error=repr(exc)[:300])
    return Response(render_template("error.html", title="Database unavailable", message="The database cannot be read now; try again."), status=503)


@console.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    return Response(render_template("error.html", title=exc.name, message=exc.description), status=exc.code or 500)


def _safe_next(target: str | None) -> str:
    """Where to go after sign-in: `target` when it is a plain path of this site, else the overview."""
    if target and NEXT_TARGET.fullmatch(target):
        return target
    return url_for("console.overview")


# -- sign in / out --------------------------------------------------------------------------


@console.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    settings = g.settings
    path = auth.users_path(settings)
    if path is None:
        return Response(render_template("denied.html"), status=401)
    if request.method == "GET":
        return Response(render_template("login.html", error="", next=_safe_next(request.values.get("next"))))
    name = request.form.get("username", "")
    password = request.form.get("password", "")
    # A name that is no user is never logged: it may be a password typed into the wrong field.
    known = name if name in _users.users(path) else None
    client = client_address(settings, request.remote_addr, request.headers.get("X-Forwarded-For"))
    keys = throttle.keys(throttle_key(client), name)
    limiter: throttle.Throttle = current_app.extensions["bouncewatch_throttle"]
    wait = limiter.wait(keys)
    if wait > 0:
        log.warning("console_login_throttled", user=known, remote=client, retry_after=round(wait, 1))
        return _login_page(f"Too many failed sign-ins; try again in {math.ceil(wait)} s.", 429, math.ceil(wait))
    try:
        good = _users.verify(path, name, password)
    except auth.Busy:
        log.warning("console_login_busy", user=known, remote=client)
        return _login_page("Too many sign-ins at once; try again in a moment.", 429, 2)
    if good:
        limiter.succeeded(keys[1])
        lifetime = timedelta(hours=settings.http.session_hours)
        token = console_sessions.create_session(name, _users.credential(path, name) or "", lifetime)
        session.clear()
        session["sid"] = token
        session["until"] = int((datetime.now(timezone.utc) + lifetime).timestamp())
        session.permanent = True
        log.info("console_login", user=name, remote=client)
        return redirect(_safe_next(request.form.get("next")))
    limiter.failed(keys)
    log.warning("console_login_failed", user=known, known_user=known is not None, remote=client)
    return _login_page("Unknown user or wrong password.", 401)


def _login_page(error: str, status: int, retry_after: int | None = None) -> Response:
    response = Response(render_template("login.html", error=error, next=_safe_next(request.values.get("next"))), status=status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@console.post("/logout")
def logout() -> Response:
    """Sign out: every session of this user ends (a copy of the cookie elsewhere with it)."""
    token = session.get("sid")
    if isinstance(token, str):
        found = console_sessions.find_session(token)
        if found is not None:
            ended = console_sessions.end_user_sessions(found.user)
            log.info("console_logout", user=found.user, sessions_ended=ended)
    session.clear()
    return redirect(url_for("console.login") if g.login_possible else url_for("console.overview"))


# -- pages ----------------------------------------------------------------------------------


@console.get("/")
def overview() -> str:
    settings = g.settings
    today = datetime.now(timezone.utc).date()
    days, counts = queries.bounces_per_day(CHART_DAYS, today)
    since = store.utcnow() - timedelta(minutes=settings.policy.sender_alert_window_minutes)
    return render_template(
        "overview.html",
        chart=chart.build(days, counts),
        classes=queries.CHART_CLASSES,
        alerts=store.alerts_since(since),
        blocked=store.count_blocked(),
        window=settings.policy.sender_alert_window_minutes,
        days=CHART_DAYS,
    )


@console.get("/search")
def search() -> Response:
    text = request.args.get("q", "").strip()
    if not text:
        return redirect(url_for("console.overview"))
    if "@" in text:
        canonical = normalise(text)
        if canonical is None:
            flash(f"{text!r} is not an email address.")
            return redirect(url_for("console.overview"))
        return redirect(url_for("console.address", a=canonical))
    return redirect(url_for("console.blocked", domain=text.lower().lstrip("@")))


@console.get("/address")
def address() -> str:
    given = request.args.get("a", "")
    canonical = normalise(given)
    if canonical is None:
        abort(400, "Not an email address.")
    state = store.get_state(canonical)
    since = store.utcnow() - timedelta(minutes=g.settings.policy.sender_alert_window_minutes)
    alert = store.open_alert(domain_of(canonical), since)
    return render_template(
        "address.html",
        address=canonical,
        state=state,
        block_class=_class_of(state),
        timeline=queries.timeline(canonical),
        alert=alert,
        soft_limit=g.settings.policy.soft_limit,
    )


def _class_of(state) -> str:
    if state is None or not state.blocked:
        return ""
    from ...rules.ledger import block_class

    return block_class(state.manual, state.blocked_reason, state.last_class)


@console.get("/event/<int:event_id>/message")
def event_message(event_id: int) -> str:
    event = queries.event_with_message(event_id) if event_id <= MAX_ROW_ID else None
    if event is None:
        abort(404, "No such event.")
    message = event.message
    if message.provider:
        abort(404, f"This event came from the provider {message.provider} (event {message.event_id}); there is no message to show.")
    store.database_proxy.close()  # the IMAP round trips need no database
    g.db_open = False
    found, problem = None, ""
    try:
        found = find_message(g.settings, message, event.address)
    except NotFound as exc:
        problem = str(exc)
    log.info("console_message_read", user=g.user, event_id=event_id, found=found is not None)
    return render_template("message.html", event=event, message=message, found=found, problem=problem)


@console.post("/action")
def action() -> Response:
    from ...service.manual import PublishFailed, manual_action

    canonical = normalise(request.form.get("address", ""))
    what = request.form.get("action", "")
    reason = request.form.get("reason", "").strip()
    if canonical is None:
        abort(400, "Not an email address.")
    if what not in ("block", "unblock"):
        abort(400, "Unknown action.")
    target = url_for("console.address", a=canonical)
    if not reason:
        flash("A reason is required.")
        return redirect(target)
    if len(reason) > MAX_REASON:
        flash(f"The reason is longer than {MAX_REASON} characters.")
        return redirect(target)
    try:
        manual_action(g.settings, canonical, reason, g.user, what)
        flash(f"{canonical}: {what}ed. The blocklist outputs were republished.")
    except PublishFailed as exc:
        flash(str(exc))
    log.info("console_action", user=g.user, action=what, address=canonical)
    return redirect(target)


def _parse_date(text: str) -> date | None:
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        abort(400, f"Not a date (YYYY-MM-DD): {text[:40]!r}")
    if day is not None and not date(1900, 1, 1) <= day <= date(9998, 12, 31):
        abort(400, f"A date from 1900-01-01 to 9998-12-31, please (got {text}).")
    return day


@console.get("/blocked")
def blocked() -> str:
    args = request.args
    block_class = args.get("class", "")
    filters = queries.BlockedFilter(
        block_class=block_class if block_class in queries.CLASSES else "",
        reason=args.get("reason", "").strip()[:64],
        domain=args.get("domain", "").strip().lower()[:255],
        since=_parse_date(args.get("since", "").strip()),
        until=_parse_date(args.get("until", "").strip()),
    )
    after = args.get("after", "")[:320]
    rows, next_key = queries.blocked_page(filters, after)
    params = filters.params()
    next_url = f"{url_for('console.blocked')}?{urlencode({**params, 'after': next_key})}" if next_key else ""
    first_url = f"{url_for('console.blocked')}?{urlencode(params)}" if after else ""
    return render_template(
        "blocked.html", rows=rows, filters=filters, classes=queries.CLASSES, next_url=next_url, first_url=first_url, after=after
    )


# -- wiring ---------------------------------------------------------------------------------


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie (the session's token and the form's CSRF token), `Secure` off
    loopback and whenever a trusted proxy says the browser came over https (X-Forwarded-Proto),
    so a TLS proxy on the same host gets it too."""

    def get_expiration_time(self, app: Flask, session) -> datetime | None:
        """A signed-in session's cookie ends when the session does, whenever it is re-sent."""
        until = session.get("until")
        if isinstance(until, (int, float)):
            return datetime.fromtimestamp(until, timezone.utc)
        return super().get_expiration_time(app, session)

    def get_cookie_secure(self, app: Flask) -> bool:
        settings = app.extensions["bouncewatch"].settings()
        if not is_loopback(settings.http.host):
            return True
        return forwarded_https(settings, request.remote_addr, request.headers.get("X-Forwarded-Proto"))



def register(app: Flask, sources: Sources) -> None:
    """Add the console to the daemon's app (create_app calls this with [http] console on)."""
    settings = sources.settings()
    app.config.update(
        SECRET_KEY=auth.load_secret_key(settings),
        SESSION_COOKIE_NAME="bouncewatch_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.http.session_hours),
        SESSION_REFRESH_EACH_REQUEST=False,  # the cookie's end is the session's: use does not extend it
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session's life
        WTF_CSRF_SSL_STRICT=False,  # SameSite=Strict cookies already bind forms to this origin
        WTF_CSRF_CHECK_DEFAULT=False,  # checked by the console after sign-in (_authenticate)
    )
    app.session_interface = ConsoleSessionInterface()
    app.extensions["bouncewatch_throttle"] = throttle.Throttle()
    _csrf.init_app(app)
    app.add_template_filter(lookalike_hint, "lookalike")
    app.register_blueprint(console)
