"""In-tree PEP 517 build backend for the Enclave SDK.

Why: `pip install ./sdk/python` must work in a fresh venv, offline. pip builds in an isolated
environment that holds only the build-system `requires` (fetched from an index), so the backend
needs nothing: it writes the (pure-Python) wheel itself with the standard library, and
pyproject.toml's `requires` is empty. Source distributions are delegated to setuptools.build_meta
(get_requires_for_build_sdist asks for it).
"""
from __future__ import annotations

import base64
import hashlib
import os
import zipfile
from typing import Dict, List, Optional, Tuple

NAME = "enclave-sdk"
DIST = "enclave_sdk"
VERSION = "0.1.0"
PKG = "enclave"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(HERE, "src")
TAG = "py3-none-any"


def _metadata() -> str:
    readme = ""
    p = os.path.join(HERE, "README.md")
    if os.path.exists(p):
        with open(p, encoding="utf-8") as f:
            readme = f.read()
    return (f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n"
            "Summary: Python client for the Enclave sandbox control plane (standard library only)\n"
            "License: Apache-2.0\nRequires-Python: >=3.8\n"
            "Description-Content-Type: text/markdown\n\n" + readme)


def _wheel_meta() -> str:
    return ("Wheel-Version: 1.0\nGenerator: enclave_build\nRoot-Is-Purelib: true\n"
            f"Tag: {TAG}\n")


def _pkg_files() -> List[Tuple[str, str]]:
    out = []
    root = os.path.join(SRC, PKG)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for fn in sorted(filenames):
            if fn.endswith((".pyc", ".pyo")):
                continue
            full = os.path.join(dirpath, fn)
            out.append((full, os.path.relpath(full, SRC).replace(os.sep, "/")))
    return out


def _record_line(arc: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arc},sha256={digest},{len(data)}"


def _write_wheel(wheel_directory: str, entries: List[Tuple[str, bytes]]) -> str:
    distinfo = f"{DIST}-{VERSION}.dist-info"
    entries = entries + [
        (f"{distinfo}/METADATA", _metadata().encode()),
        (f"{distinfo}/WHEEL", _wheel_meta().encode()),
        (f"{distinfo}/top_level.txt", f"{PKG}\n".encode()),
    ]
    record = [_record_line(a, d) for a, d in entries] + [f"{distinfo}/RECORD,,"]
    name = f"{DIST}-{VERSION}-{TAG}.whl"
    os.makedirs(wheel_directory, exist_ok=True)
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data in entries:
            z.writestr(arc, data)
        z.writestr(f"{distinfo}/RECORD", "\n".join(record) + "\n")
    return name


def get_requires_for_build_wheel(config_settings: Optional[Dict] = None) -> List[str]:
    return []


def get_requires_for_build_editable(config_settings: Optional[Dict] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[Dict] = None) -> List[str]:
    return ["setuptools>=61"]


def prepare_metadata_for_build_wheel(metadata_directory: str,
                                     config_settings: Optional[Dict] = None) -> str:
    distinfo = f"{DIST}-{VERSION}.dist-info"
    d = os.path.join(metadata_directory, distinfo)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata())
    with open(os.path.join(d, "WHEEL"), "w", encoding="utf-8") as f:
        f.write(_wheel_meta())
    return distinfo


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory: str, config_settings: Optional[Dict] = None,
                metadata_directory: Optional[str] = None) -> str:
    entries = []
    for full, arc in _pkg_files():
        with open(full, "rb") as f:
            entries.append((arc, f.read()))
    return _write_wheel(wheel_directory, entries)


def build_editable(wheel_directory: str, config_settings: Optional[Dict] = None,
                   metadata_directory: Optional[str] = None) -> str:
    return _write_wheel(wheel_directory, [(f"{DIST}.pth", (SRC + "\n").encode())])


def build_sdist(sdist_directory: str, config_settings: Optional[Dict] = None) -> str:
    from setuptools import build_meta  # only sdists need setuptools

    return build_meta.build_sdist(sdist_directory, config_settings)
