#!/usr/bin/env python3
"""Runs every benchmark figure of issue 7 in one run, each beside its baseline, and writes the
markdown of bench/RESULTS.md to stdout (progress goes to stderr). Loopback only; every loop is
bounded.   usage: run_all.py BIN_DIR [--quick]

  1 fan-out on the simulator (fanout_bench)        5 interactive turn via HTTP vs the raw kernel
  2 event-log appends (log_bench)                  6 HTTP GET /v1/sessions/{id} with wrk
  3 gVisor one-shots via HTTP vs bare runsc        7 restart and offline replay (restart_bench)
  4 first result of a one-shot via HTTP, cold vs warm pool   8 density (density.py)
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
