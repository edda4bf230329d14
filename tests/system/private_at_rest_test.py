#!/usr/bin/env python3
"""Private at rest, end to end on gVisor: another local user — uid 65534, the uid sandboxes run as
— reads nothing of a session's env or code from the data dir (log, WAL), the sandbox bundle
(config.json), its io files (code.py) or runsc's state dir (which lists session ids), while the
sessions run and after. Beside it, clean sessions started cold and from the warm pool keep their
exact results (the sandbox user still reads its own io files inside gVisor).

usage: private_at_rest_test.py BIN_DIR
"""
import json
import os
import secrets
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks, Server, wait

BIN = sys.argv[1]
if os.geteuid() != 0:
    print("SKIP: needs root (gVisor, and a switch to uid 65534 for the reader)")
    sys.exit(77)

check = Checks()
work = tempfile.mkdtemp(prefix="enclave-private-")
os.chmod(work, 0o755)  # the parent is open: only the data dir's own modes may protect it
data = os.path.join(work, "data")
marker = "private-marker-" + secrets.token_hex(8)

# What uid 65534 can reach: every readable file under these roots is read and searched for the
# marker; every listable dir's names are searched for the session ids.
READER = r"""
import json, os, sys
roots, needles = json.loads(sys.argv[1]), json.loads(sys.argv[2])
found = []
for root in roots:
    for d, dirs, files in os.walk(root, onerror=lambda e: None):
        for n in dirs + files:
            if any(x in n for x in needles):
                found.append("listed " + os.path.join(d, n))
        for n in files:
            p = os.path.join(d, n)
            try:
                with open(p, "rb") as f:
                    blob = f.read(8 << 20)
            except OSError:
                continue
            if any(x.encode() in blob for x in needles):
                found.append("read " + p)
print(json.dumps(found))
"""


def as_nobody(roots, needles):
    def drop():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    r = subprocess.run(["/usr/bin/python3", "-c", READER, json.dumps(roots), json.dumps(needles)],
                       capture_output=True, text=True, preexec_fn=drop, timeout=120, cwd="/")
    return json.loads(r.stdout or "[]")


server = Server(BIN, data, "gvisor", log=open(os.path.join(work, "server.log"), "wb"))
call = server.call
ids = []
try:
    # A cold batch session (stdin keeps it off the warm pool) whose env and code carry the marker
    # and that stays up while the reader looks (it ends when torn down).
    hold = (f"# {marker}-code\nimport os, sys\nsys.stdin.read()\n"
            "print('env ok' if os.environ['SECRET'].endswith('-env') else 'env lost', flush=True)\n"
            "import time\nwhile True: time.sleep(1)\n")
    st, a = call("POST", "/v1/sessions", {"code": hold, "stdin": "go", "env": {"SECRET": marker + "-env"},
                                          "limits": {"wallClockSeconds": 120}})
    check(st == 201, f"cold session created ({st})")
    ids.append(a["id"])
    # An interactive session (warm pool): env in the spec, code per turn.
    st, b = call("POST", "/v1/sessions", {"execMode": "interactive", "env": {"SECRET": marker + "-warm"}})
    check(st == 201, f"interactive session created ({st})")
    ids.append(b["id"])
    check(wait(lambda: call("GET", f"/v1/sessions/{a['id']}")[1].get("phase") == "running", 90),
          "cold session running")
    check(wait(lambda: call("GET", f"/v1/sessions/{b['id']}")[1].get("phase") == "running", 90),
          "warm session running")
    st, t = call("POST", f"/v1/sessions/{b['id']}/exec",
                 {"code": f"import os\n# {marker}-turn\nprint(os.environ['SECRET'][-5:])"})
    check(st == 200 and t.get("stdout") == "-warm\n", f"warm session reads its env: {st} {t}")

    # The reader itself works: a world-readable file with the marker is found.
    control = os.path.join(work, "control")
    os.makedirs(control)
    os.chmod(control, 0o755)
    with open(os.path.join(control, "open.txt"), "w") as f:
        f.write(marker)
    os.chmod(os.path.join(control, "open.txt"), 0o644)
    check(as_nobody([control], [marker]) == ["read " + os.path.join(control, "open.txt")],
          "control: uid 65534 does read a world-readable file")
    roots = [data, "/run/enclave"]
    found = as_nobody(roots, [marker] + ids)
    check(not found, f"uid 65534 reads or lists nothing of the live sessions: {found[:5]}")
    # The modes themselves: data dir 0700 and nothing in it open to group or others.
    loose = []
    for d, dirs, files in os.walk(data):
        for n in dirs + files:
            m = os.lstat(os.path.join(d, n)).st_mode
            if not stat.S_ISLNK(m) and m & 0o077:
                loose.append(f"{os.path.relpath(os.path.join(d, n), data)} {oct(m & 0o777)}")
    check(stat.S_IMODE(os.stat(data).st_mode) == 0o700 and not loose,
          f"data dir 0700, entries owner-only: {oct(stat.S_IMODE(os.stat(data).st_mode))} {loose[:5]}")
    runsc_roots = [os.path.join("/run/enclave", n) for n in os.listdir("/run/enclave")
                   if n.startswith("runsc") or n.startswith("work")]
    open_roots = [r for r in runsc_roots if os.path.isdir(r) and stat.S_IMODE(os.stat(r).st_mode) & 0o077]
    # Other instances on this host (older builds) may still have open dirs; ours must not.
    mine = [r for r in open_roots if any(os.path.exists(os.path.join(r, i)) for i in ids) or
            any(os.path.exists(os.path.join(r, "sessions", i)) for i in ids)]
    check(not mine, f"runsc state and work dirs holding our sessions are 0700: {mine}")

    call("DELETE", f"/v1/sessions/{a['id']}")
    call("DELETE", f"/v1/sessions/{b['id']}")
    # A clean cold sibling: code and env through the private files, exact result.
    st, c = call("POST", "/v1/sessions", {"code": "import os, sys\nprint(os.environ['SECRET'], sys.stdin.read())\n"
                                                  "enclave.result({'ok': 1})",
                                          "stdin": "in", "env": {"SECRET": marker + "-sib"}})
    ids.append(c["id"])
    check(wait(lambda: call("GET", f"/v1/sessions/{c['id']}")[1].get("tornDown"), 90), "sibling ended")
    _, r = call("GET", f"/v1/sessions/{c['id']}/result")
    check(r.get("stdout") == f"{marker}-sib in\n" and r.get("json") == {"ok": 1},
          f"clean sibling's exact result: {r.get('stdout')!r} {r.get('json')}")
    check(wait(lambda: all(call("GET", f"/v1/sessions/{i}")[1].get("tornDown") for i in ids), 90),
          "every session torn down")
    found = as_nobody(roots, [marker] + ids)
    check(not found, f"uid 65534 reads or lists nothing after the sessions: {found[:5]}")
finally:
    rc = server.stop()
    check(rc == 0, f"clean stop ({rc})")
    subprocess.run(["rm", "-rf", work])
check.finish()
