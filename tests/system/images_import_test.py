#!/usr/bin/env python3
"""`enclaved images import NAME FILE` (issue 21): OCI image archives built here, byte by byte, by
this script (no registry, no internet), imported with skopeo and umoci.

A clean two-layer image (a whiteout, a symlink, a setuid file, an absolute member path) imports:
its files are there, the whiteout applied, setuid cleared, the languages detected, the digest the
same in another data dir, and a second import of the same archive is answered from the store.
Hostile archives — each would leave an ESCAPED file outside the tree, or a device, FIFO or huge
file inside it, if it were unpacked — are refused with a message naming the entry, leave no name,
no tree and no work dir behind, and the clean image beside them keeps its exact digest.

usage: images_import_test.py BIN_DIR     exit 0 pass, 1 fail, 77 skipped (no skopeo/umoci, not root)
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from enclave_testlib import Checks  # noqa: E402

BIN = sys.argv[1]
if os.geteuid() != 0 or not (shutil.which("skopeo") and shutil.which("umoci")):
    print("SKIP: images import needs root, skopeo and umoci (scripts/install-deps)")
    sys.exit(77)

checks = Checks()


def check(cond, what, detail=None):
    if not checks(cond, what) and detail is not None:
        print("   ", str(detail)[:1500])
    return cond


work = tempfile.mkdtemp(prefix="enclave-import-")
marker = os.path.join(work, "host-marker")  # an ESCAPED file here means an archive got out
os.makedirs(marker)


def member(name, kind="file", data=b"", mode=0o644, link=""):
    return {"name": name, "kind": kind, "data": data, "mode": mode, "link": link}


def layer_tar(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for m in members:
            info = tarfile.TarInfo(m["name"])
            info.mode = m["mode"]
            info.mtime = 1700000000
            kind = m["kind"]
            if kind == "file":
                info.size = len(m["data"])
                t.addfile(info, io.BytesIO(m["data"]))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                         "hardlink": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE,
                         "fifo": tarfile.FIFOTYPE}[kind]
            info.linkname = m["link"]
            if kind == "chr":
                info.devmajor, info.devminor = 1, 3
            t.addfile(info)
    return buf.getvalue()


def oci_archive(path, layers):
    """Writes an OCI image archive (a tar of an OCI image layout) of `layers` (member lists)."""
    blobs = {}

    def blob(data):
        digest = hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return "sha256:" + digest, len(data)

    layer_refs, diff_ids = [], []
    for members in layers:
        raw = layer_tar(members)
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        digest, size = blob(gzip.compress(raw, mtime=0))
        layer_refs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                           "digest": digest, "size": size})
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cdigest, csize = blob(config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest,
                   "size": csize},
        "layers": layer_refs}).encode()
    mdigest, msize = blob(manifest)
    index = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest,
        "size": msize, "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}).encode()
    with tarfile.open(path, "w") as t:
        for name, data in [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
                           ("index.json", index)] + \
                [("blobs/sha256/" + d, b) for d, b in sorted(blobs.items())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return path


def enclaved(*args):
    return subprocess.run([f"{BIN}/enclaved", *args], capture_output=True, text=True,
                          timeout=300)


def images(data):
    out = enclaved("images", "list", "--json", "--data-dir", data)
    return {m["name"]: m for m in json.loads(out.stdout)} if out.returncode == 0 else {}


CLEAN = [
    [member("usr/", "dir", mode=0o755), member("usr/bin/", "dir", mode=0o755),
     member("usr/bin/python3", data=b"#!fake\n", mode=0o755),
     member("usr/bin/bash", data=b"#!fake\n", mode=0o755),
     member("usr/bin/su", data=b"setuid\n", mode=0o4755),
     member("bin", "symlink", link="usr/bin"),
     member("etc/", "dir", mode=0o755), member("etc/hello", data=b"hello from layer 1\n"),
     member("etc/removed", data=b"gone in layer 2\n"),
     # An absolute member path lands inside the tree, never at the host's path.
     member(marker + "/ESCAPED", data=b"ESCAPED\n")],
    [member("etc/.wh.removed"), member("etc/layer2", data=b"layer 2\n"),
     member("usr/bin/runner-link", "hardlink", link="usr/bin/python3")],
]
clean = oci_archive(os.path.join(work, "clean.tar"), CLEAN)
data = os.path.join(work, "data")

# ---- the clean image ----------------------------------------------------------------------
r = enclaved("images", "import", "tiny", clean, "--data-dir", data)
check(r.returncode == 0, "the clean archive imports", r.stderr[-2000:])
listed = images(data)
tiny = listed.get("tiny", {})
check(tiny.get("digest", "").startswith("sha256:") and len(tiny["digest"]) == 71,
      "it is listed with a sha256 digest", listed)
check(tiny.get("languages") == ["python", "bash"], "its languages are detected", tiny)
root = os.path.join(data, "images", "by-digest", tiny.get("digest", "sha256:x")[7:], "rootfs")
read = lambda p: open(os.path.join(root, p), "rb").read()  # noqa: E731
check(os.path.isdir(root) and read("etc/hello") == b"hello from layer 1\n"
      and read("etc/layer2") == b"layer 2\n", "both layers' files are in the tree")
check(not os.path.lexists(os.path.join(root, "etc/removed")), "the whiteout removed etc/removed")
check(os.readlink(os.path.join(root, "bin")) == "usr/bin", "the symlink is kept as it was")
mode = os.lstat(os.path.join(root, "usr/bin/su")).st_mode if os.path.isdir(root) else 0
check(mode and not mode & (stat.S_ISUID | stat.S_ISGID), "setuid/setgid bits are cleared")
check(os.path.isdir(os.path.join(root, "opt/enclave")) and
      os.path.isdir(os.path.join(root, "opt/enclave-io")), "the runner's mount points exist")
check(os.path.isfile(os.path.join(root, marker.lstrip("/"), "ESCAPED")) and
      not os.listdir(marker), "an absolute member path stays inside the tree")

again = enclaved("images", "import", "tiny2", clean, "--data-dir", data)
check(again.returncode == 0 and "already in the store" in again.stderr,
      "importing the same archive again is answered from the store", again.stderr[-500:])
check(images(data).get("tiny2", {}).get("digest") == tiny.get("digest"), "…with the same digest")
other = os.path.join(work, "data-other")
elsewhere = enclaved("images", "import", "tiny", clean, "--data-dir", other)
check(elsewhere.returncode == 0 and images(other).get("tiny", {}).get("digest") == tiny.get("digest"),
      "the same archive gives the same digest in another data dir")

# ---- hostile archives ---------------------------------------------------------------------
big = b"\0" * (24 << 20)
HOSTILE = [
    ("dotdot", [[member("../" * 8 + marker.lstrip("/") + "/ESCAPED", data=b"ESCAPED\n")]],
     [], '".." component'),
    ("through-symlink", [[member("esc", "symlink", link=marker),
                          member("esc/ESCAPED", data=b"ESCAPED\n")]], [], "beneath a symlink"),
    ("through-lower-symlink", [[member("esc", "symlink", link=marker)],
                               [member("esc/ESCAPED", data=b"ESCAPED\n")]], [],
     "beneath a symlink"),
    ("hardlink-out", [[member("passwd", "hardlink", link="../../../../etc/passwd")]], [],
     'hard link to a path with ".."'),
    ("device", [[member("dev/", "dir", mode=0o755), member("dev/mem", "chr", mode=0o666)]], [],
     "a device node"),
    ("fifo", [[member("pipe", "fifo")]], [], "a FIFO"),
    # A name over 100 bytes travels in a pax header: the scan reads the name the unpacker will.
    ("pax-dotdot", [[member("d" * 120 + "/../../../" + marker.lstrip("/") + "/ESCAPED",
                            data=b"ESCAPED\n")]], [], '".." component'),
    ("device-in-upper-layer", [CLEAN[0], [member("usr/bin/tty0", "chr")]], [], "a device node"),
    ("huge-file", [[member("zeros", data=big)]], ["--max-file-mb", "16"], "over the"),
    ("huge-total", [[member("a", data=big[: 12 << 20]), member("b", data=big[: 12 << 20])]],
     ["--max-unpacked-mb", "16"], "unpacks to more than"),
]
for name, layers, flags, why in HOSTILE:
    path = oci_archive(os.path.join(work, name + ".tar"), layers)
    r = enclaved("images", "import", name, path, "--data-dir", data, *flags)
    check(r.returncode != 0 and why in r.stderr, f"{name}: refused ({why})", r.stderr[-600:])
junk = os.path.join(work, "junk.tar")
with open(junk, "wb") as f:
    f.write(os.urandom(4096))
r = enclaved("images", "import", "junk", junk, "--data-dir", data)
check(r.returncode != 0 and "skopeo could not read" in r.stderr, "a non-archive is refused",
      r.stderr[-400:])
r = enclaved("images", "import", "small", clean, "--data-dir", data, "--max-archive-mb", "1")
check(r.returncode == 0, "an archive under --max-archive-mb imports", r.stderr[-400:])
with open(os.path.join(work, "big.tar"), "wb") as f:
    f.truncate(2 << 20)
r = enclaved("images", "import", "big", os.path.join(work, "big.tar"), "--data-dir", data,
             "--max-archive-mb", "1")
check(r.returncode != 0 and "over the" in r.stderr, "an archive over --max-archive-mb is refused",
      r.stderr[-400:])
r = enclaved("images", "import", "../evil", clean, "--data-dir", data)
check(r.returncode != 0, "a bad image name is refused")

check(os.listdir(marker) == [], "nothing ESCAPED to the host marker dir", os.listdir(marker))
names = sorted(images(data))
check(names == ["default", "small", "tiny", "tiny2"], "only the clean imports are named", names)
check(images(data)["tiny"]["digest"] == tiny.get("digest"), "the clean image kept its digest")
leftover = os.listdir(os.path.join(data, "images", "work"))
check(leftover == [], "no work dir is left behind", leftover)
if not checks.failed:
    shutil.rmtree(work, ignore_errors=True)
else:
    print("work dir kept:", work)
checks.finish()
