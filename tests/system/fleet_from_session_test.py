#!/usr/bin/env python3
"""Fleet members `fromSession` (issue 19, docs/PAUSE.md): "fork N from one warm state, then run
each member's code". Each member starts as a fork of the source's one checkpoint and runs its
code as its one turn there; the source runs on untouched.

usage: fleet_from_session_test.py BIN_DIR [BACKEND=gvisor]
Checks: 3 members see the source's x = 41 and each makes its own change (results 42, 51; the
third fails on purpose: exit 3, its stderr kept); the source still has x = 41 afterwards; one
snapshot_taken in the source's chain for all three, session_forked in each member's chain;
another org's session is a 404 naming the field, a malformed id and a lone session's
fromSession are 400s naming it. Every wait is bounded; only 127.0.0.1.
"""
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks, Server, wait

BIN = sys.argv[1]
BACKEND = sys.argv[2] if len(sys.argv) > 2 else "gvisor"
check = Checks()
work = tempfile.mkdtemp(prefix="enclave-fromsession-")
data = os.path.join(work, "data")


def new_key(org):
    out = subprocess.run([f"{BIN}/enclaved", "keys", "create", "--org", org, "--role", "owner",
                          "--data-dir", data], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


keys = {"acme": new_key("acme"), "other": new_key("other")}
server = Server(BIN, data, BACKEND, log=open(os.path.join(work, "server.log"), "wb"), auth="keys")


def call(org, method, path, body=None):
    h = {"Content-Type": "application/json", "Authorization": "Bearer " + keys[org]}
    req = urllib.request.Request(server.base + path, method=method, headers=h,
                                 data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")
    except Exception as e:  # noqa: BLE001 - no answer at all
        return 0, {"error": str(e)}


def session(org, sid):
    return call(org, "GET", f"/v1/sessions/{sid}")[1]


def audit(org, sid):
    return [e.get("type") for e in call(org, "GET", f"/v1/sessions/{sid}/audit")[1].get("events", [])]


st, src = call("acme", "POST", "/v1/sessions", {"language": "python", "execMode": "interactive"})
check(st == 201, f"source created ({st})")
sid = src.get("id", "")
check(wait(lambda: session("acme", sid).get("phase") == "running", 60), "source running")
st, _ = call("acme", "POST", f"/v1/sessions/{sid}/exec", {"code": "x = 41\n#@sim stdout="})
check(st == 200, f"source: x = 41 ({st})")

members = [
    {"fromSession": sid, "code": "x += 1\nenclave.result(x)\n#@sim result=42"},
    {"fromSession": sid, "code": "x += 10\nenclave.result(x)\n#@sim result=51"},
    {"fromSession": sid, "code": "import sys\nprint('no', file=sys.stderr)\nsys.exit(3)\n"
                                 "#@sim stderr=no\n#@sim exit=3"},
]
st, f = call("acme", "POST", "/v1/fleets", {"name": "from-warm", "members": members})
check(st == 201, f"fleet of 3 fromSession created ({st} {str(f)[:200]})")
fid = f.get("id", "")
mids = [m.get("sessionId") for m in f.get("members", [])]
done = wait(lambda: call("acme", "GET", f"/v1/fleets/{fid}")[1].get("phase") in
            ("completed", "partial", "failed"), 120)
check(done, "fleet ended")
views = [session("acme", m) for m in mids]
check([v.get("phase") for v in views] == ["succeeded", "succeeded", "failed"],
      f"members' phases {[v.get('phase') for v in views]}")
results = []
for m in mids:
    st, r = call("acme", "GET", f"/v1/sessions/{m}/result")
    results.append(r)
if BACKEND != "simulator":  # the simulator's forks do not run the code; only gVisor proves state
    check([r.get("json") for r in results[:2]] == [42, 51],
          f"each member ran on the source's x = 41: {[r.get('json') for r in results[:2]]}")
    check(results[2].get("exitCode") == 3 and "no" in (results[2].get("stderr") or ""),
          f"the failing member kept its exit and stderr: {str(results[2])[:200]}")
for i, m in enumerate(mids):
    check("session_forked" in audit("acme", m), f"member {i}: session_forked in its chain")
    check(session("acme", m).get("forkedFrom") == sid, f"member {i}: forkedFrom the source")
check(audit("acme", sid).count("snapshot_taken") == 1, "one snapshot_taken in the source for all three")
if BACKEND != "simulator":
    st, r = call("acme", "POST", f"/v1/sessions/{sid}/exec", {"code": "print(x)"})
    check(st == 200 and (r.get("stdout") or "").strip() == "41", f"the source is untouched ({st} {r.get('stdout')!r})")

# Tenancy and bad input.
st, e = call("other", "POST", "/v1/fleets", {"members": [{"fromSession": sid, "code": "x"}]})
check(st == 404 and e.get("error", {}).get("field") == "members[0].fromSession",
      f"another org's session is a 404 naming the field ({st} {e})")
st, e = call("acme", "POST", "/v1/fleets", {"members": [{"fromSession": "zz", "code": "x"}]})
check(st == 400 and e.get("error", {}).get("field") == "members[0].fromSession", f"a malformed id is a 400 ({st} {e})")
st, e = call("acme", "POST", "/v1/sessions", {"fromSession": sid, "code": "x"})
check(st == 400 and e.get("error", {}).get("field") == "fromSession", f"a lone session's fromSession is a 400 ({st} {e})")

call("acme", "DELETE", f"/v1/sessions/{sid}")
check(wait(lambda: session("acme", sid).get("tornDown"), 60), "source torn down")
check(server.stop() == 0, "clean stop")
check.finish()
