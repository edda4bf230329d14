#!/usr/bin/env python3
"""/metrics moves exactly as the log says: run a fleet (with a hostile member) on the simulator,
scrape before and after, and compare each counter's change with what the exported log holds.
The server logs JSON (--log-format json): every line parses, there is one lifecycle line per
committed event naming its session and fleet, and no secret from a request reaches the log.
usage: metrics_test.py BIN_DIR"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks, Server, export_log

BIN = sys.argv[1]
check = Checks()
work = tempfile.mkdtemp(prefix="enclave-metrics-")
data = os.path.join(work, "data")
log_path = os.path.join(work, "log")
srv = Server(BIN, data, "simulator", log=open(log_path, "wb"),
             args=("--max-concurrency", "3", "--log-format", "json"))
CANARY = "sk-live-canary-7f3e9a1b"  # a secret in a member's env: must never be logged


def get(path):
    return srv.text(path)


def post(path, body):
    return srv.call("POST", path, body)[1]


def metrics(text=None):
    out = {}
    for line in (text or get("/metrics")).splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def families(text):
    """name → type, from the # TYPE lines."""
    return {l.split()[2]: l.split()[3] for l in text.splitlines() if l.startswith("# TYPE ")}


try:
    before = metrics()
    members = [{"code": f"print({i})\n#@sim sleep_ms=20", "env": {"API_TOKEN": CANARY}} for i in range(9)]
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
    after_text = get("/metrics")
    after = metrics(after_text)
    events = export_log(BIN, data) or []
    count = lambda t: sum(1 for e in events if e["type"] == t)
    delta = lambda k: after.get(k, 0) - before.get(k, 0)
    check(saw_active, "active sandboxes seen above 0 while the fleet ran")
    check(delta("enclave_sessions_created_total") == count("session_created") == 10, "sessions created = log")
    check(delta("enclave_fleets_created_total") == count("fleet_created") == 1, "fleets created = log")
    check(delta('enclave_session_kills_total{reason="egress_denied"}') == 1, "egress kill counted once")
    check(delta('enclave_egress_denied_total') == count("egress_denied") == 1, "egress denials = log")
    check('org=' not in after_text, "/metrics never names an org")
    check(after.get('enclave_sessions{phase="succeeded"}') == 9, "9 succeeded now")
    check(after.get('enclave_sessions{phase="killed"}') == 1, "1 killed now")
    check(after.get("enclave_active_sandboxes") == 0 and after.get("enclave_admission_queue_depth") == 0,
          "nothing active or queued after")
    check(delta("enclave_launch_seconds_count") == count("sandbox_started"), "launch histogram count = sandbox_started")
    check(after.get("enclave_log_events_total") == len(events), f"events total = log ({after.get('enclave_log_events_total')} vs {len(events)})")
    check(all(re.fullmatch(r'[a-z_]+(\{[a-z]+="[^"]*"\})?', k) for k in after), "metric names and labels are plain")
    check(not any(fleet["id"] in k for k in after), "no ids as labels")
    # Every family the issue lists, named the Prometheus way.
    fams = families(after_text)
    for name, kind in [("enclave_sessions", "gauge"), ("enclave_session_kills_total", "counter"),
                       ("enclave_admission_queue_depth", "gauge"), ("enclave_admission_ceiling", "gauge"),
                       ("enclave_launch_seconds", "histogram"), ("enclave_turn_seconds", "histogram"),
                       ("enclave_egress_denied_total", "counter"), ("enclave_log_append_seconds", "histogram"),
                       ("enclave_log_appended_bytes_total", "counter"), ("enclave_active_sandboxes", "gauge"),
                       ("enclave_pool_idle_sandboxes", "gauge")]:
        check(fams.get(name) == kind, f"{name} is a {kind} ({fams.get(name)})")
    check(all(n.endswith("_total") for n, t in fams.items() if t == "counter"), "counters end in _total")
    check(all(n.endswith("_seconds") for n, t in fams.items() if t == "histogram"), "histograms are in seconds")
    check(after.get("enclave_admission_ceiling") == 3, "ceiling = --max-concurrency")
    check(after.get("enclave_pool_idle_sandboxes") == 0, "the simulator has no warm pool")
    check(delta("enclave_log_append_seconds_count") == delta("enclave_log_appends_total") > 0,
          "every append is timed once")
    check(after.get('enclave_log_append_seconds_bucket{le="+Inf"}') == after.get("enclave_log_append_seconds_count"),
          "append latency +Inf bucket = count")
    check(delta("enclave_log_appended_bytes_total") > 0, "appended bytes grew")

    # The log: JSON lines; one lifecycle line per committed event, naming session (and fleet).
    srv.stop()
    lines = open(log_path, encoding="utf-8", errors="replace").read().splitlines()
    parsed = []
    for l in lines:
        try:
            parsed.append(json.loads(l))
        except ValueError:
            check(False, f"log line is not JSON: {l[:120]}")
    check(all({"time", "level", "msg"} <= set(p) for p in parsed), "every log line has time, level, msg")
    msgs = [p["msg"] for p in parsed]
    for e in events:
        if e["type"].startswith("api_key"):
            continue
        key = ("fleet=" if e["type"].startswith("fleet_") else "session=") + e["stream"]
        n = sum(1 for m in msgs if m.startswith(key) and f" seq={e['seq']} event={e['type']}" in m)
        if not check(n == 1, f"one log line for {e['type']} seq {e['seq']} of {e['stream']} (got {n})"):
            break
    fid = fleet["id"]
    check(sum(1 for m in msgs if f"fleet={fid}" in m and m.startswith("session=")) ==
          sum(1 for e in events if e["type"] != "fleet_created" and e["type"] != "fleet_torn_down"
              and e["stream"] in {x["sessionId"] for x in f["members"]}),
          "every member's lines name the fleet")
    raw = open(log_path, encoding="utf-8", errors="replace").read()
    check(CANARY not in raw, "the secret in a member's env never reaches the log")
    check("eyJ" not in raw, "no session credential (JWT) in the log")
finally:
    srv.stop()
    subprocess.run(["rm", "-rf", work])
check.finish()
