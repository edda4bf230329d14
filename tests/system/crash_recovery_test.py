#!/usr/bin/env python3
"""Crash recovery on a real backend: kill -9 enclaved mid-fleet, restart it on the same data
dir, and check from the API, the offline replay and the host that nothing was lost, nothing ran
twice, every chain verifies, and no sandbox of the fleet is left on the host. An interactive
session alive at the kill is adopted on gVisor (its namespace kept) and ends sandbox_error on the
simulator (which keeps no sandbox across processes).

usage: crash_recovery_test.py BIN_DIR [BACKEND=gvisor]
Each kill point is a fresh data dir: members still queued, members running, members ending.
Loops are bounded in count and time; traffic only on 127.0.0.1.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks, Server, free_port, sweep_slot, wait, wait_no_traces

BIN = sys.argv[1]
BACKEND = sys.argv[2] if len(sys.argv) > 2 else "gvisor"
MEMBERS = 20
check = Checks()


def start(data, port, log):
    return Server(BIN, data, BACKEND, port=port, log=log, env={"ENCLAVE_MAX_CONCURRENCY": "3"})


def member(i):
    return {"code": f"import time\ntime.sleep(1)\nenclave.result({{'i': {i}}})\n"
                    f"#@sim sleep_ms=1000\n#@sim result={{\"i\": {i}}}\n",
            "language": "python", "limits": {"wallClockSeconds": 20}}


def counts(server, fid):
    st, f = server.call("GET", f"/v1/fleets/{fid}")
    return f.get("counts", {}), f


def run_case(name, kill_when):
    work = tempfile.mkdtemp(prefix="enclave-crash-")
    data = os.path.join(work, "data")
    log = open(os.path.join(work, "server.log"), "ab")
    port = free_port()
    s = start(data, port, log)
    slots = {s.slot()}
    # An interactive session mid-conversation (holding a sandbox) when the server dies.
    st, inter = s.call("POST", "/v1/sessions", {"language": "python", "execMode": "interactive"})
    iid = inter.get("id", "")
    check(wait(lambda: s.call("GET", f"/v1/sessions/{iid}")[1].get("phase") == "running", 60),
          f"{name}: interactive session running")
    st, t = s.call("POST", f"/v1/sessions/{iid}/exec", {"code": "x = 41"})
    check(st == 200, f"{name}: interactive turn before the crash ({st})")
    st, f = s.call("POST", "/v1/fleets", {"name": f"crash-{name}", "members": [member(i) for i in range(MEMBERS)]})
    check(st == 201, f"{name}: fleet created ({st})")
    fid = f["id"]
    ids = [m["sessionId"] for m in f["members"]]
    check(wait(lambda: kill_when(counts(s, fid)[0]), 90), f"{name}: reached the kill point")
    _, before = counts(s, fid)
    succeeded_before = {m["sessionId"] for m in before["members"] if m["phase"] == "succeeded"}
    s.kill9()

    s = start(data, port, log)
    slots.add(s.slot())  # another enclaved may have taken the first slot meanwhile
    done = wait(lambda: counts(s, fid)[1].get("phase") in ("completed", "partial", "failed"), 120)
    check(done, f"{name}: fleet terminal after restart")
    torn = wait(lambda: all(s.call("GET", f"/v1/sessions/{i}")[1].get("tornDown") for i in ids), 60)
    check(torn, f"{name}: every member torn down")
    if BACKEND == "gvisor":
        # Its sandbox outlived the server and was adopted (issue 19): same namespace.
        st, t = s.call("POST", f"/v1/sessions/{iid}/exec", {"code": "print(x + 1)"})
        check(st == 200 and (t.get("stdout") or "").strip() == "42",
              f"{name}: the interactive session was adopted, x + 1 → {st} {t.get('stdout')!r}")
        s.call("DELETE", f"/v1/sessions/{iid}")
        ok = wait(lambda: s.call("GET", f"/v1/sessions/{iid}")[1].get("tornDown"), 60)
        check(ok, f"{name}: the adopted session torn down")
    else:
        ok = wait(lambda: s.call("GET", f"/v1/sessions/{iid}")[1].get("tornDown"), 60)
        _, iv = s.call("GET", f"/v1/sessions/{iid}")
        check(ok and iv.get("phase") == "killed" and iv.get("killReason") == "sandbox_error",
              f"{name}: the interactive session ended with a clear reason ({iv.get('phase')}/{iv.get('killReason')})")
        st, _ = s.call("POST", f"/v1/sessions/{iid}/exec", {"code": "x"})
        check(st == 409, f"{name}: a turn after the crash is refused ({st})")
    ids.append(iid)
    _, after = counts(s, fid)
    for m in after["members"]:
        if m["sessionId"] in succeeded_before:
            check(m["phase"] == "succeeded", f"{name}: {m['sessionId']} succeeded before the crash, now {m['phase']}")
        check(m["phase"] in ("succeeded", "failed", "killed"), f"{name}: member {m['index']} terminal")
        if m["phase"] == "killed":
            _, v = s.call("GET", f"/v1/sessions/{m['sessionId']}")
            check(v.get("killReason") == "sandbox_error", f"{name}: a lost member says why ({v.get('killReason')})")
    # The backend's names for the sandboxes (a warm-pool kernel's is not the session id).
    cids = s.container_ids(ids)
    started = [i for i in ids if i in cids]
    check(iid in cids and len(started) >= 2, f"{name}: container ids reported ({len(started)} of {len(ids)})")
    check(s.stop() == 0, f"{name}: clean stop")

    # From the log alone: every member ended once, none ran twice, no gap, chains intact.
    out = subprocess.run([f"{BIN}/enclave", "replay", "--data-dir", data, "--json"],
                         capture_output=True, text=True)
    streams = {r["stream"]: r for r in json.loads(out.stdout)} if out.returncode == 0 else {}
    check(out.returncode == 0, f"{name}: offline replay ({out.stderr[:200]})")
    for i in ids:
        r = streams.get(i)
        if not r:
            check(False, f"{name}: {i} missing from the log")
            continue
        types = [e["type"] for e in r["events"]]
        seqs = [e["seq"] for e in r["events"]]
        check(seqs == list(range(1, len(seqs) + 1)), f"{name}: {i} seqs without gap or duplicate")
        check(types.count("session_admitted") <= 1, f"{name}: {i} admitted at most once (never run twice)")
        check(types.count("workload_exited") <= 1, f"{name}: {i} exited at most once")
        check(types.count("session_torn_down") == 1, f"{name}: {i} torn down exactly once")
        check(r["state"]["phase"] in ("succeeded", "failed", "killed"), f"{name}: {i} terminal in the log")
    v = subprocess.run([f"{BIN}/enclave", "verify", "--data-dir", data], capture_output=True, text=True)
    check(v.returncode == 0, f"{name}: verify ({v.stdout.strip()})")
    left = wait_no_traces(cids.values())
    check(not left, f"{name}: nothing of the fleet's sandboxes left on the host (processes, cgroups, "
                    f"runsc state, work dirs): {left[:3]}")
    if BACKEND == "gvisor":
        for slot in sorted(x for x in slots if x is not None):
            left = sweep_slot(slot)
            check(not left, f"{name}: instance slot {slot} is empty after stop: {left[:3]}")
        check(None not in slots, f"{name}: the server's instance slot was found")
    print(f"{name}: fleet {after.get('phase')} {after.get('counts')}", flush=True)


run_case("queued", lambda c: c.get("queued", 0) >= MEMBERS - 3 and c.get("starting", 0) + c.get("running", 0) >= 1)
run_case("running", lambda c: c.get("succeeded", 0) >= 2 and c.get("running", 0) >= 1)
run_case("ending", lambda c: c.get("succeeded", 0) >= MEMBERS - 3)
check.finish()
