#!/usr/bin/env python3
"""Runs every hostile payload in tests/system/payloads/ through the API on a real enclaved, each beside a
clean sibling session that must still get its exact result. Each payload declares the outcome it
must get on its first line: `# expect: {"phase": [...], "killReason": [...], "limits": {...},
"stdout": "must contain", "notStdout": "must not contain", "truncatedStdout": true,
"deniedHost": "…", "deniedReason": "…", "jsonIsNull": true, "json": {...}, "exitCode": N,
"egress": {...}}` (`egress` is the session's egress request; "{API_PORT}" in it becomes the server's
port). An expectation must be exact enough to fail: a payload that may be killed names the kill reason.

usage: hostile_corpus_test.py BIN_DIR [BACKEND=gvisor]
"""
import glob
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import datetime

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks, Server, sweep_slot, wait_no_traces

BIN = sys.argv[1]
BACKEND = sys.argv[2] if len(sys.argv) > 2 else "gvisor"
HERE = os.path.dirname(os.path.abspath(__file__))
SIBLING = "enclave.result({'sum': sum(range(1000))})\n#@sim result={\"sum\": 499500}\n"
check = Checks()
work = tempfile.mkdtemp(prefix="enclave-hostile-")
data = os.path.join(work, "data")
marker = "hostile-marker-" + secrets.token_hex(8)
# The server's own environment carries a marker and a credential key: neither may leak.
server = Server(BIN, data, BACKEND, log=open(os.path.join(work, "server.log"), "wb"),
                env={"HOSTILE_MARKER": marker, "ENCLAVE_CRED_SECRET": marker + "-cred"},
                args=("--max-concurrency", "4"))
port = server.port
call = server.call
slot = server.slot()


def wait_done(sid, seconds=90):
    end = time.time() + seconds
    while time.time() < end:
        st, s = call("GET", f"/v1/sessions/{sid}")
        if st == 200 and s.get("tornDown"):
            return s
        time.sleep(0.1)
    return call("GET", f"/v1/sessions/{sid}")[1]


ids = []
try:
    for path in sorted(glob.glob(os.path.join(HERE, "payloads", "*.py"))):
        name = os.path.basename(path)[:-3]
        code = open(path).read()
        first = code.splitlines()[0]
        assert first.startswith("# expect:"), f"{name}: first line must be '# expect: {{…}}'"
        want = json.loads(first[len("# expect:"):])
        assert "killed" not in want["phase"] or want.get("killReason"), \
            f"{name}: a payload that may be killed must name the kill reason"
        assert len(want["phase"]) == 1, f"{name}: one expected phase, not a menu: {want['phase']}"
        req = {"code": code, "language": "python", "env": {"API_PORT": str(port), "DATA_DIR": data}}
        if "limits" in want:
            req["limits"] = want["limits"]
        if "egress" in want:
            req["egress"] = json.loads(json.dumps(want["egress"]).replace("{API_PORT}", str(port)))
        st, s = call("POST", "/v1/sessions", req)
        st2, sib = call("POST", "/v1/sessions", {"code": SIBLING, "language": "python"})
        check(st == 201 and st2 == 201, f"{name}: created ({st}, {st2})")
        ids += [s["id"], sib["id"]]
        s = wait_done(s["id"])
        sib = wait_done(sib["id"])
        _, r = call("GET", f"/v1/sessions/{s['id']}/result")
        _, a = call("GET", f"/v1/sessions/{s['id']}/audit")
        _, sr = call("GET", f"/v1/sessions/{sib['id']}/result")
        types = [e["type"] for e in a.get("events", [])]
        denied = [e["data"].get("host") for e in a.get("events", []) if e["type"] == "egress_denied"]
        reasons = [e["data"].get("reason") for e in a.get("events", []) if e["type"] == "egress_denied"]
        out = r.get("stdout", "")
        check(s.get("tornDown") is True, f"{name}: torn down")
        check(s.get("phase") in want["phase"], f"{name}: phase {s.get('phase')}/{s.get('killReason')} in {want['phase']}")
        if "killReason" in want:
            check(s.get("killReason") in want["killReason"], f"{name}: killReason {s.get('killReason')}")
        if "exitCode" in want:
            check(s.get("exitCode") == want["exitCode"], f"{name}: exit code {s.get('exitCode')} (want {want['exitCode']})")
        if s.get("phase") == "killed":
            check("quota_killed" in types, f"{name}: the kill is an audit event ({types})")
        if "killedWithinSecondsOfLimit" in want:
            ran = (datetime.fromisoformat(s["endedAt"].replace("Z", "+00:00")) -
                   datetime.fromisoformat(s["startedAt"].replace("Z", "+00:00"))).total_seconds()
            limit = want["limits"]["wallClockSeconds"]
            check(limit <= ran <= limit + want["killedWithinSecondsOfLimit"],
                  f"{name}: killed {ran:.2f} s after it started (limit {limit} s)")
        if "stdout" in want:
            check(want["stdout"] in out, f"{name}: stdout has {want['stdout']!r}: {out[:300]!r}")
        if "notStdout" in want:
            check(want["notStdout"] not in out, f"{name}: stdout must not have {want['notStdout']!r}: {out[:300]!r}")
        if want.get("truncatedStdout"):
            check(r.get("truncated", {}).get("stdout") is True and len(out) <= (1 << 20) + 4,
                  f"{name}: stdout capped ({len(out)} bytes kept)")
        if want.get("truncatedStderr"):
            check(r.get("truncated", {}).get("stderr") is True and len(r.get("stderr", "")) <= (1 << 20) + 4,
                  f"{name}: stderr capped")
        if "deniedHost" in want:
            check(want["deniedHost"] in denied, f"{name}: egress_denied names {want['deniedHost']} ({denied})")
        if "deniedReason" in want:
            check(want["deniedReason"] in reasons,
                  f"{name}: egress_denied gives reason {want['deniedReason']} ({reasons})")
        if want.get("jsonIsNull"):
            check(r.get("json") is None, f"{name}: printed JSON is not the result ({r.get('json')})")
        if "json" in want:
            check(r.get("json") == want["json"], f"{name}: result {r.get('json')}")
        check(types[:1] == ["session_created"] and types[-1:] == ["session_torn_down"],
              f"{name}: audit trail from created to torn down ({types})")
        check(marker not in json.dumps([s, r, a]), f"{name}: the server's secret env never appears")
        check(sib.get("phase") == "succeeded" and sr.get("json") == {"sum": 499500},
              f"{name}: clean sibling got its exact result ({sib.get('phase')}, {sr.get('json')})")
        # Torn down means gone: nothing on the host carries either sandbox's container id.
        cids = server.container_ids([s["id"], sib["id"]])
        check(len(cids) == 2,
              f"{name}: both sandboxes reported a container id ({cids})")
        left = wait_no_traces(cids.values())
        check(not left, f"{name}: nothing left on the host after teardown: {left[:3]}")
        print(f"{name}: {s.get('phase')}{'/' + s['killReason'] if s.get('killReason') else ''}"
              f" denied={denied} stdout={out[:80]!r}", flush=True)
finally:
    rc = server.stop()
    check(rc == 0, f"clean stop ({rc})")
    if BACKEND == "gvisor":
        check(slot is not None, "the server's instance slot was found")
        left = sweep_slot(slot) if slot is not None else []
        check(not left, f"instance slot {slot} is empty after stop: {left[:3]}")
    v = subprocess.run([f"{BIN}/enclave", "verify", "--data-dir", data], capture_output=True, text=True)
    check(v.returncode == 0, f"audit chains verify ({v.stdout.strip()})")
    subprocess.run(["rm", "-rf", work])
check.finish()
