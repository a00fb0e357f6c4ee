"""The console under hostile input: IMAP search quoting, strict `next=`, 4xx for out-of-range
values, look-alike hints, the trusted header, what a failed sign-in logs; Flask's test client
over a real database (SQLite and PostgreSQL) and, where a bounce is read, a real Dovecot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from bouncewatch import config, store
from bouncewatch.records import AddressState
from bouncewatch.testing import samples
from bouncewatch.web.api import Sources, create_app
from bouncewatch.web.console.auth import write_user

CONSOLE = "[http]\nenabled = true\nconsole = true\n"


def console_client(settings: config.Settings):
    """A test client of the daemon's app for `settings` (the schema made first)."""
    store.open_database(settings.database_url)
    store.close_database()
    return create_app(Sources(health=lambda: {}, settings=lambda: settings)).test_client()


def settings_for(tmp_path: Path, http: str = "") -> config.Settings:
    path = tmp_path / "bouncewatch.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/state.db"\n{CONSOLE}{http}\n')
    return config.load(path)


def csrf(body: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', body).group(1).decode()


def signed_in(tmp_path: Path, http: str = "", remote: str = "198.51.100.7"):
    """A client signed in as `reviewer` on a non-loopback console with a users file."""
    write_user(tmp_path / "users", "reviewer", "correct horse")
    settings = settings_for(tmp_path, f'listen = "192.0.2.10:9117"\nusers_file = "users"\n{http}')
    client = console_client(settings)
    client.environ_base["REMOTE_ADDR"] = remote
    token = csrf(client.get("/login").data)
    answer = client.post("/login", data={"username": "reviewer", "password": "correct horse", "csrf_token": token})
    assert answer.status_code == 302
    return client, settings


# -- finding 12: the IMAP search of "Show the bounce" ------------------------------------------


@pytest.mark.parametrize("message_id", ["{5}", "<{5}@evil.example>", '<a"b\\c@x.example>'])
def test_show_the_bounce_sends_its_search_as_an_imap_string(deployment, message_id):
    """A bounce whose returned mail has the Message-ID `{5}` (not one: the address is searched)
    or one with braces, quotes and backslashes is found by "Show the bounce", never sent bare."""
    deployment.write_config(extra_mailbox="timeout_seconds = 5\n", extra=CONSOLE)
    deployment.deliver(samples.dsn("alice@example.org", original_message_id=message_id))
    deployment.poll()
    settings = deployment.settings()
    client = console_client(settings)
    store.open_database(settings.database_url)
    try:
        (event_id,) = [e.id for e in store.Event.select()]
    finally:
        store.close_database()
    page = client.get(f"/event/{event_id}/message")
    assert page.status_code == 200
    body = page.data.decode()
    assert 'id="raw-message"' in body, re.sub(r"\s+", " ", body)[-600:]
    assert "Final-Recipient: rfc822; alice@example.org" in body


# -- finding 13: where sign-in sends you -------------------------------------------------------


@pytest.mark.parametrize(
    "target", ["/\t/evil.example", "/\r\n/x", "//evil.example/", "/\\evil.example", "https://evil.example/", "/ /x", "javascript:alert(1)"]
)
def test_sign_in_never_sends_you_off_site(tmp_path, target):
    """`next=` is taken only as a plain path of this site: a tab, CR/LF, `//`, a backslash or a scheme sends you to the overview, never a 500."""
    write_user(tmp_path / "users", "reviewer", "correct horse")
    client = console_client(settings_for(tmp_path, 'users_file = "users"'))
    page = client.get("/login", query_string={"next": target})
    assert page.status_code == 200 and b"evil" not in page.data
    answer = client.post("/login", data={"username": "reviewer", "password": "correct horse", "csrf_token": csrf(page.data), "next": target})
    assert answer.status_code == 302 and answer.headers["Location"] == "/"


def test_sign_in_keeps_a_plain_next_path(tmp_path):
    """A plain path with a query (`/blocked?domain=x.org`) survives sign-in."""
    write_user(tmp_path / "users", "reviewer", "correct horse")
    client = console_client(settings_for(tmp_path, 'users_file = "users"'))
    page = client.get("/login", query_string={"next": "/blocked?domain=x.org"})
    answer = client.post("/login", data={"username": "reviewer", "password": "correct horse", "csrf_token": csrf(page.data), "next": "/blocked?domain=x.org"})
    assert answer.headers["Location"] == "/blocked?domain=x.org"


# -- finding 14: the smaller gaps -------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/blocked?until=9999-12-31", "/blocked?since=9999-12-31", "/blocked?until=0001-01-01",
     "/event/99999999999999999999999/message", "/event/9223372036854775808/message",
     "/blocked?domain=a%00b", "/blocked?after=%00", "/address?a=a%00b@x.org"],
)
def test_out_of_range_input_gets_a_4xx(tmp_path, path):
    """A date past 9998, an id beyond any database column, a NUL in a value: 400 or 404, never a 500."""
    client = console_client(settings_for(tmp_path))
    with capture_logs() as logs:
        answer = client.get(path)
    assert 400 <= answer.status_code < 500, answer.data[:300]
    assert not [e for e in logs if e["event"] == "http_request_failed"]


def test_out_of_range_input_on_postgresql(request, tmp_path):
    """On PostgreSQL too: a NUL in a filter or a huge event id answers 4xx, not a 500."""
    import uuid

    from .spine import drop_postgres_database, fresh_postgres_database

    server = request.getfixturevalue("postgres_url")
    name = f"bw_console_{uuid.uuid4().hex[:12]}"
    url = fresh_postgres_database(server, name)
    try:
        path = tmp_path / "bouncewatch.toml"
        path.write_text(f'[database]\nurl = "{url}"\n{CONSOLE}')
        client = console_client(config.load(path))
        for target in ("/blocked?domain=a%00b", "/blocked?reason=%00", "/event/9223372036854775808/message", "/blocked?until=9999-12-31"):
            assert 400 <= client.get(target).status_code < 500, target
    finally:
        drop_postgres_database(server, name)


def test_duplicated_trusted_header_names_no_one(tmp_path):
    """A trusted proxy's user header sent twice ("alice, mallory" once joined) signs in no one: 401."""
    settings = settings_for(tmp_path, 'listen = "192.0.2.10:9117"\ntrusted_user_header = "X-Remote-User"\ntrusted_proxies = ["10.1.2.0/24"]')
    client = console_client(settings)
    proxy = {"REMOTE_ADDR": "10.1.2.3"}
    assert client.get("/", headers={"X-Remote-User": "alice"}, environ_base=proxy).status_code == 200
    twice = client.get("/", headers=[("X-Remote-User", "alice"), ("X-Remote-User", "mallory")], environ_base=proxy)
    assert twice.status_code == 401
    joined = client.get("/", headers={"X-Remote-User": "alice, mallory"}, environ_base=proxy)
    assert joined.status_code == 401 and b"mallory" not in joined.data


def test_a_password_in_the_user_field_is_never_logged(tmp_path):
    """A failed sign-in logs a known user's name, never an unknown one (it may be a password typed into the wrong field)."""
    write_user(tmp_path / "users", "reviewer", "correct horse")
    client = console_client(settings_for(tmp_path, 'users_file = "users"'))
    token = csrf(client.get("/login").data)
    with capture_logs() as logs:
        client.post("/login", data={"username": "Tr0ub4dor&3", "password": "", "csrf_token": token})
        client.post("/login", data={"username": "reviewer", "password": "wrong", "csrf_token": token})
    failed = [e for e in logs if e["event"] == "console_login_failed"]
    assert len(failed) == 2 and "Tr0ub4dor&3" not in repr(logs)
    assert failed[1]["user"] == "reviewer"


def test_lookalike_domains_show_their_punycode(tmp_path):
    """A blocked address whose domain mixes scripts shows its punycode form on its page and in the blocked list."""
    settings = settings_for(tmp_path)
    client = console_client(settings)
    spoof, plain = "billing@\u0430pple.com", "kunde@b\u00fccher.example"
    store.open_database(settings.database_url)
    try:
        store.save_states([AddressState(address=a, blocked=True, blocked_reason="hard: userunknown 5.1.1") for a in (spoof, plain)])
    finally:
        store.close_database()
    page = client.get("/address", query_string={"a": spoof}).data.decode()
    assert "xn--pple-43d.com" in page
    assert "xn--" not in client.get("/address", query_string={"a": plain}).data.decode()
    listing = client.get("/blocked").data.decode()
    assert listing.count("xn--") == 1 and "xn--pple-43d.com" in listing


def test_v1_without_token_answers_loopback_clients_only(tmp_path):
    """Without token_file, /v1 refuses a client off loopback with 403 (also one a trusted proxy names); v1_open_to_network = true opens it."""
    path = tmp_path / "bouncewatch.toml"
    base = f'[database]\nurl = "sqlite:///{tmp_path}/state.db"\n[http]\nenabled = true\nlisten = "0.0.0.0:9117"\ntrusted_proxies = ["10.1.2.3"]\n'
    path.write_text(base)
    client = console_client(config.load(path))
    assert client.get("/v1/blocklist", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    refused = client.get("/v1/blocklist", environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert refused.status_code == 403 and b"token_file" in refused.data
    via_proxy = client.get("/v1/blocklist", headers={"X-Forwarded-For": "198.51.100.7"}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert via_proxy.status_code == 403
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code in (200, 503)
    path.write_text(base + "v1_open_to_network = true\n")
    client = console_client(config.load(path))
    assert client.get("/v1/blocklist", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 200


def test_session_cookie_is_secure_behind_a_tls_proxy(tmp_path):
    """On loopback behind a trusted proxy saying X-Forwarded-Proto: https, the session cookie is Secure; the same header from an untrusted peer changes nothing."""
    write_user(tmp_path / "users", "reviewer", "correct horse")
    settings = settings_for(tmp_path, 'users_file = "users"\ntrusted_proxies = ["127.0.0.1"]')

    def cookie(**kwargs) -> str:
        return console_client(settings).get("/login", **kwargs).headers["Set-Cookie"]

    https = {"X-Forwarded-Proto": "https"}
    assert "Secure" in cookie(headers=https)
    assert "Secure" not in cookie(headers=https, environ_base={"REMOTE_ADDR": "127.0.0.2"})
    assert "Secure" not in cookie()


# -- finding 6: sessions that can be ended ----------------------------------------------------


def users_console(tmp_path: Path, database_url: str, http: str = ""):
    """(settings, a function making a new test client) of a console with the users file `users`."""
    write_user(tmp_path / "users", "reviewer", "correct horse")
    write_user(tmp_path / "users", "second", "battery staple")
    path = tmp_path / "bouncewatch.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n{CONSOLE}users_file = "users"\n{http}\n')
    settings = config.load(path)
    app = create_app(Sources(health=lambda: {}, settings=lambda: settings))
    store.open_database(settings.database_url)
    store.close_database()
    return settings, app.test_client


def sign_in(client, name: str = "reviewer", password: str = "correct horse") -> int:
    token = csrf(client.get("/login").data)
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token}).status_code


def session_cookie(client) -> str:
    return client.get_cookie("bouncewatch_console").value


def opens_console(client) -> bool:
    return client.get("/blocked").status_code == 200


def test_sign_out_ends_every_session_of_the_user(tmp_path, database_url):
    """After sign-out, the old cookie (a stolen copy) no longer opens the console, nor do the user's other sessions; another user's stay."""
    _settings, new_client = users_console(tmp_path, database_url)
    browser, laptop, other = new_client(), new_client(), new_client()
    assert sign_in(browser) == sign_in(laptop) == sign_in(other, "second", "battery staple") == 302
    thief = new_client()
    thief.set_cookie("bouncewatch_console", session_cookie(browser))
    assert opens_console(thief)
    token = csrf(browser.get("/").data)
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not opens_console(thief) and not opens_console(laptop) and not opens_console(browser)
    assert opens_console(other)


def test_a_new_password_or_a_removed_user_ends_their_sessions(tmp_path, database_url):
    """`console adduser` with a new password ends the user's sessions; removing the user from the file does too."""
    _settings, new_client = users_console(tmp_path, database_url)
    client, other = new_client(), new_client()
    assert sign_in(client) == sign_in(other, "second", "battery staple") == 302
    write_user(tmp_path / "users", "reviewer", "a new password")
    assert not opens_console(client)
    assert sign_in(client, password="a new password") == 302 and opens_console(client)
    users = tmp_path / "users"
    users.write_text("".join(line + "\n" for line in users.read_text().splitlines() if not line.startswith("second:")))
    assert not opens_console(other) and opens_console(client)


def test_a_session_ends_on_time_however_it_is_used(tmp_path, database_url):
    """Use does not extend a session: a cookie sent again keeps its first end, the stored end stays sign-in + session_hours, and past it the cookie opens nothing."""
    from datetime import timedelta

    _settings, new_client = users_console(tmp_path, database_url, "session_hours = 2")
    client = new_client()
    token = csrf(client.get("/login").data)
    signed = client.post("/login", data={"username": "reviewer", "password": "correct horse", "csrf_token": token})
    expires = re.search(r"Expires=([^;]+)", signed.headers["Set-Cookie"]).group(1)
    store.open_database(database_url)
    try:
        (row,) = store.ConsoleSession.select()
        assert row.expires_at - row.created_at == timedelta(hours=2)
    finally:
        store.close_database()
    for _ in range(3):
        answer = client.get("/blocked")
        assert answer.status_code == 200
        assert re.findall(r"Expires=([^;]+)", answer.headers.get("Set-Cookie", "")) in ([], [expires])
    store.open_database(database_url)
    try:
        assert store.ConsoleSession.get().expires_at == row.expires_at
        store.ConsoleSession.update(expires_at=store.utcnow() - timedelta(seconds=1)).execute()
    finally:
        store.close_database()
    assert not opens_console(client)


# -- finding 11: guessing passwords -----------------------------------------------------------


def test_throttle_delays_grow_per_address_and_per_user():
    """Five free failures, then waits of 1, 2, 4 ... s per key; another address guessing the same user waits too; a key is forgotten an hour after its last failure."""
    from bouncewatch.web.console import throttle

    now = [1000.0]
    limiter = throttle.Throttle(clock=lambda: now[0])
    mallory = throttle.keys("198.51.100.7", "reviewer")
    for _ in range(5):
        assert limiter.wait(mallory) == 0
        limiter.failed(mallory)
    assert limiter.wait(mallory) == pytest.approx(1.0)
    now[0] += 1
    limiter.failed(mallory)
    assert limiter.wait(mallory) == pytest.approx(2.0)
    assert limiter.wait(throttle.keys("203.0.113.9", "reviewer")) == pytest.approx(2.0)  # the user's key
    assert limiter.wait(throttle.keys("198.51.100.7", "someone-else")) == pytest.approx(2.0)  # the address's key
    assert limiter.wait(throttle.keys("203.0.113.9", "someone-else")) == 0
    assert throttle.delay(40) == throttle.MAX_DELAY_SECONDS
    now[0] += throttle.FORGET_AFTER_SECONDS + 1
    assert limiter.wait(mallory) == 0


def test_guessing_gets_429_and_the_right_password_waits_too(tmp_path):
    """Wrong passwords in a row: the 6th and every later one in that minute get 429 with Retry-After, unchecked; even the right password waits; another client and user are not held up."""
    _settings, new_client = users_console(tmp_path, f"sqlite:///{tmp_path}/state.db")
    client = new_client()
    token = csrf(client.get("/login").data)
    statuses = [client.post("/login", data={"username": "reviewer", "password": f"guess {i}", "csrf_token": token}).status_code
                for i in range(30)]
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429] * 25
    refused = client.post("/login", data={"username": "reviewer", "password": "correct horse", "csrf_token": token})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    elsewhere = new_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "127.0.0.9"
    assert sign_in(elsewhere, "second", "battery staple") == 302
