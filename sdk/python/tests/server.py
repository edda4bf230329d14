"""Start a throwaway enclaved (simulator backend) for the SDK tests.

The binaries come from $ENCLAVE_BIN_DIR (set by sdk/run-tests.sh), else ../../../build/bin.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from typing import Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))


def bin_dir() -> str:
    d = os.environ.get("ENCLAVE_BIN_DIR") or os.path.join(HERE, "..", "..", "..", "build", "bin")
    return os.path.abspath(d)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, *, auth: bool = False, env: Optional[Dict[str, str]] = None) -> None:
        self.enclaved = os.path.join(bin_dir(), "enclaved")
        if not os.access(self.enclaved, os.X_OK):
            raise RuntimeError(f"enclaved not found at {self.enclaved} (set ENCLAVE_BIN_DIR)")
        self.tmp = tempfile.mkdtemp(prefix="enclave-sdk-test.")
        self.data_dir = os.path.join(self.tmp, "data")
        self.auth = auth
        self.env = dict(env or {})
        self.port = 0
        self.proc: Optional[subprocess.Popen] = None
        self.log_path = os.path.join(self.tmp, "server.log")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def create_key(self, org: str, role: str = "owner") -> str:
        out = subprocess.run([self.enclaved, "keys", "create", "--data-dir", self.data_dir,
                              "--org", org, "--role", role], check=True, capture_output=True,
                             text=True, timeout=30).stdout
        return out.split()[-1]

    def start(self) -> "Server":
        self.port = free_port()
        args: List[str] = [self.enclaved, "--listen", f"127.0.0.1:{self.port}",
                           "--data-dir", self.data_dir, "--backend", "simulator"]
        if not self.auth:
            args += ["--auth", "disabled"]
        env = dict(os.environ)
        env.pop("ENCLAVE_AUTH", None)
        env.update(self.env)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"enclaved exited at start: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base_url + "/v1/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"enclaved did not answer /v1/healthz within 20 s: {self.log_tail()}")

    def log_tail(self, n: int = 600) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None
            self._log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
