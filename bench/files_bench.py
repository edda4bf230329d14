#!/usr/bin/env python3
"""Files in and out (issue 20): 100 MiB through the files API beside the backend alone.

One gVisor interactive session; a 100 MiB file of random bytes on the host. Each round measures,
in this order:
  cp        `cp` of the file into the session's working directory on the host (the tmpfs the
            sandbox sees as /home/user): the backend alone, the baseline
  upload    PUT /v1/sessions/{id}/files (native, streamed, hashed, recorded)
  e2b       POST /files (envd's raw octet-stream upload, as files.write(stream) sends it)
  download  GET /v1/sessions/{id}/files (read back, hashed by the client to check the bytes)
and enclaved's RSS (VmRSS, sampled every 10 ms) growth over the transfers. Prints per round and
then the median round beside the goals: upload and download ≥ 0.5× cp, RSS growth ≤ 16 MiB.

usage: files_bench.py BIN_DIR [ROUNDS]     (default 3 rounds)
"""
import hashlib
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from enclave_testlib import Server, wait  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
MiB = 1 << 20
SIZE_MIB = 100
q = lambda p: urllib.parse.quote(p, safe="")


def send(port, method, path, src, headers=()):
    """Streams the file `src` as the body; (status, answer bytes)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    c.putrequest(method, path)
    c.putheader("Content-Type", "application/octet-stream")
    c.putheader("Content-Length", str(SIZE_MIB * MiB))
    for k, v in headers:
        c.putheader(k, v)
    c.endheaders()
    with open(src, "rb") as f:
        while chunk := f.read(MiB):
            c.send(chunk)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def main():
    work = tempfile.mkdtemp(prefix="enclave-files-bench-")
    big = os.path.join(work, "big.bin")
    with open(big, "wb") as f:
        for _ in range(SIZE_MIB):
            f.write(os.urandom(MiB))
    want = hashlib.sha256(open(big, "rb").read()).hexdigest()
    srv = Server(BIN, os.path.join(work, "data"), "gvisor", log=open(os.path.join(work, "log"), "w"),
                 args=("--warm-pool", "0"))
    try:
        # An E2B sandbox (so envd's POST /files takes it too) is an interactive session with the
        # default limits: diskMb 512 holds the three copies.
        st, s = srv.call("POST", "/sandboxes", {"templateID": "base", "timeout": 1800})
        sid, token = s.get("sandboxID", ""), s.get("envdAccessToken", "")
        if st != 201 or not wait(lambda: srv.call("GET", f"/v1/sessions/{sid}")[1].get("phase") == "running", 60):
            print(f"INVALID: the session did not start ({st} {s})")
            return 1
        home = next((os.path.join(root, sid, "home") for root, dirs, _ in os.walk("/run/enclave")
                     if sid in dirs and os.path.ismount(os.path.join(root, sid, "home"))), None)
        if not home:
            print("INVALID: the session's working directory was not found under /run/enclave")
            return 1
        pid = srv.p.pid
        rss = lambda: int(next(l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")))
        rows = []
        for rnd in range(ROUNDS):
            for name in ("cp.bin", "up.bin", "e2b.bin"):
                try:
                    os.unlink(os.path.join(home, name))
                except FileNotFoundError:
                    pass
            t0 = time.perf_counter()
            subprocess.run(["cp", big, os.path.join(home, "cp.bin")], check=True)
            cp = time.perf_counter() - t0

            base = rss()
            peak = [base]
            stop = threading.Event()

            def sample():
                while not stop.is_set():
                    peak[0] = max(peak[0], rss())
                    time.sleep(0.01)

            th = threading.Thread(target=sample)
            th.start()
            t0 = time.perf_counter()
            st_up, b_up = send(srv.port, "PUT", f"/v1/sessions/{sid}/files?path={q('/home/user/up.bin')}", big)
            up = time.perf_counter() - t0
            t0 = time.perf_counter()
            st_e2b, b_e2b = send(srv.port, "POST", f"/files?path={q('/home/user/e2b.bin')}", big,
                                 headers=(("E2b-Sandbox-Id", sid), ("X-Access-Token", token)))
            e2b = time.perf_counter() - t0
            t0 = time.perf_counter()
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=300)
            c.request("GET", f"/v1/sessions/{sid}/files?path={q('/home/user/up.bin')}")
            r = c.getresponse()
            h = hashlib.sha256()
            got = 0
            while chunk := r.read(MiB):
                h.update(chunk)
                got += len(chunk)
            down = time.perf_counter() - t0
            c.close()
            stop.set()
            th.join()
            ok = st_up == 201 and want.encode() in b_up and got == SIZE_MIB * MiB and h.hexdigest() == want
            if not ok:
                print(f"INVALID: round {rnd}: upload {st_up} {b_up[:200]!r}, download {got} bytes")
                return 1
            growth = (peak[0] - base) / 1024
            rows.append((cp, up, e2b if st_e2b == 200 else None, down, growth))
            e2b_txt = f"{SIZE_MIB / e2b:.0f} MiB/s" if st_e2b == 200 else f"status {st_e2b} {b_e2b[:120]!r}"
            print(f"round {rnd}: cp {SIZE_MIB / cp:.0f} MiB/s, upload {SIZE_MIB / up:.0f} MiB/s, "
                  f"e2b upload {e2b_txt}, download {SIZE_MIB / down:.0f} MiB/s, "
                  f"RSS {base / 1024:.1f} MiB +{growth:.1f} MiB")
        med = lambda i: statistics.median(r[i] for r in rows if r[i] is not None)
        cp, up, down = med(0), med(1), med(3)
        growth = max(r[4] for r in rows)
        e2b = [r[2] for r in rows if r[2] is not None]
        print(f"files 100 MiB (median of {ROUNDS}): cp {SIZE_MIB / cp:.0f} MiB/s (baseline) | "
              f"upload {SIZE_MIB / up:.0f} MiB/s = {cp / up:.2f}x cp (goal >= 0.5) | "
              f"download {SIZE_MIB / down:.0f} MiB/s = {cp / down:.2f}x cp (goal >= 0.5) | "
              + (f"e2b upload {SIZE_MIB / statistics.median(e2b):.0f} MiB/s = "
                 f"{cp / statistics.median(e2b):.2f}x cp | " if e2b else "e2b upload n/a | ")
              + f"enclaved RSS growth max {growth:.1f} MiB (goal <= 16)")
        return 0
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)


sys.exit(main())
