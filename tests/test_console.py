"""The review console: auth decisions, CSRF, escaping and paging with Flask's test client, and
one real headless-browser session against a real daemon and a real Dovecot."""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from bouncewatch import config, store
from bouncewatch.cli import main as cli_main
from bouncewatch.records import AddressState
from bouncewatch.testing import samples
from bouncewatch.web.api import Sources, create_app
from bouncewatch.web.console.auth import parse_users, write_user

from .daemonkit import RunningDaemon, wait_for, write_config
from .spine import v1_sqlite_database
from .test_http import _free_port

HOSTILE = '"<script>alert(1)</script>"@x.example'
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _settings(tmp_path: Path, http: str) -> config.Settings:
    path = tmp_path / "bouncewatch.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/state.db"\n[http]\nenabled = true\nconsole = true\n{http}\n')
    return config.load(path)


def _client(settings: config.Settings):
    store.open_database(settings.database_url)
    store.close_database()
    return create_app(Sources(health=lambda: {}, settings=lambda: settings)).test_client()


def _token(body: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', body).group(1).decode()


def test_open_network_console_is_a_config_error(tmp_path):
    """A console on a non-loopback listener with no users file and no proxy header does not start."""
    with pytest.raises(config.ConfigError, match="not loopback; set users_file"):
        _settings(tmp_path, 'listen = "192.0.2.10:9117"')
    with pytest.raises(config.ConfigError, match="trusted_proxies"):
        _settings(tmp_path, 'trusted_user_header = "X-Remote-User"')


def test_non_loopback_listener_refuses_the_unauthenticated(tmp_path):
    """Listening on a non-loopback address: no page without a user (a GET goes to sign-in, a POST gets 401 with or without a CSRF token); sign-in sets a Secure, HttpOnly, SameSite=Strict cookie."""
    write_user(tmp_path / "users", "reviewer", "correct horse")
    client = _client(_settings(tmp_path, 'listen = "192.0.2.10:9117"\nusers_file = "users"'))
    remote = {"REMOTE_ADDR": "198.51.100.7"}
    response = client.get("/blocked", environ_base=remote)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=/blocked")
    action = {"address": "a@b.org", "action": "unblock", "reason": "x"}
    assert client.post("/action", data=action, environ_base=remote).status_code == 401
    login = client.get("/login", environ_base=remote)
    with_token = client.post("/action", data={**action, "csrf_token": _token(login.data)}, environ_base=remote)
    assert with_token.status_code == 401, "a valid CSRF token is no sign-in"
    wrong = client.post("/login", data={"username": "reviewer", "password": "nope", "csrf_token": _token(login.data)}, environ_base=remote)
    assert wrong.status_code == 401
    good = client.post("/login", data={"username": "reviewer", "password": "correct horse", "csrf_token": _token(login.data), "next": "//evil.example/"}, environ_base=remote)
    assert good.status_code == 302 and good.headers["Location"] == "/"  # no open redirect
    cookie = good.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/blocked", environ_base=remote).status_code == 200


def test_trusted_header_only_from_trusted_proxies(tmp_path):
    """X-Remote-User names the user only when the peer is a trusted proxy; anyone else is refused."""
    client = _client(_settings(tmp_path, 'listen = "192.0.2.10:9117"\ntrusted_user_header = "X-Remote-User"\ntrusted_proxies = ["10.1.2.0/24"]'))
    header = {"X-Remote-User": "carol"}
    assert client.get("/", headers=header, environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    refused = client.get("/", headers=header, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert refused.status_code == 401 and b"carol" not in refused.data


def test_loopback_console_is_open_escapes_and_sends_security_headers(tmp_path):
    """On loopback without users: open; a hostile address shows as text; CSP, frame and referrer headers are set."""
    settings = _settings(tmp_path, "")
    client = _client(settings)
    store.open_database(settings.database_url)
    try:
        store.save_states([AddressState(address=HOSTILE, blocked=True, blocked_reason="hard: <img src=x onerror=alert(1)>")])
    finally:
        store.close_database()
    response = client.get("/address", query_string={"a": HOSTILE})
    assert response.status_code == 200
    assert b"<script>alert(1)" not in response.data and b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.data
    assert b"<img src=x" not in response.data
    headers = response.headers
    assert "default-src 'self'" in headers["Content-Security-Policy"] and "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY" and headers["Referrer-Policy"] == "no-referrer"
    assert b"<script" not in client.get("/blocked").data and b"<script" not in client.get("/").data


def test_blocked_list_keyset_paging_and_filters(tmp_path):
    """Next-page links walk every blocked address once, in order, with the filters kept; the queries use the step-3 indexes."""
    settings = _settings(tmp_path, "")
    client = _client(settings)
    store.open_database(settings.database_url)
    try:
        states = [
            AddressState(address=f"u{i:03d}@d{i % 3}.org", blocked=i % 5 != 0, last_reason="mailboxfull" if i % 2 else "userunknown",
                         blocked_reason="hard: userunknown 5.1.1" if i % 2 == 0 else "5 consecutive soft bounces (last soft: mailboxfull)")
            for i in range(160)
        ]
        store.save_states(states)
        plan = " ".join(str(row) for row in store.database_proxy.obj.execute_sql(
            "EXPLAIN QUERY PLAN SELECT address FROM address WHERE blocked = 1 AND address > 'm' ORDER BY address LIMIT 51"))
        assert "address_blocked_address" in plan and "TEMP B-TREE" not in plan
        plan = " ".join(str(row) for row in store.database_proxy.obj.execute_sql(
            "EXPLAIN QUERY PLAN SELECT address FROM address WHERE blocked = 1 AND substr(address, instr(address, '@') + 1) = 'd1.org' ORDER BY address LIMIT 51"))
        assert "address_blocked_domain_address" in plan and "TEMP B-TREE" not in plan
    finally:
        store.close_database()

    def walk(url: str) -> list[str]:
        seen: list[str] = []
        while url:
            body = client.get(url).data.decode()
            seen += re.findall(r'<tr><td><a href="[^"]+">([^<]+)</a>', body)
            match = re.search(r'id="next-page" href="([^"]+)"', body)
            url = match.group(1).replace("&amp;", "&") if match else ""
        return seen

    expected = sorted(s.address for s in states if s.blocked)
    assert walk("/blocked") == expected
    soft_d1 = sorted(s.address for s in states if s.blocked and s.address.endswith("@d1.org") and "consecutive soft" in s.blocked_reason)
    assert walk("/blocked?domain=d1.org&class=soft-limit") == soft_d1
    assert walk("/blocked?reason=userunknown") == sorted(s.address for s in states if s.blocked and s.last_reason == "userunknown")
    assert client.get("/blocked?since=notadate").status_code == 400


def test_v2_database_gets_the_console_indexes(tmp_path):
    """Upgrading an old database runs step 3: the console's indexes exist and the version is current."""
    store.open_database(v1_sqlite_database(tmp_path))
    try:
        assert store.schema_version() == store.SCHEMA_VERSION >= 3
        names = {row[0] for row in store.database_proxy.obj.execute_sql("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"address_blocked_address", "address_blocked_reason_address", "address_blocked_domain_address", "event_at"} <= names
    finally:
        store.close_database()


def test_adduser_writes_an_argon2_hash(tmp_path):
    """`bouncewatch console adduser NAME` reads the password from stdin, stores an argon2 hash at mode 0600, and replaces a user."""
    users = tmp_path / "users"
    runner = CliRunner()
    result = runner.invoke(cli_main, ["console", "adduser", "alice", "--users-file", str(users)], input="pw-one\n")
    assert result.exit_code == 0 and "added alice" in result.output
    result = runner.invoke(cli_main, ["console", "adduser", "alice", "--users-file", str(users)], input="pw-two\n")
    assert result.exit_code == 0 and "replaced" in result.output
    parsed = parse_users(users.read_text())
    assert list(parsed) == ["alice"] and parsed["alice"].startswith("$argon2id$") and "pw-two" not in users.read_text()
    assert users.stat().st_mode & 0o777 == 0o600
    assert runner.invoke(cli_main, ["console", "adduser", "bad name", "--users-file", str(users)], input="x\n").exit_code == 2


# -- the real thing: daemon + Dovecot + headless Chromium -------------------------------------


def _playwright():
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if chromium is None or sync_playwright is None:
        reason = "browser tests need Debian's chromium on PATH and the playwright package (pip install -e .[test])"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so browser tests must run: {reason}", pytrace=False)
        pytest.skip(reason)
    return sync_playwright, chromium


def _refused_without_csrf(base: str) -> None:
    """A signed-in plain HTTP client whose POST lacks the CSRF token is refused (400)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    token = _token(opener.open(f"{base}/login", timeout=5).read())
    data = urllib.parse.urlencode({"username": "reviewer", "password": "correct horse", "csrf_token": token}).encode()
    assert opener.open(f"{base}/login", data, timeout=5).status == 200
    action = urllib.parse.urlencode({"address": "bob@example.org", "action": "unblock", "reason": "forged"}).encode()
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(f"{base}/action", action, timeout=5)
    assert refused.value.code == 400 and b"CSRF" in refused.value.read()


@pytest.mark.slow
def test_browser_review_session(dovecot, tmp_path):
    """Sign in, search, read the original bounce, unblock with a reason, see the audit entry and the
    blocklist change; a hostile bounce shows as text and runs nothing; a POST without CSRF token is refused."""
    sync_playwright, chromium = _playwright()
    write_user(tmp_path / "users", "reviewer", "correct horse")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    http = f'[http]\nenabled = true\nconsole = true\nlisten = "127.0.0.1:{port}"\nusers_file = "users"\n'
    cfg = write_config(tmp_path / "bouncewatch.toml", dovecot, f"sqlite:///{tmp_path}/state.db", extra=http)
    hostile = samples.dsn(HOSTILE, diagnostic='smtp; 550 5.1.1 <x>: <b onmouseover=alert(2)>no</b> <a href="javascript:alert(3)">click</a>')
    hostile = hostile.replace(b"This is the mail system", b"<html><script>alert(4)</script><img src=x onerror=alert(5)> This is the mail system")
    dovecot.deliver("bounces", [samples.dsn("alice@example.org"), samples.dsn("bob@example.org"), hostile])
    blocklist = tmp_path / "blocklist.txt"
    daemon = RunningDaemon(cfg, tmp_path / "run.log")
    dialogs: list[str] = []
    try:
        wait_for(lambda: blocklist.exists() and blocklist.read_text().count("\n") == 3, timeout=20)
        _refused_without_csrf(base)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
            page = browser.new_page()
            page.set_default_timeout(10000)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(f"{base}/")
            assert "/login" in page.url
            page.fill("#username", "reviewer")
            page.fill("#password", "correct horse")
            page.click("button:has-text('Sign in')")
            page.wait_for_selector("#blocked-count")
            assert page.inner_text("#blocked-count") == "3"

            page.fill("input[name=q]", "Alice@Example.org")
            page.press("input[name=q]", "Enter")
            page.wait_for_selector("h1.address")
            assert page.inner_text("h1.address") == "alice@example.org"
            assert page.inner_text("#state") == "blocked" and page.inner_text("#class") == "hard"
            page.click("a.show-message")
            page.wait_for_selector("#raw-message, #message-problem")
            assert page.locator("#message-problem").count() == 0, page.inner_text("main")
            raw = page.inner_text("#raw-message")
            assert samples.ORIGINAL_SUBJECT in raw and "Final-Recipient: rfc822; alice@example.org" in raw
            page.go_back()
            page.fill("#reason", "mailbox fixed, confirmed by phone")
            page.click("#action-button")
            page.wait_for_selector("tr.manual")
            assert page.inner_text("#state") == "not blocked"
            assert "unblock by reviewer" in page.inner_text("tr.manual") and "mailbox fixed" in page.inner_text("tr.manual")
            wait_for(lambda: "alice@example.org" not in blocklist.read_text(), timeout=5)
            assert "bob@example.org" in blocklist.read_text()

            page.goto(f"{base}/blocked")
            page.click(f"a:has-text('{HOSTILE}')")
            page.wait_for_selector("h1.address")
            assert page.inner_text("h1.address") == HOSTILE
            assert "alert(2)" in page.inner_text("td.diag") and "javascript:alert(3)" in page.inner_text("td.diag")
            page.click("a.show-message")
            raw = page.inner_text("#raw-message")
            assert "<script>alert(4)</script><img src=x onerror=alert(5)>" in raw and HOSTILE in raw
            assert page.locator("script").count() == 0 and page.locator("img").count() == 0
            assert page.locator("a[href^='javascript:']").count() == 0
            page.wait_for_timeout(300)
            browser.close()
        assert dialogs == [], f"a script ran: {dialogs}"
    finally:
        assert daemon.stop() == 0


def test_real_non_loopback_listener_refuses_the_unauthenticated(dovecot, tmp_path):
    """A daemon whose console listens on all addresses sends an unauthenticated request to sign-in, and refuses an action with 401, with or without a CSRF token."""
    write_user(tmp_path / "users", "reviewer", "correct horse")
    port = _free_port()
    section = f'[http]\nenabled = true\nconsole = true\nlisten = "0.0.0.0:{port}"\nusers_file = "users"\n'
    cfg = write_config(tmp_path / "bouncewatch.toml", dovecot, f"sqlite:///{tmp_path}/state.db", extra=section)
    daemon = RunningDaemon(cfg, tmp_path / "run.log")
    no_redirects = urllib.request.build_opener(_NoRedirect)
    try:
        # Only this machine's loopback address is used to reach the all-addresses listener.
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), timeout=20)
        with pytest.raises(urllib.error.HTTPError) as sent_away:
            no_redirects.open(f"http://127.0.0.1:{port}/blocked", timeout=5)
        assert sent_away.value.code == 302 and sent_away.value.headers["Location"].startswith("/login")
        fields = {"address": "a@example.org", "action": "block", "reason": "x"}
        with pytest.raises(urllib.error.HTTPError) as refused:
            no_redirects.open(f"http://127.0.0.1:{port}/action", urllib.parse.urlencode(fields).encode(), timeout=5)
        assert refused.value.code == 401
        # With the CSRF token of a fresh (not signed-in) session: still refused as unauthenticated.
        jar = http.cookiejar.CookieJar()
        session = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPCookieProcessor(jar))
        token = _token(session.open(f"http://127.0.0.1:{port}/login", timeout=5).read())
        with pytest.raises(urllib.error.HTTPError) as refused:
            session.open(f"http://127.0.0.1:{port}/action", urllib.parse.urlencode({**fields, "csrf_token": token}).encode(), timeout=5)
        assert refused.value.code == 401
    finally:
        assert daemon.stop() == 0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
        return True
    except urllib.error.HTTPError:
        return True  # 503 before the first cycle is still an answer
    except OSError:
        return False
