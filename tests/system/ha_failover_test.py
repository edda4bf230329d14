#!/usr/bin/env python3
"""The HA tier on the simulator (issue 22): a throwaway PostgreSQL, three `enclaved --ha`
replicas over it, a 300-member fleet at ceiling 16; kill -9 the leader at ~1/3 of the fleet and
the next leader at ~2/3. Checks: one leader at a time, a new leader within TTL + 2 s of each
kill, every member terminal exactly once (those running on a dead leader end sandbox_error,
the rest succeed), the ceiling never exceeded in the log, a SIGSTOPped leader resumed past
its TTL steps down (exits 75), the fleet
(an answered write) on every leader, standbys redirect writes (307) to the leader.

usage: ha_failover_test.py BIN_DIR
"""
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks, free_port, wait

BIN = sys.argv[1]
PGBIN = "/usr/lib/postgresql/15/bin"
TTL_S = 2
MEMBERS = 300
CEILING = 16
check = Checks()
REPLICA_STORE = []  # store, data dir, log file: how to start one more replica


def pg_start(work):
    pg = os.path.join(work, "pg")
    os.makedirs(pg)
    pw = pwd.getpwnam("postgres")
    os.chown(pg, pw.pw_uid, pw.pw_gid)
    os.chmod(work, 0o755)
    port = free_port()
    run = lambda *a: subprocess.run(["runuser", "-u", "postgres", "--", *a], check=True,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run(f"{PGBIN}/initdb", "-D", f"{pg}/db", "-A", "trust")
    run(f"{PGBIN}/pg_ctl", "-D", f"{pg}/db", "-o", f"-p {port} -k {pg} -c listen_addresses=''",
        "-l", f"{pg}/log", "-w", "start")
    run(f"{PGBIN}/createdb", "-h", pg, "-p", str(port), "enclave")
    return pg, f"host={pg} port={port} dbname=enclave user=postgres"


def pg_stop(pg):
    subprocess.run(["runuser", "-u", "postgres", "--", f"{PGBIN}/pg_ctl", "-D", f"{pg}/db",
                    "-m", "immediate", "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Replica:
    def __init__(self, store, data, log):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, ENCLAVE_AUTH="disabled",
                   ENCLAVE_CRED_SECRET="0123456789abcdef0123456789abcdef")
        self.p = subprocess.Popen([f"{BIN}/enclaved", "--listen", f"127.0.0.1:{self.port}",
                                   "--data-dir", data, "--store", store, "--ha",
                                   "--lease-ttl-s", str(TTL_S), "--backend", "simulator",
                                   "--max-concurrency", str(CEILING)],
                                  stdout=log, stderr=subprocess.STDOUT, env=env)

    def health(self):
        try:
            with urllib.request.urlopen(self.base + "/v1/healthz", timeout=2) as r:
                return json.loads(r.read())
        except Exception:
            return {}

    def call(self, method, path, body=None):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read() or b"{}"), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}"), dict(e.headers)
        except Exception as e:
            return 0, {"error": str(e)}, {}


def leaders(replicas):
    return [r for r in replicas if r.p.poll() is None and r.health().get("role") == "leader"]


def member(i):
    return {"code": f"#@sim sleep_ms=150\n#@sim stdout=\"m{i}\"\nprint({i})", "language": "python"}


def ended(leader, fid):
    st, f, _ = leader.call("GET", f"/v1/fleets/{fid}")
    c = f.get("counts", {}) if st == 200 else {}
    return c.get("succeeded", 0) + c.get("failed", 0) + c.get("killed", 0)


def main():
    if not os.path.exists(f"{PGBIN}/initdb"):
        print("postgresql-15 is not installed (scripts/install-deps)")
        sys.exit(1)
    work = tempfile.mkdtemp(prefix="enclave-ha-")
    pg, conninfo = pg_start(work)
    log = open(os.path.join(work, "servers.log"), "ab")
    data = os.path.join(work, "data")
    REPLICA_STORE[:] = ["postgres:" + conninfo, data, log]
    replicas = [Replica("postgres:" + conninfo, data, log) for _ in range(3)]
    try:
        run(replicas)
    finally:
        for r in replicas:
            if r.p.poll() is None:
                r.p.kill()
                r.p.wait()
        pg_stop(pg)
        log.close()
        if check.failed:
            print(open(os.path.join(work, "servers.log"), errors="replace").read()[-4000:])
        shutil.rmtree(work, ignore_errors=True)
    check.finish()


def run(replicas):
    check(wait(lambda: all(r.health() for r in replicas), 60), "three replicas answer /v1/healthz")
    check(wait(lambda: len(leaders(replicas)) == 1, 3 * TTL_S + 5), "one leader is elected")
    roles = sorted(r.health().get("role") for r in replicas)
    check(roles == ["leader", "standby", "standby"], f"roles {roles}")
    leader = leaders(replicas)[0]
    standby = next(r for r in replicas if r is not leader)
    # A standby redirects a write to the leader, and says who leads.
    check(wait(lambda: standby.health().get("leader") == leader.base, TTL_S + 2),
          "a standby's healthz names the leader")
    st, body, headers = standby.call("POST", "/v1/sessions", {"code": "print(1)", "language": "python"})
    check(st == 307 and headers.get("Location") == leader.base + "/v1/sessions",
          f"a standby answers a write with 307 to the leader ({st} {headers.get('Location')})")

    st, f, _ = leader.call("POST", "/v1/fleets", {"name": "ha", "members": [member(i) for i in range(MEMBERS)]})
    check(st == 201, f"fleet created on the leader ({st})")
    fid = f.get("id", "")
    takeovers = []
    for fraction in (1 / 3, 2 / 3):
        check(wait(lambda: ended(leader, fid) >= MEMBERS * fraction, 120),
              f"the fleet reached {fraction:.2f} before the kill")
        old_epoch = leader.health().get("epoch", 0)
        leader.p.kill()
        leader.p.wait()
        t0 = time.time()
        check(wait(lambda: len(leaders(replicas)) == 1, TTL_S + 8, step=0.05),
              "a standby takes over after the leader's kill -9")
        took = time.time() - t0
        takeovers.append(took)
        check(took <= TTL_S + 2, f"new leader within TTL + 2 s (took {took:.2f} s)")
        new = leaders(replicas)
        if not new:
            return
        leader = new[0]
        check(leader.health().get("epoch", 0) > old_epoch, "the new leader holds a higher epoch")
        st, _, _ = leader.call("GET", f"/v1/fleets/{fid}")
        check(st == 200, f"the fleet (an answered write) is on the new leader ({st})")
    print("takeovers (s):", ", ".join(f"{t:.2f}" for t in takeovers))

    check(wait(lambda: ended(leader, fid) == MEMBERS, 180), "every member ended")
    st, f, _ = leader.call("GET", f"/v1/fleets/{fid}")
    c = f.get("counts", {})
    check(f.get("phase") in ("completed", "partial"), f"fleet phase {f.get('phase')}")
    check(sum(c.get(k, 0) for k in ("succeeded", "failed", "killed")) == MEMBERS,
          f"every member terminal exactly once: {c}")
    # At most the ceiling was running on each dead leader: only those may be lost.
    check(c.get("succeeded", 0) >= MEMBERS - 2 * CEILING, f"only members running at a kill lost: {c}")
    marks = []
    for m in f.get("members", []):
        sid = m["sessionId"]
        st, a, _ = leader.call("GET", f"/v1/sessions/{sid}/audit")
        types = [e.get("type") for e in a.get("events", [])]
        check(types.count("session_admitted") <= 2, f"{sid}: admitted at most twice ({types})")
        check(sum(1 for t in types if t == "session_torn_down") == 1,
              f"{sid}: torn down exactly once ({types})")
        for e in a.get("events", []):
            if e.get("type") == "session_admitted":
                marks.append((e.get("at"), 1))
            elif e.get("type") == "session_torn_down":
                marks.append((e.get("at"), -1))
    running = peak = 0
    for _, d in sorted(marks, key=lambda x: (x[0], x[1])):
        running += d
        peak = max(peak, running)
    check(0 < peak <= CEILING, f"the log never shows more than {CEILING} admitted at once (peak {peak})")
    # A leader stopped (SIGSTOP) past its TTL is replaced; resumed, it finds the new epoch and
    # exits (75) instead of acting.
    fresh = Replica(REPLICA_STORE[0], REPLICA_STORE[1], REPLICA_STORE[2])
    replicas.append(fresh)
    check(wait(lambda: fresh.health().get("role") == "standby", 60), "a fresh replica stands by")
    leader.p.send_signal(signal.SIGSTOP)
    check(wait(lambda: fresh.health().get("role") == "leader", TTL_S + 8, step=0.05),
          "a standby takes over from a stopped leader")
    leader.p.send_signal(signal.SIGCONT)
    try:
        code = leader.p.wait(timeout=TTL_S + 5)
    except subprocess.TimeoutExpired:
        code = None
    check(code == 75, f"the resumed old leader steps down and exits 75 (exit {code})")
    leader = fresh
    # The next admission after the last takeover works.
    st, s, _ = leader.call("POST", "/v1/sessions?wait=30",
                           {"code": "#@sim stdout=\"after failover\"\nprint(1)", "language": "python"})
    check(st in (200, 201) and s.get("phase") == "succeeded", f"the last leader runs a session ({st} {s.get('phase')})")


if __name__ == "__main__":
    main()
