#!/usr/bin/env bash
# Create (or update) .venv with capsa, every plugin in this repository, and
# the test/dev/docs tools. Idempotent: safe to run again; only changes what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

pick_python() {
  for candidate in "${PYTHON:-}" python3.11 python3 python; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "capsa needs Python >= 3.11 (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

if [ ! -x .venv/bin/python ]; then
  "$(pick_python)" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check --quiet)
# The build backend first, so the editable installs below need no isolated
# build environment (faster, and no download per package).
"${PIP[@]}" install "hatchling>=1.21" "editables>=0.5"

projects=(-e .)
targets=(-e ".[test,dev,docs,e2e]")
for plugin in plugins/*/; do
  [ -f "$plugin/pyproject.toml" ] || continue
  projects+=(-e "${plugin%/}")
  if grep -q '^test = ' "$plugin/pyproject.toml"; then
    targets+=(-e "${plugin%/}[test]")
  else
    targets+=(-e "${plugin%/}")
  fi
done
# Two steps: first every capsa distribution of this repository, without
# dependencies, so that a plugin's requirement on another one (capsa-cloud's
# tests need capsa-zarr) is met by the local project whatever the order pip
# meets them in; then everything with its extras and third-party dependencies.
"${PIP[@]}" install --no-build-isolation --no-deps "${projects[@]}"
"${PIP[@]}" install --no-build-isolation "${targets[@]}"
