#!/usr/bin/env bash
# Set up capsa (idempotently) and run its main job: `capsa demo` on a local
# embedded store (./capsa-store, development mode).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh
exec .venv/bin/capsa demo "$@"
