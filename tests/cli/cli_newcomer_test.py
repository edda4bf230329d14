#!/usr/bin/env python3
"""The `enclave` CLI as a new user meets it, driving the real binaries against a live enclaved.

usage: cli_newcomer_test.py BIN_DIR simulator|gvisor

simulator: every verb's --help (rc 0), "did you mean" for options and verbs, `run` shows the
session id and the enclave.result() value, `list`, `result`, hints for a missing API key and an
unreadable file, Ctrl-C and SIGTERM on `run` tear the session down.
gvisor: output printed before a wall-clock kill is never lost (5 runs), and a timed-out
interactive turn is interrupted (KeyboardInterrupt) while the session and its namespace live.
Ends with "N passed, M failed"; stdlib only.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks, Server, wait  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
BACKEND = sys.argv[2]
ENCLAVE = os.path.join(BIN, "enclave")
ENCLAVED = os.path.join(BIN, "enclaved")
ID = re.compile(r"\b[0-9a-f]{32}\b")
check = Checks()


def cli(*args, stdin="", env=None, timeout=120):
    return subprocess.run([ENCLAVE, *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout, env=env)


def api(srv, key, method, path):
    """(status, JSON) with the API key (Server.call sends none)."""
    import urllib.error
    import urllib.request
    req = urllib.request.Request(srv.base + path, method=method,
                                 headers={"Authorization": "Bearer " + key})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def simulator_checks(work):
    data = os.path.join(work, "data")
    key = subprocess.run([ENCLAVED, "keys", "create", "--data-dir", data, "--org", "acme",
                          "--role", "owner"], capture_output=True, text=True, timeout=60)
    assert key.returncode == 0, key.stderr
    api_key = key.stdout.split()[-1]
    log_path = os.path.join(work, "server.log")
    log = open(log_path, "w")
    srv = Server(BIN, data, "simulator", auth="keys", log=log)
    env = dict(os.environ, ENCLAVE_BASE_URL=srv.base, ENCLAVE_API_KEY=api_key)
    try:
        # --help on every verb of the usage text: rc 0, the verb's usage on stdout.
        verbs = sorted(set(re.findall(r"^  enclave (\w+)", cli("--help", env=env).stdout, re.M)))
        check(len(verbs) >= 12 and {"run", "list", "result", "fleet"} <= set(verbs),
              f"usage lists the verbs: {verbs}")
        for verb in verbs:
            for flag in ("--help", "-h"):
                h = cli(verb, flag, env=env)
                check(h.returncode == 0 and h.stdout.startswith("usage: enclave " + verb),
                      f"enclave {verb} {flag} -> rc {h.returncode} {h.stdout[:60]!r}")
        h = cli("fleet", "watch", "--help", env=env)
        check(h.returncode == 0, "enclave fleet watch --help -> rc 0")

        typo = cli("run", "-", "--timout", "3", env=env)
        check(typo.returncode == 2 and "did you mean --timeout?" in typo.stderr,
              f"--timout suggests --timeout: {typo.stderr!r}")
        verb = cli("lsit", env=env)
        check(verb.returncode == 2 and "did you mean 'list'?" in verb.stderr,
              f"lsit suggests list: {verb.stderr[:80]!r}")
        far = cli("run", "-", "--zzzzzz", env=env)
        check("did you mean" not in far.stderr, "no suggestion for a word unlike any option")

        # run: stdout is the workload's alone; the id and the result value come on stderr.
        r = cli("run", "-", stdin='print("hi")\nenclave.result({"answer": 42})\n', env=env)
        check(r.returncode == 0 and r.stdout == "hi\n", f"run stdout: {r.stdout!r}")
        ids = ID.findall(r.stderr)
        check(len(ids) == 1, f"run shows the session id on stderr: {r.stderr!r}")
        check('enclave: result: {"answer":42}' in r.stderr, f"run shows the result: {r.stderr!r}")
        sid = ids[0] if ids else "0" * 32
        lst = cli("list", env=env)
        check(lst.returncode == 0 and sid in lst.stdout and "succeeded" in lst.stdout,
              f"list shows {sid}: {lst.stdout!r}")
        check(lst.stdout.startswith("ID "), "list has a header")
        js = json.loads(cli("list", "--output", "json", env=env).stdout)
        check(any(s["id"] == sid for s in js["sessions"]), "list --output json")
        check(cli("list", "--output", "yaml", env=env).returncode == 2, "list --output yaml: usage")
        res = cli("result", sid, env=env)
        check(res.returncode == 0 and res.stdout == "hi\n" and '{"answer":42}' in res.stderr,
              f"result {sid}: {res.stdout!r} {res.stderr!r}")
        gj = cli("get", sid, "--output", "json", env=env)
        check(gj.returncode == 0 and json.loads(gj.stdout)["id"] == sid, "get --output json")
        rj = json.loads(cli("result", sid, "--json", env=env).stdout)
        check(rj["final"] is True and rj["json"] == {"answer": 42}, f"result --json: {rj}")
        missing = cli("result", "f" * 32, env=env)
        check(missing.returncode == 1 and "not_found" in missing.stderr, "result of an unknown id")

        # Killed runs say which limit.
        k = cli("run", "-", "--timeout", "1", stdin="#@sim hang\n", env=env)
        check(k.returncode == 137 and "wall_clock_exceeded (limit 1 s)" in k.stderr,
              f"wall-clock kill names the limit: {k.stderr!r}")

        # Messages that say what to do.
        nokey = cli("list", env=dict(env, ENCLAVE_API_KEY=""))
        check(nokey.returncode == 1 and "set ENCLAVE_API_KEY" in nokey.stderr,
              f"missing key hint: {nokey.stderr!r}")
        nofile = cli("run", os.path.join(work, "nope.py"), env=env)
        check(nofile.returncode == 1 and "No such file or directory" in nofile.stderr,
              f"unreadable file says why: {nofile.stderr!r}")
        adir = cli("run", work, env=env)
        check(adir.returncode == 1 and "is a directory" in adir.stderr, "a directory is refused")
        down = cli("list", env=dict(env, ENCLAVE_BASE_URL="http://127.0.0.1:1"))
        check(down.returncode == 1 and "is enclaved running" in down.stderr, "server down hint")

        # Ctrl-C / SIGTERM while `run` waits: the session is torn down, rc 128 + signal.
        for sig in (signal.SIGINT, signal.SIGTERM):
            p = subprocess.Popen([ENCLAVE, "run", "-"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            p.stdin.write("#@sim hang\n")
            p.stdin.close()
            line = p.stderr.readline()  # "enclave: session ID", printed once it exists
            m = ID.search(line)
            check(m is not None, f"run prints the id first: {line!r}")
            if not m:
                p.kill()
                continue
            s = m.group(0)
            check(wait(lambda: api(srv, api_key, "GET", f"/v1/sessions/{s}")[1].get("phase") ==
                       "running", 30),
                  "the hanging session runs")
            p.send_signal(sig)
            rc = p.wait(timeout=30)
            err = p.stderr.read()
            check(rc == 128 + sig, f"run after signal {sig} -> rc {rc}")
            check("torn down" in err, f"run says the session was torn down: {err!r}")
            st = api(srv, api_key, "GET", f"/v1/sessions/{s}")[1]
            check(st.get("phase") == "killed" and st.get("killReason") == "torn_down",
                  f"session {s} after signal {sig}: {st.get('phase')} {st.get('killReason')}")
        doctor_and_completion_checks(work, srv, env)
        fleet_checks(work, srv, env, api_key, sid)
        operator_checks(work, srv, data, log_path)
    finally:
        srv.stop()
        log.close()


def doctor_and_completion_checks(work, srv, env):
    open_dir = os.path.join(work, "open-data")
    os.mkdir(open_dir, 0o755)
    os.chmod(open_dir, 0o755)
    d = cli("doctor", "--data-dir", open_dir, "--listen", f"127.0.0.1:{srv.port}", env=env)
    lines = d.stdout.splitlines()
    check(lines and all(l.split()[0] in ("ok", "WARN", "FAIL") for l in lines[:-1]) and
          lines[-1].startswith("doctor: "), f"doctor prints one verdict a line: {d.stdout!r}")
    check(d.returncode == (1 if any(l.startswith("FAIL") for l in lines) else 0), "doctor's rc")
    check(any(l.startswith("WARN  data dir") and "0755" in l for l in lines),
          "doctor warns of a data dir others can read")
    check(any(l.startswith("ok    listen") and "already answers" in l for l in lines),
          "doctor sees the running enclaved on its port")
    check(any(l.split()[1:2] == ["disk"] and "MiB free" in l for l in lines), "doctor: free disk")
    script = cli("completion", "bash", env=env).stdout
    probe = ('source /dev/stdin; COMP_WORDS=(%s li); COMP_CWORD=1; _enclave; echo "${COMPREPLY[@]}";'
             ' COMP_WORDS=(%s run --tim); COMP_CWORD=2; _enclave; echo "${COMPREPLY[@]}"'
             % (ENCLAVE, ENCLAVE))
    comp = subprocess.run(["bash", "-c", probe], input=script, capture_output=True, text=True,
                          timeout=60, env=env)
    check(comp.stdout.split("\n")[:2] == ["list", "--timeout"],
          f"bash completion of verbs and options: {comp.stdout!r} {comp.stderr[-200:]!r}")


def fleet_checks(work, srv, env, api_key, session_id):
    members = os.path.join(work, "members.jsonl")
    with open(members, "w") as f:
        f.write('{"code": "print(1)", "name": "alpha"}\n{"code": "print(2)",}\n')
    bad = cli("fleet", "submit", members, env=env)
    check(bad.returncode == 1 and "members.jsonl:2: column 21: trailing comma" in bad.stderr,
          f"a trailing comma is refused at its line: {bad.stderr!r}")
    with open(members, "w") as f:
        f.write('{"code": "print(1)"}\n{"execMode": "interactive"}\n')
    inter = cli("fleet", "submit", members, env=env)
    check(inter.returncode == 1 and "members[1].execMode" in inter.stderr and "400" in inter.stderr,
          f"an interactive member is a 400 naming the field: {inter.stderr!r}")
    with open(members, "w") as f:
        f.write('{"code": "#@sim hang", "name": "slow-one"}\n'
                '{"code": "#@sim hang", "name": "slow-two"}\n')
    sub = cli("fleet", "submit", members, env=env)
    fid = sub.stdout.strip()
    check(sub.returncode == 0 and ID.fullmatch(fid) is not None, f"fleet submitted: {sub.stderr!r}")
    got = cli("fleet", "get", fid, env=env)
    check(got.returncode == 0 and "slow-one" in got.stdout and "slow-two" in got.stdout,
          f"fleet get names the members: {got.stdout!r}")
    cancel = cli("fleet", "cancel", fid, env=env)
    check(cancel.returncode == 0 and fid in cancel.stdout, f"fleet cancel: {cancel.stderr!r}")
    check(wait(lambda: api(srv, api_key, "GET", f"/v1/fleets/{fid}")[1].get("phase") == "failed",
               30), "the cancelled fleet ends (no member succeeded)")
    watch = cli("fleet", "watch", fid, env=env)
    check(watch.returncode == 1 and "slow-one" in watch.stdout and "did not succeed" in watch.stdout,
          f"fleet watch names the members that did not succeed: {watch.stdout[-300:]!r}")
    typo = cli("fleet", "cancle", fid, env=env)
    check(typo.returncode == 2 and "did you mean 'cancel'?" in typo.stderr, "fleet verb typo")
    # Ids of the wrong kind: the same clean 404 as a missing id.
    for verb, wrong in (("get", fid), ("result", fid)):
        r = cli(verb, wrong, env=env)
        check(r.returncode == 1 and "not_found" in r.stderr, f"{verb} of a fleet id: {r.stderr!r}")
    for path in (f"/v1/sessions/{fid}", f"/v1/sessions/{fid}/result", "/v1/sessions/nope",
                 f"/v1/fleets/{session_id}", "/v1/fleets/nope"):
        st, body = api(srv, api_key, "GET", path)
        msg = body.get("error", {}).get("message", "")
        check(st == 404 and msg.startswith("no such " + ("fleet" if "fleets" in path else "session")),
              f"one 404 text per kind: {path} -> {st} {msg!r}")
    r = cli("fleet", "get", session_id, env=env)
    check(r.returncode == 1 and "not_found" in r.stderr, f"fleet get of a session id: {r.stderr!r}")


def operator_checks(work, srv, data, log_path):
    with open(log_path) as f:
        noise = [l for l in f if "invalid UTF-8" in l or "damaged" in l]
    check(not noise, f"wrong-kind lookups leave no log noise: {noise[:2]}")
    h = subprocess.run([ENCLAVED, "--help"], capture_output=True, text=True, timeout=30)
    flags, _, env_only = h.stdout.partition("environment only:")
    check("--warm-pool" in flags and "--warm-pool" not in env_only.split("kubernetes")[0],
          "enclaved --help lists --warm-pool among the flags")
    # A second server: the busy port and the data dir in use fail at once, in words.
    t0 = time.monotonic()
    busy = subprocess.run([ENCLAVED, "--listen", f"127.0.0.1:{srv.port}", "--data-dir",
                           os.path.join(work, "other"), "--backend", "simulator", "--auth",
                           "disabled"], capture_output=True, text=True, timeout=60)
    took = time.monotonic() - t0
    check(busy.returncode != 0 and "already in use" in busy.stderr and took < 2,
          f"busy port: rc {busy.returncode} in {took:.1f} s: {busy.stderr[-200:]!r}")
    inuse = subprocess.run([ENCLAVED, "--listen", "127.0.0.1:0", "--data-dir", data, "--backend",
                            "simulator", "--auth", "disabled"], capture_output=True, text=True,
                           timeout=60)
    check(inuse.returncode != 0 and "is in use by another process" in inuse.stderr and
          "While lock file" not in inuse.stderr, f"data dir in use: {inuse.stderr[-300:]!r}")


def gvisor_checks(work):
    srv = Server(BIN, os.path.join(work, "data"), "gvisor")
    env = dict(os.environ, ENCLAVE_BASE_URL=srv.base)
    try:
        lost = 0
        for _ in range(5):
            r = cli("run", "-", "--timeout", "2",
                    stdin='print("start", flush=True)\nwhile True: pass\n', env=env)
            lost += r.stdout != "start\n"
            check(r.returncode == 137 and "wall_clock_exceeded (limit 2 s)" in r.stderr,
                  f"killed at its wall clock: rc {r.returncode} {r.stderr!r}")
        check(lost == 0, f"output before a wall-clock kill lost in {lost} of 5 runs")

        st, s = srv.call("POST", "/v1/sessions", {"execMode": "interactive"})
        check(st == 201, f"interactive session created: {st}")
        sid = s["id"]
        check(wait(lambda: srv.call("GET", f"/v1/sessions/{sid}")[1].get("phase") == "running",
                   120), "interactive session running")
        ex = cli("exec", sid, "x = 41", env=env)
        check(ex.returncode == 0, f"turn 1: {ex.stderr!r}")
        slow = cli("exec", sid, "print('partial', flush=True)\nwhile True: pass", "--timeout-ms",
                   "1500", env=env)
        check(slow.returncode == 124 and slow.stdout == "partial\n" and
              "KeyboardInterrupt" in slow.stderr, f"slow turn interrupted: {slow.returncode} "
              f"{slow.stdout!r} {slow.stderr[-200:]!r}")
        nxt = cli("exec", sid, "print(x + 1)", env=env)
        check(nxt.returncode == 0 and nxt.stdout == "42\n",
              f"the session and its namespace live on: {nxt.returncode} {nxt.stdout!r} "
              f"{nxt.stderr!r}")
        view = srv.call("GET", f"/v1/sessions/{sid}")[1]
        check(view.get("phase") == "running" and view.get("turns") == 3, f"view: {view}")
        srv.call("DELETE", f"/v1/sessions/{sid}")
    finally:
        srv.stop()


def main():
    work = tempfile.mkdtemp(prefix="enclave-cli-test.")
    try:
        if BACKEND == "gvisor":
            gvisor_checks(work)
        else:
            simulator_checks(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    check.finish()


main()
