#!/usr/bin/env python3
"""/metrics moves exactly as the log says: run a fleet (with a hostile member) on the simulator,
scrape before and after, and compare each counter's change with what the exported log holds.
usage: metrics_test.py BIN_DIR"""
import os
import re
import subprocess
import sys
import tempfile
import time

from enclave_testlib import Checks, Server, export_log

BIN = sys.argv[1]
check = Checks()
work = tempfile.mkdtemp(prefix="enclave-metrics-")
data = os.path.join(work, "data")
srv = Server(BIN, data, "simulator", log=open(os.path.join(work, "log"), "wb"),
             args=("--max-concurrency", "3"))


def get(path):
    return srv.text(path)


def post(path, body):
    return srv.call("POST", path, body)[1]


def metrics():
    out = {}
    for line in get("/metrics").splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


try:
    before = metrics()
    members = [{"code": f"print({i})\n#@sim sleep_ms=20"} for i in range(9)]
    members.append({"code": "#@sim egress=169.254.169.254:80\n#@sim hang",
                    "egress": {"mode": "deny_all", "killOnDenied": True}})
    fleet = post("/v1/fleets", {"name": "metrics", "members": members})
    saw_active = False
    end = time.time() + 60
    while time.time() < end:
        m = metrics()  # scraped while the fleet runs
        saw_active |= m.get("enclave_active_sandboxes", 0) > 0
        check(m.get("enclave_active_sandboxes", 0) <= 3, "active sandboxes never above the ceiling")
        f = srv.call("GET", f"/v1/fleets/{fleet['id']}")[1]
        if f["phase"] in ("completed", "partial", "failed") and all(
                srv.call("GET", f"/v1/sessions/{x['sessionId']}")[1]["tornDown"] for x in f["members"]):
            break
        time.sleep(0.02)
    after = metrics()
    events = export_log(BIN, data) or []
    count = lambda t: sum(1 for e in events if e["type"] == t)
    delta = lambda k: after.get(k, 0) - before.get(k, 0)
    check(saw_active, "active sandboxes seen above 0 while the fleet ran")
    check(delta("enclave_sessions_created_total") == count("session_created") == 10, "sessions created = log")
    check(delta("enclave_fleets_created_total") == count("fleet_created") == 1, "fleets created = log")
    check(delta('enclave_session_kills_total{reason="egress_denied"}') == 1, "egress kill counted once")
    check(delta('enclave_egress_denied_total{org="default"}') == count("egress_denied") == 1, "egress denials = log")
    check(after.get('enclave_sessions{phase="succeeded"}') == 9, "9 succeeded now")
    check(after.get('enclave_sessions{phase="killed"}') == 1, "1 killed now")
    check(after.get("enclave_active_sandboxes") == 0 and after.get("enclave_admission_queue_depth") == 0,
          "nothing active or queued after")
    check(delta("enclave_launch_seconds_count") == count("sandbox_started"), "launch histogram count = sandbox_started")
    check(after.get("enclave_log_events_total") == len(events), f"events total = log ({after.get('enclave_log_events_total')} vs {len(events)})")
    check(all(re.fullmatch(r'[a-z_]+(\{[a-z]+="[^"]*"\})?', k) for k in after), "metric names and labels are plain")
    check(not any(fleet["id"] in k for k in after), "no ids as labels")
finally:
    srv.stop()
    subprocess.run(["rm", "-rf", work])
check.finish()
