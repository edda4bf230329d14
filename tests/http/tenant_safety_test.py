#!/usr/bin/env python3
"""Tenant safety (issue 17, part C) against a real enclaved on the simulator:
- browser-safe HTTP: a JSON body without `Content-Type: application/json` is 415, a foreign
  `Origin` is 403 (the cross-site request forgery that ran code), the server's own Origin and
  `--allow-origin` pass (with CORS headers and a preflight); with --auth disabled a Host that is
  not loopback is 403 (DNS rebinding). Each forged request carries code that would print ESCAPED
  beside a clean sibling that must keep its exact result, and no session of the forged code exists.
- /metrics needs a key with metrics:read or admin (--metrics-public opens it), never names an org.
- keys online: create, use at once, list without secrets, another org's revoke is 404, revoke is
  refused on the very next request, the CLI `enclave keys …` does the same through the API; keys
  created online survive a restart; `enclaved keys` offline still works when the server is down.
usage: tenant_safety_test.py BIN_DIR"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks, Server  # noqa: E402

BIN = sys.argv[1]
check = Checks()
work = tempfile.mkdtemp(prefix="enclave-tenant-safety-")
ESCAPE_CODE = 'print("ESCAPED")\nenclave.result({"escaped": True})'
CLEAN_CODE = 'print("clean")\nenclave.result({"v": 7})'


def call(base, method, path, body=None, key=None, headers=None, raw=None):
    """(status, parsed JSON or text, headers). `raw` is sent as is, with only `headers`."""
    h = {}
    if key:
        h["Authorization"] = "Bearer " + key
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    req = urllib.request.Request(base + path, method=method, data=data, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            b, st, hd = r.read(), r.status, r.headers
    except urllib.error.HTTPError as e:
        b, st, hd = e.read(), e.code, e.headers
    try:
        return st, json.loads(b or b"{}"), hd
    except ValueError:
        return st, b.decode(errors="replace"), hd


def offline_key(data, org, role):
    out = subprocess.run([f"{BIN}/enclaved", "keys", "create", "--data-dir", data, "--org", org,
                          "--role", role], capture_output=True, text=True, timeout=60)
    return out.stdout.split()[-1] if out.returncode == 0 and out.stdout.split() else ""


def wait_result(base, sid, key=None):
    end = time.time() + 30
    while time.time() < end:
        st, s, _ = call(base, "GET", f"/v1/sessions/{sid}", key=key)
        if st == 200 and s.get("phase") in ("succeeded", "failed", "killed"):
            return call(base, "GET", f"/v1/sessions/{sid}/result", key=key)[1]
        time.sleep(0.05)
    return {}


def no_escaped_session(base, key=None):
    st, lst, _ = call(base, "GET", "/v1/sessions?limit=1000", key=key)
    if st != 200:
        return False
    for s in lst.get("sessions", []):
        if "ESCAPED" in json.dumps(wait_result(base, s["id"], key)):
            return False
    return True


def browser_checks(base, key):
    spec = json.dumps({"code": ESCAPE_CODE, "language": "python"}).encode()
    # What a cross-site fetch(…, {mode: "no-cors"}) or a form can send without a preflight.
    for ct in ("text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
               "multipart/form-data; boundary=x", None):
        hdr = {"Content-Type": ct} if ct else {}
        st, j, _ = call(base, "POST", "/v1/sessions", key=key, raw=spec, headers=hdr)
        check(st == 415 and j.get("error", {}).get("field") == "Content-Type",
              f"POST /v1/sessions with Content-Type {ct} → 415 naming Content-Type (got {st} {j})")
    st, j, _ = call(base, "POST", "/v1/sessions", key=key, raw=spec,
                    headers={"Content-Type": "application/octet-stream"})
    check(st == 415, f"raw bytes on a JSON route → 415 (got {st})")
    st, j, _ = call(base, "POST", "/v1/fleets", key=key, raw=json.dumps(
        {"members": [{"code": ESCAPE_CODE}]}).encode(), headers={"Content-Type": "text/plain"})
    check(st == 415, f"POST /v1/fleets text/plain → 415 (got {st})")
    # A foreign Origin, even with the right content type (and a key): 403, never run.
    for origin in ("http://evil.example", "null", base.replace("127.0.0.1", "localhost"),
                   base + ".evil.example"):
        st, j, _ = call(base, "POST", "/v1/sessions", {"code": ESCAPE_CODE}, key=key,
                        headers={"Origin": origin})
        check(st == 403 and j.get("error", {}).get("code") == "forbidden_origin",
              f"POST with Origin {origin} → 403 forbidden_origin (got {st} {j})")
    st, _, _ = call(base, "GET", "/v1/sessions", key=key, headers={"Origin": "http://evil.example"})
    check(st == 403, f"GET with a foreign Origin → 403 (got {st})")
    # The server's own origin (the dashboard) and Charset parameters pass: the clean sibling.
    st, s, _ = call(base, "POST", "/v1/sessions", key=key, raw=json.dumps({"code": CLEAN_CODE}).encode(),
                    headers={"Content-Type": "Application/JSON; charset=utf-8", "Origin": base})
    check(st == 201, f"own Origin, JSON with charset → 201 (got {st} {s})")
    if st == 201:
        r = wait_result(base, s["id"], key)
        check(r.get("stdout") == "clean\n" and r.get("json") == {"v": 7} and r.get("exitCode") == 0,
              f"clean sibling keeps its exact result: {r}")
    # Body-less requests are exempt.
    st, _, _ = call(base, "DELETE", f"/v1/sessions/{s['id']}", key=key, headers={"Content-Type": "text/plain"})
    check(st == 200, f"body-less DELETE with text/plain → 200 (got {st})")
    check(no_escaped_session(base, key), "no forged request ran its code")
    # The dashboard still loads.
    st, page, _ = call(base, "GET", "/ui/", headers={"Origin": base})
    check(st == 200 and "<html" in str(page).lower(), f"/ui/ from its own origin → 200 (got {st})")


def keys_checks(base, ka, kb, data):
    st, k, _ = call(base, "POST", "/v1/keys", {"role": "member", "name": "ci"}, key=ka)
    check(st == 201 and k.get("key", "").startswith("enc_") and k.get("orgId") == "orga"
          and k.get("role") == "member" and k.get("name") == "ci", f"POST /v1/keys → 201 {k}")
    if st != 201:
        return
    st, _, _ = call(base, "GET", "/v1/sessions?limit=1", key=k["key"])
    check(st == 200, f"a new key works at once ({st})")
    st, _, _ = call(base, "POST", "/v1/keys", {"role": "owner"}, key=k["key"])
    check(st == 403, f"a member key cannot create keys ({st})")
    st, lst, _ = call(base, "GET", "/v1/keys", key=ka)
    text = json.dumps(lst)
    check(st == 200 and k["id"] in text and k["key"] not in text and "enc_" not in text,
          f"GET /v1/keys lists ids, never secrets: {text[:300]}")
    st, lst_b, _ = call(base, "GET", "/v1/keys", key=kb)
    check(st == 200 and k["id"] not in json.dumps(lst_b) and all(
        x["orgId"] == "orgb" for x in lst_b.get("keys", [])), "org B lists only its own keys")
    st, j, _ = call(base, "DELETE", f"/v1/keys/{k['id']}", key=kb)
    check(st == 404 and j.get("error", {}).get("code") == "not_found", f"org B revoking → 404 ({st})")
    st, _, _ = call(base, "GET", "/v1/sessions?limit=1", key=k["key"])
    check(st == 200, "the key still works after org B's attempt")
    for bad in (("role", {"role": "root"}), ("name", {"role": "member", "name": "x\u001b[2J"}),
                ("bogus", {"role": "member", "bogus": 1})):
        st, j, _ = call(base, "POST", "/v1/keys", bad[1], key=ka)
        check(st == 400 and bad[0] in j.get("error", {}).get("field", ""), f"bad {bad[0]} → 400 ({st} {j})")
    st, j, _ = call(base, "DELETE", "/v1/keys/NOT-HEX", key=ka)
    check(st == 404, f"malformed key id → 404 ({st})")
    t0 = time.time()
    st, v, _ = call(base, "DELETE", f"/v1/keys/{k['id']}", key=ka)
    check(st == 200 and v.get("revoked") is True and "key" not in v, f"DELETE /v1/keys/id → 200 revoked ({st} {v})")
    st, j, _ = call(base, "GET", "/v1/sessions?limit=1", key=k["key"])
    took = time.time() - t0
    check(st == 401 and took < 1.0, f"revoked key refused on the next request ({st}, {took:.3f} s)")
    st, v2, _ = call(base, "DELETE", f"/v1/keys/{k['id']}", key=ka)
    check(st == 200 and v2.get("revoked") is True, "revoke is idempotent")
    # The CLI, through the API.
    env = dict(os.environ, ENCLAVE_BASE_URL=base, ENCLAVE_API_KEY=ka)
    out = subprocess.run([f"{BIN}/enclave", "keys", "create", "--role", "viewer", "--name", "cli"],
                         capture_output=True, text=True, env=env, timeout=30)
    secret = out.stdout.split()[-1] if out.stdout.split() else ""
    check(out.returncode == 0 and secret.startswith("enc_"), f"enclave keys create: {out.stdout} {out.stderr}")
    out = subprocess.run([f"{BIN}/enclave", "keys", "list", "--json"], capture_output=True,
                         text=True, env=env, timeout=30)
    listed = json.loads(out.stdout or "{}").get("keys", [])
    cli_key = [x for x in listed if x.get("name") == "cli"]
    check(out.returncode == 0 and len(cli_key) == 1 and secret not in out.stdout,
          f"enclave keys list --json: {out.stdout[:300]}")
    if cli_key:
        out = subprocess.run([f"{BIN}/enclave", "keys", "revoke", cli_key[0]["id"]],
                             capture_output=True, text=True, env=env, timeout=30)
        st, _, _ = call(base, "GET", "/v1/sessions", key=secret)
        check(out.returncode == 0 and st == 401, f"enclave keys revoke: rc {out.returncode}, then {st}")
    return k


def metrics_checks(base, ka, kb):
    st, j, _ = call(base, "GET", "/metrics")
    check(st == 401, f"/metrics without a key → 401 ({st})")
    st, text, hd = call(base, "GET", "/metrics", key=ka)
    check(st == 200 and "enclave_sessions" in str(text) and "orga" not in str(text)
          and "orgb" not in str(text) and "org=" not in str(text),
          f"/metrics with an owner key → 200, no org named ({st})")
    st, v, _ = call(base, "POST", "/v1/keys", {"role": "viewer"}, key=ka)
    st2, _, _ = call(base, "GET", "/metrics", key=v.get("key", ""))
    check(st == 201 and st2 == 403, f"/metrics with a viewer key → 403 ({st2})")
    st, m, _ = call(base, "POST", "/v1/keys", {"role": "metrics", "name": "prometheus"}, key=ka)
    st2, _, _ = call(base, "GET", "/metrics", key=m.get("key", ""))
    st3, _, _ = call(base, "GET", "/v1/sessions", key=m.get("key", ""))
    check(st == 201 and st2 == 200 and st3 == 403, f"a metrics key reads /metrics only ({st2}, {st3})")


try:
    data = os.path.join(work, "data")
    ka, kb = offline_key(data, "orga", "owner"), offline_key(data, "orgb", "owner")
    check(ka.startswith("enc_") and kb.startswith("enc_"), "enclaved keys create offline (bootstrap)")
    srv = Server(BIN, data, "simulator", auth="keys")
    try:
        browser_checks(srv.base, ka)
        created = keys_checks(srv.base, ka, kb, data)
        metrics_checks(srv.base, ka, kb)
        st, live, _ = call(srv.base, "POST", "/v1/keys", {"role": "member", "name": "survives"}, key=ka)
    finally:
        srv.stop()
    # Offline tools still work with the server down, and see what was done online.
    out = subprocess.run([f"{BIN}/enclaved", "keys", "list", "--data-dir", data], capture_output=True,
                         text=True, timeout=60)
    check(out.returncode == 0 and created and created["id"] in out.stdout
          and "revoked" in out.stdout, f"enclaved keys list offline sees the online keys: {out.stdout[:400]}")
    srv = Server(BIN, data, "simulator", auth="keys")
    try:
        st, _, _ = call(srv.base, "GET", "/v1/sessions", key=live.get("key", ""))
        check(st == 200, f"a key created online works after a restart ({st})")
        st, _, _ = call(srv.base, "GET", "/v1/sessions", key=created["key"] if created else "")
        check(st == 401, f"a key revoked online stays revoked after a restart ({st})")
    finally:
        srv.stop()
    # --allow-origin names an origin: it passes, with CORS headers and a preflight.
    srv = Server(BIN, data, "simulator", auth="keys",
                 args=("--allow-origin", "https://console.example.com", "--metrics-public"))
    try:
        o = {"Origin": "https://console.example.com"}
        st, j, hd = call(srv.base, "GET", "/v1/sessions", key=ka, headers=o)
        check(st == 200 and hd.get("Access-Control-Allow-Origin") == "https://console.example.com",
              f"an allowed origin → 200 with Access-Control-Allow-Origin ({st})")
        st, s, _ = call(srv.base, "POST", "/v1/sessions", {"code": CLEAN_CODE}, key=ka, headers=o)
        r = wait_result(srv.base, s.get("id", ""), ka) if st == 201 else {}
        check(st == 201 and r.get("json") == {"v": 7}, f"an allowed origin may run code ({st} {r})")
        st, text, hd = call(srv.base, "GET", f"/v1/sessions/{s.get('id', '')}/events", key=ka, headers=o)
        check(st == 200 and "event: end" in str(text)
              and hd.get("Access-Control-Allow-Origin") == "https://console.example.com",
              f"an allowed origin's event stream carries Access-Control-Allow-Origin ({st})")
        st, _, hd = call(srv.base, "OPTIONS", "/v1/sessions",
                         headers=dict(o, **{"Access-Control-Request-Method": "POST"}))
        check(st == 204 and "POST" in (hd.get("Access-Control-Allow-Methods") or ""), f"preflight → 204 ({st})")
        st, _, _ = call(srv.base, "POST", "/v1/sessions", {"code": ESCAPE_CODE}, key=ka,
                        headers={"Origin": "https://other.example.com"})
        check(st == 403, f"an origin not listed is still 403 ({st})")
        st, text, _ = call(srv.base, "GET", "/metrics")
        check(st == 200 and "orga" not in str(text), f"--metrics-public: /metrics without a key → 200 ({st})")
    finally:
        srv.stop()
    # --auth disabled (loopback only): a Host that is not loopback is refused (DNS rebinding).
    srv = Server(BIN, os.path.join(work, "open"), "simulator")
    try:
        st, j, _ = call(srv.base, "POST", "/v1/sessions", {"code": ESCAPE_CODE},
                        headers={"Host": f"evil.example:{srv.port}", "Origin": f"http://evil.example:{srv.port}"})
        check(st == 403, f"auth disabled, Host evil.example (rebinding) → 403 ({st} {j})")
        st, _, _ = call(srv.base, "GET", "/v1/sessions", headers={"Host": f"evil.example:{srv.port}"})
        check(st == 403, f"auth disabled, GET with Host evil.example → 403 ({st})")
        spec = json.dumps({"code": ESCAPE_CODE}).encode()
        st, _, _ = call(srv.base, "POST", "/v1/sessions", raw=spec,
                        headers={"Content-Type": "text/plain", "Origin": "http://evil.example"})
        check(st == 403, f"auth disabled, the issue's no-cors request → 403 ({st})")
        st, _, _ = call(srv.base, "POST", "/v1/sessions", raw=spec, headers={"Content-Type": "text/plain"})
        check(st == 415, f"auth disabled, text/plain body → 415 ({st})")
        st, s, _ = call(srv.base, "POST", "/v1/sessions", {"code": CLEAN_CODE}, headers={"Origin": srv.base})
        r = wait_result(srv.base, s.get("id", "")) if st == 201 else {}
        check(st == 201 and r.get("stdout") == "clean\n" and r.get("json") == {"v": 7},
              f"auth disabled, own origin: clean sibling keeps its exact result ({st} {r})")
        check(no_escaped_session(srv.base), "auth disabled: no forged request ran its code")
        st, _, _ = call(srv.base, "GET", "/metrics")
        check(st == 200, f"auth disabled: /metrics as the default owner → 200 ({st})")
    finally:
        srv.stop()
finally:
    subprocess.run(["rm", "-rf", work])
check.finish()
