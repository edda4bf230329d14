#!/usr/bin/env python3
"""Pause across kernels and working dirs on gVisor (issue 19, docs/PAUSE.md).

usage: pause_kernels_test.py BIN_DIR
- Python with files in its working dir (/home/user, a host tmpfs gVisor does not save): pause →
  exec resumes it with x AND the files as they were; a fork of 2 gets its own copy of the files
  (one changes its copy, the other and the source keep theirs).
- JavaScript and Bash kernels cannot be checkpointed yet (their runners do not close and reopen
  their channel): pause is refused (409 checkpoint_failed) and the session runs on, its state
  intact.
Every wait is bounded; only 127.0.0.1.
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks, Server, wait

BIN = sys.argv[1]
check = Checks()
work = tempfile.mkdtemp(prefix="enclave-pausek-")
s = Server(BIN, os.path.join(work, "data"), "gvisor", log=open(os.path.join(work, "server.log"), "ab"))


def out(r):
    return (r.get("stdout") or "").strip() if isinstance(r, dict) else ""


def new(lang):
    st, v = s.call("POST", "/v1/sessions", {"language": lang, "execMode": "interactive"})
    sid = v.get("id", "")
    check(st == 201 and wait(lambda: s.call("GET", f"/v1/sessions/{sid}")[1].get("phase") == "running", 60),
          f"{lang}: running ({st})")
    return sid


def run(sid, code):
    return s.call("POST", f"/v1/sessions/{sid}/exec", {"code": code})


sid = new("python")
st, _ = run(sid, "import os\nos.makedirs('/home/user/d', exist_ok=True)\n"
                 "open('/home/user/d/n.txt', 'w').write('kept')\nx = 41")
check(st == 200, f"python: a file and x ({st})")
st, p = s.call("POST", f"/v1/sessions/{sid}/pause")
check(st == 200 and p.get("phase") == "paused", f"python: paused ({st} {p.get('phase')})")
st, r = run(sid, "print(open('/home/user/d/n.txt').read(), x + 1)")
check(st == 200 and out(r) == "kept 42", f"python: resumed with its files and x → {st} {out(r)!r} {r.get('stderr', '')[-200:]}")
st, f = s.call("POST", f"/v1/sessions/{sid}/fork", {"count": 2})
kids = [k["id"] for k in f.get("sessions", [])] if st == 201 else []
check(len(kids) == 2, f"python: fork of 2 ({st})")
for k in kids:
    check(wait(lambda: s.call("GET", f"/v1/sessions/{k}")[1].get("phase") == "running", 60), "fork running")
if len(kids) == 2:
    st, r = run(kids[0], "open('/home/user/d/n.txt', 'w').write('changed')\nprint(open('/home/user/d/n.txt').read())")
    check(st == 200 and out(r) == "changed", f"fork 0 changes its copy → {out(r)!r}")
    st, r = run(kids[1], "print(open('/home/user/d/n.txt').read(), x)")
    check(st == 200 and out(r) == "kept 41", f"fork 1 keeps its own → {out(r)!r} {r.get('stderr', '')[-200:]}")
st, r = run(sid, "print(open('/home/user/d/n.txt').read())")
check(st == 200 and out(r) == "kept", f"the source keeps its file → {out(r)!r}")

for lang, setv, getv in (("javascript", "x = 41", "console.log(x + 1)"), ("bash", "X=41", "echo $((X + 1))")):
    k = new(lang)
    st, _ = run(k, setv)
    check(st == 200, f"{lang}: state set ({st})")
    st, e = s.call("POST", f"/v1/sessions/{k}/pause")
    check(st == 409 and e.get("error", {}).get("code") == "checkpoint_failed",
          f"{lang}: pause refused, not supported by its kernel ({st} {e})")
    st, r = run(k, getv)
    check(st == 200 and out(r) == "42", f"{lang}: runs on with its state → {st} {out(r)!r}")
    s.call("DELETE", f"/v1/sessions/{k}")

for x in [sid] + kids:
    s.call("DELETE", f"/v1/sessions/{x}")
check(s.stop() == 0, "clean stop")
check.finish()
