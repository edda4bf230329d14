#!/usr/bin/env python3
"""Issue 21 on a real enclaved with gVisor: images, languages and rich results.

- `enclaved images build` makes an image from Debian packages (numpy, pandas, matplotlib); a
  second build with the same inputs is answered from the store (timed: <= 2 s), and its digest
  is the same. GET /v1/images lists it with its digest, size and languages.
- A batch session on it imports numpy; session_created records the image's digest.
- An interactive Python turn on it returns a matplotlib PNG result that decodes to the figure's
  size, the trailing expression's repr as text/plain (main result), a DataFrame as text/html, and
  display() output.
- JavaScript and Bash, batch and interactive (state kept across turns), each with its result.
- A hostile turn: a bash turn that tries to write into the image's read-only root prints ESCAPED
  only if it succeeded, beside a clean sibling that keeps its exact output.
- Bad input: an unknown image, an unknown language, a language the image lacks → 400 naming
  the field.

Skips (77) without mmdebstrap, node or a usable runsc. The first build downloads Debian packages
into ENCLAVE_IMAGE_CACHE_DIR (default /var/cache/enclave); later runs reuse them.

usage: images_languages_test.py BIN_DIR
"""
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks, Server, wait

BIN = sys.argv[1]
if not shutil.which("mmdebstrap") or not os.path.exists("/usr/bin/node") or os.geteuid() != 0:
    print("skipped: needs root, mmdebstrap and /usr/bin/node")
    sys.exit(77)

check = Checks()
work = tempfile.mkdtemp(prefix="enclave-images-")
data = os.path.join(work, "data")
PACKAGES = "python3-numpy,python3-pandas,python3-matplotlib"


def build(name):
    t0 = time.monotonic()
    p = subprocess.run([f"{BIN}/enclaved", "images", "build", name, "--data-dir", data,
                        "--debian-packages", PACKAGES], capture_output=True, text=True, timeout=1800)
    return p, time.monotonic() - t0


p, first_s = build("pydata")
if not check(p.returncode == 0, f"images build: {p.stderr[-600:]}"):
    check.finish()
digest = p.stdout.split()[1] if p.stdout.split() else ""
p2, second_s = build("pydata")
print(f"images build: first {first_s:.1f} s, second (same inputs) {second_s:.2f} s")
check(p2.returncode == 0 and second_s <= 2.0, f"second build not cached: {second_s:.2f} s")
check(p2.stdout.split()[1:2] == [digest], f"same inputs, another digest: {p2.stdout!r} vs {digest}")
check(digest.startswith("sha256:") and len(digest) == 71, f"digest {digest!r}")

srv = Server(BIN, data, "gvisor", log=open(os.path.join(work, "server.log"), "wb"))


def create(body):
    st, s = srv.call("POST", "/v1/sessions", body)
    assert st == 201, (st, s)
    return s["id"]


def ended(sid, seconds=120):
    wait(lambda: srv.call("GET", f"/v1/sessions/{sid}")[1].get("phase") in
         ("succeeded", "failed", "killed"), seconds, 0.2)
    return srv.call("GET", f"/v1/sessions/{sid}/result")[1]


def running(sid, seconds=120):
    return wait(lambda: srv.call("GET", f"/v1/sessions/{sid}")[1].get("phase") == "running",
                seconds, 0.2)


def turn(sid, code):
    return srv.call("POST", f"/v1/sessions/{sid}/exec", {"code": code}, timeout=180)[1]


try:
    st, images = srv.call("GET", "/v1/images")
    by_name = {i["name"]: i for i in images.get("images", [])}
    img = by_name.get("pydata", {})
    check(st == 200 and img.get("digest") == digest, f"GET /v1/images: {st} {images}")
    check(img.get("languages") == ["python", "bash"], f"pydata languages {img.get('languages')}")
    check(img.get("sizeBytes", 0) > 50 << 20, f"pydata size {img.get('sizeBytes')}")
    check("default" in by_name and by_name["default"]["digest"].startswith("host:"),
          f"default image: {by_name.get('default')}")

    # numpy on the image; the digest in the audit trail.
    sid = create({"code": "import numpy\nenclave.result(int(numpy.arange(10).sum()))",
                  "image": "pydata"})
    r = ended(sid)
    check(r.get("json") == 45, f"numpy on pydata: {r}")
    _, audit = srv.call("GET", f"/v1/sessions/{sid}/audit")
    created = [e for e in audit.get("events", []) if e["type"] == "session_created"]
    check(created and created[0]["data"].get("image") == {"name": "pydata", "digest": digest},
          f"session_created image: {created[:1]}")
    _, view = srv.call("GET", f"/v1/sessions/{sid}")
    check(view.get("image") == "pydata" and view.get("imageDigest") == digest, f"view {view}")

    # Rich results of an interactive turn.
    sid = create({"execMode": "interactive", "image": "pydata"})
    check(running(sid), "interactive session on pydata did not start")
    t = turn(sid, "import matplotlib.pyplot as plt\nfig = plt.figure(figsize=(4, 3), dpi=50)\n"
                  "plt.plot([1, 2, 3], [3, 1, 2])\nplt.show()\n6 * 7")
    res = t.get("results", [])
    png = [x for x in res if x["type"] == "image/png"]
    main = [x for x in res if x.get("isMainResult")]
    if check(png, f"no PNG result: {t}"):
        d = base64.b64decode(png[0]["data"])
        size = (int.from_bytes(d[16:20], "big"), int.from_bytes(d[20:24], "big"))
        check(d[:8] == b"\x89PNG\r\n\x1a\n" and size == (200, 150), f"PNG {d[:8]!r} {size}")
    check([(x["type"], x["data"]) for x in main] == [("text/plain", "42")], f"main result {main}")
    # The same turn's results through the CLI (--save-results) and the Python SDK.
    saved_dir = os.path.join(work, "saved")
    chart = ("import matplotlib.pyplot as plt\nfig = plt.figure(figsize=(4, 3), dpi=50)\n"
             "plt.plot([1, 2, 3], [3, 1, 2])\nplt.show()\n6 * 7")
    cli = subprocess.run([f"{BIN}/enclave", "exec", sid, "-", "--save-results", saved_dir],
                         input=chart, capture_output=True, text=True, timeout=180,
                         env=dict(os.environ, ENCLAVE_BASE_URL=srv.base))
    files = sorted(os.listdir(saved_dir)) if os.path.isdir(saved_dir) else []
    pngs = [f for f in files if f.endswith(".png")]
    check(cli.returncode == 0 and len(pngs) == 1 and any(f.endswith(".txt") for f in files),
          f"enclave exec --save-results wrote {files}: {cli.stdout[-300:]} {cli.stderr[-300:]}")
    if pngs:
        d = open(os.path.join(saved_dir, pngs[0]), "rb").read()
        size = (int.from_bytes(d[16:20], "big"), int.from_bytes(d[20:24], "big"))
        check(d[:8] == b"\x89PNG\r\n\x1a\n" and size == (200, 150), f"saved PNG {size}")
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                    "sdk", "python", "src"))
    import enclave as sdk  # noqa: E402
    tr = sdk.Client(srv.base).exec(sid, chart)
    sdk_png = tr.pngs[0] if tr.pngs else b""
    check(sdk_png[:8] == b"\x89PNG\r\n\x1a\n" and
          (int.from_bytes(sdk_png[16:20], "big"), int.from_bytes(sdk_png[20:24], "big")) == (200, 150)
          and tr.main_result is not None and tr.main_result.data == "42",
          f"SDK TurnResult.results: {[(r.type, r.is_main_result) for r in tr.results]}")
    t = turn(sid, "import pandas as pd\ndisplay('shown')\npd.DataFrame({'a': [1, 2]})")
    types = [(x["type"], x.get("isMainResult", False)) for x in t.get("results", [])]
    check(types == [("text/plain", False), ("text/plain", True), ("text/html", True)],
          f"DataFrame results {types} {t.get('stderr', '')[-300:]}")
    html = [x["data"] for x in t.get("results", []) if x["type"] == "text/html"]
    check(html and "<table" in html[0], f"DataFrame html {html[:1]}")
    t = turn(sid, "x = 1")
    check(t.get("results", []) == [], f"a turn without a value has no results: {t}")
    srv.call("DELETE", f"/v1/sessions/{sid}")

    # JavaScript and Bash, batch (default image).
    sid = create({"language": "javascript", "code": "const a = [1, 2, 3].map(x => x * 2);\n"
                  "console.log('js', a.join(','));\nenclave.result({sum: a.reduce((p, q) => p + q)});"})
    r = ended(sid)
    check(r.get("stdout", "").strip() == "js 2,4,6" and r.get("json") == {"sum": 12},
          f"javascript batch {r}")
    sid = create({"language": "javascript", "code": "await new Promise(r => setTimeout(r, 10));\n"
                  "throw new Error('boom')"})
    r = ended(sid)
    check(r.get("exitCode") == 1 and "boom" in r.get("stderr", ""), f"javascript error {r}")
    sid = create({"language": "bash", "code": "echo bash $((6*7))\nenclave-result '{\"ok\": true}'\n"
                  "exit 3"})
    r = ended(sid)
    check(r.get("stdout", "").strip() == "bash 42" and r.get("json") == {"ok": True}
          and r.get("exitCode") == 3, f"bash batch {r}")

    # Interactive, state kept across turns.
    sid = create({"execMode": "interactive", "language": "javascript"})
    check(running(sid), "javascript kernel did not start")
    turn(sid, "let x = 41;\nfunction f(y) { return y * 2 }")
    t = turn(sid, "console.log(x + 1, f(2));")
    check(t.get("stdout", "").strip() == "42 4", f"javascript interactive {t}")
    t = turn(sid, "const v = await Promise.resolve(5);\nconsole.log(v)")
    t2 = turn(sid, "v * 2")
    check(t.get("stdout", "").strip() == "5" and
          [x["data"] for x in t2.get("results", [])] == ["10"], f"top-level await {t} {t2}")
    t = turn(sid, "enclave.result({n: x})\nundefinedName")
    check(t.get("json") == {"n": 41} and t.get("exitCode") == 1 and
          "ReferenceError" in t.get("stderr", ""), f"javascript error turn {t}")
    srv.call("DELETE", f"/v1/sessions/{sid}")

    sid = create({"execMode": "interactive", "language": "bash"})
    check(running(sid), "bash kernel did not start")
    turn(sid, "x=41; cd /tmp; g() { echo g$1; }")
    t = turn(sid, "echo $((x+1)) $(pwd); g 7; enclave-result '[1, 2]'")
    check(t.get("stdout", "").strip() == "42 /tmp\ng7" and t.get("json") == [1, 2],
          f"bash interactive {t}")
    t = turn(sid, "false")
    check(t.get("exitCode") == 1, f"bash status {t}")
    # Hostile: the image's root is read-only (default image here: the host's /usr, read-only).
    t = turn(sid, "echo x > /usr/escaped 2>/dev/null && echo ESCAPED; touch /opt/x 2>/dev/null "
                  "&& echo ESCAPED; echo done")
    check("ESCAPED" not in t.get("stdout", "") and t.get("stdout", "").strip() == "done",
          f"bash wrote into the read-only root: {t}")
    t = turn(sid, "echo $x")
    check(t.get("stdout", "").strip() == "41", f"clean sibling turn after the hostile one {t}")
    srv.call("DELETE", f"/v1/sessions/{sid}")

    sid = create({"execMode": "interactive", "language": "bash", "image": "pydata"})
    check(running(sid), "bash kernel on pydata did not start")
    t = turn(sid, "echo x > /usr/bin/escaped 2>/dev/null && echo ESCAPED; python3 -c 'import numpy; print(numpy.__name__)'")
    check(t.get("stdout", "").strip() == "numpy", f"bash on pydata {t}")
    srv.call("DELETE", f"/v1/sessions/{sid}")

    # Bad input.
    for body, field in [({"code": "print(1)", "image": "no-such-image"}, "image"),
                        ({"code": "x", "language": "cobol"}, "language"),
                        ({"code": "1", "language": "javascript", "image": "pydata"}, "language"),
                        ({"code": "1", "image": "../../etc"}, "image")]:
        st, b = srv.call("POST", "/v1/sessions", body)
        check(st == 400 and b.get("error", {}).get("field") == field, f"{body} → {st} {b}")
    st, b = srv.call("POST", "/v1/fleets", {"members": [{"code": "1", "image": "nope"}]})
    check(st == 400 and b.get("error", {}).get("field") == "members[0].image", f"fleet {st} {b}")
finally:
    srv.stop()

# The unmodified E2B SDK: the template names the image; a chart comes back as results[i].png.
E2B = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http", "e2b")
if subprocess.run([os.path.join(E2B, "install-sdk.sh")], timeout=600).returncode == 0:
    key = subprocess.run([f"{BIN}/enclaved", "keys", "create", "--org", "acme", "--role", "owner",
                          "--e2b", "--data-dir", data], capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1]
    srv = Server(BIN, data, "gvisor", auth="keys", log=open(os.path.join(work, "server2.log"), "wb"))
    try:
        env = dict(os.environ, E2B_API_KEY=key, E2B_API_URL=srv.base, E2B_SANDBOX_URL=srv.base,
                   ENCLAVE_TEMPLATE="pydata")
        env.pop("E2B_DOMAIN", None)
        run = subprocess.run(["node", os.path.join(E2B, "e2b_chart_test.mjs")], env=env, cwd=E2B,
                             capture_output=True, text=True, timeout=600)
        sys.stdout.write(run.stdout + run.stderr[-2000:])
        check(run.returncode == 0, "E2B SDK: template → image, chart as results[i].png")
    finally:
        srv.stop()
else:
    print("E2B SDK part skipped: no usable Node.js for the pinned SDK")
shutil.rmtree(work, ignore_errors=True)
check.finish()
