#!/usr/bin/env python3
"""Signed tree heads and RFC 9162 proofs, checked OUTSIDE the server: the signature with the
`openssl` command line, inclusion and consistency proofs with hashlib and the RFC's verification
algorithms written here (not the server's code). Then `enclave verify` against the anchored heads
catches a rolled-back data dir, a forged head and another server's log; bad queries are 400s
naming the parameter; a server without a key answers 404 signing_key_not_configured.

usage: forensics_proofs_test.py BIN_DIR"""
import base64, hashlib, json, os, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks, Server, wait  # noqa: E402

BIN = sys.argv[1]
ok = Checks()
work = tempfile.mkdtemp(prefix="enclave-proofs-")


def leaf(b): return hashlib.sha256(b"\x00" + b).digest()
def node(l, r): return hashlib.sha256(b"\x01" + l + r).digest()


def inclusion_ok(index, size, lh, path, root):
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, lh
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node(p, r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def consistency_ok(m, n, root_m, root_n, proof):
    """RFC 9162 §2.1.4.2."""
    if m == n:
        return not proof and root_m == root_n
    if m == 0 or m > n or not proof:
        return False
    if m & (m - 1) == 0:
        proof = [root_m] + proof
    fn, sn = m - 1, n - 1
    while fn % 2 == 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == root_m and sr == root_n


def openssl_verifies(sth, pub):
    msg = f"enclave-sth-v1\n{sth['treeSize']}\n{sth['rootHash']}\n{sth['timestamp']}".encode()
    with open(f"{work}/msg", "wb") as f:
        f.write(msg)
    with open(f"{work}/sig", "wb") as f:
        f.write(base64.b64decode(sth["signature"]))
    return subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin",
                           "-in", f"{work}/msg", "-sigfile", f"{work}/sig"],
                          capture_output=True).returncode == 0


def run(srv, tag, n):
    ids = []
    for i in range(n):
        st, s = srv.call("POST", "/v1/sessions", {"code": f"print('{tag}-{i}')", "language": "python"})
        ok(st == 201, f"create {tag}-{i} → {st}")
        ids.append(s["id"])
    for sid in ids:
        ok(wait(lambda: srv.call("GET", f"/v1/sessions/{sid}")[1].get("tornDown"), 60), f"{sid} ends")
    return ids


def verify(data, *extra):
    r = subprocess.run([f"{BIN}/enclave", "verify", "--data-dir", data, *extra], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


try:
    key, pub = f"{work}/key.pem", f"{work}/pub.pem"
    ok(subprocess.run([f"{BIN}/enclaved", "signing-key", "create", key], capture_output=True).returncode == 0,
       "signing-key create")
    ok(oct(os.stat(key).st_mode & 0o777) == "0o600", "the key file is 0600")
    ok(subprocess.run([f"{BIN}/enclaved", "signing-key", "create", key], capture_output=True).returncode != 0,
       "signing-key create never overwrites a key")
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True)
    anchors, data = f"{work}/anchors", f"{work}/data"
    env = {"ENCLAVE_SIGNING_KEY": key, "ENCLAVE_ANCHOR_DIR": anchors, "ENCLAVE_STH_INTERVAL_S": "3600"}

    srv = Server(BIN, data, "simulator", env=env)
    run(srv, "first", 3)
    ok(srv.text("/v1/log/public-key") == open(pub).read(), "the served public key is the key's")
    st, sth1 = srv.call("GET", "/v1/log/sth")
    ok(st == 200 and openssl_verifies(sth1, pub), f"STH verifies with openssl: {sth1}")
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", pub, "-outform", "DER"], capture_output=True).stdout
    ok(sth1.get("keyId") == hashlib.sha256(der).hexdigest(), "keyId = SHA-256 of the DER public key")
    later = run(srv, "later", 2)
    st, a = srv.call("GET", f"/v1/sessions/{later[0]}/audit?proof=true")
    sth2 = a.get("sth", {})
    ok(st == 200 and openssl_verifies(sth2, pub), "the audit's STH verifies")
    root, size = bytes.fromhex(sth2["rootHash"]), sth2["treeSize"]
    for e in a["events"]:
        raw = base64.b64decode(e["eventBytes"])
        ok(hashlib.sha256(raw).hexdigest() == e["hash"], f"seq {e['seq']}: eventBytes hash to its hash")
        ok(inclusion_ok(e["leafIndex"], size, leaf(raw), [bytes.fromhex(p) for p in e["inclusionProof"]], root),
           f"seq {e['seq']}: inclusion proof verifies")
        bad = bytearray(raw); bad[len(bad) // 2] ^= 1
        ok(not inclusion_ok(e["leafIndex"], size, leaf(bytes(bad)), [bytes.fromhex(p) for p in e["inclusionProof"]], root),
           f"seq {e['seq']}: a changed byte does not verify")
    ok(len(a["events"]) >= 4, f"the audit has the session's events ({len(a['events'])})")
    st, c = srv.call("GET", f"/v1/log/consistency?first={sth1['treeSize']}&second={size}")
    ok(st == 200 and consistency_ok(sth1["treeSize"], size, bytes.fromhex(sth1["rootHash"]), root,
                                    [bytes.fromhex(p) for p in c["proof"]]),
       f"consistency {sth1['treeSize']} → {size} verifies")
    for q, field in [("first=0&second=3", "first"), ("second=3", "first"), ("first=2&second=1", "second"),
                     ("first=1&second=99999999", "second"), ("first=x&second=2", "first")]:
        st, e = srv.call("GET", f"/v1/log/consistency?{q}")
        ok(st == 400 and e.get("error", {}).get("field") == field, f"consistency?{q} → {st} {e}")
    st, e = srv.call("GET", f"/v1/sessions/{later[0]}/audit?proof=maybe")
    ok(st == 400 and e["error"].get("field") == "proof", f"proof=maybe → {st}")
    ok(srv.call("GET", "/v1/sessions/" + "0" * 32 + "/audit?proof=true")[0] == 404, "unknown session → 404")
    ok(srv.stop() == 0, "server stops cleanly")
    ok(len(os.listdir(anchors)) >= 1, "the shutdown STH is anchored")
    rc, out = verify(data, "--anchor-dir", anchors, "--public-key", pub)
    ok(rc == 0, f"verify with anchors passes an untouched log: {out}")

    old = f"{work}/data.old"
    shutil.copytree(data, old)
    srv = Server(BIN, data, "simulator", env=env)
    run(srv, "more", 2)
    srv.stop()
    rc, out = verify(data, "--anchor-dir", anchors, "--public-key", pub)
    ok(rc == 0, f"verify after more history passes: {out}")
    rc, out = verify(old, "--anchor-dir", anchors, "--public-key", pub)
    ok(rc == 1 and "removed" in out, f"a rolled-back data dir is caught: {out}")
    ok(verify(old)[0] == 0, "(the rolled-back dir is consistent on its own)")

    newest = sorted(os.listdir(anchors))[-1]
    sth = json.load(open(f"{anchors}/{newest}"))
    sth["treeSize"] -= 1
    json.dump(sth, open(f"{work}/forged.json", "w"))
    rc, out = verify(data, "--sth", f"{work}/forged.json", "--public-key", pub)
    ok(rc == 1 and "not signed" in out, f"a forged STH is caught: {out}")

    other_key, other_anchors = f"{work}/other.pem", f"{work}/other-anchors"
    subprocess.run([f"{BIN}/enclaved", "signing-key", "create", other_key], check=True, capture_output=True)
    srv = Server(BIN, f"{work}/d2", "simulator",
                 env={"ENCLAVE_SIGNING_KEY": other_key, "ENCLAVE_ANCHOR_DIR": other_anchors})
    run(srv, "forged", 8)
    srv.stop()
    ok(verify(f"{work}/d2")[0] == 0, "(the substitute log is consistent on its own)")
    rc, out = verify(f"{work}/d2", "--anchor-dir", anchors, "--public-key", pub)
    ok(rc == 1, f"a substituted log is caught by the anchored heads: {out}")
    rc, out = verify(f"{work}/d2", "--anchor-dir", other_anchors, "--public-key", pub)
    ok(rc == 1 and "not signed" in out, f"another server's heads are not ours: {out}")
    with open(f"{work}/garbage.json", "w") as f:
        f.write('{"treeSize": "many"}')
    rc, out = verify(data, "--sth", f"{work}/garbage.json")
    ok(rc == 2 and "treeSize" in out, f"a malformed STH file is a usage error naming the field: {out}")

    # An evidence bundle, then the data dir is gone: the bundle alone proves the session.
    bundle = f"{work}/evidence.tar.gz"
    r = subprocess.run([f"{BIN}/enclave", "export", "--data-dir", data, "--session", later[0], "--anchor-dir",
                        anchors, "--public-key", pub, "--out", bundle], capture_output=True, text=True)
    ok(r.returncode == 0, f"export: {r.stdout}{r.stderr}")
    shutil.rmtree(data)
    r = subprocess.run([f"{BIN}/enclave", "verify-bundle", bundle], capture_output=True, text=True)
    ok(r.returncode == 0 and later[0] in r.stdout, f"the bundle verifies without the data dir: {r.stdout}{r.stderr}")
    os.makedirs(f"{work}/unpacked")
    subprocess.run(["tar", "-xzf", bundle, "-C", f"{work}/unpacked"], check=True)
    lines = open(f"{work}/unpacked/events.jsonl").read().splitlines()
    first = json.loads(lines[0]); raw = bytearray(base64.b64decode(first["eventBytes"])); raw[-1] ^= 1
    first["eventBytes"] = base64.b64encode(bytes(raw)).decode()
    for name, content in [("events.jsonl", "\n".join([json.dumps(first)] + lines[1:]) + "\n"),
                          ("events.jsonl", "\n".join(lines[:1] + lines[2:]) + "\n")]:
        shutil.copytree(f"{work}/unpacked", f"{work}/t", dirs_exist_ok=True)
        open(f"{work}/t/{name}", "w").write(content)
        subprocess.run(["tar", "-czf", f"{work}/t.tar.gz", "-C", f"{work}/t", "sth.json", "public-key.pem", "events.jsonl"], check=True)
        r = subprocess.run([f"{BIN}/enclave", "verify-bundle", f"{work}/t.tar.gz"], capture_output=True, text=True)
        ok(r.returncode == 1 and "TAMPERED" in r.stdout, f"a changed bundle is caught: {r.stdout}")

    srv = Server(BIN, f"{work}/d3", "simulator")
    st, e = srv.call("GET", "/v1/log/sth")
    ok(st == 404 and e["error"]["code"] == "signing_key_not_configured", f"no key: /v1/log/sth → {st} {e}")
    srv.stop()
finally:
    shutil.rmtree(work, ignore_errors=True)
ok.finish()
