#!/usr/bin/env bash
# Installs the pinned E2B SDKs (package-lock.json) into tests/http/e2b/node_modules with `npm ci`.
# Idempotent and fast: does nothing when node_modules already matches the lock file.
# Exit 0: installed; 77: no usable Node.js (the SDKs need >= 20.18.1; tests then skip).
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install-sdk: node/npm not found; the E2B SDK tests need Node.js >= 20.18.1" >&2
  exit 77
fi
if ! node -e 'const [a,b,c]=process.versions.node.split(".").map(Number);
  process.exit(a>20||(a===20&&(b>18||(b===18&&c>=1)))?0:1)'; then
  echo "install-sdk: Node.js $(node --version) is too old; the E2B SDKs need >= 20.18.1" >&2
  exit 77
fi
stamp=node_modules/.enclave-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error >&2
echo "$want" > "$stamp"
