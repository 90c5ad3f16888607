#!/usr/bin/env bash
# Set up capsa (idempotently) and run every check: lint, format, types, and
# the tests of the core, every plugin and the example third-party plugin.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -m "not slow"`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh

echo "== ruff (lint + format)"
.venv/bin/ruff check src plugins examples tests bench
.venv/bin/ruff format --check src plugins examples tests bench

echo "== mypy"
srcs=(src)
for d in plugins/*/src examples/*/src; do [ -d "$d" ] && srcs+=("$d"); done
.venv/bin/mypy "${srcs[@]}"

echo "== pytest"
suites=(tests)
for d in plugins/*/tests examples/*/tests; do [ -d "$d" ] && suites+=("$d"); done
set +e
.venv/bin/python -m pytest "${suites[@]}" "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing on purpose" >&2
  exit 1
fi
exit "$rc"
