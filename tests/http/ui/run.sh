#!/bin/sh
# Runs the dashboard browser test, or says why it cannot: exit 77 (CTest: Skipped) when node or
# the built dashboard is missing, so the test never silently disappears from the suite.
# usage: run.sh UI_BUILT(ON|OFF) dashboard.test.mjs BIN_DIR ARTIFACT_DIR
ui_built=$1; shift
if ! command -v node >/dev/null 2>&1; then
  echo "SKIPPED (exit 77): node not found (scripts/install-deps installs it)"; exit 77
fi
if [ "$ui_built" != ON ]; then
  echo "SKIPPED (exit 77): the dashboard was not built (npm missing at configure time, or -DENCLAVE_UI=OFF)"
  exit 77
fi
exec node "$@"
