#!/usr/bin/env bash
# Set up capsa (idempotently) and run every check: lint, format, types, the
# strict docs build, and the tests of the core, every plugin and the example
# third-party plugin.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -m "not slow"`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh

echo "== ruff (lint + format)"
.venv/bin/ruff check src plugins examples tests bench e2e docs/_hooks
.venv/bin/ruff format --check src plugins examples tests bench e2e docs/_hooks

echo "== mypy"
srcs=(src)
for d in plugins/*/src examples/*/src; do [ -d "$d" ] && srcs+=("$d"); done
.venv/bin/mypy "${srcs[@]}"

echo "== mkdocs (strict)"
# Every warning (a broken link or anchor, a page missing from the nav) fails
# the build. Not --quiet: it hides warnings from --strict, which then passes.
# The INFO lines are dropped; warnings and errors are shown.
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --clean --site-dir site 2>&1 |
  { grep -v '^INFO ' || true; }

echo "== pytest"
suites=(tests)
for d in plugins/*/tests examples/*/tests; do [ -d "$d" ] && suites+=("$d"); done
suites+=(e2e)  # capsa demo end to end: a local folder, then loopback S3 (docs/end-to-end.md)
# CI runs the property-based tests (hypothesis) with a fixed seed, so a CI
# result is reproducible; other runs draw new examples every time.
seed=()
if [ "${CI:-}" = "true" ]; then seed=(--hypothesis-seed=20261123); fi
set +e
.venv/bin/python -m pytest "${suites[@]}" "${seed[@]}" "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing on purpose" >&2
  exit 1
fi
exit "$rc"
