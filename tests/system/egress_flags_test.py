#!/usr/bin/env python3
"""The server's egress policy through enclaved's flags and the HTTP API, on the simulator:
--egress-permit is parsed strictly, the operator's own --e2b-internet-allow obeys the policy,
internal literals are `400 egress_destination_forbidden` naming the field (sessions and fleet
members), and the audit shows `egress_allowed {host, port, ip}` and `egress_denied {…, ip, reason}`.

usage: egress_flags_test.py BIN_DIR
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks, Server, wait

BIN = sys.argv[1]
check = Checks()
work = tempfile.mkdtemp(prefix="enclave-egress-flags-")


def refused_at_start(*args, env=None):
    """enclaved with these flags: (exit code, stderr) — it must refuse before serving."""
    p = subprocess.run([f"{BIN}/enclaved", "--backend", "simulator", "--listen", "127.0.0.1:0",
                        "--data-dir", os.path.join(work, "never"), *args],
                       capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, ENCLAVE_AUTH="disabled", **(env or {})))
    return p.returncode, p.stderr


rc, err = refused_at_start("--e2b-internet-allow", "169.254.169.254:80")
check(rc == 2 and "internal address" in err and "--egress-permit" in err,
      f"an internal E2B allow entry stops the server: {rc} {err[:200]!r}")
rc, err = refused_at_start("--egress-permit", "10.0.0.0/33")
check(rc == 2 and "egress-permit" in err, f"a bad CIDR stops the server: {rc} {err[:200]!r}")
rc, err = refused_at_start(env={"ENCLAVE_EGRESS_PERMIT": "10.0.0.1/8"})
check(rc == 2 and "10.0.0.1/8" in err, f"host bits in a CIDR (env) stop the server: {rc} {err[:200]!r}")
rc, err = refused_at_start("--egress-max-connections", "0")
check(rc == 2, f"--egress-max-connections 0 is refused: {rc}")

server = Server(BIN, os.path.join(work, "data"), "simulator",
                log=open(os.path.join(work, "server.log"), "wb"),
                args=("--egress-permit", "10.20.0.0/16", "--e2b-internet-allow", "10.20.0.5:443"))
call = server.call
try:
    for dest in ["127.0.0.1:8090", "[::1]:8090", "169.254.169.254:80", "2130706433:80",
                 "[::ffff:10.0.0.1]:22", "10.21.0.1:443"]:
        st, b = call("POST", "/v1/sessions", {"code": "print(1)",
                                              "egress": {"mode": "allow_list", "allow": ["example.com:443", dest]}})
        e = b.get("error") or {}
        check(st == 400 and e.get("code") == "egress_destination_forbidden" and
              e.get("field") == "egress.allow[1]", f"{dest}: {st} {e}")
    st, b = call("POST", "/v1/fleets", {"members": [
        {"code": "print(1)"},
        {"code": "print(1)", "egress": {"mode": "allow_list", "allow": ["192.168.0.1:80"]}}]})
    e = b.get("error") or {}
    check(st == 400 and e.get("code") == "egress_destination_forbidden" and
          e.get("field") == "members[1].egress.allow[0]", f"fleet member: {st} {e}")
    # The permitted range is accepted; the simulator reports what the sandbox tried.
    code = "#@sim egress=10.20.0.5:443\n#@sim egress=1.1.1.1:443\nprint(1)\n"
    st, s = call("POST", "/v1/sessions", {"code": code,
                                          "egress": {"mode": "allow_list", "allow": ["10.20.0.5:443"]}})
    check(st == 201, f"permitted internal literal accepted: {st} {s}")
    if st == 201:
        check(wait(lambda: call("GET", f"/v1/sessions/{s['id']}")[1].get("tornDown"), 30), "session ended")
        events = call("GET", f"/v1/sessions/{s['id']}/audit")[1].get("events", [])
        allowed = [e["data"] for e in events if e["type"] == "egress_allowed"]
        denied = [e["data"] for e in events if e["type"] == "egress_denied"]
        check(allowed == [{"host": "10.20.0.5", "port": 443, "ip": "10.20.0.5"}], f"egress_allowed: {allowed}")
        check(denied == [{"host": "1.1.1.1", "port": 443, "ip": "1.1.1.1", "reason": "not_allowed"}],
              f"egress_denied: {denied}")
finally:
    rc = server.stop()
    check(rc == 0, f"clean stop ({rc})")
    subprocess.run(["rm", "-rf", work])
check.finish()
