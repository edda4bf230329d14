#!/usr/bin/env bash
# Runs both SDKs' reference-scenario examples against one throwaway enclaved on BACKEND (real
# Python on gVisor by default).  usage: sdk/run-examples.sh BIN_DIR [BACKEND=gvisor]
# The TypeScript examples need sdk/typescript built (npm ci && tsc; run-tests.sh does it).
set -u
BIN=$(cd "$1" && pwd)
BACKEND=${2:-gvisor}
SDK=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/enclave-sdk-examples.XXXXXX)
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
ENCLAVE_INTERACTIVE_IDLE_TTL=2 "$BIN/enclaved" --listen 127.0.0.1:$PORT --data-dir "$WORK/data" \
  --backend "$BACKEND" --auth disabled --max-concurrency 4 >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
export ENCLAVE_BASE_URL=http://127.0.0.1:$PORT
for _ in $(seq 1 300); do  # bounded wait (≤ 30 s) for the server process to answer
  curl -fsS "$ENCLAVE_BASE_URL/v1/healthz" >/dev/null 2>&1 && break
  kill -0 $SERVER 2>/dev/null || { cat "$WORK/server.log"; echo "0 passed, 1 failed"; exit 1; }
  sleep 0.1
done
passed=0 failed=0
run() {
  local name=$1; shift
  if timeout 300 "$@" >"$WORK/out" 2>&1; then passed=$((passed + 1)); echo "PASS $name";
  else failed=$((failed + 1)); echo "FAIL $name"; tail -20 "$WORK/out"; fi
}
run "python fleets-at-scale ($BACKEND)" env PYTHONPATH="$SDK/python/src" python3 "$SDK/python/examples/fleets_at_scale.py"
run "python interactive-session ($BACKEND)" env PYTHONPATH="$SDK/python/src" python3 "$SDK/python/examples/interactive_session.py"
skipped=0
if ! command -v node >/dev/null 2>&1; then
  echo "SKIP typescript examples: node not found"; skipped=2
elif [ -f "$SDK/typescript/dist/examples/fleets-at-scale.js" ]; then
  run "typescript fleets-at-scale ($BACKEND)" node "$SDK/typescript/dist/examples/fleets-at-scale.js"
  run "typescript interactive-session ($BACKEND)" node "$SDK/typescript/dist/examples/interactive-session.js"
else
  # node is here, so sdk.typescript (which builds dist) should have run: a missing build is a
  # failure, never a quiet drop of half the examples.
  echo "FAIL typescript examples: $SDK/typescript/dist is missing (run sdk/run-tests.sh BIN typescript)"
  failed=$((failed + 2))
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ] || exit 1
[ $skipped -eq 0 ] || exit 77  # CTest: Skipped (SKIP_RETURN_CODE), and scripts/test may require it
exit 0
