#!/usr/bin/env bash
# Quick start: installs what is needed (deploy/bootstrap.sh), starts a throwaway Dovecot on
# 127.0.0.1 seeded with sample bounces, runs `bouncewatch poll` against it over TLS with the
# embedded SQLite store, and shows the summary, the archive folders and the blocklist.
# Leaves the config, database and blocklist in ./demo (or the directory given).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$repo/deploy/bootstrap.sh"
demo_dir="$(realpath -m "${1:-demo}")"
cd "$repo"
exec .venv/bin/python -m bouncewatch.testing.demo "$demo_dir"
