#!/usr/bin/env bash
# The test command: sets up what is missing (deploy/bootstrap.sh: Dovecot, Chromium,
# Postfix (postmap, and a throwaway Postfix the tests start) and faketime from Debian's packages, .venv with bouncewatch and its test extras), then
# runs pytest with "$@".
# Exits with pytest's exit code.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BOUNCEWATCH_TEST_DEPS=1 bash "$repo/deploy/bootstrap.sh"  # test-only packages too (chromium, postfix)
cd "$repo"
status=0
.venv/bin/python -m pytest "$@" || status=$?
exit "$status"
