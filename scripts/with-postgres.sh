#!/usr/bin/env bash
# Runs a command with TENANTSYNC_TEST_POSTGRES set. Placeholder until store/postgres lands.
set -euo pipefail
exec "$@"
