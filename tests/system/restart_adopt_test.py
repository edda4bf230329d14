#!/usr/bin/env python3
"""kill -9 of enclaved on gVisor, restart on the same data dir: running interactive sessions are
adopted (issue 19) — same id, same namespace, the next turn works — and what cannot be adopted
ends with a clear reason.

usage: restart_adopt_test.py BIN_DIR
Sessions, all interactive, alive when enclaved is killed:
  a    warm-pool kernel, x = 41                  → adopted, `x + 1` prints 42
  b    cold kernel (its own limits), a file in its working dir, y = "b"
                                                 → adopted, y and the file kept, independent of a
  gone its sandbox is deleted while no enclaved runs → killed sandbox_error, a turn is a 409
After adoption an egress attempt (refused by gVisor, no network) leaves the kernel alive, and at
the end nothing of any of them is left on the host. Every wait is bounded; only 127.0.0.1.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks, Server, free_port, sweep_slot, wait, wait_no_traces

BIN = sys.argv[1]
check = Checks()
RUNSC = "/usr/bin/runsc"


def out(r):
    return (r.get("stdout") or "").strip() if isinstance(r, dict) else ""


def running(s, sid):
    return s.call("GET", f"/v1/sessions/{sid}")[1].get("phase") == "running"


def exec_(s, sid, code):
    st, r = s.call("POST", f"/v1/sessions/{sid}/exec", {"code": code})
    return st, r


def audit_types(s, sid):
    _, a = s.call("GET", f"/v1/sessions/{sid}/audit")
    return [(e.get("type"), e.get("data", {})) for e in a.get("events", [])]


work = tempfile.mkdtemp(prefix="enclave-adopt-")
data = os.path.join(work, "data")
log = open(os.path.join(work, "server.log"), "ab")
port = free_port()
s = Server(BIN, data, "gvisor", port=port, log=log)
slots = {s.slot()}

sids = {}
for name, body in (("a", {}), ("b", {"limits": {"memoryMb": 200}}), ("gone", {})):
    st, v = s.call("POST", "/v1/sessions", dict({"language": "python", "execMode": "interactive"}, **body))
    check(st == 201, f"{name}: created ({st})")
    sids[name] = v.get("id", "")
for name, sid in sids.items():
    check(wait(lambda: running(s, sid), 60), f"{name}: running")
st, _ = exec_(s, sids["a"], "x = 41")
check(st == 200, f"a: x = 41 ({st})")
st, _ = exec_(s, sids["b"], "y = 'b'\nopen('/home/user/note.txt', 'w').write('kept')")
check(st == 200, f"b: y and a file ({st})")
st, _ = exec_(s, sids["gone"], "z = 1")
check(st == 200, f"gone: z = 1 ({st})")
cids = s.container_ids(list(sids.values()))
check(len(cids) == 3, f"container ids reported ({len(cids)} of 3)")

s.kill9()
# While no enclaved runs, one sandbox goes away (as if the host's OOM killer took it).
gone_cid = cids.get(sids["gone"], "")
slot = next(iter(slots))
root = f"/run/enclave/runsc{'' if not slot else '-' + str(slot)}"
r = subprocess.run([RUNSC, f"--root={root}", "--network=none", "--platform=ptrace", "kill",
                    gone_cid, "KILL"], capture_output=True, text=True, timeout=30)
check(r.returncode == 0, f"gone: its sandbox killed behind the server's back ({r.stderr[:200]})")
check(wait(lambda: subprocess.run([RUNSC, f"--root={root}", "--network=none", "--platform=ptrace",
                                    "state", gone_cid], capture_output=True, text=True,
                                   timeout=30).stdout.find('"running"') < 0, 30),
      "gone: runsc no longer says it runs")
# The others' sandboxes outlived the server.
for name in ("a", "b"):
    state = subprocess.run([RUNSC, f"--root={root}", "--network=none", "--platform=ptrace",
                            "state", cids.get(sids[name], "")], capture_output=True, text=True,
                           timeout=30)
    check('"running"' in state.stdout, f"{name}: its sandbox outlived enclaved ({state.stdout[:120]!r})")

s = Server(BIN, data, "gvisor", port=port, log=log)
slots.add(s.slot())
check(s.slot() == slot, f"the restarted server took its slot back ({s.slot()} vs {slot})")
for name in ("a", "b"):
    sid = sids[name]
    check(wait(lambda: running(s, sid), 30), f"{name}: still running after the restart")
    types = audit_types(s, sid)
    re = [d for t, d in types if t == "sandbox_started" and d.get("reattached")]
    check(len(re) == 1 and re[0].get("containerId") == cids.get(sid),
          f"{name}: sandbox_started reattached with the same container ({re})")
st, r = exec_(s, sids["a"], "print(x + 1)")
check(st == 200 and out(r) == "42", f"a: x + 1 after kill -9 → {st} {out(r)!r} (expected 42)")
st, r = exec_(s, sids["b"], "print(y, open('/home/user/note.txt').read(), 'x' in globals())")
check(st == 200 and out(r) == "b kept False", f"b: own namespace and file kept → {st} {out(r)!r}")
# An egress attempt from an adopted sandbox (its trace connection is gone): refused, kernel lives.
st, r = exec_(s, sids["a"], "import socket\ns = socket.socket()\ns.settimeout(2)\n"
                            "try:\n    s.connect(('192.0.2.1', 80))\nexcept OSError as e:\n"
                            "    print('refused')\n")
check(st == 200 and out(r) == "refused", f"a: egress refused after adoption → {st} {out(r)!r}")
st, r = exec_(s, sids["a"], "x += 1\nprint(x)")
check(st == 200 and out(r) == "42", f"a: the kernel lives on → {st} {out(r)!r}")
# Files API on the adopted sandbox's working dir.
st, body = s.call("GET", f"/v1/sessions/{sids['b']}/files/stat?path=/home/user/note.txt")
check(st == 200 and body.get("size") == 4, f"b: files API reaches the adopted working dir ({st} {body})")

gone = sids["gone"]
check(wait(lambda: s.call("GET", f"/v1/sessions/{gone}")[1].get("tornDown"), 60), "gone: torn down")
_, v = s.call("GET", f"/v1/sessions/{gone}")
check(v.get("phase") == "killed" and v.get("killReason") == "sandbox_error",
      f"gone: ended with a clear reason ({v.get('phase')}/{v.get('killReason')})")
st, _ = exec_(s, gone, "z")
check(st == 409, f"gone: a turn is refused ({st})")

# A clean end: kill the adopted sessions, stop, nothing left on the host.
for name in ("a", "b"):
    st, _ = s.call("DELETE", f"/v1/sessions/{sids[name]}")
    check(st == 200, f"{name}: ended ({st})")
    sid = sids[name]
    check(wait(lambda: s.call("GET", f"/v1/sessions/{sid}")[1].get("tornDown"), 60), f"{name}: torn down")
check(s.stop() == 0, "clean stop")
v = subprocess.run([f"{BIN}/enclave", "verify", "--data-dir", data], capture_output=True, text=True)
check(v.returncode == 0, f"verify ({v.stdout.strip()[:200]})")
left = wait_no_traces(cids.values())
check(not left, f"nothing of the sessions' sandboxes left on the host: {left[:3]}")
for sl in sorted(x for x in slots if x is not None):
    left = sweep_slot(sl)
    check(not left, f"instance slot {sl} is empty after stop: {left[:3]}")
check.finish()
