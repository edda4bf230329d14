#!/usr/bin/env python3
"""Synchronous runs (issue 24) against a real enclaved on the simulator, with API keys:
- `POST /v1/sessions?wait=S` answers once the session has ended, with the Session and its
  output in `result`; `GET /v1/sessions/{id}/result?wait=S` likewise;
- a session still running after S seconds is answered as it stands (not final), in about S s;
- a bad `wait` (too large, negative, fractional, not a number, empty) is 400 naming `wait`;
- another org's session is 404 at once, and its output never appears in the answer;
- a client that hangs up mid-wait drops its wait (the `enclave_session_waiters` gauge falls
  back to 0 long before the wait's time is up), and the server goes on serving;
- hostile: org B waiting on org A's session whose code would print ESCAPED learns nothing, and
  org A's clean sibling keeps its exact result.
usage: wait_test.py BIN_DIR"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks, Server, wait  # noqa: E402

BIN = sys.argv[1]
check = Checks()
work = tempfile.mkdtemp(prefix="enclave-wait-")
ESCAPE_CODE = 'print("ESCAPED")\nenclave.result({"escaped": True})'
CLEAN_CODE = 'print("clean")\nenclave.result({"v": 7})'


def offline_key(data, org):
    out = subprocess.run([f"{BIN}/enclaved", "keys", "create", "--data-dir", data, "--org", org,
                          "--role", "owner"], capture_output=True, text=True, timeout=60)
    return out.stdout.split()[-1] if out.returncode == 0 and out.stdout.split() else ""


def call(base, method, path, body=None, key=None, timeout=60):
    h = {"Authorization": "Bearer " + key} if key else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, method=method, data=data, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, parse(raw), raw.decode()
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, parse(raw), raw.decode()


def parse(raw):
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        return {}  # not JSON (/metrics)


def waiters(base, key):
    _, _, text = call(base, "GET", "/metrics", key=key)
    for line in text.splitlines():
        if line.startswith("enclave_session_waiters "):
            return int(float(line.split()[1]))
    return -1


def checks(base, ka, kb):
    # Ended: one call, the session and its output.
    st, s, _ = call(base, "POST", "/v1/sessions?wait=30", {"code": CLEAN_CODE}, key=ka)
    r = s.get("result", {})
    check(st == 201 and s.get("phase") == "succeeded" and r.get("stdout") == "clean\n"
          and r.get("json") == {"v": 7} and r.get("final") is True and s.get("exitCode") == 0,
          f"POST ?wait=30 answers the ended session with its result: {st} {s}")
    clean_id = s.get("id", "")

    # GET …/result?wait=S on a session still running answers when it ends.
    st, s, _ = call(base, "POST", "/v1/sessions", {"code": '#@sim sleep_ms=300\nprint("late")'},
                    key=ka)
    t0 = time.time()
    st2, w, _ = call(base, "GET", f"/v1/sessions/{s.get('id')}/result?wait=30", key=ka)
    check(st == 201 and st2 == 200 and w.get("phase") == "succeeded"
          and w.get("result", {}).get("stdout") == "late\n" and time.time() - t0 < 10,
          f"GET …/result?wait=30 answers when the session ends: {st2} {w}")

    # Timeout: answered as it stands after about S seconds.
    st, s, _ = call(base, "POST", "/v1/sessions", {"code": "#@sim hang"}, key=ka)
    hang = s.get("id", "")
    check(wait(lambda: call(base, "GET", f"/v1/sessions/{hang}", key=ka)[1].get("phase")
               == "running", 30), "the hanging session runs")
    t0 = time.time()
    st, w, _ = call(base, "GET", f"/v1/sessions/{hang}/result?wait=1", key=ka)
    dt = time.time() - t0
    check(st == 200 and w.get("phase") == "running" and w.get("result", {}).get("final") is False
          and 0.9 <= dt < 5, f"wait=1 on a running session: {st} after {dt:.2f} s: {w}")
    t0 = time.time()
    st, w, _ = call(base, "POST", "/v1/sessions?wait=1", {"code": "#@sim hang"}, key=ka)
    dt = time.time() - t0
    check(st == 201 and w.get("phase") in ("starting", "running") and 0.9 <= dt < 5,
          f"POST ?wait=1 of a hanging session: {st} {w.get('phase')} after {dt:.2f} s")
    call(base, "DELETE", f"/v1/sessions/{w.get('id')}", key=ka)

    # Bad wait values: 400 naming `wait`, nothing created.
    _, before, _ = call(base, "GET", "/v1/sessions?limit=1000", key=ka)
    for bad in ("301", "-1", "1.5", "abc", "", "1e2", "99999999999"):
        st, e, _ = call(base, "POST", f"/v1/sessions?wait={bad}", {"code": ESCAPE_CODE}, key=ka)
        st2, e2, _ = call(base, "GET", f"/v1/sessions/{hang}/result?wait={bad}", key=ka)
        check(st == 400 and e.get("error", {}).get("field") == "wait" and st2 == 400
              and e2.get("error", {}).get("field") == "wait", f"wait={bad!r} → 400 naming wait: "
              f"{st} {e} {st2}")
    _, after, _ = call(base, "GET", "/v1/sessions?limit=1000", key=ka)
    check(len(after.get("sessions", [])) == len(before.get("sessions", [])),
          "a refused wait created no session")

    # Cross-org: 404 at once, nothing of A's session shown.
    st, s, _ = call(base, "POST", "/v1/sessions", {"code": ESCAPE_CODE}, key=ka)
    esc = s.get("id", "")
    for sid in (esc, clean_id, hang):
        t0 = time.time()
        st, e, raw = call(base, "GET", f"/v1/sessions/{sid}/result?wait=30", key=kb)
        check(st == 404 and time.time() - t0 < 5 and "ESCAPED" not in raw and "clean" not in raw,
              f"org B waiting on org A's session → 404 at once: {st} {raw[:200]}")
    st, s, _ = call(base, "GET", f"/v1/sessions/{clean_id}/result?wait=5", key=ka)
    check(s.get("result", {}).get("stdout") == "clean\n" and s.get("result", {}).get("json")
          == {"v": 7}, f"the clean sibling keeps its exact result: {s.get('result')}")

    # Disconnect mid-wait: the wait is dropped, the server goes on.
    port = int(base.rsplit(":", 1)[1])
    socks = []
    for _ in range(3):
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        c.sendall((f"GET /v1/sessions/{hang}/result?wait=120 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   f"Authorization: Bearer {ka}\r\n\r\n").encode())
        socks.append(c)
    check(wait(lambda: waiters(base, ka) == 3, 10), f"3 waits registered ({waiters(base, ka)})")
    for c in socks:
        c.close()
    check(wait(lambda: waiters(base, ka) == 0, 10),
          f"hung-up waits are dropped at once ({waiters(base, ka)} left)")
    st, s, _ = call(base, "POST", "/v1/sessions?wait=30", {"code": CLEAN_CODE}, key=ka)
    check(st == 201 and s.get("result", {}).get("stdout") == "clean\n",
          f"the server still answers after the hang-ups: {st}")
    # A keep-alive connection serves a second request after a wait answered on it.
    c = socket.create_connection(("127.0.0.1", port), timeout=30)
    f = c.makefile("rb")
    for i in range(2):
        body = json.dumps({"code": f"print({i})"})
        c.sendall((f"POST /v1/sessions?wait=30 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   f"Authorization: Bearer {ka}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n{body}").encode())
        status = f.readline().decode()
        length = 0
        while True:
            line = f.readline().decode().strip()
            if not line:
                break
            if line.lower().startswith("content-length:"):
                length = int(line.split(":")[1])
        got = json.loads(f.read(length))
        check(" 201 " in status and got.get("result", {}).get("stdout") == f"{i}\n",
              f"keep-alive request {i}: {status.strip()} {got.get('result')}")
    c.close()
    call(base, "DELETE", f"/v1/sessions/{hang}", key=ka)


try:
    data = os.path.join(work, "data")
    ka, kb = offline_key(data, "orga"), offline_key(data, "orgb")
    check(ka.startswith("enc_") and kb.startswith("enc_"), "keys created")
    srv = Server(BIN, data, "simulator", auth="keys")
    try:
        checks(srv.base, ka, kb)
    finally:
        srv.stop()
finally:
    subprocess.run(["rm", "-rf", work])
check.finish()
