#!/usr/bin/env python3
"""/metrics moves exactly as the log says: run a fleet (with a hostile member) on the simulator,
scrape before and after, and compare each counter's change with what the exported log holds.
usage: metrics_test.py BIN_DIR"""
import json, os, re, socket, subprocess, sys, tempfile, time, urllib.request

BIN = sys.argv[1]
passed = failed = 0


def check(cond, what):
    global passed, failed
    passed, failed = (passed + 1, failed) if cond else (passed, failed + 1)
    if not cond:
        print("FAIL", what, flush=True)


s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
base = f"http://127.0.0.1:{port}"
work = tempfile.mkdtemp(prefix="enclave-metrics-")
data = os.path.join(work, "data")
srv = subprocess.Popen([f"{BIN}/enclaved", "--listen", f"127.0.0.1:{port}", "--data-dir", data,
                        "--backend", "simulator", "--auth", "disabled", "--max-concurrency", "3"],
                       stdout=open(os.path.join(work, "log"), "wb"), stderr=subprocess.STDOUT)


def get(path):
    with urllib.request.urlopen(base + path, timeout=30) as r:
        return r.read().decode()


def post(path, body):
    req = urllib.request.Request(base + path, method="POST", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def metrics():
    out = {}
    for line in get("/metrics").splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


try:
    end = time.time() + 30
    while time.time() < end:
        try:
            get("/v1/healthz"); break
        except Exception:
            time.sleep(0.1)
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
        f = json.loads(get(f"/v1/fleets/{fleet['id']}"))
        if f["phase"] in ("completed", "partial", "failed") and all(
                json.loads(get(f"/v1/sessions/{x['sessionId']}"))["tornDown"] for x in f["members"]):
            break
        time.sleep(0.02)
    after = metrics()
    out = subprocess.run([f"{BIN}/enclave", "replay", "--data-dir", data, "--export", "jsonl"],
                         capture_output=True, text=True, timeout=60)
    events = [json.loads(l) for l in out.stdout.splitlines() if l]
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
    srv.terminate(); srv.wait(timeout=30)
    subprocess.run(["rm", "-rf", work])
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
