#!/usr/bin/env python3
"""Images (issue 21): the three figures of the issue, each beside its baseline in one run.

  1. an image build is cached: the same `enclaved images build` a second time (goal ≤ 2 s),
     beside the first build in this fresh data dir (from the shared cache, or from scratch);
  2. first result of a `print(1)` one-shot on a built image from its warm pool
     (`--warm-pool 2,IMAGE=2`, `POST /v1/sessions?wait=30`) p50 (goal ≤ 20 ms), beside the same
     one-shot on `default` from the default pool;
  3. cold start (no pool) of that one-shot on the image vs on `default`, alternated, p50 ratio
     (goal ≤ 1.2×).

usage: images.py BIN_DIR [SAMPLES]     needs root, runsc and mmdebstrap (or a cached build)
Prints one line per figure and the samples. Packages: numpy, pandas, matplotlib (as
tests/system/images_languages_test.py); downloads are cached in /var/cache/enclave like any build.
"""
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from enclave_testlib import Server  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
SAMPLES = int(sys.argv[2]) if len(sys.argv) > 2 else 10
# The package set of tests/system/images_languages_test.py, so a machine that ran it builds from cache.
PACKAGES = "python3-numpy,python3-pandas,python3-matplotlib"
work = tempfile.mkdtemp(prefix="enclave-bench-images-")
data = os.path.join(work, "data")


def build():
    t = time.perf_counter()
    p = subprocess.run([f"{BIN}/enclaved", "images", "build", "pydata", "--data-dir", data,
                        "--debian-packages", PACKAGES], capture_output=True, text=True,
                       timeout=3600)
    if p.returncode != 0:
        sys.exit("images build failed: " + p.stderr[-1000:])
    return time.perf_counter() - t


def first_result_ms(server, image):
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        body = {"code": "print(1)", "language": "python"}
        if image:
            body["image"] = image
        t = time.perf_counter()
        c.request("POST", "/v1/sessions?wait=30", json.dumps(body),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        s = json.loads(r.read())
        ms = (time.perf_counter() - t) * 1000
    finally:
        c.close()
    if r.status != 201 or s.get("result", {}).get("stdout") != "1\n":
        return None  # failed work: not a sample
    return ms


def p50(xs):
    return statistics.median(xs) if xs and None not in xs else None


def show(xs):
    return ", ".join(f"{x:.1f}" for x in sorted(xs)) if None not in xs else "failed samples"


try:
    first_s = build()
    second_s = build()
    print(f"1 image build, second (same inputs, same data dir): {second_s:.2f} s vs the first in "
          f"this fresh data dir {first_s:.2f} s (goal second <= 2 s: "
          f"{'met' if second_s <= 2 else 'MISSED'})")

    warm_srv = Server(BIN, data, "gvisor", env={"ENCLAVE_WARM_POOL": "2,pydata=2"})
    warm_image, warm_default = [], []
    try:
        for _ in range(SAMPLES):
            warm_image.append(first_result_ms(warm_srv, "pydata"))
            time.sleep(1.0)  # a measurement spacing so the pools refill; not a synchronisation
            warm_default.append(first_result_ms(warm_srv, None))
            time.sleep(1.0)
    finally:
        warm_srv.stop()
    wi, wd = p50(warm_image), p50(warm_default)
    if wi is None or wd is None:
        print("2 warm first result: failed samples", warm_image, warm_default)
    else:
        print(f"2 first result of a one-shot on pydata from its warm pool: p50 {wi:.1f} ms vs "
              f"default from its pool p50 {wd:.1f} ms (goal <= 20 ms: "
              f"{'met' if wi <= 20 else 'MISSED'})")
    print(f"  samples (ms): pydata {show(warm_image)}; default {show(warm_default)}")

    cold_srv = Server(BIN, data, "gvisor", env={"ENCLAVE_WARM_POOL": "0"})
    cold_image, cold_default = [], []
    try:
        for _ in range(SAMPLES):
            cold_image.append(first_result_ms(cold_srv, "pydata"))
            cold_default.append(first_result_ms(cold_srv, None))
    finally:
        cold_srv.stop()
    ci, cd = p50(cold_image), p50(cold_default)
    if ci is None or cd is None:
        print("3 cold start: failed samples", cold_image, cold_default)
    else:
        print(f"3 cold start of a one-shot on pydata: p50 {ci:.1f} ms vs on default p50 {cd:.1f} ms "
              f"-> {ci / cd:.2f}x (goal <= 1.2x: {'met' if ci / cd <= 1.2 else 'MISSED'})")
    print(f"  samples (ms): pydata {show(cold_image)}; default {show(cold_default)}")
finally:
    shutil.rmtree(work, ignore_errors=True)
