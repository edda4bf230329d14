#!/usr/bin/env python3
"""Pause, resume and fork on gVisor (issue 19), each figure beside its baseline, in one run.

usage: pause_bench.py BIN_DIR [N=10] [PAUSED=50]
Starts its own enclaved (gVisor, auth off, 127.0.0.1) on a fresh data dir and prints:
  pause p50/p90 over N idle Python sessions (x = 41)          goal p50 <= 150 ms
    beside bare `runsc checkpoint` of one such sandbox (the same runsc, the same container)
  resume -> first turn done p50 (exec on a paused session)    goal p50 <= 250 ms
  fork of 10 (POST fork count 10 -> all 10 running)            goal <= 2 s
  PAUSED paused sessions: sandboxes left (runsc list) and the snapshot bytes on disk, and the
    same scaled to 1,000                                        goal 0 sandboxes, <= 2 GiB
Every wait is bounded.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from enclave_testlib import Server, wait  # noqa: E402

BIN = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10
PAUSED = int(sys.argv[3]) if len(sys.argv) > 3 else 50
work = tempfile.mkdtemp(prefix="enclave-pausebench-")
data = os.path.join(work, "data")
s = Server(BIN, data, "gvisor", log=open(os.path.join(work, "server.log"), "ab"),
           env={"ENCLAVE_MAX_CONCURRENCY": "64"})


def ms(t0):
    return (time.perf_counter() - t0) * 1000


def new_session():
    st, v = s.call("POST", "/v1/sessions", {"language": "python", "execMode": "interactive"})
    sid = v["id"]
    assert wait(lambda: s.call("GET", f"/v1/sessions/{sid}")[1].get("phase") == "running", 120), sid
    st, _ = s.call("POST", f"/v1/sessions/{sid}/exec", {"code": "x = 41"})
    return sid


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def runsc_root():
    slot = s.slot()
    return f"/run/enclave/runsc{'' if not slot else '-' + str(slot)}"


# Pause, then resume -> first turn.
pause_ms, resume_ms, images = [], [], []
for _ in range(N):
    sid = new_session()
    t0 = time.perf_counter()
    st, p = s.call("POST", f"/v1/sessions/{sid}/pause")
    pause_ms.append(ms(t0))
    assert st == 200 and p.get("phase") == "paused", (st, p)
    images.append(int(p.get("snapshot", {}).get("bytes", 0) or 0))
    t0 = time.perf_counter()
    st, r = s.call("POST", f"/v1/sessions/{sid}/exec", {"code": "print(x + 1)"})
    resume_ms.append(ms(t0))
    assert st == 200 and r.get("stdout", "").strip() == "42", (st, r)
    s.call("DELETE", f"/v1/sessions/{sid}")

# Baseline: bare `runsc checkpoint` / `restore` of the same sandbox as runsc alone sees it: a
# session's own bundle (rootfs, mounts, limits) with its process an idle Python loop and no host
# socket (runsc cannot save a connected one; Enclave's kernel closes its channel first), under a
# private --root, detached, no trace sink.
sid = new_session()
cid = s.container_ids([sid])[sid]
slot = s.slot()
sess_dir = f"/run/enclave/work{'' if not slot else '-' + str(slot)}/sessions/{cid}"
cfg = json.load(open(os.path.join(sess_dir, "bundle", "config.json")))
cfg["process"]["args"] = ["/usr/bin/python3", "-c", "import time\nx = 41\nwhile True: time.sleep(0.05)"]
cfg["linux"].pop("cgroupsPath", None)
bare = tempfile.mkdtemp(prefix="bare-", dir=work)
os.makedirs(os.path.join(bare, "bundle"))
json.dump(cfg, open(os.path.join(bare, "bundle", "config.json"), "w"))
root = os.path.join(bare, "root")
runsc = ["runsc", f"--root={root}", "--network=none", "--platform=ptrace", "--host-uds=open"]
bid, rid = os.urandom(16).hex(), os.urandom(16).hex()
bare_ckpt = bare_restore = float("nan")


def bare_runsc(args):
    # A detached sandbox keeps the stdio it was given: never a pipe we would wait on.
    with open(os.path.join(bare, "runsc.err"), "w+") as err:
        r = subprocess.run(runsc + args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=err, timeout=60)
        err.seek(0)
        r.stderr = err.read()
    return r


r = bare_runsc(["run", "--detach", f"--bundle={bare}/bundle", bid])
if r.returncode == 0:
    time.sleep(0.5)  # let the loop reach its idle state (a bench, not a test)
    t0 = time.perf_counter()
    r = bare_runsc(["checkpoint", f"--image-path={bare}/img", bid])
    if r.returncode == 0:
        bare_ckpt = ms(t0)
        t0 = time.perf_counter()
        r = bare_runsc(["restore", "--detach", f"--image-path={bare}/img",
                        f"--bundle={bare}/bundle", rid])
        if r.returncode == 0:
            bare_restore = ms(t0)
if r.returncode != 0:
    print("bare runsc:", r.stderr[-300:], file=sys.stderr)
for c in (bid, rid):
    bare_runsc(["delete", "--force", c])
s.call("DELETE", f"/v1/sessions/{sid}")

# Fork of 10 from one running source.
src = new_session()
t0 = time.perf_counter()
st, f = s.call("POST", f"/v1/sessions/{src}/fork", {"count": 10})
kids = [k["id"] for k in f.get("sessions", [])]
ok = wait(lambda: all(s.call("GET", f"/v1/sessions/{k}")[1].get("phase") == "running" for k in kids), 120,
          step=0.02)
fork_ms = ms(t0) if ok and len(kids) == 10 else float("nan")
for k in kids + [src]:
    s.call("DELETE", f"/v1/sessions/{k}")

# PAUSED paused sessions: sandboxes left and disk.
paused = []
for _ in range(PAUSED):
    sid = new_session()
    st, _ = s.call("POST", f"/v1/sessions/{sid}/pause")
    paused.append(sid)
listed = subprocess.run(["runsc", f"--root={runsc_root()}", "--network=none", "list", "-quiet"],
                        capture_output=True, text=True, timeout=60).stdout.split()
ours = set(s.container_ids(paused).values())
sandboxes = len([c for c in listed if c in ours])
du = int(subprocess.run(["du", "-sb", os.path.join(data, "snapshots")], capture_output=True,
                        text=True).stdout.split()[0] or 0)
load = os.getloadavg()[0]
for sid in paused:
    s.call("DELETE", f"/v1/sessions/{sid}")
s.stop()

print(f"machine: 2 cores, load average {load:.1f} at the end")
print(f"pause (n={N})                    p50 {statistics.median(pause_ms):7.0f} ms  p90 {pct(pause_ms, 90):7.0f} ms"
      f"   goal p50 <= 150 ms   image p50 {statistics.median(images) / 2**20:.1f} MiB")
print(f"  bare runsc checkpoint (1)          {bare_ckpt:7.0f} ms")
print(f"  bare runsc restore --detach (1)    {bare_restore:7.0f} ms")
print(f"resume -> first turn (n={N})     p50 {statistics.median(resume_ms):7.0f} ms  p90 {pct(resume_ms, 90):7.0f} ms"
      f"   goal p50 <= 250 ms")
print(f"fork of 10 -> all running             {fork_ms:7.0f} ms   goal <= 2000 ms")
print(f"{PAUSED} paused sessions: {sandboxes} sandboxes, {du / 2**20:.1f} MiB of snapshots"
      f" -> 1,000: {du / PAUSED * 1000 / 2**30:.2f} GiB   goal 0 sandboxes, <= 2 GiB")
