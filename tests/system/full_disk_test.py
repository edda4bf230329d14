#!/usr/bin/env python3
"""Issue 17's full-disk run: enclaved on a 48 MiB tmpfs data dir, one interactive session
printing ~1 MiB a turn until the log can take no more.

  A. log failure: the failing turn is 503 log_unavailable (never a 500, never an abort); the
     session's sandbox is killed and its slot freed (a second session, at max concurrency 1, is
     admitted and succeeds once the log takes writes again); /v1/healthz says degraded
     (503, reason log_unwritable) and new sessions get 503 log_unavailable with Retry-After;
     when space returns (a ballast file is removed) health is ok again by itself, the session
     ends killed/sandbox_error with every acknowledged turn still in its audit trail, enclaved
     stops cleanly and `enclave verify` passes.
  B. --min-free-disk-mb above what is free: new sessions and turns get 507 insufficient_storage.
  C. per-org quota (--org-storage-mb-for orga=1): orga's new work gets 429 quota_exceeded naming
     its figure; orgb, beside it, is unaffected and gets its exact result.

usage: full_disk_test.py BIN_DIR [BACKEND=simulator]
Needs root to mount a tmpfs: exits 77 (skipped) if mounting is impossible. Waits are bounded.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks, Server, sandbox_processes, wait

BIN = sys.argv[1]
BACKEND = sys.argv[2] if len(sys.argv) > 2 else "simulator"
check = Checks()
MiB = 1 << 20

# ~480 KiB of stdout a turn on the simulator (a directive line; code is capped at 512 KiB) and
# 1 MiB on a real backend; either way each turn stores about as much again for its code.
TURN_CODE = '#@sim stdout="' + "x" * (480 * 1024) + '"\nprint("x" * (1 << 20))\n'


def call(base, method, path, body=None, key=None):
    """(status, parsed JSON, headers); status 0 when no answer came."""
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(base + path, method=method, headers=headers,
                                 data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read() or b"{}"), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}"), dict(e.headers)
    except Exception as e:
        return 0, {"error": str(e)}, {}


def err_code(body):
    return (body.get("error") or {}).get("code") if isinstance(body, dict) else None


def session_state(base, sid, key=None):
    return call(base, "GET", f"/v1/sessions/{sid}", key=key)[1]


def audit_types(base, sid, key=None):
    return [e.get("type") for e in call(base, "GET", f"/v1/sessions/{sid}/audit", key=key)[1].get("events", [])]


def verify(data):
    v = subprocess.run([f"{BIN}/enclave", "verify", "--data-dir", data], capture_output=True,
                       text=True, timeout=300)
    return v.returncode, (v.stdout + v.stderr).strip()[-300:]


def phase_a(mnt, data, log):
    ballast = os.path.join(mnt, "ballast")
    with open(ballast, "wb") as f:  # 16 MiB given back later, as an operator freeing space would
        f.write(b"b" * (16 * MiB))
    s = Server(BIN, data, BACKEND, log=log,
               args=("--min-free-disk-mb", "0", "--max-concurrency", "1"))
    base = s.base
    try:
        st, sess, _ = call(base, "POST", "/v1/sessions", {"language": "python", "execMode": "interactive"})
        check(st == 201, f"A: interactive session created ({st} {sess})")
        sid = sess.get("id", "")
        check(wait(lambda: session_state(base, sid).get("phase") == "running", 120),
              "A: interactive session running")
        ok_turns, failed = 0, None
        for _ in range(120):
            st, t, hdr = call(base, "POST", f"/v1/sessions/{sid}/exec", {"code": TURN_CODE})
            if st == 200:
                ok_turns += 1
                continue
            failed = (st, t, hdr)
            break
        print(f"A: {ok_turns} turns acknowledged before the log refused one: {failed and failed[:2]}",
              flush=True)
        check(failed is not None, "A: the disk filled up within 120 turns")
        if failed is None:
            return
        st, t, hdr = failed
        check(st == 503 and err_code(t) == "log_unavailable",
              f"A: the failing turn is 503 log_unavailable, not a 500 ({st} {t})")
        check(hdr.get("Retry-After", "").isdigit(), f"A: the failing turn has Retry-After ({hdr})")
        check(s.p.poll() is None, "A: enclaved is still running after the log refused a write")
        st, h, hdr = call(base, "GET", "/v1/healthz")
        check(st == 503 and h.get("status") == "degraded" and h.get("reason") == "log_unwritable",
              f"A: healthz degraded while the log is unwritable ({st} {h})")
        st, b, hdr = call(base, "POST", "/v1/sessions", {"code": "print(1)", "language": "python"})
        check(st == 503 and err_code(b) == "log_unavailable" and hdr.get("Retry-After", "").isdigit(),
              f"A: a new session is 503 log_unavailable with Retry-After ({st} {b} {hdr.get('Retry-After')})")
        st, b, _ = call(base, "POST", f"/v1/sessions/{sid}/exec", {"code": "print(2)"})
        check(st == 503, f"A: a further turn of the failed session is 503 ({st} {b})")
        if BACKEND == "gvisor":
            check(wait(lambda: not sandbox_processes([sid]), 60),
                  "A: the failed session's sandbox is gone from the host")

        os.remove(ballast)  # space returns: nothing but time makes the server ok again
        freed = time.time()
        check(wait(lambda: call(base, "GET", "/v1/healthz")[0] == 200, 30),
              "A: healthz is ok again by itself once there is room")
        print(f"A: healthz ok {time.time() - freed:.2f} s after space returned", flush=True)
        st, h, _ = call(base, "GET", "/v1/healthz")
        check(h.get("status") == "ok", f"A: healthz status ok ({h})")
        check(wait(lambda: session_state(base, sid).get("tornDown") is True, 60),
              "A: the failed session is torn down once its end can be recorded")
        fin = session_state(base, sid)
        check(fin.get("phase") == "killed" and fin.get("killReason") == "sandbox_error",
              f"A: it ended killed/sandbox_error ({fin.get('phase')} {fin.get('killReason')})")
        check(fin.get("turns") == ok_turns,
              f"A: every acknowledged turn is in the log ({fin.get('turns')} of {ok_turns})")
        types = audit_types(base, sid)
        check(types.count("exec_turn") == ok_turns and types[-1] == "session_torn_down",
              f"A: the audit trail holds the acknowledged turns and the teardown ({types[-4:]})")

        # The slot is free: at max concurrency 1 a new session is admitted and gets its result.
        st, b, _ = call(base, "POST", "/v1/sessions",
                        {"code": "print('after')\n", "language": "python"})
        check(st == 201, f"A: a new session after the episode ({st} {b})")
        sid2 = b.get("id", "")
        check(wait(lambda: session_state(base, sid2).get("phase") in ("succeeded", "failed", "killed"), 120),
              "A: the new session ran (the failed session's slot was released)")
        res = call(base, "GET", f"/v1/sessions/{sid2}/result")[1]
        check(session_state(base, sid2).get("phase") == "succeeded" and res.get("stdout", "").strip() == "after",
              f"A: the new session's exact result ({res.get('stdout')!r})")
    finally:
        rc = s.stop()
    check(rc == 0, f"A: enclaved stopped cleanly (exit {rc})")
    rc, out = verify(data)
    check(rc == 0, f"A: enclave verify passes after the episode ({out})")


def phase_b(data, log):
    s = Server(BIN, data, BACKEND, log=log, args=("--min-free-disk-mb", "0"))
    st, sess, _ = call(s.base, "POST", "/v1/sessions", {"language": "python", "execMode": "interactive"})
    sid = sess.get("id", "")
    check(wait(lambda: session_state(s.base, sid).get("phase") == "running", 120), "B: session running")
    s.stop()
    # The floor far above what the 48 MiB disk has free: refused before anything is written.
    s = Server(BIN, data, BACKEND, log=log, args=("--min-free-disk-mb", "4096"))
    try:
        st, b, _ = call(s.base, "POST", "/v1/sessions", {"code": "print(1)", "language": "python"})
        check(st == 507 and err_code(b) == "insufficient_storage" and "4096 MiB" in b["error"].get("message", ""),
              f"B: a new session below the free-disk floor is 507 insufficient_storage ({st} {b})")
        st, b, _ = call(s.base, "POST", "/v1/fleets", {"members": [{"code": "print(1)"}]})
        check(st == 507, f"B: a new fleet is 507 ({st} {b})")
        if session_state(s.base, sid).get("phase") == "running":
            st, b, _ = call(s.base, "POST", f"/v1/sessions/{sid}/exec", {"code": "print(1)"})
            check(st == 507 and err_code(b) == "insufficient_storage", f"B: a turn is 507 ({st} {b})")
        st, h, _ = call(s.base, "GET", "/v1/healthz")
        check(st == 200 and h.get("status") == "ok", f"B: a low disk is not a degraded log ({st} {h})")
        st, b, _ = call(s.base, "DELETE", f"/v1/sessions/{sid}")
        check(st == 200, f"B: tearing down still works below the floor ({st})")
    finally:
        check(s.stop() == 0, "B: enclaved stopped cleanly")


def phase_c(data, log):
    keys = {}
    for org in ("orga", "orgb"):
        out = subprocess.run([f"{BIN}/enclaved", "keys", "create", "--data-dir", data, "--org", org,
                              "--role", "owner"], capture_output=True, text=True, timeout=60)
        keys[org] = out.stdout.split()[-1] if out.returncode == 0 and out.stdout.split() else ""
    check(all(keys.values()), "C: keys created")
    s = Server(BIN, data, BACKEND, log=log, auth="keys",
               args=("--min-free-disk-mb", "0", "--org-storage-mb", "0", "--org-storage-mb-for", "orga=1"))
    try:
        refused = None
        for i in range(6):
            st, b, _ = call(s.base, "POST", "/v1/sessions",
                            {"code": TURN_CODE, "language": "python"}, key=keys["orga"])
            if st != 201:
                refused = (i, st, b)
                break
            wait(lambda: session_state(s.base, b["id"], keys["orga"]).get("tornDown") is True, 60)
        check(refused is not None and refused[1] == 429 and err_code(refused[2]) == "quota_exceeded",
              f"C: orga over its 1 MiB quota gets 429 quota_exceeded ({refused})")
        if refused:
            msg = refused[2].get("error", {}).get("message", "")
            check("org orga stores" in msg and "1.0 MiB" in msg, f"C: the refusal names the figures ({msg})")
        st, b, _ = call(s.base, "POST", "/v1/sessions",
                        {"code": "print('b')\n", "language": "python"}, key=keys["orgb"])
        check(st == 201, f"C: orgb beside it is unaffected ({st} {b})")
        sid = b.get("id", "")
        check(wait(lambda: session_state(s.base, sid, keys["orgb"]).get("phase") == "succeeded", 120),
              "C: orgb's session succeeded")
        res = call(s.base, "GET", f"/v1/sessions/{sid}/result", key=keys["orgb"])[1]
        check(res.get("stdout", "").strip() == "b", f"C: orgb's exact result ({res.get('stdout')!r})")
    finally:
        check(s.stop() == 0, "C: enclaved stopped cleanly")
    rc, out = verify(data)
    check(rc == 0, f"C: enclave verify passes ({out})")


def main():
    work = tempfile.mkdtemp(prefix="enclave-fulldisk-")
    mnt = os.path.join(work, "disk")
    os.makedirs(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", mnt],
                      capture_output=True).returncode != 0:
        print("skipped: cannot mount a tmpfs (needs root)")
        sys.exit(77)
    log = open(os.path.join(work, "server.log"), "ab")
    try:
        data = os.path.join(mnt, "data")
        phase_a(mnt, data, log)
        phase_b(data, log)
        phase_c(data, log)
    finally:
        subprocess.run(["umount", "-l", mnt])
        print(f"server log: {log.name}")
    check.finish()


main()
