#!/usr/bin/env python3
"""Files in and out (issue 20), end to end on gVisor: every files route on an interactive session,
hostile paths and planted symlinks refused while a clean sibling file keeps its exact bytes, the
working directory's cap (ENOSPC inside, 507 through the API), the upload bound (413, nothing left),
batch staged files and artifacts, the audit events — and, measured, a 100 MiB upload and download
against a plain `cp` of the same file into the same working directory, with enclaved's RSS growth.

usage: files_api_test.py BIN_DIR
"""
import hashlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks, Server, wait

BIN = sys.argv[1]
if os.geteuid() != 0 or not os.path.exists("/usr/bin/runsc"):
    print("SKIP: needs root and runsc (gVisor)")
    sys.exit(77)

check = Checks()
work = tempfile.mkdtemp(prefix="enclave-files-")
srv = Server(BIN, os.path.join(work, "data"), "gvisor", log=open(os.path.join(work, "log"), "w"))
q = lambda p: urllib.parse.quote(p, safe="")
MiB = 1 << 20


def raw(method, path, body=None, chunks=None, length=None, timeout=120):
    """(status, body bytes); `chunks` (an iterator) with `length` streams the body."""
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)
    try:
        c.putrequest(method, path)
        c.putheader("Content-Type", "application/octet-stream")
        n = len(body) if body is not None else (length or 0)
        c.putheader("Content-Length", str(n))
        c.endheaders()
        try:
            if body is not None:
                c.send(body)
            for ch in chunks or ():
                c.send(ch)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused early: the answer is still there to read
        r = c.getresponse()
        return r.status, r.read()
    except Exception as e:
        return 0, str(e).encode()
    finally:
        c.close()


def put(sid, path, data):
    st, b = raw("PUT", f"/v1/sessions/{sid}/files?path={q(path)}", body=data)
    return st, (json.loads(b) if b.startswith(b"{") else {})


def get(sid, path):
    return raw("GET", f"/v1/sessions/{sid}/files?path={q(path)}")


def exec_(sid, code, timeout=60):
    st, r = srv.call("POST", f"/v1/sessions/{sid}/exec", {"code": code}, timeout=timeout)
    return r


def interactive(limits=None):
    body = {"execMode": "interactive", "language": "python"}
    if limits:
        body["limits"] = limits
    st, s = srv.call("POST", "/v1/sessions", body)
    check(st == 201, f"create interactive → {st} {s}")
    sid = s.get("id", "")
    wait(lambda: srv.call("GET", f"/v1/sessions/{sid}")[1].get("phase") == "running", 90)
    return sid


def audit_types(sid):
    return [e.get("type") for e in srv.call("GET", f"/v1/sessions/{sid}/audit")[1].get("events", [])]


try:
    sid = interactive({"diskMb": 256, "memoryMb": 256})
    # ---- every route, clean ---------------------------------------------------------------------
    data = os.urandom(300_000)
    st, r = put(sid, "/home/user/in/blob.bin", data)
    check(st == 201 and r.get("size") == len(data) and r.get("sha256") == hashlib.sha256(data).hexdigest(),
          f"upload → {st} {r}")
    out = exec_(sid, "import hashlib,os\nprint(os.getcwd(), os.environ['HOME'], hashlib.sha256(open('in/blob.bin','rb').read()).hexdigest())")
    check((out.get("stdout") or "").split() == ["/home/user", "/home/user", hashlib.sha256(data).hexdigest()],
          f"the workload sees the upload in its cwd: {out}")
    exec_(sid, "open('made.txt','w').write('by the workload')")
    st, b = get(sid, "/home/user/made.txt")
    check(st == 200 and b == b"by the workload", f"download → {st} {b[:60]!r}")
    st, l = srv.call("GET", f"/v1/sessions/{sid}/files/list?path={q('/home/user')}&depth=2")
    paths = {e["path"]: e["type"] for e in l.get("entries", [])}
    check(st == 200 and paths.get("/home/user/in") == "dir" and paths.get("/home/user/in/blob.bin") == "file"
          and paths.get("/home/user/made.txt") == "file", f"list depth 2 → {st} {paths}")
    st, e = srv.call("GET", f"/v1/sessions/{sid}/files/stat?path={q('/home/user/in/blob.bin')}")
    check(st == 200 and e.get("size") == len(data) and e.get("type") == "file", f"stat → {st} {e}")
    st, e = srv.call("POST", f"/v1/sessions/{sid}/files/mkdir", {"path": "/home/user/a/b"})
    check(st == 201 and e.get("type") == "dir", f"mkdir → {st} {e}")
    st, e = srv.call("POST", f"/v1/sessions/{sid}/files/mkdir", {"path": "/home/user/a/b"})
    check(st == 409 and e.get("error", {}).get("code") == "already_exists", f"mkdir again → {st} {e}")
    st, e = srv.call("POST", f"/v1/sessions/{sid}/files/move", {"from": "/home/user/made.txt", "to": "/home/user/a/b/m.txt"})
    check(st == 200 and e.get("path") == "/home/user/a/b/m.txt", f"move → {st} {e}")
    out = exec_(sid, "print(open('a/b/m.txt').read())")
    check((out.get("stdout") or "").strip() == "by the workload", f"the workload sees the move: {out}")
    st, e = srv.call("DELETE", f"/v1/sessions/{sid}/files?path={q('/home/user/a')}")
    check(st == 200, f"delete a tree → {st} {e}")
    st, e = srv.call("GET", f"/v1/sessions/{sid}/files/stat?path={q('/home/user/a')}")
    check(st == 404 and e.get("error", {}).get("code") == "not_found", f"stat after delete → {st} {e}")
    types = audit_types(sid)
    check("file_written" in types and "file_read" in types, f"audit has file_written and file_read: {types}")

    # ---- hostile paths and planted links, beside a clean sibling ---------------------------------
    for p in ["/etc/passwd", "/home/user/../../etc/passwd", "/home/user/a\x00b", "/proc/1/environ",
              "/tmp/x", "relative", "/home/user/" + "a" * 300, "/home/user/\x1b[31m"]:
        st, b = get(sid, p)
        check(st == 400 and b"path_forbidden" in b, f"GET {p[:40]!r} → {st}")
        st, r = put(sid, p, b"pwned")
        check(st == 400, f"PUT {p[:40]!r} → {st}")
    canary = f"/tmp/enclave-files-canary-{os.getpid()}"
    exec_(sid, "import os\nos.symlink('/', 'root')\nos.symlink('/proc/self', 'me')\n"
               f"os.symlink('{canary}', 'canary')\nos.symlink('{os.path.join(work, 'data')}', 'datadir')\nos.mkfifo('fifo')")
    for p in ["/home/user/root/etc/hostname", "/home/user/me/environ", "/home/user/datadir/LOCK",
              "/home/user/canary"]:
        st, b = get(sid, p)
        check(st in (400, 404) and b"ESCAPED" not in b and b"ENCLAVE" not in b, f"GET through link {p} → {st} {b[:80]!r}")
    st, b = get(sid, "/home/user/fifo")
    # gVisor keeps a FIFO in the sandbox (404 on the host side); one on the host is 409 not_a_file
    # (session_files_tests): either way the server answers at once, never blocks in open().
    check(st in (404, 409), f"GET a FIFO → {st} {b[:80]!r}")
    for p in ["/home/user/root" + canary + "-2", "/home/user/datadir/pwned"]:
        st, r = put(sid, p, b"pwned")
        check(st == 400, f"PUT through link {p} → {st} {r}")
    st, r = put(sid, "/home/user/canary", b"mine")  # AT a link: the link is replaced
    check(st == 201 and not os.path.exists(canary) and not os.path.exists(canary + "-2"),
          f"no upload wrote on the host ({st})")
    check(not os.path.exists(os.path.join(work, "data", "pwned")), "nothing written into the data dir")
    st, b = get(sid, "/home/user/in/blob.bin")
    check(st == 200 and b == data, "the clean sibling keeps its exact bytes")

    # ---- the upload bound and the working directory's cap ---------------------------------------
    small = interactive({"diskMb": 8})
    out = exec_(small, "import errno\ntry:\n  open('fill','wb').write(b'x' * (16 << 20))\n  print('ESCAPED')\n"
                       "except OSError as e:\n  print('ENOSPC' if e.errno == errno.ENOSPC else e)")
    check((out.get("stdout") or "").strip() == "ENOSPC", f"a write past diskMb is ENOSPC inside: {out}")
    exec_(small, "import os\nos.remove('fill')")
    st, r = put(small, "/home/user/big", b"y" * (12 * MiB))
    check(st == 507 and r.get("error", {}).get("field") == "limits.diskMb", f"upload past diskMb → {st} {r}")
    st, r = put(small, "/home/user/ok", b"fits")
    check(st == 201, f"a small upload after the full one → {st} {r}")
    over = 100 * MiB + 1
    st, b = raw("PUT", f"/v1/sessions/{sid}/files?path={q('/home/user/over')}",
                chunks=(b"z" * MiB for _ in range(101)), length=101 * MiB)
    check(st == 413 and b"too_large" in b, f"upload over --max-upload-mb → {st} {b[:100]!r}")
    st, l = srv.call("GET", f"/v1/sessions/{sid}/files/list?path={q('/home/user')}")
    names = [e["name"] for e in l.get("entries", [])]
    check("over" not in names and not any(n.startswith(".enclave-upload") for n in names),
          f"a refused upload leaves nothing: {names}")

    # ---- 100 MiB: throughput against cp, and enclaved's RSS -------------------------------------
    big = os.path.join(work, "big.bin")
    with open(big, "wb") as f:
        for _ in range(100):
            f.write(os.urandom(MiB))
    cid = srv.container_ids([sid]).get(sid)
    home = next((os.path.join(root, cid, "home") for root, dirs, _ in os.walk("/run/enclave")
                 if cid in dirs and os.path.ismount(os.path.join(root, cid, "home"))), None)
    rss = lambda: int(next(l.split()[1] for l in open(f"/proc/{srv.p.pid}/status") if l.startswith("VmRSS")))
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.01)

    base = rss()
    th = threading.Thread(target=sample)
    th.start()
    t0 = time.time()
    with open(big, "rb") as f:
        st, b = raw("PUT", f"/v1/sessions/{sid}/files?path={q('/home/user/big.bin')}",
                    chunks=iter(lambda: f.read(MiB), b""), length=100 * MiB)
    up = time.time() - t0
    t0 = time.time()
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
    c.request("GET", f"/v1/sessions/{sid}/files?path={q('/home/user/big.bin')}")
    resp = c.getresponse()
    h = hashlib.sha256()
    got = 0
    while chunk := resp.read(MiB):
        h.update(chunk)
        got += len(chunk)
    down = time.time() - t0
    stop.set()
    th.join()
    want = hashlib.sha256(open(big, "rb").read()).hexdigest()
    check(st == 201 and json.loads(b).get("sha256") == want, f"100 MiB upload → {st}")
    check(resp.status == 200 and got == 100 * MiB and h.hexdigest() == want, "100 MiB download, same bytes")
    cp = None
    if home:
        t0 = time.time()
        subprocess.run(["cp", big, os.path.join(home, "cp.bin")], check=True)
        cp = time.time() - t0
    growth = (peak[0] - base) / 1024
    print(f"measured: upload {100 / up:.0f} MiB/s ({up:.2f} s), download {100 / down:.0f} MiB/s "
          f"({down:.2f} s), cp into the same working dir {100 / cp:.0f} MiB/s ({cp:.2f} s); "
          f"enclaved RSS {base / 1024:.1f} MiB, peak growth {growth:.1f} MiB" if cp else
          f"measured: upload {up:.2f} s, download {down:.2f} s; RSS growth {growth:.1f} MiB")
    check(growth <= 16, f"enclaved RSS grew {growth:.1f} MiB during 100 MiB transfers (≤ 16)")
    # Throughput (goal: >= 0.5x cp) is printed, not asserted: performance goals belong in bench/,
    # never in a timed test on a shared machine.

    # ---- batch: no files API while it runs; staged files in, artifacts out ----------------------
    st, s = srv.call("POST", "/v1/sessions", {
        "code": "import os\nv = open('/home/user/x.txt').read()\nos.makedirs('out', exist_ok=True)\n"
                "open('out/r.txt','w').write(v.upper())\nos.symlink('/etc/passwd', 'out/leak.txt')\nprint(v)",
        "files": [{"path": "/home/user/x.txt", "contentBase64": "aGVsbG8="}], "artifacts": ["out/*.txt"]})
    bid = s.get("id", "")
    st2, r = put(bid, "/home/user/y", b"late")
    check(st2 == 409, f"PUT on a batch session → {st2} {r}")
    wait(lambda: srv.call("GET", f"/v1/sessions/{bid}")[1].get("phase") in ("succeeded", "failed", "killed"), 90)
    res = srv.call("GET", f"/v1/sessions/{bid}/result")[1]
    st, a = srv.call("GET", f"/v1/sessions/{bid}/artifacts")
    arts = [x.get("path") for x in a.get("artifacts", [])]
    check((res.get("stdout") or "").strip() == "hello" and arts == ["/home/user/out/r.txt"],
          f"batch: stdout {res.get('stdout')!r}, artifacts {arts} (the planted link is not one)")
    st, b = raw("GET", f"/v1/sessions/{bid}/artifacts/content?path={q('/home/user/out/r.txt')}")
    check(st == 200 and b == b"HELLO", f"artifact content → {st} {b[:40]!r}")
    check("artifact_collected" in audit_types(bid), "artifact_collected in the audit")
    st, e = srv.call("POST", "/v1/sessions", {"code": "1", "files": [{"path": "/etc/x", "contentBase64": ""}]})
    check(st == 400 and e.get("error", {}).get("field") == "files[0].path", f"a staged file outside → {st} {e}")
    for s_ in (sid, small):
        srv.call("DELETE", f"/v1/sessions/{s_}")
    for p in (canary, canary + "-2"):
        if os.path.exists(p):
            os.remove(p)
finally:
    srv.stop()
check.finish()
