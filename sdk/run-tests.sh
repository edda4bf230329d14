#!/usr/bin/env bash
# Run the SDK test suites against throwaway enclaved servers (simulator backend).
#   sdk/run-tests.sh BIN_DIR [python|typescript|all]
# BIN_DIR holds enclaved (e.g. build/bin). Each suite starts its own server(s) from BIN_DIR.
#   python:     fresh venv, `PIP_NO_INDEX=1 pip install ./sdk/python` (offline, build isolation on:
#               the README's command as a new user types it),
#               then the unittest suite against the installed package.
#   typescript: `npm ci`, `tsc`, `node --test` (skipped when node/npm are missing).
# Ends with a plain "N passed, M failed" line; exits non-zero on any failure
# (77 = skipped, for CTest's SKIP_RETURN_CODE, when the only selected suite could not run).
set -u
if [ $# -lt 1 ] || [ ! -x "$1/enclaved" ]; then
  echo "usage: $0 BIN_DIR [python|typescript|all]   (BIN_DIR must contain enclaved)" >&2
  exit 2
fi
BIN=$(cd "$1" && pwd)
WHICH=${2:-all}
case "$WHICH" in python|typescript|all) ;; *) echo "unknown suite: $WHICH" >&2; exit 2;; esac
SDK=$(cd "$(dirname "$0")" && pwd)
export ENCLAVE_BIN_DIR=$BIN
unset ENCLAVE_BASE_URL ENCLAVE_API_KEY ENCLAVE_AUTH
WORK=$(mktemp -d /tmp/enclave-sdk-tests.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

PASSED=0 FAILED=0 RAN=0 SKIPPED=0

python_suite() {
  echo "== python SDK"
  local py=${PYTHON:-python3}
  if ! "$py" -m venv "$WORK/venv" >"$WORK/venv.log" 2>&1; then
    echo "python: could not create a venv: $(tail -c 300 "$WORK/venv.log")"; FAILED=$((FAILED + 1)); return
  fi
  if ! PIP_NO_INDEX=1 "$WORK/venv/bin/pip" install -q "$SDK/python" >"$WORK/pip.log" 2>&1; then
    echo "python: offline install failed:"; tail -20 "$WORK/pip.log"; FAILED=$((FAILED + 1)); return
  fi
  echo "python: installed offline into a fresh venv"
  # run from sdk/python so `tests` is importable; `enclave` comes from the venv (it lives in src/)
  (cd "$SDK/python" && timeout 300 "$WORK/venv/bin/python" -m tests.run) 2>&1 | tee "$WORK/py.out"
  local line p f
  line=$(grep -E '^python: [0-9]+ passed, [0-9]+ failed' "$WORK/py.out" | tail -1)
  if [ -z "$line" ]; then
    echo "python: the suite did not finish"; FAILED=$((FAILED + 1)); return
  fi
  p=$(echo "$line" | sed -E 's/^python: ([0-9]+) passed.*/\1/')
  f=$(echo "$line" | sed -E 's/^python: [0-9]+ passed, ([0-9]+) failed.*/\1/')
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f)); RAN=$((RAN + 1))
}

typescript_suite() {
  echo "== typescript SDK"
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "typescript: skipped (node/npm not found)"; SKIPPED=$((SKIPPED + 1)); return
  fi
  cd "$SDK/typescript" || { FAILED=$((FAILED + 1)); return; }
  if ! timeout 300 npm ci --no-audit --no-fund >"$WORK/npm.log" 2>&1; then
    echo "typescript: npm ci failed:"; tail -20 "$WORK/npm.log"; FAILED=$((FAILED + 1)); cd - >/dev/null; return
  fi
  rm -rf dist
  if ! timeout 300 npx --no-install tsc -p . >"$WORK/tsc.log" 2>&1; then
    echo "typescript: tsc failed:"; cat "$WORK/tsc.log"; FAILED=$((FAILED + 1)); cd - >/dev/null; return
  fi
  echo "typescript: npm ci + tsc ok"
  timeout 300 node --test --test-reporter=tap dist/test/*.test.js >"$WORK/ts.out" 2>&1
  local rc=$?
  grep -E '^(not )?ok |^# (Subtest|tests|pass|fail)' "$WORK/ts.out" | sed 's/^/  /'
  local p f
  p=$(grep -E '^# pass [0-9]+' "$WORK/ts.out" | tail -1 | awk '{print $3}')
  f=$(grep -E '^# fail [0-9]+' "$WORK/ts.out" | tail -1 | awk '{print $3}')
  if [ -z "$p" ] || [ -z "$f" ]; then
    echo "typescript: node --test did not finish (exit $rc)"; tail -40 "$WORK/ts.out"; FAILED=$((FAILED + 1))
  else
    if [ "$f" != 0 ] || [ $rc -ne 0 ]; then
      grep -B2 -A30 '^not ok\|^    not ok\|^  not ok' "$WORK/ts.out" | head -120
      [ "$f" = 0 ] && f=1   # runner failed without a failing test (e.g. a file crashed)
    fi
    echo "typescript: $p passed, $f failed"
    PASSED=$((PASSED + p)); FAILED=$((FAILED + f)); RAN=$((RAN + 1))
  fi
  cd - >/dev/null
}

case "$WHICH" in
  python) python_suite ;;
  typescript) typescript_suite ;;
  all) python_suite; typescript_suite ;;
esac

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] || exit 1
[ "$RAN" -gt 0 ] || exit 77
exit 0
