#!/usr/bin/env python3
"""A test-side stand-in for the node agents of a Kubernetes cluster, against a real kube-apiserver
(stdlib only). No kubelet can run gVisor pods on this machine, so this plays, for pods labelled
app.kubernetes.io/managed-by=enclave:
  - the scheduler: binds unscheduled pods to its Node (pods/binding);
  - the kubelet: registers a Node whose status points the API server at this process's HTTPS
    port, moves bound pods through their phases with the status subresource (Running, Ready,
    Succeeded/Failed, DeadlineExceeded after activeDeadlineSeconds), finishes graceful deletions
    (grace 0 delete), and serves what the API server proxies to a kubelet: containerLogs and the
    exec WebSocket (v4.channel.k8s.io);
  - the ResourceQuota controller: keeps status.hard/used of the enclave quotas current.
Two ways to "run" a container:
  - real: interactive pods, and batch pods whose code has no `#@sim` directive. The pod's own
    command and env run on this host (as root is needed: private mount namespace with the
    ConfigMap at /opt/enclave, emptyDirs at /opt/enclave-io and /tmp, then uid 65534 with no
    capabilities, in an empty network namespace, in a memory cgroup with the container's limit)
    — so pod_entry.py and runner.py really run; the startup probe and exec commands run in the
    same mount namespace (nsenter). Not gVisor, no CPU or pids cgroups: test code only.
  - simulated: batch pods whose code has `#@sim` directives (the fleet scenario, whose hostile
    member fork-bombs): like backends/simulator, the directives say what happens, and the log is
    what pod_entry.py would write.
Everything goes through the API server's HTTPS API.

usage: fake_kubelet.py ENV_DIR [--node NAME] [--ready-file PATH]
"""
import base64
import hashlib
import http.client
import http.server
import json
import os
import re
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

MANAGED = "app.kubernetes.io%2Fmanaged-by%3Denclave"


class Api:
    def __init__(self, env_dir, user="admin"):
        env = dict(l.strip().split("=", 1) for l in open(os.path.join(env_dir, "env")) if "=" in l)
        self.port = int(env["APISERVER_PORT"])
        self.ctx = ssl.create_default_context(cafile=os.path.join(env_dir, "ca.crt"))
        self.ctx.load_cert_chain(os.path.join(env_dir, user + ".crt"), os.path.join(env_dir, user + ".key"))

    def conn(self, timeout=30):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=timeout)

    def call(self, method, path, body=None, ctype="application/json"):
        """(status, parsed body). Retries for up to 60 s while the API server is unreachable
        (the tests restart it)."""
        until = time.monotonic() + 60
        while True:
            try:
                return self._call(method, path, body, ctype)
            except (OSError, http.client.HTTPException):
                if time.monotonic() > until:
                    raise
                time.sleep(0.2)

    def _call(self, method, path, body, ctype):
        c = self.conn()
        try:
            data = json.dumps(body).encode() if body is not None else None
            c.request(method, path, body=data, headers={"Content-Type": ctype} if data else {})
            r = c.getresponse()
            text = r.read()
            try:
                return r.status, json.loads(text) if text else {}
            except ValueError:
                return r.status, {"raw": text.decode(errors="replace")}
        finally:
            c.close()

    def patch_status(self, pod, status):
        m = pod["metadata"]
        return self.call("PATCH", f"/api/v1/namespaces/{m['namespace']}/pods/{m['name']}/status",
                         {"status": status}, "application/merge-patch+json")


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def sim_script(code):
    """The #@sim directives the simulator understands (the subset the tests use)."""
    s = {"sleep_ms": 30, "exit": 0, "stdout": "", "stderr": "", "result": None, "hang": False,
         "oom": False, "start_fail": False}
    for line in code.splitlines():
        m = re.search(r"#@sim\s+(.*)$", line)
        if not m:
            continue
        rest = m.group(1).strip()
        for key in ("stdout", "stderr"):
            if rest.startswith(key + "="):
                s[key] += bytes(rest[len(key) + 2:-1], "utf-8").decode("unicode_escape") + "\n"
                rest = ""
        if rest.startswith("result="):
            s["result"] = json.dumps(json.loads(rest[7:]), separators=(",", ":"))
            rest = ""
        for part in rest.split():
            k, _, v = part.partition("=")
            if k == "sleep_ms":
                s["sleep_ms"] = int(v)
            elif k == "exit":
                s["exit"] = int(v)
            elif k in ("hang", "oom", "start_fail"):
                s[k] = True
    return s


def entry_log(s):
    """What pod_entry.py writes to the container log for a finished batch run."""
    lines = []
    for kind, text in (("o", s["stdout"]), ("e", s["stderr"])):
        if text:
            lines.append({kind: base64.b64encode(text.encode()).decode()})
    if s["result"] is not None:
        lines.append({"r": s["result"]})
    lines.append({"n": [len(s["stdout"].encode()), len(s["stderr"].encode())]})
    lines.append({"x": s["exit"]})
    return "".join(json.dumps(l, separators=(",", ":")) + "\n" for l in lines)


def frame(kind, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return struct.pack(">I", len(payload) + 1) + kind + payload


class Kubelet:
    def __init__(self, api, node, workdir):
        self.api, self.node, self.workdir = api, node, workdir
        self.lock = threading.Lock()
        self.pods = {}  # (ns, name) -> {"log": str, "thread": Thread, "stop": Event}
        self.stop = threading.Event()

    # ---- the node ----------------------------------------------------------------------------
    def register(self, port):
        status = {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                                {"type": "Hostname", "address": self.node}],
                  "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
                  "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                  "message": "fake kubelet", "lastHeartbeatTime": now(),
                                  "lastTransitionTime": now()}],
                  "capacity": {"cpu": "64", "memory": "256Gi", "pods": "500"},
                  "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "500"}}
        self.api.call("DELETE", f"/api/v1/nodes/{self.node}")
        code, body = self.api.call("POST", "/api/v1/nodes", {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": self.node, "labels": {"kubernetes.io/hostname": self.node}},
            "status": status})
        assert code in (200, 201), (code, body)
        code, body = self.api.call("PATCH", f"/api/v1/nodes/{self.node}/status", {"status": status},
                                   "application/merge-patch+json")
        assert code == 200, (code, body)

    # ---- pods --------------------------------------------------------------------------------
    def watch_pods(self):
        rv = ""
        while not self.stop.is_set():
            if not rv:
                code, lst = self.api.call("GET", f"/api/v1/pods?labelSelector={MANAGED}")
                if code != 200:
                    time.sleep(0.5)
                    continue
                for p in lst.get("items", []):
                    self.on_pod(p)
                rv = lst["metadata"]["resourceVersion"]
            c = self.api.conn(timeout=90)
            try:
                c.request("GET", f"/api/v1/pods?watch=1&labelSelector={MANAGED}&resourceVersion={rv}"
                                 "&timeoutSeconds=60")
                r = c.getresponse()
                if r.status != 200:
                    rv = ""
                    continue
                while not self.stop.is_set():
                    line = r.readline()
                    if not line:
                        break
                    ev = json.loads(line)
                    obj = ev["object"]
                    if ev["type"] == "ERROR":
                        rv = ""
                        break
                    rv = obj["metadata"].get("resourceVersion", rv)
                    if ev["type"] in ("ADDED", "MODIFIED"):
                        self.on_pod(obj)
                    elif ev["type"] == "DELETED":
                        self.forget(obj)
            except (OSError, ValueError, http.client.HTTPException):
                rv = ""
                time.sleep(0.2)
            finally:
                c.close()

    def shutdown(self):
        """SIGTERM: every container this stand-in runs is killed and its cgroup removed."""
        self.stop.set()
        with self.lock:
            keys = list(self.pods)
        for ns, name in keys:
            self.forget({"metadata": {"namespace": ns, "name": name}})
        parent = os.path.join(self.CGROUP_ROOT, f"enclave-fake-kubelet-{os.getpid()}")
        if os.path.isdir(parent):
            self.remove_cgroup(parent)

    def forget(self, pod):
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        with self.lock:
            rec = self.pods.pop(key, None)
        if rec:
            rec["stop"].set()
            if rec.get("proc"):
                try:
                    os.killpg(rec["proc"].pid, 9)
                except OSError:
                    pass
                self.remove_cgroup(rec.get("cgroup"))

    def on_pod(self, pod):
        m, spec = pod["metadata"], pod["spec"]
        key = (m["namespace"], m["name"])
        if not spec.get("nodeName"):
            self.api.call("POST", f"/api/v1/namespaces/{key[0]}/pods/{key[1]}/binding", {
                "apiVersion": "v1", "kind": "Binding", "metadata": {"name": key[1]},
                "target": {"apiVersion": "v1", "kind": "Node", "name": self.node}})
            return
        if spec["nodeName"] != self.node:
            return
        if m.get("deletionTimestamp"):
            # The kubelet's part of a graceful delete: stop the containers, then remove the object.
            self.forget(pod)
            self.api.call("DELETE", f"/api/v1/namespaces/{key[0]}/pods/{key[1]}?gracePeriodSeconds=0")
            return
        with self.lock:
            if key in self.pods:
                return
            rec = {"log": "", "stop": threading.Event(), "turn_lock": threading.Lock()}
            self.pods[key] = rec
        rec["thread"] = threading.Thread(target=self.run_pod, args=(pod, rec), daemon=True)
        rec["thread"].start()

    def run_pod(self, pod, rec):
        m, spec = pod["metadata"], pod["spec"]
        ns = m["namespace"]
        container = spec["containers"][0]
        cm_name = next(v["configMap"]["name"] for v in spec["volumes"] if "configMap" in v)
        code, cm = self.api.call("GET", f"/api/v1/namespaces/{ns}/configmaps/{cm_name}")
        if code != 200:
            self.api.patch_status(pod, {"phase": "Pending", "containerStatuses": [{
                "name": container["name"], "ready": False, "restartCount": 0, "image": container["image"],
                "imageID": "", "state": {"waiting": {"reason": "CreateContainerConfigError",
                                                     "message": f"configmap {cm_name}: {code}"}}}]})
            return
        interactive = "kernel" in container["command"]
        code = cm["data"].get("code.py", "")
        if interactive or "#@sim" not in code:
            return self.run_real(pod, rec, cm["data"], interactive)
        s = sim_script(code)
        name = container["name"]
        if s["start_fail"]:
            self.api.patch_status(pod, {"phase": "Pending", "containerStatuses": [{
                "name": name, "ready": False, "restartCount": 0, "image": container["image"],
                "imageID": "", "state": {"waiting": {"reason": "CreateContainerError",
                                                     "message": "simulated start failure"}}}]})
            return
        started = now()
        t0 = time.monotonic()
        self.api.patch_status(pod, {
            "phase": "Running", "hostIP": "127.0.0.1", "podIP": "10.244.0.10", "startTime": started,
            "conditions": [{"type": "Ready", "status": "True" if interactive else "False"}],
            "containerStatuses": [{"name": name, "ready": interactive, "restartCount": 0,
                                   "image": container["image"], "imageID": "", "started": True,
                                   "state": {"running": {"startedAt": started}}}]})
        deadline = t0 + spec.get("activeDeadlineSeconds", 3600)
        if interactive or s["hang"]:
            while not rec["stop"].is_set() and time.monotonic() < deadline:
                rec["stop"].wait(0.1)
            if rec["stop"].is_set():
                return
            self.finish(pod, rec, 137, "Error", started, "DeadlineExceeded",
                        "Pod was active on the node longer than the specified deadline")
            return
        if rec["stop"].wait(s["sleep_ms"] / 1000.0):
            return
        rec["log"] = entry_log(s)
        if s["oom"]:
            self.finish(pod, rec, 137, "OOMKilled", started)
        else:
            self.finish(pod, rec, s["exit"], "Completed" if s["exit"] == 0 else "Error", started)

    # ---- real containers -----------------------------------------------------------------------
    def run_real(self, pod, rec, files, interactive):
        m, spec = pod["metadata"], pod["spec"]
        container = spec["containers"][0]
        root = os.path.join(self.workdir, m["namespace"] + "_" + m["name"])
        for d in ("enclave", "io", "tmp"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        for fname, text in files.items():
            with open(os.path.join(root, "enclave", fname), "w") as f:
                f.write(text)
            os.chmod(os.path.join(root, "enclave", fname), 0o444)
        for d in ("io", "tmp"):
            os.chown(os.path.join(root, d), 65534, 65534)
            os.chmod(os.path.join(root, d), 0o700)
        os.chmod(root, 0o755)
        rec["root"] = root
        rec["env"] = ["PATH=/usr/bin:/bin"] + [f"{e['name']}={e.get('value', '')}" for e in container.get("env", [])]
        # The container's memory limit, as a runtime sets it: a cgroup v1 memory cgroup the
        # process joins before it execs (OOM kills then show as the OOMKilled reason).
        rec["cgroup"] = self.memory_cgroup(m["namespace"] + "_" + m["name"],
                                           container.get("resources", {}).get("limits", {}).get("memory", ""))
        script = ('set -e; if [ -n "$CG" ]; then echo $$ > "$CG/cgroup.procs"; fi; '
                  'mount -t tmpfs -o size=1m tmpfs /opt; mkdir /opt/enclave /opt/enclave-io; '
                  'mount --bind "$1/enclave" /opt/enclave; mount -o remount,bind,ro /opt/enclave; '
                  'mount --bind "$1/io" /opt/enclave-io; mount --bind "$1/tmp" /tmp; shift; exec "$@"')
        log = open(os.path.join(root, "log"), "wb")
        started = now()
        t0 = time.monotonic()
        rec["proc"] = subprocess.Popen(
            ["unshare", "--mount", "--net", "--propagation", "private", "sh", "-c", script, "sh", root,
             *self.as_sandbox_user(rec), *container["command"]],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CG": rec["cgroup"] or ""})
        self.api.patch_status(pod, {
            "phase": "Running", "hostIP": "127.0.0.1", "podIP": "10.244.0.10", "startTime": started,
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": container["name"], "ready": False, "restartCount": 0,
                                   "image": container["image"], "imageID": "", "started": True,
                                   "state": {"running": {"startedAt": started}}}]})
        # Ready once the startup probe (or a readiness probe) succeeds, as a kubelet does.
        probe = (container.get("startupProbe") or container.get("readinessProbe") or {}).get("exec", {}).get("command")
        ready = False
        deadline = t0 + spec.get("activeDeadlineSeconds", 3600)
        while rec["proc"].poll() is None and not rec["stop"].is_set() and time.monotonic() < deadline:
            if probe and not ready and self.exec(m["namespace"], m["name"], probe, b"", 5)[2] == 0:
                ready = True
                self.api.patch_status(pod, {
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [{"name": container["name"], "ready": True, "restartCount": 0,
                                           "image": container["image"], "imageID": "", "started": True,
                                           "state": {"running": {"startedAt": started}}}]})
            rec["stop"].wait(0.1)
        if rec["stop"].is_set():
            return
        if rec["proc"].poll() is None:
            os.killpg(rec["proc"].pid, 9)
            rec["proc"].wait()
            self.finish(pod, rec, 137, "Error", started, "DeadlineExceeded",
                        "Pod was active on the node longer than the specified deadline")
            return
        rc = rec["proc"].returncode
        rc = 128 - rc if rc < 0 else rc
        oom = self.oom_kills(rec["cgroup"]) > 0
        self.finish(pod, rec, rc, "OOMKilled" if oom else "Completed" if rc == 0 else "Error", started)

    CGROUP_ROOT = "/sys/fs/cgroup/memory"

    def memory_cgroup(self, name, limit):
        """A memory cgroup under ours with the container's limit ("256Mi"); None without one."""
        if not limit.endswith("Mi") or not os.path.isdir(self.CGROUP_ROOT):
            return None
        path = os.path.join(self.CGROUP_ROOT, f"enclave-fake-kubelet-{os.getpid()}", name)
        os.makedirs(path, exist_ok=True)
        limit_bytes = str(int(limit[:-2]) << 20)
        for f in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes"):
            if os.path.exists(os.path.join(path, f)):
                with open(os.path.join(path, f), "w") as out:
                    out.write(limit_bytes)
        return path

    @staticmethod
    def oom_kills(path):
        try:
            with open(os.path.join(path, "memory.oom_control")) as f:
                return next((int(l.split()[1]) for l in f if l.startswith("oom_kill ")), 0)
        except (OSError, TypeError):
            return 0

    @staticmethod
    def remove_cgroup(path):
        """Kills whatever is still in the cgroup (a process may have left the process group),
        then removes it."""
        if path:
            for _ in range(50):  # bounded: the killed processes leave within moments
                try:
                    with open(os.path.join(path, "cgroup.procs")) as f:
                        for pid in f.read().split():
                            os.kill(int(pid), 9)
                    os.rmdir(path)
                    return
                except OSError:
                    time.sleep(0.1)

    @staticmethod
    def as_sandbox_user(rec):
        return ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--no-new-privs", "env", "-i", *rec["env"]]

    def exec(self, ns, name, command, stdin, timeout):
        """Runs `command` in the pod's container (mount namespace, sandbox user):
        (stdout, stderr, exit code), exit code None when there is no such running container."""
        with self.lock:
            rec = self.pods.get((ns, name))
        if rec is None or rec.get("proc") is None or rec["proc"].poll() is not None:
            return b"", b"container not running", None
        try:
            r = subprocess.run(["nsenter", "--mount", "--target", str(rec["proc"].pid),
                                *self.as_sandbox_user(rec), *command],
                               input=stdin, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return b"", b"timeout", 137
        return r.stdout, r.stderr, r.returncode

    def finish(self, pod, rec, exit_code, reason, started, pod_reason=None, message=None):
        status = {"phase": "Succeeded" if exit_code == 0 and not pod_reason else "Failed",
                  "conditions": [{"type": "Ready", "status": "False"}],
                  "containerStatuses": [{
                      "name": pod["spec"]["containers"][0]["name"], "ready": False, "restartCount": 0,
                      "image": pod["spec"]["containers"][0]["image"], "imageID": "", "started": False,
                      "state": {"terminated": {"exitCode": exit_code, "reason": reason,
                                               "startedAt": started, "finishedAt": now()}}}]}
        if pod_reason:
            status["reason"], status["message"] = pod_reason, message
        self.api.patch_status(pod, status)

    def log_of(self, ns, name):
        with self.lock:
            rec = self.pods.get((ns, name))
        if rec is None:
            return None
        if rec.get("root"):
            with open(os.path.join(rec["root"], "log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        return rec["log"]

    def turn(self, ns, name, command, request):
        """One exec into the pod: (stdout bytes, exit code or None when there is no container).
        Real containers run `command`; simulated ones answer a turn as `pod_entry.py turn` would."""
        with self.lock:
            rec = self.pods.get((ns, name))
        if rec is None:
            return None, None
        if rec.get("root"):
            out, err, rc = self.exec(ns, name, command, request, 600)
            return out, rc
        return self.sim_turn(rec, request), 0

    def sim_turn(self, rec, request):
        length, _, turn = struct.unpack(">IcI", request[:9])
        s = sim_script(request[9:9 + length].decode("utf-8", "replace"))
        with rec["turn_lock"]:
            if s["hang"]:
                rec["stop"].wait(3600)
                return b""
            time.sleep(s["sleep_ms"] / 1000.0)
            out = b""
            if s["stdout"]:
                out += frame(b"o", s["stdout"])
            if s["result"] is not None:
                out += frame(b"R", s["result"])
            return out + frame(b"O", s["stdout"]) + frame(b"E", s["stderr"]) + frame(
                b"D", "%d %d %d" % (turn, s["exit"], s["sleep_ms"]))

    # ---- the ResourceQuota controller ----------------------------------------------------------
    def quotas(self):
        while not self.stop.wait(0.5):
            code, lst = self.api.call("GET", f"/api/v1/resourcequotas?labelSelector={MANAGED}")
            if code != 200:
                continue
            for q in lst["items"]:
                ns = q["metadata"]["namespace"]
                c2, pods = self.api.call("GET", f"/api/v1/namespaces/{ns}/pods")
                if c2 != 200:
                    continue
                used = {"pods": 0, "cpu": 0, "mem": 0}
                for p in pods["items"]:
                    if p["status"].get("phase") in ("Succeeded", "Failed"):
                        continue
                    used["pods"] += 1
                    for c in p["spec"]["containers"]:
                        lim = c.get("resources", {}).get("limits", {})
                        used["cpu"] += int(lim.get("cpu", "0m").rstrip("m") or 0)
                        used["mem"] += int(lim.get("memory", "0Mi").rstrip("Mi") or 0)
                hard = q["spec"]["hard"]
                want = {"pods": str(used["pods"]), "requests.cpu": f"{used['cpu']}m",
                        "limits.cpu": f"{used['cpu']}m", "requests.memory": f"{used['mem']}Mi",
                        "limits.memory": f"{used['mem']}Mi"}
                used = {k: want[k] for k in hard if k in want}
                if q.get("status", {}).get("hard") != hard or q["status"].get("used") != used:
                    # Conditional on the version read: admission may have counted a new pod
                    # since (409 then, and the next round recounts).
                    self.api.call("PATCH", f"/api/v1/namespaces/{ns}/resourcequotas/{q['metadata']['name']}/status",
                                  {"metadata": {"resourceVersion": q["metadata"]["resourceVersion"]},
                                   "status": {"hard": hard, "used": used}},
                                  "application/merge-patch+json")


# ---- what the API server proxies to a kubelet ----------------------------------------------------
def ws_send(sock, payload, opcode=2):
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack(">H", n)
    else:
        head += bytes([127]) + struct.pack(">Q", n)
    sock.sendall(head + payload)


def ws_recv(f):
    """One client frame (masked): (opcode, payload) or None at EOF."""
    h = f.read(2)
    if len(h) < 2:
        return None
    opcode, n = h[0] & 0x0F, h[1] & 0x7F
    if n == 126:
        n = struct.unpack(">H", f.read(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", f.read(8))[0]
    mask = f.read(4) if h[1] & 0x80 else b"\0\0\0\0"
    data = f.read(n)
    return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    kubelet = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        parts = url.path.strip("/").split("/")
        if parts[0] == "containerLogs" and len(parts) == 4:
            log = self.kubelet.log_of(parts[1], parts[2])
            q = urllib.parse.parse_qs(url.query)
            body = (log or "").encode()
            if "limitBytes" in q:
                body = body[:int(q["limitBytes"][0])]
            self.send_response(200 if log is not None else 404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if parts[0] == "exec" and len(parts) == 4 and self.headers.get("Upgrade", "").lower() == "websocket":
            return self.exec_ws(parts[1], parts[2])
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET

    def exec_ws(self, ns, name):
        protos = [p.strip() for p in self.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        if "v4.channel.k8s.io" not in protos:
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        accept = base64.b64encode(hashlib.sha1(
            (self.headers["Sec-WebSocket-Key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept.decode())
        self.send_header("Sec-WebSocket-Protocol", "v4.channel.k8s.io")
        self.end_headers()
        self.wfile.flush()
        sock = self.connection
        buf = b""
        while len(buf) < 9 or len(buf) < 9 + struct.unpack(">I", buf[:4])[0]:
            msg = ws_recv(self.rfile)
            if msg is None or msg[0] == 8:
                return
            if msg[1][:1] == b"\x00":
                buf += msg[1][1:]
        command = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("command", [])
        answer, rc = self.kubelet.turn(ns, name, command, buf)
        if rc is None:
            ws_send(sock, b"\x03" + json.dumps({"status": "Failure", "reason": "NotFound",
                                                "message": "no such container"}).encode())
        else:
            if answer:
                ws_send(sock, b"\x01" + answer)
            status = {"metadata": {}, "status": "Success"} if rc == 0 else {
                "metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
                "message": f"command terminated with non-zero exit code {rc}",
                "details": {"causes": [{"reason": "ExitCode", "message": str(rc)}]}}
            ws_send(sock, b"\x03" + json.dumps(status).encode())
        ws_send(sock, struct.pack(">H", 1000), opcode=8)
        self.close_connection = True


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def serving_context(env_dir):
    crt, key = os.path.join(env_dir, "kubelet.crt"), os.path.join(env_dir, "kubelet.key")
    if not os.path.exists(crt):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=fake-kubelet", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", crt], check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    return ctx


def main():
    env_dir = sys.argv[1]
    node = "enclave-fake-node"
    ready_file = None
    args = sys.argv[2:]
    while args:
        if args[0] == "--node":
            node, args = args[1], args[2:]
        elif args[0] == "--ready-file":
            ready_file, args = args[1], args[2:]
        else:
            sys.exit("unknown argument " + args[0])
    api = Api(env_dir)
    workdir = os.path.join(env_dir, "kubelet-" + node)
    os.makedirs(workdir, exist_ok=True)
    os.chmod(workdir, 0o755)
    kubelet = Kubelet(api, node, workdir)
    Handler.kubelet = kubelet
    srv = Server(("127.0.0.1", 0), Handler)
    srv.socket = serving_context(env_dir).wrap_socket(srv.socket, server_side=True)
    kubelet.register(srv.server_address[1])
    for target in (srv.serve_forever, kubelet.watch_pods, kubelet.quotas):
        threading.Thread(target=target, daemon=True).start()
    if ready_file:
        open(ready_file, "w").write(str(srv.server_address[1]))
    print(f"fake kubelet: node {node}, kubelet API on 127.0.0.1:{srv.server_address[1]}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    kubelet.shutdown()


if __name__ == "__main__":
    main()
