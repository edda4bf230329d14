#!/usr/bin/env python3
"""deploy/kubernetes/ against a real kube-apiserver (scripts/k8s-testenv): every manifest is
accepted by a server-side dry run (`kubectl apply --dry-run=server`: admission, defaulting and
validation, nothing stored), the Deployment is 3 replicas of `enclaved --ha` on the kubernetes
backend with its store and credential secret from the Secret, and the ClusterRole is exactly the
backend's own (backends/kubernetes/rbac/cluster-role.json).

usage: deploy_manifests_test.py [BIN_DIR]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
from enclave_testlib import Checks  # noqa: E402
from fake_kubelet import Api  # noqa: E402

TESTENV = os.path.join(ROOT, "scripts", "k8s-testenv")
BIN = sys.argv[1] if len(sys.argv) > 1 else ""  # enclaved's dir: the Deployment's flags are checked
DEPLOY = os.path.join(ROOT, "deploy", "kubernetes")
check = Checks()

# Where each kind is created (the namespaced ones in their metadata.namespace).
PATHS = {
    "Namespace": "/api/v1/namespaces",
    "RuntimeClass": "/apis/node.k8s.io/v1/runtimeclasses",
    "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Service": "/api/v1/namespaces/{ns}/services",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
}


def load(name):
    with open(os.path.join(DEPLOY, name)) as f:
        return json.load(f)


def main():
    work = tempfile.mkdtemp(prefix="enclave-deploy-")
    envdir = os.path.join(work, "cluster")
    try:
        subprocess.run([TESTENV, "build"], check=True)
        subprocess.run([TESTENV, "start", envdir], check=True, timeout=180)
        run(Api(envdir))
    finally:
        subprocess.run([TESTENV, "stop", envdir])
        shutil.rmtree(work, ignore_errors=True)
    check.finish()


def run(api):
    files = sorted(f for f in os.listdir(DEPLOY) if f.endswith(".json"))
    kinds = {load(f)["kind"]: f for f in files}
    check(set(kinds) == set(PATHS), f"one manifest per kind: {sorted(kinds)}")
    # The namespace for real (a dry-run namespace does not exist for the objects in it).
    st, body = api.call("POST", PATHS["Namespace"], load(kinds["Namespace"]))
    check(st == 201, f"namespace created ({st} {body.get('message', '')})")
    for f in files:
        obj = load(f)
        kind = obj["kind"]
        ns = obj["metadata"].get("namespace", "")
        path = PATHS[kind].format(ns=ns) + "?dryRun=All&fieldManager=enclave-deploy-test"
        if kind == "Namespace":
            path = f"{PATHS[kind]}/{obj['metadata']['name']}?dryRun=All"
            st, body = api.call("PUT", path, obj)
            check(st == 200, f"{f}: dry-run update accepted ({st} {body.get('message', '')})")
            continue
        if kind == "RuntimeClass":  # the test env installs `gvisor` itself: update it, dry
            st, cur = api.call("GET", f"{PATHS[kind]}/{obj['metadata']['name']}")
            if st == 200:
                obj["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
                st, body = api.call("PUT", f"{PATHS[kind]}/{obj['metadata']['name']}?dryRun=All", obj)
                check(st == 200, f"{f}: dry-run accepted ({st} {body.get('message', '')})")
                continue
        if kind == "ClusterRole":  # installed by the test env too (the backend's RBAC)
            st, cur = api.call("GET", f"{PATHS[kind]}/{obj['metadata']['name']}")
            if st == 200:
                obj["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
                st, body = api.call("PUT", f"{PATHS[kind]}/{obj['metadata']['name']}?dryRun=All", obj)
                check(st == 200, f"{f}: dry-run accepted ({st} {body.get('message', '')})")
                continue
        st, body = api.call("POST", path, obj)
        check(st == 201, f"{f}: server-side dry run accepted ({st} {body.get('message', '')})")
        if kind == "Deployment" and st == 201:
            spec = body["spec"]
            check(spec.get("replicas") == 3, f"3 replicas ({spec.get('replicas')})")
            c = spec["template"]["spec"]["containers"][0]
            args = c.get("args", [])
            check("--ha" in args and args[args.index("--backend") + 1] == "kubernetes",
                  f"enclaved --ha on the kubernetes backend ({args})")
            # The backend reads a kubeconfig: the in-cluster one (kubeconfig.json) is mounted.
            mounts = {v["name"]: v["mountPath"] for v in c.get("volumeMounts", [])}
            check("--kubeconfig" in args and
                  args[args.index("--kubeconfig") + 1] == mounts.get("kubeconfig", "?") + "/kubeconfig",
                  f"enclaved reads the mounted in-cluster kubeconfig ({args}, {mounts})")
            if BIN:
                helped = subprocess.run([os.path.join(BIN, "enclaved"), "--help"], capture_output=True,
                                        text=True, timeout=30)
                unknown = [a for a in args if a.startswith("--") and a not in helped.stdout + helped.stderr]
                check(not unknown, f"every flag the Deployment passes is one enclaved knows (unknown: {unknown})")
            env = {e["name"]: e for e in c.get("env", [])}
            for name, key in (("ENCLAVE_STORE", "store"), ("ENCLAVE_CRED_SECRET", "cred-secret")):
                ref = env.get(name, {}).get("valueFrom", {}).get("secretKeyRef", {})
                check(ref.get("name") == "enclave-ha" and ref.get("key") == key,
                      f"{name} from the Secret enclave-ha ({ref})")
            check(spec["template"]["spec"].get("serviceAccountName") == "enclaved",
                  "runs as the enclaved service account")
    # Nothing but the namespace was stored.
    st, body = api.call("GET", "/apis/apps/v1/namespaces/enclave-system/deployments")
    check(st == 200 and body.get("items") == [], f"the dry runs stored nothing ({st})")
    with open(os.path.join(ROOT, "backends", "kubernetes", "rbac", "cluster-role.json")) as f:
        check(json.load(f) == load(kinds["ClusterRole"]),
              "deploy/kubernetes/cluster-role.json is the backend's own ClusterRole")
    # The binding names the role the backend's RBAC defines and the deployment's account.
    b = load(kinds["ClusterRoleBinding"])
    check(b["roleRef"]["name"] == load(kinds["ClusterRole"])["metadata"]["name"] and
          b["subjects"][0]["name"] == "enclaved", "the binding ties the ClusterRole to enclaved")


if __name__ == "__main__":
    main()
