"""Shared helpers for the end-to-end tests that drive a real enclaved over HTTP (stdlib only):
counted checks with a plain "N passed, M failed" summary, a throwaway server on a free loopback
port, JSON calls, and bounded waits."""
import fcntl
import glob
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL", what, flush=True)
        return cond

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait(pred, seconds, step=0.1):
    """Polls `pred` until it holds or `seconds` pass (bounded)."""
    end = time.time() + seconds
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


class Server:
    """enclaved on 127.0.0.1:`port` (a free one by default), auth disabled unless `auth` given."""

    def __init__(self, bin_dir, data, backend, port=None, log=None, env=None, args=(), auth="disabled"):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        full_env = dict(os.environ, **(env or {}))
        if auth:
            full_env["ENCLAVE_AUTH"] = auth
        self.p = subprocess.Popen([f"{bin_dir}/enclaved", "--listen", f"127.0.0.1:{self.port}",
                                   "--data-dir", data, "--backend", backend, *args],
                                  stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                  env=full_env)
        if not wait(self._healthy, 60):
            raise RuntimeError("enclaved did not answer /v1/healthz within 60 s")

    def _healthy(self):
        if self.p.poll() is not None:
            raise RuntimeError("enclaved exited at start")
        try:
            urllib.request.urlopen(self.base + "/v1/healthz", timeout=2).read()
            return True
        except Exception:
            return False

    def call(self, method, path, body=None, timeout=60):
        """(status, parsed JSON); status 0 when no answer came."""
        req = urllib.request.Request(self.base + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")
        except Exception as e:  # no answer at all
            return 0, {"error": str(e)}

    def slot(self):
        """The gVisor instance slot this server holds (the N of /run/enclave/work.slot-N.lock,
        read from its open fds), or None (not gVisor, or not found)."""
        try:
            for fd in os.listdir(f"/proc/{self.p.pid}/fd"):
                m = re.search(r"\.slot-(\d+)\.lock$", os.readlink(f"/proc/{self.p.pid}/fd/{fd}"))
                if m:
                    return int(m.group(1))
        except OSError:
            pass
        return None

    def container_ids(self, sids):
        """{session id: container id} from each session's sandbox_started audit event (sessions
        that never started a sandbox are absent)."""
        out = {}
        for sid in sids:
            _, a = self.call("GET", f"/v1/sessions/{sid}/audit")
            for e in a.get("events", []):
                if e.get("type") == "sandbox_started" and e.get("data", {}).get("containerId"):
                    out[sid] = e["data"]["containerId"]
        return out

    def text(self, path):
        with urllib.request.urlopen(self.base + path, timeout=30) as r:
            return r.read().decode()

    def stop(self):
        """SIGTERM; the exit code (-1 if it had to be killed)."""
        self.p.terminate()
        try:
            return self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return -1

    def kill9(self):
        self.p.kill()
        self.p.wait()


CONTROLLERS = ("memory", "pids", "cpu", "cpuacct", "cpuset")
RUN_DIR = "/run/enclave"  # the gVisor backend's default state and work dirs live here


def _cmdlines():
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        yield pid, [a.decode(errors="replace") for a in args if a]


def host_traces(container_ids):
    """Everything on the host that carries one of these container ids (the ids the backend
    reported in sandbox_started — for a warm-pool kernel NOT the session id): processes, cgroups
    under any enclave* parent, runsc state under any instance's root, work dirs. [] = none."""
    ids = [c for c in container_ids if c]
    if not ids:
        return []
    out = []
    for pid, args in _cmdlines():
        line = " ".join(args)
        if any(c in line for c in ids):
            out.append(f"process {pid}: {line[:200]}")
    for ctl in CONTROLLERS:
        for parent in glob.glob(f"/sys/fs/cgroup/{ctl}/enclave*"):
            for c in ids:
                if os.path.isdir(os.path.join(parent, c)):
                    out.append(f"cgroup {parent}/{c}")
    for root in glob.glob(f"{RUN_DIR}/runsc*"):
        for name in os.listdir(root) if os.path.isdir(root) else []:
            if any(c in name for c in ids):
                out.append(f"runsc state {root}/{name}")
    for work in glob.glob(f"{RUN_DIR}/work*/sessions"):
        for c in ids:
            if os.path.exists(os.path.join(work, c)):
                out.append(f"work dir {work}/{c}")
    return out


def wait_no_traces(container_ids, seconds=10):
    """host_traces(), polled (bounded) until empty: runsc's processes may still be exiting."""
    left = host_traces(container_ids)
    end = time.time() + seconds
    while left and time.time() < end:
        time.sleep(0.1)
        left = host_traces(container_ids)
    return left


def sweep_slot(slot, runsc="/usr/bin/runsc", seconds=30):
    """The whole footprint of one stopped gVisor instance slot (its runsc root via `runsc list`
    and its state files, its cgroup parent in every controller, its work dir's sessions, any
    process running with its --root). Holds the slot's lock while it looks, so no new enclaved
    takes the slot (and cleans it) meanwhile. Returns what is left; [] = clean."""
    suffix = "" if slot == 0 else f"-{slot}"
    state, work, parent = f"{RUN_DIR}/runsc{suffix}", f"{RUN_DIR}/work{suffix}", f"enclave{suffix}"
    lock = open(f"{RUN_DIR}/work.slot-{slot}.lock", "a+")
    end = time.time() + seconds
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError:
            if time.time() > end:
                lock.close()
                return [f"slot {slot} is held by another enclaved: could not sweep it"]
            time.sleep(0.1)
    try:
        left = []
        r = subprocess.run([runsc, f"--root={state}", "--network=none", "--platform=ptrace", "list",
                            "-quiet"], capture_output=True, text=True, timeout=30)
        left += [f"runsc list --root={state}: {i}" for i in r.stdout.split()]
        if os.path.isdir(state):
            left += [f"runsc state file {state}/{n}" for n in os.listdir(state)]
        for ctl in CONTROLLERS:
            d = f"/sys/fs/cgroup/{ctl}/{parent}"
            if os.path.isdir(d):
                left += [f"cgroup {d}/{n}" for n in os.listdir(d) if os.path.isdir(os.path.join(d, n))]
        if os.path.isdir(f"{work}/sessions"):
            left += [f"work dir {work}/sessions/{n}" for n in os.listdir(f"{work}/sessions")]
        for pid, args in _cmdlines():
            if f"--root={state}" in args:
                left.append(f"process {pid}: {' '.join(args)[:200]}")
        return left
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def sandbox_processes(ids):
    """Host processes whose command line names one of these session ids."""
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if any(i in l for i in ids)]


def export_log(bin_dir, data):
    """Every stored event in commit order (enclave replay --export jsonl)."""
    out = subprocess.run([f"{bin_dir}/enclave", "replay", "--data-dir", data, "--export", "jsonl"],
                         capture_output=True, text=True, timeout=120)
    return [json.loads(l) for l in out.stdout.splitlines() if l] if out.returncode == 0 else None
