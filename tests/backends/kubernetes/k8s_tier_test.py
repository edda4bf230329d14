#!/usr/bin/env python3
"""The Kubernetes backend end to end against a real kube-apiserver + etcd (scripts/k8s-testenv)
and the kubelet stand-in (fake_kubelet.py): enclaved --backend kubernetes, two orgs with API keys.

usage: k8s_tier_test.py BIN_DIR [CASE...]
  cases: objects batch failures tenancy quota interactive interactive_demo fleet restart
         apiserver_restart images
Checks what the API server holds for a session against the spec (read back over its HTTPS API),
a batch result, org isolation by namespace, the org quota, interactive turns over pods/exec, the
fleets-at-scale scenario (9 shards + 1 hostile), a kill -9 of enclaved mid-fleet whose
running pods are adopted by the next process, and a restart of the API server itself. Every wait is bounded; only 127.0.0.1.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
from enclave_testlib import Checks, Server, wait  # noqa: E402
from fake_kubelet import Api  # noqa: E402

BIN = sys.argv[1]
CASES = sys.argv[2:] or ["objects", "batch", "failures", "tenancy", "quota", "interactive", "fleet",
                         "restart", "apiserver_restart", "images"]  # interactive_demo needs a server of its own
TESTENV = os.path.join(ROOT, "scripts", "k8s-testenv")
check = Checks()


def call(server, method, path, key, body=None, timeout=60):
    req = urllib.request.Request(server.base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json",
                                          "Authorization": "Bearer " + key})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")
    except Exception as e:  # noqa: BLE001
        return 0, {"error": str(e)}


def make_key(data, org):
    out = subprocess.run([f"{BIN}/enclaved", "keys", "create", "--data-dir", data, "--org", org,
                          "--role", "owner"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()[-1]


def phase(server, key, sid):
    return call(server, "GET", f"/v1/sessions/{sid}", key)[1].get("phase")


def session(server, key, code, **extra):
    body = {"code": code, "language": "python"}
    body.update(extra)
    st, s = call(server, "POST", "/v1/sessions", key, body)
    assert st == 201, (st, s)
    return s["id"]


def torn_down(server, key, sid):
    return call(server, "GET", f"/v1/sessions/{sid}", key)[1].get("tornDown") is True


def pods_of(api, ns):
    st, lst = api.call("GET", f"/api/v1/namespaces/{ns}/pods")
    return lst.get("items", []) if st == 200 else []


def labels(obj):
    return obj["metadata"].get("labels", {})


# ---- cases ----------------------------------------------------------------------------------------
PYDATA_REF = "registry.example.com/enclave/pydata@sha256:" + "ab" * 32


def case_images(env):
    """--k8s-image NAME=REF (issue 21): a session asking for image NAME runs its pod on REF; the
    audit records the reference; GET /v1/images lists the mapped names; other names are 400."""
    api, s, key = env["api"], env["server"], env["keys"]["acme"]
    st, listed = call(s, "GET", "/v1/images", key)
    by_name = {m["name"]: m for m in listed.get("images", [])}
    check(st == 200 and sorted(by_name) == ["default", "pydata"] and
          by_name["pydata"].get("digest") == "k8s:" + PYDATA_REF and
          by_name["pydata"].get("languages") == ["python"],
          f"images: GET /v1/images lists default and the mapped name: {listed}")
    def pod_image(sid):
        check(wait(lambda: phase(s, key, sid) == "running", 60), f"images: {sid} running")
        st, pod = api.call("GET", f"/api/v1/namespaces/enclave-acme/pods/enclave-{sid}")
        call(s, "DELETE", f"/v1/sessions/{sid}", key)
        return pod["spec"]["containers"][0]["image"] if st == 200 else f"HTTP {st}"

    got = pod_image(session(s, key, "#@sim hang\n", image="pydata"))
    check(got == PYDATA_REF, f"images: the pod runs on the mapped reference ({got})")
    got = pod_image(session(s, key, "#@sim hang\n"))
    check(got == "python:3.11-slim", f"images: without an image, the default reference ({got})")
    sid = session(s, key, "print(6 * 7)\n", image="pydata")
    check(wait(lambda: torn_down(s, key, sid), 120), "images: the session ran and ended")
    st, res = call(s, "GET", f"/v1/sessions/{sid}/result", key)
    check(st == 200 and res.get("stdout") == "42\n", f"images: its result ({st} {res})")
    st, audit = call(s, "GET", f"/v1/sessions/{sid}/audit", key)
    created = [e for e in audit.get("events", []) if e.get("type") == "session_created"]
    image = created[0].get("data", {}).get("image", {}) if created else {}
    check(image.get("name") == "pydata" and image.get("digest") == "k8s:" + PYDATA_REF,
          f"images: session_created records the image and its reference: {image}")
    for name in ("nope", "../pydata"):
        st, err = call(s, "POST", "/v1/sessions", key,
                       {"code": "print(1)\n", "language": "python", "image": name})
        check(st == 400 and err.get("error", {}).get("field") == "image",
              f"images: image {name!r} is refused naming the field ({st} {err})")
    st, err = call(s, "POST", "/v1/sessions", key,
                   {"code": "console.log(1)", "language": "javascript", "image": "pydata"})
    check(st == 400 and err.get("error", {}).get("field") == "language",
          f"images: a language the mapped image is not known to have is refused ({st} {err})")


def case_objects(env):
    api, s, key = env["api"], env["server"], env["keys"]["acme"]
    sid = session(s, key, "#@sim hang\n", egress={"mode": "allow_list", "allow": ["203.0.113.7:443"]},
                  limits={"memoryMb": 128, "cpuMillis": 500, "wallClockSeconds": 60},
                  env={"GREETING": "hello"})
    check(wait(lambda: phase(s, key, sid) == "running", 60), "objects: session running")
    ns = "enclave-acme"
    st, nsobj = api.call("GET", f"/api/v1/namespaces/{ns}")
    check(st == 200 and labels(nsobj).get("app.kubernetes.io/managed-by") == "enclave",
          f"objects: namespace {ns} exists, managed by enclave ({st})")
    check(nsobj.get("metadata", {}).get("labels", {}).get("pod-security.kubernetes.io/enforce") == "restricted",
          "objects: namespace asks Pod Security admission for 'restricted'")
    backend_identity = Api(env["cluster"], "backend")
    check(backend_identity.call("GET", "/api/v1/secrets")[0] == 403 and
          backend_identity.call("GET", f"/api/v1/namespaces/{ns}/pods")[0] == 200,
          "objects: the backend runs with the documented ClusterRole only (no secrets)")
    st, sa = api.call("GET", f"/api/v1/namespaces/{ns}/serviceaccounts/enclave-sandbox")
    check(st == 200 and sa.get("automountServiceAccountToken") is False,
          "objects: service account without token automount")
    st, deny = api.call("GET", f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/enclave-default-deny")
    check(st == 200 and deny["spec"].get("podSelector") == {} and
          sorted(deny["spec"].get("policyTypes", [])) == ["Egress", "Ingress"] and
          not deny["spec"].get("ingress") and not deny["spec"].get("egress"),
          f"objects: default-deny ingress+egress policy: {deny.get('spec')}")
    st, quota = api.call("GET", f"/api/v1/namespaces/{ns}/resourcequotas/enclave-quota")
    hard = quota.get("spec", {}).get("hard", {})
    check(st == 200 and hard.get("pods") == "20" and hard.get("limits.memory") == "4Gi" and
          hard.get("limits.cpu") == "8", f"objects: quota from --k8s-org-quota: {hard}")
    st, pod = api.call("GET", f"/api/v1/namespaces/{ns}/pods/enclave-{sid}")
    check(st == 200, f"objects: pod enclave-{sid} in {ns} ({st})")
    spec = pod.get("spec", {})
    c = spec.get("containers", [{}])[0]
    sc = c.get("securityContext", {})
    check(labels(pod).get("enclave.dev/session") == sid and labels(pod).get("enclave.dev/org") == "acme",
          f"objects: pod labels carry session and org: {labels(pod)}")
    check(spec.get("runtimeClassName") == "gvisor", "objects: runtimeClassName gvisor")
    check(spec.get("serviceAccountName") == "enclave-sandbox" and spec.get("enableServiceLinks") is False
          and spec.get("restartPolicy") == "Never" and not spec.get("hostNetwork") and not spec.get("hostPID"),
          "objects: token-less service account, no service links, no host namespaces, never restarted")
    check(spec.get("automountServiceAccountToken") is False, "objects: no service account token")
    check(spec.get("securityContext", {}).get("runAsNonRoot") is True and sc.get("runAsNonRoot") is True
          and sc.get("runAsUser") == 65534, "objects: non-root")
    check(sc.get("readOnlyRootFilesystem") is True, "objects: read-only root filesystem")
    check(sc.get("capabilities", {}).get("drop") == ["ALL"] and not sc.get("capabilities", {}).get("add"),
          "objects: all capabilities dropped")
    check(sc.get("allowPrivilegeEscalation") is False and sc.get("privileged") is False,
          "objects: no privilege escalation")
    check(spec.get("securityContext", {}).get("seccompProfile", {}).get("type") == "RuntimeDefault" and
          sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "objects: seccomp RuntimeDefault")
    lim = c.get("resources", {}).get("limits", {})
    check(lim.get("memory") == "128Mi" and lim.get("cpu") == "500m",
          f"objects: resource limits from the session: {lim}")
    check(spec.get("activeDeadlineSeconds") == 65, f"objects: activeDeadlineSeconds {spec.get('activeDeadlineSeconds')}")
    vols = spec.get("volumes", [])
    check(not any("secret" in v or "projected" in v for v in vols), f"objects: no secret volume: {vols}")
    envs = {e["name"]: e.get("value") for e in c.get("env", [])}
    check(envs.get("GREETING") == "hello" and set(envs) == {"HOME", "LANG", "GREETING"},
          f"objects: env is the session's only: {sorted(envs)}")
    text = json.dumps(pod)
    check("eyJ" not in text and "token" not in json.dumps(c).lower(), "objects: no credential in the pod")
    st, cm = api.call("GET", f"/api/v1/namespaces/{ns}/configmaps/enclave-{sid}")
    check(st == 200 and cm.get("data", {}).get("code.py") == "#@sim hang\n" and
          "runner.py" in cm.get("data", {}) and "pod_entry.py" in cm.get("data", {}),
          "objects: code and runner in the session's ConfigMap")
    st, pol = api.call("GET", f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/enclave-{sid}-egress")
    eg = pol.get("spec", {}).get("egress", [])
    check(st == 200 and pol["spec"]["podSelector"] == {"matchLabels": {"enclave.dev/session": sid}} and
          pol["spec"].get("policyTypes") == ["Egress"] and len(eg) == 1 and
          eg[0].get("to") == [{"ipBlock": {"cidr": "203.0.113.7/32"}}] and
          eg[0].get("ports") == [{"protocol": "TCP", "port": 443}],
          f"objects: egress policy for exactly 203.0.113.7:443: {eg}")
    st, _ = call(s, "DELETE", f"/v1/sessions/{sid}", key)
    check(wait(lambda: torn_down(s, key, sid), 60), "objects: torn down")
    gone = [api.call("GET", p)[0] for p in (
        f"/api/v1/namespaces/{ns}/pods/enclave-{sid}", f"/api/v1/namespaces/{ns}/configmaps/enclave-{sid}",
        f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/enclave-{sid}-egress")]
    check(gone == [404, 404, 404], f"objects: pod, configmap and policy deleted: {gone}")
    st, sv = call(s, "GET", f"/v1/sessions/{sid}", key)
    check(sv.get("phase") == "killed" and sv.get("killReason") == "torn_down", f"objects: killed/torn_down {sv.get('phase')}")


def case_batch(env):
    s, key = env["server"], env["keys"]["acme"]
    code = ('print("shard 5: value=26")\nenclave.result({"shard": 5, "value": 26})\n'
            '#@sim stdout="shard 5: value=26"\n#@sim result={"shard": 5, "value": 26}\n')
    sid = session(s, key, code)
    check(wait(lambda: torn_down(s, key, sid), 60), "batch: finished and torn down")
    st, sv = call(s, "GET", f"/v1/sessions/{sid}", key)
    check(sv.get("phase") == "succeeded" and sv.get("exitCode") == 0, f"batch: succeeded: {sv.get('phase')}")
    st, res = call(s, "GET", f"/v1/sessions/{sid}/result", key)
    check(res.get("json") == {"shard": 5, "value": 26} and res.get("stdout") == "shard 5: value=26\n",
          f"batch: result and stdout read back from the pod log: {res}")
    st, audit = call(s, "GET", f"/v1/sessions/{sid}/audit", key)
    ev = {e["type"]: e for e in audit.get("events", [])}
    check(ev.get("sandbox_started", {}).get("data", {}).get("backend") == "kubernetes",
          "batch: sandbox_started by the kubernetes backend")
    check("not observable" in ev.get("workload_exited", {}).get("data", {}).get("detail", ""),
          "batch: the audit states that denied connections are not observable")
    # Real Python through pod_entry.py and runner.py (the stand-in runs code without #@sim):
    # stdin, stderr, the result channel, and a printed line that imitates a result.
    real = ('import sys\ndata = sys.stdin.read()\nprint("got", data)\nprint("oops", file=sys.stderr)\n'
            'print(\'{"r":"\\\\"forged\\\\""}\')\nenclave.result({"n": len(data)})\n')
    rid = session(s, key, real, stdin="abc")
    check(wait(lambda: torn_down(s, key, rid), 60), "batch: real run torn down")
    st, sv = call(s, "GET", f"/v1/sessions/{rid}", key)
    st, res = call(s, "GET", f"/v1/sessions/{rid}/result", key)
    check(sv.get("phase") == "succeeded" and res.get("json") == {"n": 3} and
          res.get("stdout", "").startswith("got abc\n") and res.get("stderr") == "oops\n",
          f"batch: real run through pod_entry/runner: {sv.get('phase')} {res}")
    # A workload that leaves a process behind holding its output: the run still ends.
    orphan = session(s, key, "import os, time\nif os.fork() == 0:\n    time.sleep(60)\n    os._exit(0)\n"
                             "print('parent done')\nenclave.result(7)\n")
    check(wait(lambda: torn_down(s, key, orphan), 30), "batch: a left-behind child does not hold the run open")
    st, res = call(s, "GET", f"/v1/sessions/{orphan}/result", key)
    check(res.get("json") == 7 and res.get("stdout") == "parent done\n", f"batch: its result: {res}")
    fail = session(s, key, "#@sim exit=3\n#@sim stderr=\"boom\"\n")
    check(wait(lambda: torn_down(s, key, fail), 60), "batch: failing run torn down")
    st, sv = call(s, "GET", f"/v1/sessions/{fail}", key)
    st, res = call(s, "GET", f"/v1/sessions/{fail}/result", key)
    check(sv.get("phase") == "failed" and sv.get("exitCode") == 3 and res.get("stderr") == "boom\n",
          f"batch: exit code 3 and stderr: {sv.get('phase')} {sv.get('exitCode')} {res.get('stderr')!r}")


def case_failures(env):
    """What the cluster does to a pod that the backend did not ask for: a container that cannot
    be created, and a pod deleted by someone else."""
    api, s, key = env["api"], env["server"], env["keys"]["acme"]
    bad = session(s, key, "#@sim start_fail\n")
    check(wait(lambda: torn_down(s, key, bad), 60), "failures: a pod that cannot start ends the session")
    st, sv = call(s, "GET", f"/v1/sessions/{bad}", key)
    st, audit = call(s, "GET", f"/v1/sessions/{bad}/audit", key)
    detail = next((e["data"].get("detail", "") for e in audit.get("events", []) if e["type"] == "workload_exited"), "")
    check(sv.get("phase") == "failed" and "CreateContainerError" in detail,
          f"failures: failed with the kubelet's reason: {sv.get('phase')} {detail!r}")
    # A real run past its memory limit: the runtime's OOM kill reaches the backend as the
    # container's OOMKilled reason.
    hog = session(s, key, "x = bytearray(400 << 20)\nprint(len(x))\n", limits={"memoryMb": 64})
    check(wait(lambda: torn_down(s, key, hog), 60), "failures: memory hog ended")
    st, sv = call(s, "GET", f"/v1/sessions/{hog}", key)
    check(sv.get("phase") == "killed" and sv.get("killReason") == "memory_exceeded",
          f"failures: memory hog killed memory_exceeded: {sv.get('phase')}/{sv.get('killReason')}")
    gone = session(s, key, "#@sim hang\n")
    check(wait(lambda: phase(s, key, gone) == "running", 60), "failures: session running")
    api.call("DELETE", f"/api/v1/namespaces/enclave-acme/pods/enclave-{gone}?gracePeriodSeconds=0")
    check(wait(lambda: torn_down(s, key, gone), 60), "failures: a pod deleted by someone else ends the session")
    st, sv = call(s, "GET", f"/v1/sessions/{gone}", key)
    st, audit = call(s, "GET", f"/v1/sessions/{gone}/audit", key)
    detail = next((e["data"].get("detail", "") for e in audit.get("events", []) if e["type"] == "workload_exited"), "")
    check(sv.get("phase") in ("failed", "killed") and "deleted outside enclave" in detail,
          f"failures: said so in the audit: {sv.get('phase')} {detail[:80]!r}")
    st, cm = api.call("GET", f"/api/v1/namespaces/enclave-acme/configmaps/enclave-{gone}")
    check(st == 404, f"failures: its ConfigMap is deleted too ({st})")


def case_tenancy(env):
    api, s = env["api"], env["server"]
    ka, kg = env["keys"]["acme"], env["keys"]["globex"]
    a = session(s, ka, "#@sim hang\n")
    g = session(s, kg, "#@sim hang\n")
    check(wait(lambda: phase(s, ka, a) == "running" and phase(s, kg, g) == "running", 60),
          "tenancy: both orgs' sessions running")
    st, allpods = api.call("GET", "/api/v1/pods?labelSelector=app.kubernetes.io%2Fmanaged-by%3Denclave")
    placed = {labels(p)["enclave.dev/session"]: (p["metadata"]["namespace"], labels(p)["enclave.dev/org"])
              for p in allpods.get("items", [])}
    check(placed.get(a) == ("enclave-acme", "acme") and placed.get(g) == ("enclave-globex", "globex"),
          f"tenancy: each org's pod in its own namespace: {placed.get(a)} {placed.get(g)}")
    wrong = [sid for sid, (ns, org) in placed.items() if ns != "enclave-" + org]
    check(not wrong, f"tenancy: no pod in another org's namespace: {wrong}")
    for kind, path in (("configmaps", "/api/v1/configmaps"),
                       ("networkpolicies", "/apis/networking.k8s.io/v1/networkpolicies")):
        st, lst = api.call("GET", path + "?labelSelector=enclave.dev%2Forg")
        stray = [o["metadata"]["name"] for o in lst.get("items", [])
                 if o["metadata"]["namespace"] != "enclave-" + labels(o)["enclave.dev/org"]]
        check(st == 200 and not stray, f"tenancy: no {kind} in another org's namespace: {stray}")
    check(call(s, "GET", f"/v1/sessions/{a}", kg)[0] == 404, "tenancy: the other org gets 404")
    for k, sid in ((ka, a), (kg, g)):
        call(s, "DELETE", f"/v1/sessions/{sid}", k)
    check(wait(lambda: torn_down(s, ka, a) and torn_down(s, kg, g), 60), "tenancy: both torn down")


def case_quota(env):
    """The org's ResourceQuota (4096 MiB here) is enforced by the API server; a launch it refuses
    waits for room instead of failing, and gets it when another session of the org ends."""
    s, key = env["server"], env["keys"]["globex"]
    big = {"memoryMb": 1800, "wallClockSeconds": 60}
    a = session(s, key, "#@sim hang\n", limits=big)
    b = session(s, key, "#@sim hang\n", limits=big)
    check(wait(lambda: phase(s, key, a) == "running" and phase(s, key, b) == "running", 60),
          "quota: two 1800 MiB sessions fit in 4096 MiB")
    api = env["api"]

    def used_memory():
        st, q = api.call("GET", "/api/v1/namespaces/enclave-globex/resourcequotas/enclave-quota")
        return q.get("status", {}).get("used", {}).get("limits.memory")
    check(wait(lambda: used_memory() == "3600Mi", 30), f"quota: the API server counts both: {used_memory()}")
    c = session(s, key, "#@sim hang\n", limits=big)
    time.sleep(2)  # not a synchronisation: the session must still be waiting after 2 s
    check(phase(s, key, c) == "starting", f"quota: the third waits for room: {phase(s, key, c)}")
    call(s, "DELETE", f"/v1/sessions/{a}", key)
    check(wait(lambda: phase(s, key, c) == "running", 30), "quota: it starts once room is freed")
    for sid in (b, c):
        call(s, "DELETE", f"/v1/sessions/{sid}", key)
    check(wait(lambda: torn_down(s, key, b) and torn_down(s, key, c), 60), "quota: torn down")


def case_apiserver_restart(env):
    """The API server restarts while a pod runs: the backend's watch breaks, it re-lists, and the
    session that finished meanwhile still reports its result; new launches work afterwards."""
    s, key = env["server"], env["keys"]["acme"]
    hang = session(s, key, "#@sim hang\n")
    code = 'enclave.result({"v": 9})\n#@sim sleep_ms=4000\n#@sim result={"v": 9}\n'
    b = session(s, key, code)
    check(wait(lambda: phase(s, key, hang) == "running" and phase(s, key, b) == "running", 60),
          "apiserver restart: sessions running")
    r = subprocess.run([TESTENV, "restart-apiserver", env["cluster"]], capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, f"apiserver restart: restarted {r.stderr[-500:]}")
    check(wait(lambda: torn_down(s, key, b), 60), "apiserver restart: the running session finished")
    st, res = call(s, "GET", f"/v1/sessions/{b}/result", key)
    check(phase(s, key, b) == "succeeded" and res.get("json") == {"v": 9}, f"apiserver restart: its result {res}")
    c = session(s, key, 'enclave.result(1)\n#@sim result=1\n')
    check(wait(lambda: torn_down(s, key, c), 60) and phase(s, key, c) == "succeeded",
          "apiserver restart: a new session runs afterwards")
    call(s, "DELETE", f"/v1/sessions/{hang}", key)
    check(wait(lambda: torn_down(s, key, hang), 60), "apiserver restart: torn down")
    check(wait(lambda: not pods_of(env["api"], "enclave-acme"), 30), "apiserver restart: no pod left")


def case_interactive(env):
    s, key = env["server"], env["keys"]["acme"]
    st, sv = call(s, "POST", "/v1/sessions", key, {"language": "python", "execMode": "interactive"})
    sid = sv.get("id", "")
    check(wait(lambda: phase(s, key, sid) == "running", 60), "interactive: running once the pod is Ready")
    # The kernel really runs (runner.py kernel behind pod_entry.py, turns over pods/exec).
    st, t = call(s, "POST", f"/v1/sessions/{sid}/exec", key,
                 {"code": 'x = 41\nprint("hi")\nenclave.result({"a": 1})\n'})
    check(st == 200 and t.get("stdout") == "hi\n" and t.get("json") == {"a": 1} and t.get("exitCode") == 0
          and t.get("turn") == 1, f"interactive: turn 1 over pods/exec: {st} {t}")
    st, t = call(s, "POST", f"/v1/sessions/{sid}/exec", key, {"code": "1/0\n"})
    check(st == 200 and t.get("exitCode") == 1 and t.get("turn") == 2 and "ZeroDivisionError" in t.get("stderr", ""),
          f"interactive: turn 2 raises, exit 1: {t}")
    st, t = call(s, "POST", f"/v1/sessions/{sid}/exec", key, {"code": "enclave.result(x + 1)\n"})
    check(st == 200 and t.get("json") == 42 and t.get("turn") == 3, f"interactive: namespace kept across turns: {t}")
    st, t = call(s, "POST", f"/v1/sessions/{sid}/exec", key, {"code": "import time\ntime.sleep(30)\n", "timeoutMs": 1000})
    check(st == 200 and t.get("exitCode") is None, f"interactive: a turn past its timeout has no exit code: {t}")
    check(wait(lambda: phase(s, key, sid) == "killed", 30), "interactive: the timed-out session is killed")
    call(s, "DELETE", f"/v1/sessions/{sid}", key)
    check(wait(lambda: torn_down(s, key, sid), 60), "interactive: torn down")


def case_fleet(env):
    s, key = env["server"], env["keys"]["acme"]
    ev = os.path.join(env["work"], "evidence")
    out = subprocess.run([f"{BIN}/enclave", "demo", "fleets-at-scale", "--shards", "9", "--evidence", ev,
                          "--timeout", "240"],
                         env=dict(os.environ, ENCLAVE_BASE_URL=s.base, ENCLAVE_API_KEY=key),
                         capture_output=True, text=True, timeout=300)
    try:
        r = json.load(open(os.path.join(ev, "fleets-at-scale-report.json")))
    except (OSError, ValueError):
        check(False, f"fleet: no report: {out.stdout[-2000:]} {out.stderr[-2000:]}")
        return
    o = r["outcome"]
    check(o["aggregate"] == 213 and o["shardsSucceeded"] == 9, f"fleet: aggregate {o['aggregate']} of 9 shards")
    check(o["fleetPhase"] == "partial", f"fleet: phase {o['fleetPhase']}")
    check(o["hostilePhase"] in ("killed", "failed"), f"fleet: hostile {o['hostilePhase']}/{o['hostileKillReason']}")
    check(not o["leaked"], "fleet: every member torn down")
    # Honest about what Kubernetes cannot see: no denied host is invented for the hostile member.
    check(o["hostileDeniedHosts"] == [], f"fleet: no egress_denied invented: {o['hostileDeniedHosts']}")
    failed = [c["name"] for c in r.get("checks", []) if not c.get("passed")]
    check(failed in ([], ["hostile contained"]), f"fleet: only the egress observation check fails: {failed}")
    print(f"fleets-at-scale on kubernetes: aggregate {o['aggregate']}, {o['fleetPhase']}, hostile "
          f"{o['hostilePhase']}/{o['hostileKillReason']}, {o['elapsedSeconds']:.1f} s", flush=True)


def case_interactive_demo(env):
    """The interactive reference scenario (enclave demo interactive-session) on this backend:
    turns into a real kernel over pods/exec, idle reaping, the audit trail — all 8 checks."""
    s, key = env["server"], env["keys"]["acme"]
    ev = os.path.join(env["work"], "evidence-interactive")
    out = subprocess.run([f"{BIN}/enclave", "demo", "interactive-session", "--idle-ttl", "2", "--evidence", ev],
                         env=dict(os.environ, ENCLAVE_BASE_URL=s.base, ENCLAVE_API_KEY=key),
                         capture_output=True, text=True, timeout=300)
    try:
        r = json.load(open(os.path.join(ev, "interactive-session-report.json")))
    except (OSError, ValueError):
        check(False, f"interactive demo: no report: {out.stdout[-2000:]} {out.stderr[-2000:]}")
        return
    failed = [c["name"] + ": " + c.get("detail", "") for c in r.get("checks", []) if not c.get("passed")]
    check(r["summary"]["passed"] == r["summary"]["total"] == 8 and out.returncode == 0,
          f"interactive demo: {r['summary']} {failed}")


def case_restart(env):
    """kill -9 of enclaved mid-fleet. Of the pods running then, the short ones finish while no
    control plane runs and the long ones are still running at the restart: both kinds are
    adopted (sandbox_started, then a re-attached one) and report their real results."""
    api, key = env["api"], env["keys"]["acme"]
    s = env["server"]
    ms = lambda i: 2000 if i % 2 == 0 else 12000  # noqa: E731
    members = [{"code": f"enclave.result({{'i': {i}}})\n#@sim sleep_ms={ms(i)}\n#@sim result={{\"i\": {i}}}\n",
                "language": "python", "limits": {"wallClockSeconds": 60}} for i in range(6)]
    st, f = call(s, "POST", "/v1/fleets", key, {"name": "restart", "members": members})
    fid = f.get("id", "")

    def running_now():
        return [m for m in call(s, "GET", f"/v1/fleets/{fid}", key)[1].get("members", []) if m["phase"] == "running"]
    check(wait(lambda: len(running_now()) >= 4, 60), "restart: four members running")
    running = running_now()
    s.kill9()
    short = [m["sessionId"] for m in running if m["index"] % 2 == 0]
    long_ = [m["sessionId"] for m in running if m["index"] % 2 == 1]

    def pod_phase(sid):
        st, p = api.call("GET", f"/api/v1/namespaces/enclave-acme/pods/enclave-{sid}")
        return p.get("status", {}).get("phase") if st == 200 else None
    check(wait(lambda: all(pod_phase(sid) == "Succeeded" for sid in short), 30),
          f"restart: {len(short)} pods finished while enclaved was down")
    check(all(pod_phase(sid) == "Running" for sid in long_), f"restart: {len(long_)} pods still running")
    env["server"] = s = env["start"]()
    check(wait(lambda: call(s, "GET", f"/v1/fleets/{fid}", key)[1].get("phase") in ("completed", "partial", "failed"), 120),
          "restart: fleet finished after the restart")
    st, fleet = call(s, "GET", f"/v1/fleets/{fid}", key)
    check(fleet.get("phase") == "completed", f"restart: fleet completed: {fleet.get('phase')} {fleet.get('counts')}")
    for m in fleet.get("members", []):
        st, res = call(s, "GET", f"/v1/sessions/{m['sessionId']}/result", key)
        check(res.get("json") == {"i": m["index"]}, f"restart: member {m['index']} result {res.get('json')}")
    for sid in short + long_:
        st, audit = call(s, "GET", f"/v1/sessions/{sid}/audit", key)
        started = [e["data"].get("reattached") for e in audit.get("events", []) if e["type"] == "sandbox_started"]
        check(started == [False, True], f"restart: member {sid[:8]} adopted, not rerun: {started}")
    check(wait(lambda: not pods_of(api, "enclave-acme"), 60), "restart: no pod left afterwards")


def main():
    work = tempfile.mkdtemp(prefix="enclave-k8s-tier-")
    envdir = os.path.join(work, "cluster")
    kubelet = None
    env = {"work": work, "cluster": envdir}
    try:
        subprocess.run([TESTENV, "build"], check=True)
        subprocess.run([TESTENV, "start", envdir], check=True, timeout=180)
        ready = os.path.join(work, "kubelet.ready")
        klog = open(os.path.join(work, "kubelet.log"), "w")
        kubelet = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_kubelet.py"), envdir,
                                    "--ready-file", ready], stdout=klog, stderr=subprocess.STDOUT)
        if not wait(lambda: os.path.exists(ready) or kubelet.poll() is not None, 60) or kubelet.poll() is not None:
            raise RuntimeError("fake kubelet did not start: " + open(klog.name).read()[-2000:])
        env["api"] = Api(envdir)
        data = os.path.join(work, "data")
        env["keys"] = {org: make_key(data, org) for org in ("acme", "globex")}
        slog = open(os.path.join(work, "server.log"), "ab")
        from enclave_testlib import free_port
        port = free_port()

        # The batch case authenticates with a bearer token, the others with a client cert.
        kubeconfig = "token.kubeconfig" if CASES == ["batch"] else "kubeconfig"
        # The interactive scenario reaps an idle session after 2 s, as scenario_test.sh runs it.
        extra_env = {"ENCLAVE_INTERACTIVE_IDLE_TTL": "2"} if CASES == ["interactive_demo"] else {}

        def start():
            return Server(BIN, data, "kubernetes", port=port, log=slog, auth="keys",
                          env={"ENCLAVE_MAX_CONCURRENCY": "4", **extra_env},
                          args=["--kubeconfig", os.path.join(envdir, kubeconfig),
                                "--k8s-org-quota", "20,8000,4096",
                                "--k8s-image", "python:3.11-slim,pydata=" + PYDATA_REF])
        env["start"] = start
        env["server"] = start()
        for name in CASES:
            t0 = time.time()
            globals()["case_" + name](env)
            print(f"case {name}: {time.time() - t0:.1f} s", flush=True)
    finally:
        if env.get("server"):
            env["server"].stop()
        if kubelet:
            kubelet.terminate()  # it kills its containers and removes its cgroups
            try:
                kubelet.wait(timeout=30)
            except subprocess.TimeoutExpired:
                kubelet.kill()
                kubelet.wait()
        subprocess.run([TESTENV, "stop", envdir])
        if check.failed:
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    check.finish()


if __name__ == "__main__":
    main()
