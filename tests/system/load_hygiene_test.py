#!/usr/bin/env python3
"""Load and resource hygiene against a real enclaved (simulator backend, loopback only).

16 concurrent clients each create 50 sessions and a 20-member fleet at once (1,120 sessions).
Checks: every request is answered (2xx); the admission ceiling is never exceeded and grants
follow FIFO order — both read from the log in commit order (`enclave replay --export jsonl`);
and the server's file descriptors, threads and RSS return to their baseline (with a tolerance)
once the work is done.   usage: load_hygiene_test.py BIN_DIR
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks, Server, export_log, wait

BIN = sys.argv[1]
CEILING = 4
CLIENTS, SESSIONS_EACH, FLEET_SIZE = 16, 50, 20
check = Checks()


def proc_stats(pid):
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    status = open(f"/proc/{pid}/status").read()
    field = lambda k: int(next(l.split()[1] for l in status.splitlines() if l.startswith(k)))
    return {"fds": fds, "threads": field("Threads:"), "rss_kb": field("VmRSS:")}


work = tempfile.mkdtemp(prefix="enclave-load-")
data = os.path.join(work, "data")
server = Server(BIN, data, "simulator", log=open(os.path.join(work, "server.log"), "wb"),
                args=("--max-concurrency", str(CEILING)))
call = server.call


def all_torn_down():
    cursor, n = "", 0
    while True:
        st, page = call("GET", f"/v1/sessions?limit=1000{'&cursor=' + cursor if cursor else ''}")
        if st != 200:
            return False
        for s in page["sessions"]:
            if not s["tornDown"]:
                return False
            n += 1
        cursor = page.get("nextCursor", "")
        if not cursor:
            return n


try:
    # warm-up, then the baseline
    for i in range(50):
        call("POST", "/v1/sessions", {"code": "#@sim sleep_ms=2"})
    check(wait(lambda: all_torn_down() == 50, 60), "warm-up sessions done")
    time.sleep(0.5)  # let the io threads settle; the baseline is a measurement, not a sync
    baseline = proc_stats(server.p.pid)

    answers, lock = [], threading.Lock()

    def client(c):
        mine = []
        for i in range(SESSIONS_EACH):
            mine.append(call("POST", "/v1/sessions", {"code": f"#@sim sleep_ms=5\nprint({c * 1000 + i})"})[0])
        mine.append(call("POST", "/v1/fleets", {"name": f"load-{c}",
                                                "members": [{"code": "#@sim sleep_ms=5"}] * FLEET_SIZE})[0])
        with lock:
            answers.extend(mine)

    t0 = time.time()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    total = 50 + CLIENTS * (SESSIONS_EACH + FLEET_SIZE)
    check(len(answers) == CLIENTS * (SESSIONS_EACH + 1), f"every request answered ({len(answers)})")
    check(all(a == 201 for a in answers), f"every create → 201 ({sorted(set(answers))})")
    check(wait(lambda: all_torn_down() == total, 300), f"all {total} sessions ended and torn down")
    print(f"load: {total - 50} sessions from {CLIENTS} clients done in {time.time() - t0:.1f} s", flush=True)

    # From the log, in commit order: the ceiling held and grants followed tickets (FIFO).
    events = export_log(BIN, data)
    check(events is not None, "the log exports")
    events = events or []
    active = peak = 0
    admitted = set()
    grants = []
    for e in events:
        if e["type"] == "session_admitted":
            active += 1
            admitted.add(e["stream"])
            peak = max(peak, active)
            grants.append((e["data"]["grant"], e["data"]["ticket"]))
        elif e["type"] == "session_torn_down" and e["stream"] in admitted:
            active -= 1
    check(0 < peak <= CEILING, f"admission ceiling held in the log: peak {peak} ≤ {CEILING}")
    grants.sort()
    inversions = sum(1 for a, b in zip(grants, grants[1:]) if a[1] > b[1])
    check(inversions == 0, f"grants follow ticket order (FIFO): {inversions} inversions")
    check(len(grants) == total, f"every session admitted once ({len(grants)} of {total})")

    time.sleep(1.0)  # idle again before measuring
    after = proc_stats(server.p.pid)
    print(f"hygiene: baseline {baseline} after {after}", flush=True)
    check(after["fds"] <= baseline["fds"] + 4, f"file descriptors back to baseline ({baseline['fds']} → {after['fds']})")
    check(after["threads"] <= baseline["threads"] + 2, f"threads back to baseline ({baseline['threads']} → {after['threads']})")
    check(after["rss_kb"] <= baseline["rss_kb"] + 64 * 1024,
          f"RSS within 64 MiB of baseline ({baseline['rss_kb'] // 1024} → {after['rss_kb'] // 1024} MiB)")
    check(server.p.poll() is None, "server still up")
finally:
    rc = server.stop()
    check(rc == 0, f"clean stop ({rc})")
    subprocess.run(["rm", "-rf", work])
check.finish()
