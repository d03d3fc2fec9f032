"""A Debian source package built unmodified twice, with scone-gcc (an
enclave binary) and with ``scone-gcc --scone-native``, for the sizing tests
of real programs. A source that cannot be fetched fails the test."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "apps"))


def env(**extra):
    """SIM, without the caller's sizing and logging variables."""
    e = dict(os.environ, SCONE_MODE="SIM")
    for k in ("SCONE_LOG", "SCONE_HWM_FILE", "SCONE_HEAP", "SCONE_STACK", "SCONE_NATIVE"):
        e.pop(k, None)
    e.update(extra)
    return e


def build_both(tmp_path_factory, package: str, configure: list, target: str, binary: str) -> dict:
    """{"enclave": path, "native": path} of ``binary`` after ``configure``
    and ``make -j2 target`` in each flavour's own unpacked tree."""
    from appkit import source
    out = {}
    for flavour, flags in (("enclave", ""), ("native", "--scone-native")):
        work = tmp_path_factory.mktemp(f"{package}-{flavour}")
        try:
            src = source.unpack(package, work)
        except source.SourceUnavailable as err:
            pytest.fail(str(err))
        e = env(CC=f"scone-gcc {flags}".strip())
        for step in (configure, ["make", "-j2", *([target] if target else [])]):
            r = subprocess.run(step, cwd=src, env=e, capture_output=True, text=True, timeout=1800)
            assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        out[flavour] = src / binary
    return out
