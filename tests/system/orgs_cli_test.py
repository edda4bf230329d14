#!/usr/bin/env python3
"""`enclaved orgs set|list` end to end: settings recorded offline, bad input refused with a
message naming the flag, and a running server (simulator, ceiling 1) that refuses an org's
create past its max-queued with 429 quota_exceeded naming maxQueued, while session_queued
records the org's position (orgQueued).   usage: orgs_cli_test.py BIN_DIR"""
import json, os, shutil, socket, subprocess, sys, tempfile, time, urllib.error, urllib.request

bin_dir = sys.argv[1]
enclaved = os.path.join(bin_dir, "enclaved")
work = tempfile.mkdtemp(prefix="enclave-orgs.")
data = os.path.join(work, "data")
fails = []


def run(*args):
    p = subprocess.run([enclaved, *args, "--data-dir", data], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


rc, out = run("orgs", "set", "acme", "--max-queued", "2", "--weight", "3")
if rc != 0 or "max queued 2" not in out or "weight 3" not in out: fails.append(f"orgs set → {rc} {out!r}")
rc, out = run("orgs", "set", "acme", "--max-live", "1")  # the other settings are kept
if rc != 0 or "max queued 2" not in out or "max live 1" not in out: fails.append(f"orgs set --max-live → {rc} {out!r}")
for bad, word in ((["orgs", "set", "acme", "--weight", "0"], "--weight"),
                  (["orgs", "set", "acme", "--max-queued", "-1"], "--max-queued"),
                  (["orgs", "set", "acme", "--max-live", "x"], "--max-live"),
                  (["orgs", "set", "bad org", "--weight", "1"], "ORG"),
                  (["orgs", "set", "acme"], "at least one"),
                  (["orgs", "frob"], "unknown verb")):
    rc, out = run(*bad)
    if rc == 0 or word not in out: fails.append(f"{' '.join(bad)} → rc {rc}, {out[:160]!r} (want a refusal naming {word})")
rc, out = run("orgs", "list")
row = [l.split() for l in out.splitlines() if l.startswith("acme")]
if rc != 0 or row != [["acme", "3", "2", "1"]]: fails.append(f"orgs list → {rc} {out!r}")
rc, out = run("keys", "create", "--org", "acme", "--role", "owner")
key = out.split()[-1] if rc == 0 else ""

s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
base = f"http://127.0.0.1:{port}"
server = subprocess.Popen([enclaved, "--listen", f"127.0.0.1:{port}", "--data-dir", data, "--backend",
                           "simulator", "--max-concurrency", "1"], stdout=open(os.path.join(work, "server.log"), "w"),
                          stderr=subprocess.STDOUT)


def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r: return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e: return e.code, json.loads(e.read() or b"{}")


def until(pred, limit=30.0):  # bounded poll of the server's committed state
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if pred(): return True
        time.sleep(0.02)
    return pred()


try:
    def up():
        try: return call("GET", "/v1/healthz")[0] == 200
        except OSError: return False
    if not until(up): fails.append("server did not answer")
    hang = {"code": "#@sim hang\n", "language": "python"}
    st, f = call("POST", "/v1/fleets", {"members": [hang, hang, hang]})
    if st != 429 or f.get("error", {}).get("code") != "quota_exceeded" or f["error"].get("field") != "maxQueued":
        fails.append(f"a 3-member fleet past max-queued 2 → {st} {f}")
    st, f = call("POST", "/v1/fleets", {"members": [hang, hang]})
    if st != 201: fails.append(f"a 2-member fleet → {st} {f}")
    else:
        queued = lambda: len(call("GET", f"/v1/sessions?fleetId={f['id']}&phase=queued")[1].get("sessions", []))
        if not until(lambda: queued() == 1): fails.append(f"the fleet never had exactly 1 queued: {queued()}")
        st, s1 = call("POST", "/v1/sessions", hang)
        if st != 201: fails.append(f"a session with 1 of 2 queued → {st} {s1}")
        st, s2 = call("POST", "/v1/sessions", hang)
        if st != 429 or s2.get("error", {}).get("field") != "maxQueued": fails.append(f"a session with 2 of 2 queued → {st} {s2}")
        if st == 429 and "2" not in s2["error"].get("message", ""): fails.append(f"429 does not state the limit: {s2}")
        if s1.get("id"):
            until(lambda: any(e["type"] == "session_queued" for e in call("GET", f"/v1/sessions/{s1['id']}/audit")[1].get("events", [])))
            q = [e for e in call("GET", f"/v1/sessions/{s1['id']}/audit")[1].get("events", []) if e["type"] == "session_queued"]
            if not q or q[0]["data"].get("orgQueued") != 2: fails.append(f"session_queued of the session behind 1 member: {q}")
        call("DELETE", f"/v1/fleets/{f['id']}")
finally:
    server.terminate()
    server.wait(timeout=60)
    if not fails: shutil.rmtree(work, ignore_errors=True)
    else: print(open(os.path.join(work, "server.log")).read()[-2000:])
print("; ".join(fails) if fails else "orgs: set/list offline, bad input refused, 429 quota_exceeded past max-queued, orgQueued recorded")
sys.exit(1 if fails else 0)
