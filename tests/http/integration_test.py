#!/usr/bin/env python3
"""End-to-end test of enclaved's HTTP API and the enclave CLI on the simulator backend.

usage: integration_test.py PATH/TO/enclaved [PATH/TO/enclave]

Starts a real enclaved (auth: keys, simulator backend, temp data dir, a free port), exercises
every endpoint's happy path and errors, a two-org tenancy pass, the CLI verbs, bad input on the
wire and a graceful SIGTERM. Every response body is scanned for a JWT ("eyJ"). stdlib only.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

ENCLAVED = os.path.abspath(sys.argv[1])
ENCLAVE = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else os.path.join(
    os.path.dirname(ENCLAVED), "enclave")
WORK = tempfile.mkdtemp(prefix="enclave-http-it.")
DATA = os.path.join(WORK, "data")
seen = []
failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def make_key(org, role):
    out = subprocess.run([ENCLAVED, "keys", "create", "--data-dir", DATA, "--org", org, "--role", role],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()[-1]


PORT = free_port()
BASE = f"http://127.0.0.1:{PORT}"


def call(method, path, body=None, key=None, raw=None, headers=None, timeout=30):
    h = {"Content-Type": "application/json"}
    if key:
        h["Authorization"] = "Bearer " + key
    h.update(headers or {})
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(BASE + path, method=method, data=data, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            text = r.read()
            st = r.status
            ctype = r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        text = e.read()
        st = e.code
        ctype = e.headers.get("Content-Type", "")
    seen.append(text.decode("utf-8", "replace"))
    try:
        j = json.loads(text or b"null")
    except Exception:
        j = None
    return st, j, ctype, text


def expect_error(what, st, j, status, code=None, field=None):
    err = (j or {}).get("error", {}) if isinstance(j, dict) else {}
    ok = st == status and err.get("code") and err.get("message")
    if code:
        ok = ok and err.get("code") == code
    if field:
        ok = ok and field in (err.get("field", "") + err.get("message", ""))
    check(ok, f"{what}: want {status} {code or ''} {field or ''}, got {st} {j}")


def wait_terminal(sid, key, timeout=20):
    t0 = time.time()
    while time.time() - t0 < timeout:
        st, s, _, _ = call("GET", f"/v1/sessions/{sid}", key=key)
        if st == 200 and s["phase"] in ("succeeded", "failed", "killed"):
            return s
        time.sleep(0.05)
    return None


def wait_phase(sid, key, phase, timeout=20):
    t0 = time.time()
    while time.time() - t0 < timeout:
        st, s, _, _ = call("GET", f"/v1/sessions/{sid}", key=key)
        if st == 200 and s["phase"] == phase:
            return s
        time.sleep(0.05)
    return None


def cli(*args, key=None, stdin=None):
    env = dict(os.environ, ENCLAVE_BASE_URL=BASE)
    if key:
        env["ENCLAVE_API_KEY"] = key
    try:
        r = subprocess.run([ENCLAVE, *args], capture_output=True, text=True, env=env, input=stdin, timeout=60)
    except subprocess.TimeoutExpired as e:
        r = subprocess.CompletedProcess(e.cmd, -1, str(e.stdout or ""), "timed out after 60 s")
    seen.append(r.stdout + r.stderr)
    return r


def main():
    ka = make_key("acme", "owner")
    kv = make_key("acme", "viewer")
    kb = make_key("globex", "owner")
    check(len({ka, kv, kb}) == 3 and all(len(k) > 20 for k in (ka, kv, kb)), "three distinct keys")
    lst = subprocess.run([ENCLAVED, "keys", "list", "--data-dir", DATA], capture_output=True, text=True)
    check(lst.returncode == 0 and lst.stdout.count("acme") == 2 and ka not in lst.stdout,
          f"keys list shows keys, not secrets: {lst.stdout}")

    # flags: bad flag → 2; auth disabled on a non-loopback address → refused.
    r = subprocess.run([ENCLAVED, "--bogus"], capture_output=True, text=True)
    check(r.returncode == 2 and "usage" in r.stderr, f"bad flag → exit 2 with usage ({r.returncode})")
    r = subprocess.run([ENCLAVED, "--auth", "disabled", "--listen", "0.0.0.0:0", "--backend", "simulator",
                        "--data-dir", os.path.join(WORK, "d2")], capture_output=True, text=True, timeout=30)
    check(r.returncode != 0 and "loopback" in r.stderr, f"auth disabled off loopback refused: {r.stderr}")
    r = subprocess.run([ENCLAVED, "--backend", "kubernetes", "--data-dir", os.path.join(WORK, "d3")],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode != 0 and "kubernetes" in r.stderr, "kubernetes backend refused with a message")

    check_auth_disabled_json_logs()

    log = open(os.path.join(WORK, "server.log"), "w")
    env = dict(os.environ, ENCLAVE_AUTH="keys")
    server = subprocess.Popen([ENCLAVED, "--listen", f"127.0.0.1:{PORT}", "--data-dir", DATA,
                               "--backend", "simulator"], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        for _ in range(200):
            try:
                st, j, _, _ = call("GET", "/v1/healthz")
                if st == 200:
                    break
            except Exception:
                pass
            if server.poll() is not None:
                raise SystemExit("enclaved exited at start: " + open(os.path.join(WORK, "server.log")).read())
            time.sleep(0.1)
        for section in (lambda: run_api_checks(ka, kv, kb), lambda: run_cli_checks(ka),
                        lambda: run_wire_checks(ka)):
            try:
                section()
            except Exception:
                check(False, "section raised:\n" + traceback.format_exc())
        check(server.poll() is None, "server still running")
        server.send_signal(signal.SIGTERM)
        try:
            rc = server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            rc = None
            server.kill()
        check(rc == 0, f"SIGTERM → exit 0 (got {rc})")
    finally:
        if server.poll() is None:
            server.kill()
        log.close()
    server_log = open(os.path.join(WORK, "server.log")).read()
    for k in (ka, kv, kb):
        check(k not in server_log, "an API key appeared in the server log")
    check(not any("eyJ" in t for t in seen), "a JWT appeared in a response")
    if failures:
        print("--- server log tail ---\n" + server_log[-3000:])
    print(f"{checks - len(failures)}/{checks} checks passed")
    return 1 if failures else 0


def check_auth_disabled_json_logs():
    port = free_port()
    p = subprocess.Popen([ENCLAVED, "--listen", f"127.0.0.1:{port}", "--data-dir", os.path.join(WORK, "d4"),
                          "--backend", "simulator", "--auth", "disabled", "--log-format", "json"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ok = False
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/sessions", timeout=2) as r:
                ok = r.status == 200
                break
        except Exception:
            time.sleep(0.1)
    check(ok, "auth disabled: GET /v1/sessions without a key → 200")
    p.send_signal(signal.SIGTERM)
    try:
        out, _ = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    check(p.returncode == 0, f"auth-disabled server exits 0 on SIGTERM ({p.returncode})")
    lines = [l for l in out.splitlines() if l.strip() and not l.startswith("[libprotobuf")]
    parsed = []
    for l in lines:
        try:
            parsed.append(json.loads(l))
        except Exception:
            check(False, f"--log-format json line is not JSON: {l!r}")
    check(any(x.get("level") == "warning" and "DISABLED" in x.get("msg", "") for x in parsed),
          f"auth-disabled warning logged: {lines[:5]}")


def run_api_checks(ka, kv, kb):
    st, j, ctype, _ = call("GET", "/v1/healthz")
    check(st == 200 and j == {"status": "ok", "backend": "simulator"}, f"healthz {st} {j}")
    st, _, ctype, text = call("GET", "/metrics", key=ka)
    check(st == 200 and ctype.startswith("text/plain") and b"version=0.0.4" in ctype.encode(), f"metrics {st} {ctype}")
    st, j, _, _ = call("GET", "/metrics")
    expect_error("metrics without a key", st, j, 401, "unauthenticated")
    st, j, _, _ = call("GET", "/v1/openapi.json")
    check(st == 200 and j.get("openapi", "").startswith("3.") and "/v1/sessions/{id}/exec" in j["paths"], "openapi")

    st, _, ctype, text = call("GET", "/ui/")
    check(st == 200 and ctype.startswith("text/html") and b"<html" in text, f"/ui/ {st} {ctype}")

    # auth
    st, j, _, _ = call("GET", "/v1/sessions")
    expect_error("no key", st, j, 401, "unauthenticated")
    st, j, _, _ = call("GET", "/v1/sessions", key="enc_" + "0" * 48)
    expect_error("unknown key", st, j, 401)
    st, j, _, _ = call("GET", "/v1/sessions", headers={"Authorization": "Basic abc"})
    expect_error("basic auth", st, j, 401)
    st, j, _, _ = call("GET", "/v1/sessions", headers={"X-API-KEY": ka})
    check(st == 200, f"X-API-KEY accepted: {st}")
    st, j, _, _ = call("POST", "/v1/sessions", {"code": "print(1)", "language": "python"}, key=kv)
    expect_error("viewer creates a session", st, j, 403)

    # batch session, happy path
    code = '#@sim stdout="hello"\n#@sim result={"n": 7}\nprint("hello")\n'
    st, s, _, _ = call("POST", "/v1/sessions", {"code": code, "language": "python", "name": "it"}, key=ka)
    check(st == 201 and s.get("orgId") == "acme" and len(s.get("id", "")) == 32, f"create session {st} {s}")
    sid = s["id"]
    for f in ("id", "orgId", "createdBy", "phase", "execMode", "language", "limits", "createdAt", "turns", "tornDown"):
        check(f in s, f"session has {f}")
    s = wait_terminal(sid, ka)
    check(s is not None and s["phase"] == "succeeded", f"batch session succeeded: {s}")
    st, r, _, _ = call("GET", f"/v1/sessions/{sid}/result", key=ka)
    check(st == 200 and "hello" in r.get("stdout", "") and r.get("exitCode") == 0 and "truncated" in r
          and "json" in r, f"result {st} {r}")
    st, a, _, _ = call("GET", f"/v1/sessions/{sid}/audit", key=ka)
    ev = a.get("events", []) if st == 200 else []
    check(st == 200 and ev and ev[0].get("seq") == 1 and isinstance(ev[0].get("seq"), int), f"audit {st} {a}")
    check(all(e.get("hash") and "prevHash" in e and e.get("type") and e.get("at") for e in ev), "audit event fields")
    check(any(e.get("type") == "session_created" for e in ev), "audit has session_created")
    st, l, _, _ = call("GET", "/v1/sessions?limit=1000", key=ka)
    check(st == 200 and any(x["id"] == sid for x in l.get("sessions", [])) and "nextCursor" in l, f"list {st}")
    st, l, _, _ = call("GET", "/v1/sessions?phase=succeeded&limit=5", key=ka)
    check(st == 200 and all(x["phase"] == "succeeded" for x in l.get("sessions", [])), "list by phase")
    st, j, _, _ = call("GET", "/v1/sessions?limit=0", key=ka)
    expect_error("limit=0", st, j, 400, field="limit")
    st, j, _, _ = call("GET", "/v1/sessions?phase=sleeping", key=ka)
    expect_error("bad phase", st, j, 400, field="phase")

    # SSE on an ended session: recorded audit events, then end, then the server closes.
    req = urllib.request.Request(BASE + f"/v1/sessions/{sid}/events", headers={"Authorization": "Bearer " + ka})
    text, ctype = "", ""
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            ctype = resp.headers.get("Content-Type", "")
            text = resp.read().decode()
    except Exception as e:
        text = f"(no end of stream: {e})"
    seen.append(text)
    check(ctype.startswith("text/event-stream"), f"events content type {ctype}")
    check("event: audit\ndata: {" in text and "event: end" in text, f"events stream: {text[:300]}")

    # failing and killed workloads
    st, s, _, _ = call("POST", "/v1/sessions", {"code": "#@sim exit=3\n", "language": "python"}, key=ka)
    s = wait_terminal(s["id"], ka)
    check(s and s["phase"] == "failed" and s.get("exitCode") == 3, f"exit 3 → failed: {s}")

    # validation errors (the engine names the field; the HTTP layer names unknown fields)
    bad = [
        (b"{not json", None), (b"[]", None), (b"", None),
        (json.dumps({"language": "python"}).encode(), "code"),
        (json.dumps({"code": "1", "language": "cobol"}).encode(), "language"),
        (json.dumps({"code": "1", "language": "python", "limits": {"memoryMb": -5}}).encode(), "memoryMb"),
        (json.dumps({"code": "1", "language": "python", "limits": {"memoryMb": "lots"}}).encode(), "memoryMb"),
        (json.dumps({"code": "1", "language": "python", "bogusField": 1}).encode(), "bogusField"),
        (json.dumps({"code": "1", "language": "python", "execMode": "forever"}).encode(), "execMode"),
        (json.dumps({"code": "1", "egress": {"mode": "allow_list", "allow": ["not a host"]}}).encode(), "allow"),
        ("{\"code\": \"\ud800\"}".encode("utf-8", "surrogatepass"), None),
        (b'{"code": "\\ud800"}', None),
    ]
    for raw, field in bad:
        st, j, _, _ = call("POST", "/v1/sessions", raw=raw, key=ka)
        expect_error(f"bad body {raw[:40]!r}", st, j, 400, field=field)
    st, j, _, _ = call("POST", "/v1/sessions", raw=b'{"code": "' + b"x" * (2 << 20) + b'"}', key=ka)
    expect_error("2 MiB body", st, j, 413)
    st, j, _, _ = call("POST", "/v1/fleets", {"members": []}, key=ka)
    expect_error("empty fleet", st, j, 400, field="members")

    # not found / method not allowed
    for p in ["/v1/sessions/%00%ff", "/v1/sessions/does-not-exist", "/v1/sessions/" + "0" * 32,
              "/v1/sessions/" + "A" * 32 + "/result", "/v1/fleets/" + "0" * 32]:
        st, j, _, _ = call("GET", p, key=ka)
        expect_error(f"GET {p}", st, j, 404, "not_found")
    st, j, _, _ = call("GET", "/v1/nope", key=ka)
    expect_error("unknown path", st, j, 404)
    st, j, _, _ = call("PATCH", "/v1/sessions", raw=b"{}", key=ka)
    expect_error("PATCH /v1/sessions", st, j, 405)

    # interactive session: exec turns, teardown (idempotent), 409 afterwards
    st, s, _, _ = call("POST", "/v1/sessions", {"code": "x = 1", "language": "python", "execMode": "interactive"}, key=ka)
    check(st == 201 and s.get("execMode") == "interactive", f"create interactive {st} {s}")
    iid = s["id"]
    st, r, _, _ = call("GET", f"/v1/sessions/{iid}/result", key=ka)
    check(st == 200 and "exitCode" in r and r["exitCode"] is None and r.get("final") is False, f"result while live: {r}")
    s = wait_phase(iid, ka, "running")
    check(s is not None, "interactive session reaches running")
    st, t, _, _ = call("POST", f"/v1/sessions/{iid}/exec", {"code": '#@sim stdout="two"\nprint(2)'}, key=ka)
    check(st == 200 and t.get("turn") == 1 and "two" in t.get("stdout", "") and t.get("exitCode") == 0
          and isinstance(t.get("durationMs"), int), f"exec turn 1: {st} {t}")
    st, t, _, _ = call("POST", f"/v1/sessions/{iid}/exec", {"code": "print(3)", "timeoutMs": 5000}, key=ka)
    check(st == 200 and t.get("turn") == 2, f"exec turn 2: {st} {t}")
    st, j, _, _ = call("POST", f"/v1/sessions/{iid}/exec", {"code": "1", "bogus": 1}, key=ka)
    expect_error("exec unknown field", st, j, 400, field="bogus")
    st, j, _, _ = call("POST", f"/v1/sessions/{iid}/exec", {"code": "1"}, key=kv)
    expect_error("viewer exec", st, j, 403)
    # live events while the session runs: a turn's output arrives, then the end after teardown
    import threading
    frames = []
    subscribed = threading.Event()
    def listen():
        req = urllib.request.Request(BASE + f"/v1/sessions/{iid}/events", headers={"Authorization": "Bearer " + ka})
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                for line in resp:
                    frames.append(line.decode())
                    # The history (session_created, …) is sent once the live subscription is in
                    # place: from the first frame on, nothing published is missed.
                    if line.startswith(b"event: audit"):
                        subscribed.set()
        except Exception as e:
            frames.append(f"(error {e})")
        subscribed.set()
    th = threading.Thread(target=listen)
    th.start()
    check(subscribed.wait(10) and frames and not frames[0].startswith("(error"),
          f"subscribed to the event stream before acting: {frames[:2]}")
    st, t, _, _ = call("POST", f"/v1/sessions/{iid}/exec", {"code": '#@sim stdout="live out"\nprint(1)'}, key=ka)
    check(st == 200 and t.get("turn") == 3, f"exec turn 3: {st} {t}")
    # The turn's output was published before its answer; the teardown's end closes the stream.
    st1, s1, _, _ = call("DELETE", f"/v1/sessions/{iid}", key=ka)
    th.join(timeout=20)
    live = "".join(frames)
    seen.append(live)
    check(not th.is_alive(), "event stream ends after teardown")
    check("event: output" in live and "live out" in live, f"live output event: {live[-500:]!r}")
    check("exec_turn" in live and "event: end" in live, f"live audit + end events: {live[-300:]!r}")

    st2, s2, _, _ = call("DELETE", f"/v1/sessions/{iid}", key=ka)
    check(st1 == 200 and st2 == 200 and s2.get("id") == iid, f"teardown idempotent: {st1} {st2}")
    s = wait_terminal(iid, ka)
    check(s and s["phase"] == "killed" and s.get("killReason") == "torn_down", f"torn down → killed: {s}")
    st, j, _, _ = call("POST", f"/v1/sessions/{iid}/exec", {"code": "1"}, key=ka)
    expect_error("exec on ended session", st, j, 409, "session_not_running")

    # fleets
    members = [{"code": f"print({i})", "language": "python"} for i in range(5)]
    members.append({"code": "#@sim exit=1\n", "language": "python"})
    st, f, _, _ = call("POST", "/v1/fleets", {"name": "it-fleet", "members": members}, key=ka)
    check(st == 201 and len(f.get("members", [])) == 6 and f.get("orgId") == "acme", f"create fleet {st} {f}")
    fid = f["id"]
    t0 = time.time()
    while time.time() - t0 < 20:
        st, f, _, _ = call("GET", f"/v1/fleets/{fid}", key=ka)
        if f.get("phase") in ("completed", "partial", "failed"):
            break
        time.sleep(0.05)
    check(f.get("phase") == "partial" and f["counts"]["succeeded"] == 5 and f["counts"]["failed"] == 1,
          f"fleet partial: {f}")
    st, l, _, _ = call("GET", "/v1/fleets", key=ka)
    check(st == 200 and any(x["id"] == fid for x in l.get("fleets", [])), "list fleets")
    st, l, _, _ = call("GET", f"/v1/sessions?fleetId={fid}", key=ka)
    check(st == 200 and len(l.get("sessions", [])) == 6, f"list sessions by fleet: {len(l.get('sessions', []))}")
    st, f2, _, _ = call("DELETE", f"/v1/fleets/{fid}", key=ka)
    check(st == 200 and f2.get("id") == fid, f"delete fleet {st}")
    st, j, _, _ = call("POST", "/v1/fleets", {"members": [{"language": "python"}]}, key=ka)
    expect_error("fleet member without code", st, j, 400, field="code")

    # tenancy: globex sees none of acme's things
    for m, p, b in [("GET", f"/v1/sessions/{sid}", None), ("GET", f"/v1/sessions/{sid}/result", None),
                    ("GET", f"/v1/sessions/{sid}/audit", None), ("GET", f"/v1/sessions/{sid}/events", None),
                    ("POST", f"/v1/sessions/{iid}/exec", {"code": "x=1"}),
                    ("DELETE", f"/v1/sessions/{sid}", None), ("GET", f"/v1/fleets/{fid}", None),
                    ("DELETE", f"/v1/fleets/{fid}", None)]:
        st, j, _, _ = call(m, p, b, key=kb)
        expect_error(f"globex {m} {p}", st, j, 404, "not_found")
    st, l, _, _ = call("GET", "/v1/sessions", key=kb)
    check(st == 200 and sid not in json.dumps(l), "globex session list does not leak")
    st, l, _, _ = call("GET", f"/v1/sessions?fleetId={fid}", key=kb)
    check(st == 200 and not l.get("sessions"), "globex list by acme's fleet is empty")
    st, l, _, _ = call("GET", "/v1/fleets", key=kb)
    check(st == 200 and fid not in json.dumps(l), "globex fleet list does not leak")


def run_cli_checks(ka):
    prog = os.path.join(WORK, "prog.py")
    with open(prog, "w") as f:
        f.write('#@sim stdout="from cli"\n#@sim stderr="warn"\n#@sim exit=4\n')
    r = cli("run", prog, key=ka)
    check(r.returncode == 4 and "from cli" in r.stdout and "warn" in r.stderr, f"cli run: {r.returncode} {r.stdout!r} {r.stderr!r}")
    r = cli("run", "-", "--json", key=ka, stdin="print(1)\n")
    j = json.loads(r.stdout) if r.returncode == 0 else {}
    check(r.returncode == 0 and j.get("session", {}).get("phase") == "succeeded", f"cli run --json: {r.returncode} {r.stdout[:200]}")
    sid = j.get("session", {}).get("id", "")
    r = cli("run", "-", "--timeout", "1", key=ka, stdin="#@sim hang\n")
    check(r.returncode == 137 and "wall_clock_exceeded" in r.stderr, f"cli run killed: {r.returncode} {r.stderr!r}")
    r = cli("get", sid, key=ka)
    check(r.returncode == 0 and "phase: succeeded" in r.stdout, f"cli get: {r.stdout!r}")
    r = cli("audit", sid, key=ka)
    check(r.returncode == 0 and "session_created" in r.stdout, f"cli audit: {r.stdout!r}")
    r = cli("events", sid, key=ka)
    check(r.returncode == 0 and "session_created" in r.stdout and "(end of session)" in r.stdout,
          f"cli events: {r.returncode} {r.stdout[-300:]!r} {r.stderr!r}")
    r = cli("events", sid, "--json", key=ka)
    check(r.returncode == 0 and all(json.loads(l)["event"] in ("audit", "output", "end") for l in r.stdout.splitlines()),
          f"cli events --json: {r.stdout[:200]!r}")
    r = cli("get", "0" * 32, key=ka)
    check(r.returncode == 1 and "not_found" in r.stderr, f"cli get missing: {r.returncode} {r.stderr!r}")
    r = cli("get", sid)
    check(r.returncode == 1 and "unauthenticated" in r.stderr, f"cli without key: {r.stderr!r}")
    r = cli("run", "-", "--interactive", key=ka, stdin="x = 1\n")
    iid = r.stdout.strip()
    check(r.returncode == 0 and len(iid) == 32, f"cli run --interactive: {r.stdout!r} {r.stderr!r}")
    wait_phase(iid, ka, "running")
    r = cli("exec", iid, '#@sim stdout="turn out"\nprint(1)', key=ka)
    check(r.returncode == 0 and "turn out" in r.stdout, f"cli exec: {r.returncode} {r.stdout!r} {r.stderr!r}")
    r = cli("kill", iid, key=ka)
    check(r.returncode == 0 and "tornDown" in r.stdout, f"cli kill: {r.stdout!r}")
    r = cli("exec", iid, "print(1)", key=ka)
    check(r.returncode == 1 and "session_not_running" in r.stderr, f"cli exec after kill: {r.stderr!r}")
    jsonl = os.path.join(WORK, "fleet.jsonl")
    with open(jsonl, "w") as f:
        for i in range(23):
            f.write(json.dumps({"code": f"print({i})", "language": "python"}) + "\n")
    r = cli("fleet", "submit", jsonl, key=ka)
    fid = r.stdout.strip()
    check(r.returncode == 0 and len(fid) == 32, f"cli fleet submit: {r.stdout!r} {r.stderr!r}")
    r = cli("fleet", "watch", fid, "--interval-ms", "50", key=ka)
    check(r.returncode == 0 and "phase: completed" in r.stdout and "ooooooooo" in r.stdout
          and "legend" in r.stdout and "\x1b[" not in r.stdout, f"cli fleet watch: {r.returncode} {r.stdout[-400:]!r}")
    r = cli("fleet", "get", fid, "--json", key=ka)
    check(r.returncode == 0 and json.loads(r.stdout)["id"] == fid, "cli fleet get --json")
    r = cli("bogus")
    check(r.returncode == 2, "cli unknown verb → 2")
    r = cli("run", key=ka)
    check(r.returncode == 2 and "usage" in r.stderr, "cli run without file → usage, 2")


def run_wire_checks(ka):
    # garbage bytes, an oversized head, a chunked body, keep-alive: the server stays up
    s = socket.create_connection(("127.0.0.1", PORT))
    s.sendall(b"\x00\xff GARBAGE\r\n\r\n")
    s.settimeout(5)
    try:
        data = s.recv(1000)
        check(data.startswith(b"HTTP/1.1 400"), f"garbage → 400: {data[:60]!r}")
    except Exception as e:
        check(False, f"garbage: no answer ({e})")
    s.close()
    s = socket.create_connection(("127.0.0.1", PORT))
    s.sendall(b"GET /v1/healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
    s.settimeout(5)
    data = s.recv(1000)
    check(data.startswith(b"HTTP/1.1 431"), f"9 KB head → 431: {data[:60]!r}")
    s.close()
    body = json.dumps({"code": "print(1)", "language": "python"}).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    s = socket.create_connection(("127.0.0.1", PORT))
    s.sendall(b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ka.encode() +
              b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked +
              b"GET /v1/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(5)
    data = b""
    t0 = time.time()
    while data.count(b"HTTP/1.1 ") < 2 and time.time() - t0 < 5:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    seen.append(data.decode("utf-8", "replace"))
    check(data.startswith(b"HTTP/1.1 201") and b"HTTP/1.1 200" in data, f"chunked body + keep-alive: {data[:80]!r}")
    s.close()
    st, j, _, _ = call("GET", "/v1/healthz")
    check(st == 200, "server alive after bad input")


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    sys.exit(rc)
