#!/usr/bin/env python3
"""docs/API.md names every route the server serves (the route table in http/routes.cc feeds the
router and the OpenAPI document), and no file a user reads points outside the repository.

usage: docs_api_test.py SOURCE_DIR"""
import os
import re
import subprocess
import sys

root = sys.argv[1]
routes = open(os.path.join(root, "http/routes.cc")).read()
doc = open(os.path.join(root, "docs/API.md")).read()
norm = lambda p: re.sub(r"\{[^}]*\}", "{}", p)
served = {p for p in re.findall(r'RouteId::k\w+,\s*"[A-Z]+",\s*"([^"]+)"', routes, re.S)}
named = {norm(p) for p in re.findall(r"(/v1/[A-Za-z0-9_/{}.-]*|/metrics)", doc)}
missing = sorted(p for p in served if not p.startswith("/ui") and norm(p) not in named)
fails = []
if len(served) < 15:
    fails.append(f"found only {len(served)} routes in http/routes.cc: the pattern no longer matches")
if missing:
    fails.append(f"docs/API.md does not name {missing}")
files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True).stdout.split()
outside = [f for f in files if not f.startswith(("tests/", ".ci/")) and os.path.isfile(os.path.join(root, f))
           and "../shared" in open(os.path.join(root, f), errors="replace").read()]
if outside:
    fails.append(f"files refer to ../shared (not in a clone): {outside}")
print("; ".join(fails) if fails else f"docs/API.md names all {len(served) - sum(p.startswith('/ui') for p in served)} served API paths; nothing points outside the repo")
print(f"{0 if fails else 1} passed, {1 if fails else 0} failed")
sys.exit(1 if fails else 0)
