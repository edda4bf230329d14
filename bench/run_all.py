#!/usr/bin/env python3
"""Runs every benchmark figure of issue 7 in one run, each beside its baseline, and writes the
markdown of bench/RESULTS.md to stdout (progress goes to stderr). Loopback only; every loop is
bounded.   usage: run_all.py BIN_DIR [--quick]

  1 fan-out on the simulator (fanout_bench)        5 interactive turn via HTTP vs the raw kernel
  2 event-log appends (log_bench)                  6 HTTP GET /v1/sessions/{id} with wrk
  3 gVisor one-shots via HTTP vs bare runsc        7 restart and offline replay (restart_bench)
  4 first result of a one-shot via HTTP, cold vs warm pool   8 density (density.py)
  9 files in and out (files_bench.py)             12 fan-out with the log on PostgreSQL
 10 pause, resume, fork (pause_bench.py)         13 HA failover (ha_failover_bench.py)
 11 images (images.py)                           14 Merkle tree (merkle_bench)
"""
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from enclave_testlib import Server, wait  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
QUICK = "--quick" in sys.argv
rows = []      # (figure, result, baseline, ratio, goal, status, command)
details = []   # markdown lines


def log(*a):
    print(*a, file=sys.stderr, flush=True)


invalid = []  # (figure, why): work that failed is reported as such, never as a number


def refuse(figure, why):
    """A figure whose work did not all succeed: a row that says so, and no number."""
    log("INVALID", figure, why)
    invalid.append((figure, why))
    rows.append((figure, f"not measured: {why}", "—", "—", "—", "**invalid**", "—"))


def run(cmd, timeout=900):
    """Output of `cmd` (without log lines); a bench that exits non-zero or prints INVALID is
    recorded as invalid by its caller through `run.failed`."""
    log("$", " ".join(cmd))
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    text = out.stdout + "\n" + out.stderr
    run.failed = out.returncode != 0 or "INVALID" in text
    return "\n".join(l for l in text.splitlines() if not l.startswith("["))


def num(pattern, text, default=0.0):
    m = re.search(pattern, text)
    return float(m.group(1)) if m else default


def status(ok):
    return "met" if ok else "**missed**"


def proc_cpu_s(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, own threads


# ---- 1. fan-out -------------------------------------------------------------------------------
times, raw_times = {}, {}
for n in ([1000, 10000] if QUICK else [1000, 10000, 100000]):
    # Each run measures its own raw baseline; the run with the median ratio of three is reported
    # (one run at 100k), since both sides swing on a shared machine.
    runs = []
    for _ in range(1 if n >= 100000 else 3):
        out = run([f"{BIN}/fanout_bench", str(n), "256"])
        if run.failed:
            break
        t, ours, raw = num(r"all-terminal=([\d.]+)s", out), num(r"enclave (\d+)", out), num(r"raw batched RocksDB (\d+)", out)
        runs.append((ours / raw if raw else 0, t, ours, raw, num(r"peak RSS: (\d+) MiB", out)))
    if run.failed:
        refuse(f"1 fan-out {n:,} members, ceiling 256",
               (re.search(r"INVALID[^\n]*", out) or [out.strip()[-200:]])[0])
        continue
    runs.sort()
    ratio, t, ours, raw, rss = runs[len(runs) // 2]
    if len(runs) > 1:
        details.append(f"Fan-out {n:,}: ratios of the three runs {', '.join(f'{r[0]:.2f}' for r in runs)}.")
    times[n] = t
    raw_times[n] = (t * ours / raw) if raw else 0  # the same events at the raw baseline's rate
    rss_goal = n < 100000 or rss <= 1024
    rows.append((f"1 fan-out {n:,} members, ceiling 256", f"{t:.2f} s, {ours:,.0f} events/s, {rss:.0f} MiB",
                 f"raw RocksDB {raw:,.0f} events/s", f"{ratio:.2f}", "≥ 0.5; ≤ 1 GiB at 100k",
                 status(ratio >= 0.5 and rss_goal), f"fanout_bench {n} 256"))
ns = sorted(t for t in times if t)
growth = ", ".join(f"{b // a}× members → {times[b] / times[a]:.1f}× time" for a, b in zip(ns, ns[1:]) if times[a])
raw_growth = ", ".join(f"{raw_times[b] / raw_times[a]:.1f}×" for a, b in zip(ns, ns[1:]) if raw_times[a])
details.append(f"Fan-out growth: {growth} (linear would be equal). The raw RocksDB baseline writing "
               f"the same events grows {raw_growth} over the same steps.")

# ---- 2. event log -----------------------------------------------------------------------------
out = run([f"{BIN}/log_bench", "20000", "64"])
if run.failed:
    refuse("2 event-log appends", out.strip()[-200:])
m1 = re.search(r"enclave (\d+) events/s vs raw RocksDB (\d+) -> ratio ([\d.]+)", out)
m2 = re.search(r"\(([\d.]+) appends per fsync\): enclave (\d+) events/s vs raw RocksDB batches of that size (\d+) -> ratio ([\d.]+); vs single writer x([\d.]+)", out)
if m1 and not run.failed:
    rows.append(("2 synced appends, single writer", f"{int(m1[1]):,}/s", f"raw RocksDB {int(m1[2]):,}/s", m1[3],
                 "—", "—", "log_bench 20000 64"))
if m2 and not run.failed:
    rows.append((f"2 group commit, 64 writers ({m2[1]}/fsync)", f"{int(m2[2]):,}/s",
                 f"raw batches {int(m2[3]):,}/s", m2[4], "—", f"×{m2[5]} the single writer", "log_bench 20000 64"))

# ---- gVisor backend figures (baseline bare runsc, raw kernel) -----------------------------------
gv = run([f"{BIN}/gvisor_bench", "16", "2", "200"]) if os.path.exists(f"{BIN}/gvisor_bench") else ""
for line in gv.splitlines():
    if line.startswith("INVALID"):
        refuse("gvisor_bench " + line.split(":")[0][len("INVALID "):], line)
bare = num(r"vs bare runsc ([\d.]+)", gv)
raw_turn = num(r"same kernel on the host ([\d.]+) ms", gv)
gvisor_turn = num(r"through the backend \(gVisor\) ([\d.]+) ms", gv)
details.append("gvisor_bench 16 2 200:\n\n```\n" + gv.strip() + "\n```")

work = tempfile.mkdtemp(prefix="enclave-bench-")
try:
    # ---- 3. one-shots through HTTP on gVisor, and the control plane's own CPU -------------------
    # On equal terms with the bare-runsc baseline (gvisor_bench: the same `python3 -I -S -B`, the
    # same delete-only-if-state-left cleanup, nothing booted before t0): the pool is OFF. The
    # same fleet with the default pool (8 kernels booted before t0, refilled outside the P=2
    # ceiling) is measured beside it for reference, not as the figure.
    def one_shot_fleet(server, n=16):
        """(rate/s, enclaved CPU ms per session) or a string saying what failed."""
        cpu0, t0 = proc_cpu_s(server.p.pid), time.time()
        st, f = server.call("POST", "/v1/fleets", {"name": "tput", "members": [{"code": "pass"}] * n})
        if st != 201:
            return f"fleet create answered {st}"
        wait(lambda: server.call("GET", f"/v1/fleets/{f['id']}")[1].get("phase") in ("completed", "partial", "failed"), 300, 0.05)
        rate = n / (time.time() - t0)
        cpu_ms = (proc_cpu_s(server.p.pid) - cpu0) * 1000 / n
        st, f = server.call("GET", f"/v1/fleets/{f['id']}")
        if st != 200 or f.get("phase") != "completed" or f["counts"]["succeeded"] != n:
            return f"fleet {f.get('phase')} {f.get('counts')}"
        return rate, cpu_ms

    cold3 = Server(BIN, os.path.join(work, "g0"), "gvisor", env={"ENCLAVE_MAX_CONCURRENCY": "2",
                                                                 "ENCLAVE_WARM_POOL": "0"})
    try:
        r = one_shot_fleet(cold3)
    finally:
        cold3.stop()
    if isinstance(r, str) or not bare:
        refuse("3 gVisor one-shots via HTTP, P=2, pool off", r if isinstance(r, str) else "no bare-runsc baseline")
    else:
        rows.append(("3 gVisor one-shots via HTTP, P=2, pool off (equal terms)",
                     f"{r[0]:.2f}/s; enclaved CPU {r[1]:.0f} ms/session", f"bare runsc {bare:.2f}/s",
                     f"{r[0] / bare:.2f}", "≥ 0.95", status(r[0] / bare >= 0.95),
                     "run_all.py (fleet of 16 `pass`, ENCLAVE_WARM_POOL=0) + gvisor_bench"))
    srv = Server(BIN, os.path.join(work, "g"), "gvisor", env={"ENCLAVE_MAX_CONCURRENCY": "2",
                                                              "ENCLAVE_INTERACTIVE_IDLE_TTL": "60"})
    r = one_shot_fleet(srv)
    if isinstance(r, str) or not bare:
        refuse("3 … default pool (reference)", r if isinstance(r, str) else "no bare-runsc baseline")
    else:
        rows.append(("3 … the same with the default pool of 8 (reference, not equal terms)",
                     f"{r[0]:.2f}/s; enclaved CPU {r[1]:.0f} ms/session", f"bare runsc {bare:.2f}/s",
                     f"{r[0] / bare:.2f}", "—", "—", "run_all.py (fleet of 16 `pass`) + gvisor_bench"))

    # ---- 4. time to first result: a one-shot on a warm pool kernel, synchronous vs polled, and
    # on a cold sandbox -------------------------------------------------------------------------
    # Warm: `srv` (the default pool) serves a Python one-shot from a pre-started kernel. Synchronous
    # (issue 24): one `POST /v1/sessions?wait=30` on a keep-alive connection, answered with the
    # result. Polled (the way before it, beside it in the same run): POST, then GET …/result
    # every 2 ms until final. Cold: the synchronous request on a server without a pool.
    cold_srv = Server(BIN, os.path.join(work, "c"), "gvisor", env={"ENCLAVE_WARM_POOL": "0"})

    def sync_first_result_ms(server):
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        try:
            body = json.dumps({"code": "print(1)", "language": "python"})
            t = time.perf_counter()
            c.request("POST", "/v1/sessions?wait=30", body, {"Content-Type": "application/json"})
            r = c.getresponse()
            s = json.loads(r.read())
            ms = (time.perf_counter() - t) * 1000
        finally:
            c.close()
        if r.status != 201 or s.get("result", {}).get("stdout") != "1\n" or s.get("phase") != "succeeded":
            return None  # failed work: not a sample
        return ms

    def polled_first_result_ms(server):
        t = time.perf_counter()
        st, s = server.call("POST", "/v1/sessions", {"code": "print(1)"})
        wait(lambda: server.call("GET", f"/v1/sessions/{s['id']}/result")[1].get("final"), 60, 0.002)
        ms = (time.perf_counter() - t) * 1000
        r = server.call("GET", f"/v1/sessions/{s['id']}/result")[1]
        v = server.call("GET", f"/v1/sessions/{s['id']}")[1]
        if st != 201 or r.get("stdout") != "1\n" or v.get("phase") != "succeeded":
            return None
        return ms

    cold, warm, polled = [], [], []
    try:
        for i in range(10):
            cold.append(sync_first_result_ms(cold_srv))
            time.sleep(0.6)  # a measurement spacing so the pool refills; not a synchronisation
            warm.append(sync_first_result_ms(srv))
            time.sleep(0.6)
            polled.append(polled_first_result_ms(srv))
    finally:
        cold_srv.stop()
    if None in cold or None in warm or None in polled:
        refuse("4 first result of a `print(1)` one-shot via HTTP",
               f"{cold.count(None)} cold, {warm.count(None)} warm and {polled.count(None)} polled "
               "sessions did not succeed")
    else:
        c50, w50, p50 = statistics.median(cold), statistics.median(warm), statistics.median(polled)
        rows.append(("4 first result of a `print(1)` one-shot via HTTP, `?wait=30`",
                     f"warm pool p50 {w50:.1f} ms", f"cold sandbox p50 {c50:.1f} ms",
                     f"{c50 / w50:.1f}× faster", "warm p50 ≤ 8 ms", status(w50 <= 8), "run_all.py"))
        rows.append(("4 … the same warm one-shot, polled every 2 ms (the way before `wait`)",
                     f"warm pool p50 {p50:.1f} ms", f"synchronous p50 {w50:.1f} ms",
                     f"{p50 / w50:.2f}× the synchronous", "—", "—", "run_all.py"))
        details.append(f"Figure 4 samples (ms): warm synchronous {', '.join(f'{x:.1f}' for x in sorted(warm))}; "
                       f"warm polled {', '.join(f'{x:.1f}' for x in sorted(polled))}; "
                       f"cold {', '.join(f'{x:.0f}' for x in sorted(cold))}.")

    # The contract check's pattern (perf-first-result): a burst of 36 synchronous one-shots on
    # one keep-alive connection, 50 ms apart, p50 of the last 30 — the pool must hold the burst,
    # since a 2-core host boots kernels slower than they are taken. Beside it: the spaced warm
    # p50 above (a ready kernel each time).
    def burst_p50_ms(server, n=36, skip=6):
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        xs = []
        try:
            for i in range(n):
                body = json.dumps({"code": f"print({i})", "language": "python"})
                t = time.perf_counter()
                c.request("POST", "/v1/sessions?wait=30", body, {"Content-Type": "application/json"})
                r = c.getresponse()
                b = json.loads(r.read())
                xs.append((time.perf_counter() - t) * 1000)
                if b.get("phase") != "succeeded" or b.get("result", {}).get("stdout") != f"{i}\n":
                    return None
                time.sleep(0.05)  # the check's arrival spacing: part of the workload
        finally:
            c.close()
        return statistics.median(xs[skip:]), xs

    burst_srv = Server(BIN, os.path.join(work, "b"), "gvisor")
    try:
        # Warm-up, not a synchronisation: the default pool boots before the burst, as on a host
        # that has been serving (no readiness signal exists for an idle pool kernel).
        time.sleep(10)
        b = burst_p50_ms(burst_srv)
    finally:
        burst_srv.stop()
    if b is None or None in warm:
        refuse("4 burst of one-shots", "a one-shot of the burst did not succeed")
    else:
        rows.append(("4 … a burst: 36 one-shots 50 ms apart, default pool (perf-first-result's pattern)",
                     f"p50 {b[0]:.1f} ms (last 30)", f"spaced warm p50 {statistics.median(warm):.1f} ms",
                     f"{b[0] / statistics.median(warm):.2f}", "p50 ≤ 10 ms (the check)", status(b[0] <= 10),
                     "run_all.py"))
        details.append("Figure 4 burst samples (ms, in order): " + ", ".join(f"{x:.0f}" for x in b[1]) + ".")

    # Why the burst misses on a small host: the whole host's CPU per warm one-shot (its
    # replacement kernel's boot, the used sandbox's exit, enclaved), over 10 one-shots spaced so
    # each replacement finishes, against the rate the burst takes kernels at.
    def host_busy_ticks():
        f = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
        return f[0] + f[1] + f[2] + f[5] + f[6] + f[7]  # user nice system irq softirq steal

    cpu_srv = Server(BIN, os.path.join(work, "u"), "gvisor")
    try:
        time.sleep(10)  # warm-up, not a synchronisation: the default pool boots first
        t0 = host_busy_ticks()
        shots = []
        for i in range(10):
            shots.append(sync_first_result_ms(cpu_srv))
            time.sleep(1.5)  # spacing: the replacement boot ends inside the window measured
        cpu_ms = (host_busy_ticks() - t0) * 1000 / os.sysconf("SC_CLK_TCK") / 10
    finally:
        cpu_srv.stop()
    if None in shots:
        refuse("4 host CPU per warm one-shot", "a one-shot did not succeed")
    elif b is not None:
        can = (os.cpu_count() or 1) * 1000 / cpu_ms
        asked = 1000 / (50 + 10)  # the burst when every run meets the check's 10 ms: one per 60 ms
        rows.append(("4 … host CPU per warm one-shot, its replacement kernel's boot included",
                     f"{cpu_ms:.0f} ms CPU → at most {can:.1f} one-shots/s on {os.cpu_count()} cores",
                     f"a burst meeting 10 ms takes {asked:.1f} kernels/s", f"{can / asked:.2f}",
                     "(why the burst misses)",
                     "—", "run_all.py (/proc/stat over 10 spaced one-shots)"))

    # ---- 5. interactive turn via HTTP vs the raw kernel --------------------------------------
    st, s = srv.call("POST", "/v1/sessions", {"execMode": "interactive", "code": "x = 0"})
    wait(lambda: srv.call("GET", f"/v1/sessions/{s['id']}")[1].get("phase") == "running", 60, 0.01)
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    lat, bad = [], []
    for i in range(200):
        t = time.perf_counter()
        c.request("POST", f"/v1/sessions/{s['id']}/exec", body=json.dumps({"code": "x += 1"}),
                  headers={"Content-Type": "application/json"})
        resp = c.getresponse()
        body = resp.read()
        lat.append((time.perf_counter() - t) * 1000)
        if resp.status != 200 or json.loads(body or b"{}").get("exitCode") != 0:
            bad.append(resp.status)
    # The work happened: 200 turns ran in order on one kernel, so x is 200.
    st, t = srv.call("POST", f"/v1/sessions/{s['id']}/exec", {"code": "print(x)"})
    if bad or st != 200 or t.get("stdout") != "200\n" or not raw_turn:
        refuse("5 interactive turn via HTTP (p50 of 200)",
               f"{len(bad)} turns failed ({bad[:3]}), x = {t.get('stdout', '').strip()!r}, raw kernel {raw_turn}")
        lat = []
    p50 = statistics.median(lat) if lat else 0
    if lat:
        rows.append(("5 interactive turn via HTTP (p50 of 200)", f"{p50:.2f} ms", f"raw kernel on the host {raw_turn:.3f} ms",
                     f"+{p50 - raw_turn:.2f} ms", "overhead ≤ 1 ms", status(p50 - raw_turn <= 1.0), "run_all.py + gvisor_bench"))
    if gvisor_turn and lat:
        # The same kernel in its gVisor sandbox, driven over its pipes by the backend alone: what
        # the control plane (HTTP, actors, the fsynced turn record) adds on top of the sandbox.
        rows.append(("5 … the same turn vs the kernel in gVisor over its pipes", f"{p50:.2f} ms",
                     f"backend alone {gvisor_turn:.3f} ms", f"+{p50 - gvisor_turn:.2f} ms",
                     "(the control plane's share)", "—", "run_all.py + gvisor_bench"))
    srv.stop()

    # ---- 6. wrk on GET /v1/sessions/{id} -----------------------------------------------------
    if shutil.which("wrk"):
        sim = Server(BIN, os.path.join(work, "s"), "simulator")
        st, s = sim.call("POST", "/v1/sessions", {"code": "print(1)"})
        st_get, _ = sim.call("GET", f"/v1/sessions/{s.get('id')}")
        out = run(["wrk", "-t2", "-c32", "-d10s", "--latency", f"{sim.base}/v1/sessions/{s.get('id')}"], 60)
        rps, p99 = num(r"Requests/sec:\s+([\d.]+)", out), re.search(r"99%\s+(\S+)", out)
        # Baseline: the same server's cheapest route (no key, no read model, a constant body), so
        # the ratio is what reading and rendering a session costs over the HTTP stack itself.
        base_out = run(["wrk", "-t2", "-c32", "-d10s", f"{sim.base}/v1/healthz"], 60)
        base_rps = num(r"Requests/sec:\s+([\d.]+)", base_out)
        # wrk counts any answer as a request: a stream of 404s would be "fast". Every answer must
        # have been a 2xx, and the socket clean.
        errs = [m.group(0) for o in (out, base_out)
                for m in re.finditer(r"(Non-2xx or 3xx responses: \d+|Socket errors: [^\n]+)", o)]
        if st != 201 or st_get != 200 or errs or not rps or not base_rps:
            refuse("6 HTTP GET /v1/sessions/{id}", f"create {st}, get {st_get}, wrk: {errs or 'no rate'}")
            rps = 0
        if rps:
            rows.append(("6 HTTP GET /v1/sessions/{id}", f"{rps:,.0f} req/s, p99 {p99[1] if p99 else '?'}",
                         f"GET /v1/healthz {base_rps:,.0f} req/s", f"{rps / base_rps:.2f}",
                         "≥ 15k req/s", status(rps >= 15000), "wrk -t2 -c32 -d10s --latency"))
        sim.stop()
    else:
        refuse("6 HTTP GET /v1/sessions/{id}", "wrk is not installed (scripts/install-deps wrk)")
finally:
    shutil.rmtree(work, ignore_errors=True)

# ---- 8. density: idle interactive gVisor sessions, and a turn when they are all live ---------
# N defaults to the 1,000 (`--density N` to choose; --quick: 50). Each idle sandbox holds
# ~15 MiB and ~30 host tasks: 1,000 need ~15 GiB and most of pid_max on one machine.
dn = next((int(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--density=")), 50 if QUICK else 1000)
out = run(["python3", os.path.join(os.path.dirname(os.path.abspath(__file__)), "density.py"), BIN, str(dn)], 3600)
m = re.search(r"single live session turn p50 ([\d.]+) ms p99 ([\d.]+) ms \| \d+ live: turn p50 ([\d.]+) ms "
              r"p99 ([\d.]+) ms .*enclaved RSS (\d+) MiB \| host per sandbox: PSS ([\d.]+) MiB, RSS ([\d.]+) MiB, "
              r"([\d.]+) tasks", out)
if run.failed or not m:
    refuse(f"8 density, {dn:,} idle interactive gVisor sessions", (re.search(r"INVALID[^\n]*", out) or [out.strip()[-200:]])[0])
else:
    s50, s99, m50, m99, ers, pss, rss_ps, tasks = (float(x) for x in m.groups())
    rows.append((f"8 density: turn on a random one of {dn:,} idle interactive gVisor sessions",
                 f"p50 {m50:.2f} ms, p99 {m99:.2f} ms; host per sandbox {pss:.1f} MiB PSS "
                 f"({rss_ps:.1f} RSS), {tasks:.0f} tasks; enclaved {ers:.0f} MiB",
                 f"one live session p50 {s50:.2f} ms, p99 {s99:.2f} ms", f"{m50 / s50:.2f}",
                 "p50 ≤ 2× one live; ≤ 16 MiB per idle sandbox",
                 status(m50 <= 2 * s50 and pss <= 16), f"density.py {dn}"))
    details.append(f"density.py {dn}:\n\n```\n{out.strip()}\n```")

# ---- 7. restart and offline replay -----------------------------------------------------------
n_events = "100000" if QUICK else "1000000"
out = run([f"{BIN}/restart_bench", n_events], 1800)
if run.failed:
    refuse("7 restart", out.strip()[-200:])
hist = re.search(r"history: (\d+) events", out)
rs, full = num(r"([\d.]+) s with checkpoint", out), num(r"vs ([\d.]+) s folding", out)
rep, rawscan, rr = num(r"offline replay: (\d+)", out), num(r"raw scan\+parse (\d+)", out), num(r"ratio ([\d.]+)", out)
if not run.failed:
    rows.append((f"7 restart to serving, {int(hist[1]):,} events" if hist else "7 restart", f"{rs:.3f} s",
                 f"full fold {full:.2f} s", f"{rs / full:.3f}" if full else "—", "≤ 1 s", status(rs <= 1.0),
                 f"restart_bench {n_events}"))
    rows.append(("7 offline replay (server's apply)", f"{rep:,.0f} events/s", f"raw scan+parse {rawscan:,.0f}/s",
                 f"{rr:.2f}", "≥ 0.8", status(rr >= 0.8), f"restart_bench {n_events}"))

# ---- 9–14. the other issues' benches, each beside its own baseline --------------------------
# Every figure of RESULTS.md comes from this one run. Each bench prints its own lines (kept
# verbatim below the table); the row carries its headline numbers and goal.
HERE = os.path.dirname(os.path.abspath(__file__))


def other_bench(figure, cmd, timeout, parse):
    """Runs one bench; `parse(out)` returns its rows (figure, result, baseline, ratio, goal, ok)
    or raises; a failed run or a missing number is an invalid row, never a figure."""
    try:
        out = run(cmd, timeout)
    except subprocess.TimeoutExpired:
        refuse(figure, f"did not finish within {timeout} s")
        return
    shown = " ".join(cmd).replace(BIN, "build/bin").replace(HERE + "/", "bench/")
    try:
        if run.failed:
            raise ValueError((re.search(r"INVALID[^\n]*", out) or [out.strip()[-200:]])[0])
        for fig, result, base, ratio, goal, ok in parse(out):
            rows.append((fig, result, base, ratio, goal, status(ok), shown))
        details.append(f"{shown}:\n\n```\n{out.strip()}\n```")
    except (ValueError, TypeError, AttributeError, ZeroDivisionError) as e:
        refuse(figure, str(e) or "no figure in its output")


def need(pattern, text):
    m = re.search(pattern, text)
    if not m:
        raise ValueError(f"no line matching {pattern!r}")
    return [float(x) for x in m.groups()]


def files_rows(out):
    cp, up, upr, down, downr = need(r"cp (\d+) MiB/s \(baseline\) \| upload (\d+) MiB/s = ([\d.]+)x cp.*"
                                    r"download (\d+) MiB/s = ([\d.]+)x cp", out)
    growth, = need(r"RSS growth max ([\d.]+) MiB", out)
    e2b = re.search(r"e2b upload (\d+) MiB/s = ([\d.]+)x cp", out)
    rows_ = [("9 files: upload 100 MiB (PUT …/files)", f"{up:.0f} MiB/s", f"cp into the sandbox's dir {cp:.0f} MiB/s",
              f"{upr:.2f}", "≥ 0.5× cp", upr >= 0.5),
             ("9 files: download 100 MiB (GET …/files)", f"{down:.0f} MiB/s", f"cp {cp:.0f} MiB/s", f"{downr:.2f}",
              "≥ 0.5× cp", downr >= 0.5),
             ("9 files: enclaved RSS growth over the transfers", f"{growth:.1f} MiB", "—", "—", "≤ 16 MiB",
              growth <= 16)]
    if e2b:
        rows_.insert(1, ("9 files: E2B upload 100 MiB (POST /files)", f"{float(e2b[1]):.0f} MiB/s",
                         f"cp {cp:.0f} MiB/s", e2b[2], "≥ 0.5× cp", float(e2b[2]) >= 0.5))
    return rows_


def pause_rows(out):
    p50, = need(r"pause \(n=\d+\)\s+p50\s+(\d+) ms", out)
    ck, = need(r"bare runsc checkpoint \(1\)\s+(\d+) ms", out)
    rs, = need(r"bare runsc restore --detach \(1\)\s+(\d+) ms", out)
    res, = need(r"resume -> first turn \(n=\d+\)\s+p50\s+(\d+) ms", out)
    fork, = need(r"fork of 10 -> all running\s+(\d+) ms", out)
    n, sb, mib, gib = need(r"(\d+) paused sessions: (\d+) sandboxes, ([\d.]+) MiB of snapshots -> 1,000: ([\d.]+) GiB", out)
    return [("10 pause of an idle Python session, p50", f"{p50:.0f} ms", f"bare runsc checkpoint {ck:.0f} ms",
             f"{p50 / ck:.2f}" if ck else "—", "≤ 150 ms", p50 <= 150),
            ("10 resume → first turn done, p50", f"{res:.0f} ms", f"bare runsc restore {rs:.0f} ms",
             f"{res / rs:.2f}" if rs else "—", "≤ 250 ms", res <= 250),
            ("10 fork of 10 → all running", f"{fork:.0f} ms", "—", "—", "≤ 2 s", fork <= 2000),
            (f"10 {n:.0f} paused sessions held", f"{sb:.0f} sandboxes, {mib:.1f} MiB → {gib:.2f} GiB per 1,000",
             "—", "—", "0 sandboxes, ≤ 2 GiB per 1,000", sb == 0 and gib <= 2)]


def images_rows(out):
    second, first = need(r"second \(same inputs, same data dir\): ([\d.]+) s vs the first in this fresh data dir ([\d.]+) s", out)
    wi, wd = need(r"warm pool: p50 ([\d.]+) ms vs default from its pool p50 ([\d.]+) ms", out)
    ci, cd, r = need(r"cold start of a one-shot on pydata: p50 ([\d.]+) ms vs on default p50 ([\d.]+) ms -> ([\d.]+)x", out)
    return [("11 image build, cached (the same build again)", f"{second:.2f} s", f"first build here {first:.2f} s",
             f"{second / first:.3f}" if first else "—", "≤ 2 s", second <= 2),
            ("11 warm first result on a built image (pydata)", f"p50 {wi:.1f} ms", f"`default` from its pool p50 {wd:.1f} ms",
             f"{wi / wd:.2f}" if wd else "—", "≤ 20 ms", wi <= 20),
            ("11 cold start on a built image", f"p50 {ci:.1f} ms", f"`default` p50 {cd:.1f} ms", f"{r:.2f}", "≤ 1.2×",
             r <= 1.2)]


def pg_rows(out):
    ours, raw, ratio = need(r"enclave on postgres (\d+) vs raw batched COPY (\d+) -> ratio ([\d.]+)", out)
    return [("12 fan-out 10,000 members with the log on PostgreSQL", f"{ours:,.0f} events/s",
             f"raw batched COPY {raw:,.0f} rows/s", f"{ratio:.2f}", "≥ 0.5", ratio >= 0.5)]


def failover_rows(out):
    p50, mx, goal = need(r"p50 ([\d.]+) s, max ([\d.]+) s vs goal TTL \+ 1 = (\d+) s", out)
    return [("13 failover: leader kill -9 → next admission on the standby", f"p50 {p50:.2f} s, max {mx:.2f} s",
             "—", "—", f"p50 ≤ TTL + 1 s = {goal:.0f} s", p50 <= goal)]


def merkle_rows(out):
    share, = need(r"tree share of append:\s+[\d.]+ us/event \(([\d.]+)% of the append\)", out)
    incl, = need(r"inclusion proof:\s+([\d.]+) ms", out)
    cons, = need(r"consistency proof:\s+([\d.]+) ms", out)
    ver, raw_x = need(r"verify tree \+ index:\s+(\d+) events/s \(([\d.]+)x the raw scan", out)
    return [("14 Merkle tree's share of an append", f"{share:.1f}%", "the append itself", f"{share / 100:.3f}",
             "≤ 5%", share <= 5),
            ("14 inclusion / consistency proof, 1M-event log", f"{incl:.3f} / {cons:.3f} ms", "—", "—", "≤ 5 ms",
             max(incl, cons) <= 5),
            ("14 verify (tree + global index)", f"{ver:,.0f} events/s", "raw scan", f"{raw_x:.2f}", "≥ 0.8× raw scan",
             raw_x >= 0.8)]


other_bench("9 files", ["python3", f"{HERE}/files_bench.py", BIN, "3"], 1800, files_rows)
other_bench("10 pause, resume, fork", ["python3", f"{HERE}/pause_bench.py", BIN, "10", "50"], 1800, pause_rows)
other_bench("11 images", ["python3", f"{HERE}/images.py", BIN, "10"], 3600, images_rows)
other_bench("12 fan-out on PostgreSQL", [f"{BIN}/pg_fanout_bench", "10000", "256"], 1800, pg_rows)
other_bench("13 failover", ["python3", f"{HERE}/ha_failover_bench.py", BIN, "5", "6"], 1800, failover_rows)
other_bench("14 Merkle tree", [f"{BIN}/merkle_bench", "100000" if QUICK else "1000000", "100"], 1800, merkle_rows)

# ---- the file ------------------------------------------------------------------------------------
mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "?")
print("# Benchmark results\n")
print(f"Generated by `scripts/bench{' --quick' if QUICK else ''}` on "
      f"{datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} — "
      f"{os.cpu_count()} cores, {int(mem) // 1024 // 1024} GiB, {platform.system()} {platform.release()}. "
      "Machines are shared and noisy: every figure is measured beside its baseline in the same run.\n")
print("| figure | result | baseline | ratio | goal | status | command |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(str(x) for x in r) + " |")
print()
for d in details:
    print(d + "\n")
analysis = os.path.join(os.path.dirname(os.path.abspath(__file__)), "analysis.md")
if os.path.exists(analysis):
    print(open(analysis).read())
if invalid:
    log(f"{len(invalid)} figures not measured because their work failed: {invalid}")
    sys.exit(1)
