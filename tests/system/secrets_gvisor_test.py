#!/usr/bin/env python3
"""Secrets injected at the egress proxy, end to end on gVisor (issue 26), beside a clean sibling.

A local HTTPS upstream (its own CA, passed as ENCLAVE_EGRESS_UPSTREAM_CA) records what it gets;
a plain-HTTP upstream echoes the request headers back (a destination with no secret: never
touched). A hostile workload hunts for the secret — its env, /proc, every file it can read, the
answers of both upstreams (plain HTTP to the secret's host too) — and prints ESCAPED if it finds
it; the upstream must still receive the secret, never the workload's forged header. An interactive
session sees the injection stop the moment the secret is deleted. A secret bound to an upstream
whose certificate does not verify is never sent (502, egress_denied upstream_tls). The clean
sibling keeps its exact result.

usage: secrets_gvisor_test.py BIN_DIR
"""
import http.server
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks, Server, free_port, wait

BIN = sys.argv[1]
if os.geteuid() != 0 or not os.path.exists("/usr/bin/runsc"):
    print("SKIP: needs root and runsc")
    sys.exit(77)

check = Checks()
work = tempfile.mkdtemp(prefix="enclave-secrets-")
SECRET = "s3cr3t-" + os.urandom(8).hex()


def sh(*cmd):
    subprocess.run(cmd, check=True, capture_output=True)


def make_cert(name, ca):
    sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{work}/{name}.key",
       "-out", f"{work}/{name}.csr", "-subj", "/CN=127.0.0.2")
    with open(f"{work}/ext", "w") as f:
        f.write("subjectAltName=IP:127.0.0.2\n")
    sh("openssl", "x509", "-req", "-in", f"{work}/{name}.csr", "-CA", f"{work}/{ca}.pem", "-CAkey",
       f"{work}/{ca}.key", "-CAcreateserial", "-out", f"{work}/{name}.pem", "-days", "2",
       "-extfile", f"{work}/ext")


for ca in ("ca", "rogue-ca"):
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{work}/{ca}.key",
       "-out", f"{work}/{ca}.pem", "-days", "2", "-subj", f"/CN={ca}")
make_cert("good", "ca")
make_cert("rogue", "rogue-ca")

seen = []  # (server, Authorization header, path)


def serve(name, cert, echo):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            seen.append((name, self.headers.get("Authorization"), self.path))
            body = (str(self.headers) if echo else "upstream-ok").encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    s = http.server.ThreadingHTTPServer(("127.0.0.2", 0), H)
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(f"{work}/{cert}.pem", f"{work}/{cert}.key")
        s.socket = ctx.wrap_socket(s.socket, server_side=True)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    return s.server_address[1]


good, rogue, echo = serve("good", "good", False), serve("rogue", "rogue", False), serve("echo", None, True)
G, R, E = f"127.0.0.2:{good}", f"127.0.0.2:{rogue}", f"127.0.0.2:{echo}"

server = Server(BIN, os.path.join(work, "data"), "gvisor",
                log=open(os.path.join(work, "server.log"), "wb"),
                env={"ENCLAVE_EGRESS_PERMIT": "127.0.0.2/32", "ENCLAVE_EGRESS_UPSTREAM_CA": f"{work}/ca.pem",
                     "ENCLAVE_WARM_POOL": "0"})
call = server.call


def run(body):
    st, s = call("POST", "/v1/sessions", body)
    check(st == 201, f"create: {st} {str(s)[:200]}")
    if st != 201:
        return None, {}
    check(wait(lambda: call("GET", f"/v1/sessions/{s['id']}")[1].get("tornDown"), 120), "session ended")
    return s["id"], call("GET", f"/v1/sessions/{s['id']}/result")[1]


HOSTILE = f"""
import glob, os, urllib.request as u
needle = {SECRET[:14][::-1]!r}[::-1]  # not spelled out in this code's own file
found = []
for k, v in os.environ.items():
    if needle in v: found.append("env " + k)
for p in glob.glob('/proc/*/environ') + glob.glob('/proc/*/cmdline'):
    try:
        if needle in open(p, errors='ignore').read(): found.append(p)
    except Exception: pass
for root in ('/tmp', '/opt', '/home', '/etc', '/run', '/var'):
    for d, _, files in os.walk(root):
        for f in files:
            try:
                if needle in open(os.path.join(d, f), errors='ignore').read(): found.append(f)
            except Exception: pass
def get(url, **h):
    try: return u.urlopen(u.Request(url, headers=h), timeout=10).read().decode()
    except Exception as e: return repr(e)
answers = [get('https://{G}/a?token=1', Authorization='Bearer forged-by-workload'),
           get('http://{G}/plain'),  # plain HTTP to the TLS port: no secret must come back
           get('http://{E}/echo', Authorization='Bearer mine')]
for a in answers:
    if needle in a: found.append('answer')
print('ESCAPED' if found else 'contained', found, answers[0])
"""

try:
    st, r = call("POST", "/v1/secrets", {"name": "svc", "value": SECRET, "hosts": [G]})
    check(st == 201 and SECRET not in json.dumps(r), f"secret set: {st} {r}")
    st, r = call("POST", "/v1/secrets", {"name": "rogue", "value": SECRET, "hosts": [R],
                                          "header": "X-Api-Key", "format": "{value}"})
    check(st == 201, f"second secret set: {st}")

    egress = {"mode": "allow_list", "allow": [G, E]}
    sid, res = run({"code": HOSTILE, "secrets": ["svc"], "egress": egress})
    out = res.get("stdout", "")
    check("contained" in out and "ESCAPED" not in out and "upstream-ok" in out,
          f"hostile workload: {out[-300:]!r} {res.get('stderr', '')[-300:]!r}")
    got = [s for s in seen if s[0] == "good"]
    check(any(a == f"Bearer {SECRET}" and p == "/a?token=1" for _, a, p in got),
          f"the upstream received the secret: {got}")
    check(not any(a and "forged" in a for _, a, _ in got), "the workload's header was replaced")
    echoed = [s for s in seen if s[0] == "echo"]
    check(echoed and echoed[-1][1] == "Bearer mine", f"another host is untouched: {echoed}")
    audit = call("GET", f"/v1/sessions/{sid}/audit")[1]
    uses = [e["data"] for e in audit.get("events", []) if e["type"] == "secret_used"]
    check(uses and uses[0]["name"] == "svc" and uses[0]["path"] == "/a" and
          sum(u["count"] for u in uses) >= 1, f"secret_used: {uses}")

    # Fail closed: the upstream's certificate is not from the trusted CA.
    before = len([s for s in seen if s[0] == "rogue"])
    sid, res = run({"code": f"import urllib.request as u\ntry:\n  u.urlopen('https://{R}/', timeout=10)\n"
                            f"  print('ESCAPED')\nexcept Exception as e:\n  print('refused', e)\n",
                    "secrets": ["rogue"], "egress": {"mode": "allow_list", "allow": [R]}})
    check("refused" in res.get("stdout", "") and "502" in res.get("stdout", ""),
          f"untrusted upstream: {res.get('stdout', '')[-200:]!r}")
    check(len([s for s in seen if s[0] == "rogue"]) == before, "nothing reached the rogue upstream")
    reasons = [e["data"].get("reason") for e in call("GET", f"/v1/sessions/{sid}/audit")[1].get("events", [])
               if e["type"] == "egress_denied"]
    check("upstream_tls" in reasons, f"audited upstream_tls: {reasons}")

    # Revocation: the next request of a live session goes without it.
    st, s = call("POST", "/v1/sessions", {"execMode": "interactive", "secrets": ["svc"], "egress": egress})
    check(st == 201, f"interactive create: {st}")
    check(wait(lambda: call("GET", f"/v1/sessions/{s['id']}")[1].get("phase") == "running", 60),
          "interactive session running")
    turn = f"import urllib.request as u\nprint(u.urlopen('https://{G}/t', timeout=10).read().decode())\n"
    st, t1 = call("POST", f"/v1/sessions/{s['id']}/exec", {"code": turn})
    check(st == 200 and "upstream-ok" in t1.get("stdout", ""), f"turn 1: {st} {str(t1)[:300]}")
    call("DELETE", f"/v1/sessions/{s['id']}")
    # Issue 19: a secrets session paused before it made a request is restored in a new container
    # with a new proxy, which injects the secret as before; once a sandbox has connected through
    # its proxy gVisor cannot checkpoint it: the pause is refused (409) and the session runs on.
    st, s = call("POST", "/v1/sessions", {"execMode": "interactive", "secrets": ["svc"], "egress": egress})
    check(st == 201 and wait(lambda: call("GET", f"/v1/sessions/{s['id']}")[1].get("phase") == "running", 60),
          f"second interactive session running ({st})")
    st, p = call("POST", f"/v1/sessions/{s['id']}/pause")
    check(st == 200 and p.get("phase") == "paused", f"paused: {st} {p.get('phase')}")
    k0 = len(seen)
    st, tr = call("POST", f"/v1/sessions/{s['id']}/exec", {"code": turn})  # resumes it first
    got = [x for x in seen[k0:] if x[0] == "good"]
    check(st == 200 and "upstream-ok" in tr.get("stdout", "") and len(got) == 1 and
          got[0][1] == f"Bearer {SECRET}", f"after pause/resume the secret is injected: {st} {got} "
          f"{tr.get('stderr', '')[-200:]}")
    check("session_resumed" in [e["type"] for e in call("GET", f"/v1/sessions/{s['id']}/audit")[1].get("events", [])],
          "the turn ran in a restored sandbox (session_resumed)")
    st, e = call("POST", f"/v1/sessions/{s['id']}/pause")
    check(st == 409 and e.get("error", {}).get("code") == "checkpoint_failed",
          f"a pause after a proxied request is refused: {st} {e}")
    st, tr = call("POST", f"/v1/sessions/{s['id']}/exec", {"code": turn})
    check(st == 200 and "upstream-ok" in tr.get("stdout", ""), f"and the session runs on: {st}")
    n1 = len(seen)
    st, _ = call("DELETE", "/v1/secrets/svc")
    check(st == 200, f"delete: {st}")
    st, t2 = call("POST", f"/v1/sessions/{s['id']}/exec", {"code": turn})
    tail = [x for x in seen[n1 - 1:] if x[0] == "good"]
    check(len(tail) == 2 and tail[0][1] == f"Bearer {SECRET}" and tail[1][1] is None,
          f"deleted → no longer injected: {tail} {t1.get('stderr', '')[-200:]} {t2.get('stderr', '')[-200:]}")
    call("DELETE", f"/v1/sessions/{s['id']}")

    # The clean sibling keeps its exact result.
    sid, res = run({"code": "print('clean')\nenclave.result({'v': 7})\n"})
    check(res.get("stdout") == "clean\n" and res.get("json") == {"v": 7} and res.get("exitCode") == 0,
          f"clean sibling: {res}")
finally:
    rc = server.stop()
    check(rc == 0, f"clean stop ({rc})")
    log = open(os.path.join(work, "server.log"), errors="ignore").read()
    check(SECRET not in log, "the secret is in no log line")
    subprocess.run(["rm", "-rf", work])
check.finish()
