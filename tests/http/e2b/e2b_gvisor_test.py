#!/usr/bin/env python3
"""The unmodified E2B SDKs against a live enclaved on gVisor (issue 12's "Done when").

Installs the pinned SDKs (install-sdk.sh, `npm ci`, a no-op when already installed), creates
e2b_-shaped owner keys for two orgs, starts enclaved (gvisor backend, keys auth, no warm pool so
that runsc's container id is the session id and `runsc list` can be checked), runs
e2b_sdk_test.mjs with only the SDKs' own settings (E2B_API_KEY, E2B_API_URL, E2B_SANDBOX_URL),
and e2b_languages_test.mjs (JavaScript, Bash, code contexts), then stops the server and checks
it left no sandbox behind.

usage: e2b_gvisor_test.py BIN_DIR [SCRIPT.mjs…]   (default e2b_sdk_test.mjs and
       e2b_languages_test.mjs; e2b_files_test.mjs runs the SDK's files.* calls)   exit 0 pass, 1 fail, 77 skipped (no usable Node.js)
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from enclave_testlib import Checks, Server  # noqa: E402

BIN = sys.argv[1]
SCRIPTS = sys.argv[2:] or ["e2b_sdk_test.mjs", "e2b_languages_test.mjs"]
HERE = os.path.dirname(os.path.abspath(__file__))
RUNSC_ROOTS = "/run/enclave/runsc*"  # slot 0 and the "-N" slots (backends/gvisor/README.md)

install = subprocess.run([os.path.join(HERE, "install-sdk.sh")], timeout=600)
if install.returncode == 77:
    print("SKIP: no usable Node.js for the E2B SDKs")
    sys.exit(77)
if install.returncode != 0:
    print("FAIL: could not install the pinned E2B SDKs (npm ci)")
    sys.exit(1)

check = Checks()
work = tempfile.mkdtemp(prefix="enclave-e2b-")
data = os.path.join(work, "data")


def new_key(org):
    out = subprocess.run([f"{BIN}/enclaved", "keys", "create", "--org", org, "--role", "owner",
                          "--e2b", "--data-dir", data], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


key_a, key_b = new_key("acme"), new_key("globex")
check(key_a.startswith("e2b_") and len(key_a) == 44, "keys create --e2b issues e2b_ + 40 hex")
log_path = os.path.join(work, "server.log")
server = Server(BIN, data, "gvisor", log=open(log_path, "wb"), auth="keys",
                args=("--warm-pool", "0", "--log-level", "debug",
                      "--e2b-internet-allow", "example.com:443"))
try:
    env = dict(os.environ, E2B_API_KEY=key_a, E2B_API_URL=server.base,
               E2B_SANDBOX_URL=server.base, ENCLAVE_OTHER_KEY=key_b,
               ENCLAVE_RUNSC_ROOTS=":".join(sorted(glob.glob(RUNSC_ROOTS))))
    env.pop("E2B_DOMAIN", None)
    env.pop("E2B_DEBUG", None)
    # By default e2b_sdk_test.mjs (the SDKs' calls) and e2b_languages_test.mjs (runCode in
    # JavaScript and Bash, code contexts: issue 21); a script named on the command line alone.
    for script in SCRIPTS:
        run = subprocess.run(["node", os.path.join(HERE, script)], env=env, cwd=HERE,
                             capture_output=True, text=True, timeout=600)
        sys.stdout.write(run.stdout)
        sys.stdout.write(run.stderr)
        check(run.returncode == 0, f"the SDK suite passed ({script})")
finally:
    code = server.stop()
check(code == 0, "enclaved stopped cleanly on SIGTERM")
if check.failed:
    print("server log:", log_path)
    with open(log_path, errors="replace") as f:
        tail = f.read()[-4000:]
    print(tail)
else:
    shutil.rmtree(work, ignore_errors=True)
check.finish()
