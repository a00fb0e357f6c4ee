#!/usr/bin/env bash
# The test command: sets up what is missing (deploy/bootstrap.sh: Dovecot from Debian's
# packages, .venv with bouncewatch and its test extras), then runs pytest with "$@".
# Exits with pytest's exit code.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BOUNCEWATCH_TEST_DEPS=1 bash "$repo/deploy/bootstrap.sh"  # test-only packages too (chromium)
# postmap (Debian's postfix) for the Postfix access-map test, skipped without it except under CI.
# "No configuration": installs the programs, configures and starts no mail system.
if ! command -v postmap >/dev/null && [ ! -x /usr/sbin/postmap ] && command -v apt-get >/dev/null; then
    as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
    echo "run.sh: installing postfix (for postmap)" >&2
    { echo "postfix postfix/main_mailer_type select No configuration" | as_root debconf-set-selections \
        && as_root apt-get update -q \
        && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postfix; } \
        || echo "run.sh: could not install postfix; the postmap test will be skipped (fails under CI)" >&2
fi
cd "$repo"
status=0
.venv/bin/python -m pytest "$@" || status=$?
exit "$status"
