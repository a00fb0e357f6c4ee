#!/usr/bin/env bash
# Installs what bouncewatch's demo and tests need on Debian 12, then .venv with bouncewatch:
# Debian packages only when missing (dovecot-imapd, openssl, python3-venv; with
# BOUNCEWATCH_TEST_DEPS=1 also chromium and postfix for the tests), the venv only when
# missing, the Python package only when pyproject.toml changed. Idempotent, cwd-independent.
# Sourced by deploy/quickstart.sh and tests/run.sh; run it alone to just set up.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else echo "bootstrap.sh: need root or sudo to run: $*" >&2; exit 1
    fi
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }

missing=()
if command -v dpkg-query >/dev/null; then
    installed dovecot-imapd || missing+=(dovecot-imapd)
    installed openssl || missing+=(openssl)
    [ -d .venv ] || installed python3-venv || missing+=(python3-venv)
    # Only for the tests (tests/run.sh sets it): the console's browser tests drive Debian's
    # chromium; the Postfix access-map test runs postfix's postmap, and tests/test_postfix_rig.py
    # a throwaway Postfix of its own (own config dir, queue and ports; the system one is untouched);
    # the retention test runs `bouncewatch prune` under faketime.
    if [ "${BOUNCEWATCH_TEST_DEPS:-}" = 1 ]; then
        installed chromium || missing+=(chromium)
        installed postfix || missing+=(postfix)
        installed faketime || missing+=(faketime)
    fi
else  # not Debian: only check that the programs are there
    command -v dovecot >/dev/null || [ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
    command -v openssl >/dev/null || missing+=(openssl)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    command -v apt-get >/dev/null || { echo "bootstrap.sh: please install: ${missing[*]}" >&2; exit 1; }
    echo "bootstrap.sh: installing ${missing[*]}" >&2
    # postfix as "No configuration": its programs only; no mail system is set up or started.
    echo "postfix postfix/main_mailer_type select No configuration" | as_root debconf-set-selections
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# The package may start a system Dovecot on 143/993. It does not conflict: each test server
# has its own ports (picked by binding port 0), base_dir and instance_name. So it is left alone.

if [ ! -x .venv/bin/python ]; then
    python3 -c 'import sys; assert sys.version_info >= (3, 11), sys.version' \
        || { echo "bootstrap.sh: bouncewatch needs Python >= 3.11" >&2; exit 1; }
    python3 -m venv .venv
fi
# Reinstall only when pyproject.toml changed since the last successful install.
stamp=.venv/.bouncewatch-installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    .venv/bin/python -m pip install -q -e '.[test]'
    echo "$want" > "$stamp"
fi

