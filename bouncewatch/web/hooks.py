"""Events in: `POST /hooks/<provider>` for the sending services and `POST /v1/events` for the rest.

Each route reads the raw body (up to `[http] events_max_body_bytes`), verifies it with the
provider's check (providers/: signature, timestamp, credentials), reads it into reports, and
hands them to service/ingest.py, which records each event once, with the ledger, in one
transaction. Whatever is refused (bad signature, replay, unknown topic, malformed body, wrong
credentials, too large) gets a 4xx JSON answer, a `provider_request_refused` log line and a
count in `bouncewatch_provider_requests_refused_total{provider,cause}`, and records nothing.
A route of a provider that is not configured answers 404.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import structlog
from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from .. import store
from ..providers import generic, mailgun, postmark, sendgrid, ses, sns
from ..providers.events import ProviderReport, Refused
from ..providers.keys import ProviderKeys
from ..service.ingest import ingest

log = structlog.get_logger("bouncewatch.hooks")

hooks = Blueprint("hooks", __name__)


def _sources() -> Any:
    return current_app.extensions["bouncewatch"]


def _keys() -> ProviderKeys:
    return _sources().provider_keys()


@hooks.before_request
def _limit_body() -> None:
    request.max_content_length = _sources().settings().http.events_max_body_bytes


def _body() -> bytes:
    try:
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        limit = _sources().settings().http.events_max_body_bytes
        raise Refused("too_large", f"the body is larger than {limit} bytes ([http] events_max_body_bytes)", 413) from None


def _answer(status: int, **document: Any) -> Response:
    response = jsonify(document)
    response.status_code = status
    return response


def _handle(provider: str, work: Callable[[], Response]) -> Response:
    """Run a route's work; a Refused becomes its 4xx, logged and counted; a database fault a 503."""
    metrics = _sources().metrics
    if provider != "api" and provider not in _keys().configured:
        return _answer(404, error=f'no [[providers]] kind = "{provider}" is configured')
    try:
        return work()
    except Refused as refused:
        log.warning(
            "provider_request_refused",
            provider=provider,
            cause=refused.cause,
            reason=str(refused)[:300],
            remote=request.remote_addr,
        )
        if metrics is not None:
            metrics.provider_refused(provider, refused.cause)
        return _answer(refused.status, error=str(refused))
    except store.DatabaseError as exc:
        log.warning("http_database_error", path=request.path, error=repr(exc)[:300])
        return _answer(503, error="the database cannot be written now; try again")


def _record(provider: str, reports: Sequence[ProviderReport], replay_key: str | None = None) -> Response:
    with store.database_proxy.connection_context():
        result = ingest(_sources().settings(), reports, replay_key=replay_key)
    metrics = _sources().metrics
    if metrics is not None:
        metrics.provider_accepted(provider, result.recorded, result.duplicates)
    return _answer(200, recorded=result.recorded, duplicates=result.duplicates, newly_blocked=len(result.newly_blocked))


@hooks.post("/hooks/mailgun")
def mailgun_hook() -> Response:
    def work() -> Response:
        document = mailgun.parse(_body())
        token = mailgun.verify(document, _keys().mailgun or b"")
        return _record("mailgun", mailgun.reports(document), replay_key=f"mailgun:{token}")

    return _handle("mailgun", work)


@hooks.post("/hooks/sendgrid")
def sendgrid_hook() -> Response:
    def work() -> Response:
        body = _body()
        key = _keys().sendgrid
        assert key is not None
        sendgrid.verify(
            key, body, request.headers.get(sendgrid.SIGNATURE_HEADER), request.headers.get(sendgrid.TIMESTAMP_HEADER)
        )
        return _record("sendgrid", sendgrid.reports(body))

    return _handle("sendgrid", work)


@hooks.post("/hooks/postmark")
def postmark_hook() -> Response:
    def work() -> Response:
        user, password = _keys().postmark or ("", b"")
        given = request.authorization
        postmark.check_auth(
            given.username if given and given.type == "basic" else None,
            given.password if given and given.type == "basic" else None,
            user,
            password,
        )
        return _record("postmark", postmark.reports(_body()))

    response = _handle("postmark", work)
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="bouncewatch"'
    return response


@hooks.post("/hooks/ses")
def ses_hook() -> Response:
    def work() -> Response:
        keys = _keys()
        message = sns.parse(_body())
        if message["TopicArn"] not in keys.ses_topics:
            raise Refused("unknown_topic", f"TopicArn {message['TopicArn'][:200]!r} is not in topic_arns", 403)
        assert keys.ses_fetcher is not None
        sns.verify(message, keys.ses_fetcher)
        if message["Type"] == "SubscriptionConfirmation":
            sns.confirm(message, keys.ses_fetcher)
            log.info("sns_subscription_confirmed", topic=message["TopicArn"])
            return _answer(200, confirmed=message["TopicArn"])
        if message["Type"] == "UnsubscribeConfirmation":
            log.warning("sns_unsubscribed", topic=message["TopicArn"])
            return _answer(200, unsubscribed=message["TopicArn"])
        return _record("ses", ses.reports(message))

    return _handle("ses", work)


@hooks.post("/v1/events")
def generic_events() -> Response:
    sources = _sources()
    token = sources.token()
    if token is None:
        return _answer(403, error="POST /v1/events needs a bearer token: set [http] token_file")
    from .api import bearer_refusal

    refusal = bearer_refusal(token)
    if refusal is not None:
        if sources.metrics is not None:
            sources.metrics.provider_refused("api", "unauthorized")
        log.warning("provider_request_refused", provider="api", cause="unauthorized", remote=request.remote_addr)
        return refusal
    return _handle("api", lambda: _record("api", generic.reports(_body())))
