#!/usr/bin/env python3
"""Issue 16 (sandbox boundary, part B) on a real enclaved with gVisor: every frame from inside the
sandbox is untrusted input, and the cumulative budget meters what the sandbox really used.

Each hostile payload in tests/system/payloads/interactive/ runs beside a clean sibling session that must
keep its exact results:
- forged_live_flood: 600 MiB of forged live-output frames in one turn, watched at once through
  SSE (a fast reader, a reader that never reads, and `enclave events`) and again through the E2B
  `POST /execute` NDJSON stream read slowly. Every route carries at most the 1 MiB cap, marked
  truncated; enclaved's peak RSS grows by less than 64 MiB (printed).
- forged_done_burn: a forged "done" frame ends the turn's reply at once, then the code burns CPU;
  the host's CPU meter must kill the session with turn_budget_exceeded (audited with both
  figures) before the ESCAPED it leaves in /tmp can be printed by a next turn.
- background_burn: a 1 ms turn starts a thread that burns CPU between turns; same outcome.

usage: frames_test.py BIN_DIR
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks, Server, wait

BIN = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
PAYLOADS = os.path.join(HERE, "payloads", "interactive")
BUDGET_MS = 3000
CAP = 1 << 20
check = Checks()
work = tempfile.mkdtemp(prefix="enclave-frames-")
data = os.path.join(work, "data")


def payload(name):
    return open(os.path.join(PAYLOADS, name + ".py")).read()


def new_key(*extra):
    out = subprocess.run([f"{BIN}/enclaved", "keys", "create", "--org", "acme", "--role", "owner",
                          "--data-dir", data, *extra], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


key, e2b_key = new_key(), new_key("--e2b")
log_path = os.path.join(work, "server.log")
server = Server(BIN, data, "gvisor", log=open(log_path, "wb"), auth="keys",
                env={"ENCLAVE_INTERACTIVE_MAX_CUMULATIVE_MS": str(BUDGET_MS)},
                args=("--max-concurrency", "6"))


def call(method, path, body=None, headers=None, timeout=60):
    h = {"Content-Type": "application/json", "Authorization": "Bearer " + key}
    h.update(headers or {})
    req = urllib.request.Request(server.base + path, method=method, headers=h,
                                 data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")
    except Exception as e:  # noqa: BLE001 - no answer at all
        return 0, {"error": str(e)}


def rss_kib(field):
    with open(f"/proc/{server.p.pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def interactive_session(name):
    st, s = call("POST", "/v1/sessions", {"execMode": "interactive", "language": "python",
                                          "name": name})
    check(st == 201, f"{name}: created ({st} {s})")
    sid = s.get("id", "")
    wait(lambda: call("GET", f"/v1/sessions/{sid}")[1].get("phase") == "running", 120, 0.2)
    st, s = call("GET", f"/v1/sessions/{sid}")
    check(s.get("phase") == "running", f"{name}: running ({st} {s})")
    return sid


def exec_turn(sid, code, timeout=180):
    t0 = time.monotonic()
    st, r = call("POST", f"/v1/sessions/{sid}/exec", {"code": code}, timeout=timeout)
    return st, r, (time.monotonic() - t0) * 1000


class SseWatcher(threading.Thread):
    """Reads /v1/sessions/{id}/events: live output bytes and truncation markers per turn."""

    def __init__(self, sid, read=True):
        super().__init__(daemon=True)
        self.sid, self.read = sid, read
        self.out_bytes = {}  # turn -> stdout bytes received live
        self.truncated = set()  # (turn, stream)
        self.escaped = 0
        self.opened = threading.Event()
        self.sock = None

    def run(self):
        s = socket.create_connection(("127.0.0.1", server.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall((f"GET /v1/sessions/{self.sid}/events HTTP/1.1\r\nHost: x\r\n"
                   f"Authorization: Bearer {key}\r\nAccept: text/event-stream\r\n\r\n").encode())
        self.sock = s
        self.opened.set()
        if not self.read:
            return  # never reads: the server must cut it off or bound what it holds for it
        buf = b""
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b"\n\n" in buf:
                block, buf = buf.split(b"\n\n", 1)
                lines = block.decode(errors="replace").split("\n")
                event = next((l[7:] for l in lines if l.startswith("event: ")), "")
                body = "\n".join(l[6:] for l in lines if l.startswith("data: "))
                if event != "output" or not body.startswith("{"):
                    continue
                d = json.loads(body)
                if d.get("stream") == "stdout":
                    self.out_bytes[d["turn"]] = self.out_bytes.get(d["turn"], 0) + len(d["data"])
                    self.escaped += d["data"].count("ESCAPED")
                if d.get("truncated"):
                    self.truncated.add((d["turn"], d["stream"]))


def e2b_execute_slowly(sandbox_id, token, code):
    """POST /execute, reading the NDJSON answer in small bites with pauses: (stdout bytes, lines)."""
    s = socket.create_connection(("127.0.0.1", server.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    body = json.dumps({"code": code}).encode()
    s.sendall((f"POST /execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               f"E2b-Sandbox-Id: {sandbox_id}\r\nX-Access-Token: {token}\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)
    raw = b""
    s.settimeout(240)
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        raw += chunk
        time.sleep(0.001)  # a slow client (the flood is generated far faster than this)
    s.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    body = b""
    while rest:  # de-chunk (Transfer-Encoding: chunked)
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        body, rest = body + rest[:size], rest[size + 2:]
    stdout_bytes, lines = 0, []
    for line in body.split(b"\n"):
        if line.startswith(b"{"):
            d = json.loads(line)
            lines.append(d)
            if d.get("type") == "stdout":
                stdout_bytes += len(d.get("text", ""))
    return head.split(b"\r\n")[0].decode(), stdout_bytes, lines


sids = []
try:
    # ---- the clean sibling: exact results before, during and after -----------------------------
    clean = interactive_session("clean-sibling")
    sids.append(clean)
    st, r, _ = exec_turn(clean, "x = 41")
    st2, r2, _ = exec_turn(clean, "print(x + 1)")
    check(st == 200 and st2 == 200 and r2.get("stdout") == "42\n", f"clean: 42 ({st2} {r2})")

    # ---- 1. a 600 MiB forged live flood through SSE, `enclave events` and E2B /execute ----------
    flood = interactive_session("forged-live-flood")
    sids.append(flood)
    fast, stalled = SseWatcher(flood), SseWatcher(flood, read=False)
    fast.start(), stalled.start()
    fast.opened.wait(10), stalled.opened.wait(10)
    cli_out = open(os.path.join(work, "cli-events.out"), "wb")
    cli = subprocess.Popen([f"{BIN}/enclave", "events", flood, "--json"], stdout=cli_out,
                           stderr=subprocess.DEVNULL,
                           env=dict(os.environ, ENCLAVE_BASE_URL=server.base, ENCLAVE_API_KEY=key))
    rss_before = rss_kib("VmRSS")
    st, r, ms = exec_turn(flood, payload("forged_live_flood"), timeout=300)
    check(st == 200, f"flood: the turn answered ({st} {str(r)[:300]})")
    check(r.get("stdout") == "flood done\n", f"flood: its stored stdout is its own ({r.get('stdout', '')[:80]!r})")
    forged = json.loads(r.get("json") or "{}") if isinstance(r.get("json"), str) else r.get("json") or {}
    check(forged.get("forgedBytes") == 600 << 20, f"flood: 600 MiB were forged ({forged})")
    turn = r.get("turn", 1)
    wait(lambda: (turn, "stdout") in fast.truncated, 30)
    check(fast.out_bytes.get(turn, 0) <= CAP, f"flood: SSE carried {fast.out_bytes.get(turn, 0)} live bytes ≤ {CAP}")
    check((turn, "stdout") in fast.truncated, "flood: SSE marked the live stdout truncated")

    # The same flood through E2B's NDJSON route, read slowly.
    req = urllib.request.Request(server.base + "/sandboxes", method="POST",
                                 data=json.dumps({"templateID": "base", "timeout": 300}).encode(),
                                 headers={"Content-Type": "application/json", "X-API-KEY": e2b_key})
    with urllib.request.urlopen(req, timeout=120) as resp:
        sbx = json.loads(resp.read())
    sids.append(sbx["sandboxID"])
    status, e2b_out, e2b_lines = e2b_execute_slowly(sbx["sandboxID"], sbx["envdAccessToken"],
                                                    payload("forged_live_flood"))
    check(" 200 " in status and any(l.get("type") == "end_of_execution" for l in e2b_lines),
          f"e2b: /execute answered to its end ({status}, {len(e2b_lines)} lines, "
          f"{[l.get('type') for l in e2b_lines][-4:]})")
    check(e2b_out <= CAP + 64, f"e2b: /execute carried {e2b_out} stdout bytes ≤ the cap + its own line")

    hwm = rss_kib("VmHWM")
    growth_mib = (hwm - rss_before) / 1024
    print(f"FIGURE forged flood: 600 MiB forged through SSE (fast + stalled reader), "
          f"`enclave events` and E2B /execute (slow reader): enclaved RSS {rss_before / 1024:.1f} MiB "
          f"before, peak {hwm / 1024:.1f} MiB: growth {growth_mib:.1f} MiB; turn answered in "
          f"{ms:.0f} ms; SSE live stdout {fast.out_bytes.get(turn, 0)} B; E2B stdout {e2b_out} B",
          flush=True)
    check(growth_mib < 64, f"flood: enclaved peak RSS grew {growth_mib:.1f} MiB < 64 MiB")
    cli.terminate()
    cli.wait(10)
    cli_out.close()
    cli_bytes = os.path.getsize(os.path.join(work, "cli-events.out"))
    check(cli_bytes <= 8 * CAP, f"flood: `enclave events` printed {cli_bytes} B (≤ 8 MiB, JSON-escaped)")
    st, r2, _ = exec_turn(clean, "print(x + 1)")
    check(st == 200 and r2.get("stdout") == "42\n", "clean: still 42 after the flood")

    # ---- 2. a forged "done" frame, then CPU; 3. CPU burnt by a thread between turns ------------
    outcomes = {}
    for name in ("forged_done_burn", "background_burn"):
        sid = interactive_session(name)
        sids.append(sid)
        st, r, ms = exec_turn(sid, payload(name))
        outcomes[name] = (sid, time.monotonic())
        print(f"FIGURE {name}: the turn's reply came after {ms:.0f} ms, durationMs "
              f"{r.get('durationMs')} (status {st})", flush=True)
        check(st == 200, f"{name}: the turn answered at once ({st} {r})")
    for name, (sid, t0) in outcomes.items():
        ended = wait(lambda: call("GET", f"/v1/sessions/{sid}")[1].get("phase") == "killed", 170, 0.2)
        s = call("GET", f"/v1/sessions/{sid}")[1]
        check(ended and s.get("killReason") == "turn_budget_exceeded",
              f"{name}: killed with turn_budget_exceeded ({s.get('phase')}/{s.get('killReason')})")
        events = call("GET", f"/v1/sessions/{sid}/audit")[1].get("events", [])
        kill = next((e for e in events if e["type"] == "quota_killed"), {})
        d = kill.get("data", {})
        check(d.get("cpuMs", 0) > BUDGET_MS and d.get("turnMsTotal", BUDGET_MS) < BUDGET_MS,
              f"{name}: audited with both figures ({d})")
        check(any(e["type"] == "cpu_metered" for e in events), f"{name}: cpu_metered in the audit")
        print(f"FIGURE {name}: killed {time.monotonic() - t0:.1f} s after the reply; meter at kill: "
              f"CPU {d.get('cpuMs')} ms vs budget {BUDGET_MS} ms (overshoot "
              f"{d.get('cpuMs', 0) - BUDGET_MS} ms), turns' wall {d.get('turnMsTotal')} ms", flush=True)
        st, r, _ = exec_turn(sid, "print(open('/tmp/escaped').read())")
        check(st == 409 and "ESCAPED" not in json.dumps(r), f"{name}: no next turn prints ESCAPED ({st})")

    st, r2, _ = exec_turn(clean, "print(x + 1)")
    check(st == 200 and r2.get("stdout") == "42\n", "clean: still 42 after the burners")
    s = call("GET", f"/v1/sessions/{clean}")[1]
    check(s.get("phase") == "running", f"clean: still running ({s.get('phase')})")
    events = call("GET", f"/v1/sessions/{clean}/audit")[1].get("events", [])
    cpu = max([e["data"].get("cpuMs", 0) for e in events if e["type"] in ("exec_turn", "cpu_metered")] or [0])
    print(f"FIGURE clean sibling: 4 turns, sandbox CPU metered {cpu} ms", flush=True)
    check(not any(e["type"] == "quota_killed" for e in events), "clean: never killed")
finally:
    for sid in sids:
        call("DELETE", f"/v1/sessions/{sid}", timeout=60)
    code = server.stop()
check(code == 0, "enclaved stopped cleanly on SIGTERM")
if check.failed:
    print("server log:", log_path)
    with open(log_path, errors="replace") as f:
        print(f.read()[-4000:])
check.finish()
