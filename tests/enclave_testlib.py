"""Shared helpers for the end-to-end tests that drive a real enclaved over HTTP (stdlib only):
counted checks with a plain "N passed, M failed" summary, a throwaway server on a free loopback
port, JSON calls, and bounded waits."""
import json
import os
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


def sandbox_processes(ids):
    """Host processes whose command line names one of these session ids."""
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if any(i in l for i in ids)]


def export_log(bin_dir, data):
    """Every stored event in commit order (enclave replay --export jsonl)."""
    out = subprocess.run([f"{bin_dir}/enclave", "replay", "--data-dir", data, "--export", "jsonl"],
                         capture_output=True, text=True, timeout=120)
    return [json.loads(l) for l in out.stdout.splitlines() if l] if out.returncode == 0 else None
