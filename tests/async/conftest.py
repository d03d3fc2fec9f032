"""Fixtures for the asynchronous system-call tests: programs built once per
session with scone-gcc, run in SIM."""

import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SAMPLES = REPO / "samples"
PROGS = HERE / "progs"


@pytest.fixture(scope="session")
def async_env(tmp_path_factory, sysroot):
    """A private HOME (fresh developer key), SIM, no syscall knobs inherited."""
    home = tmp_path_factory.mktemp("home")
    env = dict(os.environ)
    env.setdefault("SCONE_CACHE", str(Path.home() / ".cache" / "scone"))
    env["HOME"] = str(home)
    env.pop("XDG_CONFIG_HOME", None)
    for k in list(env):
        if k.startswith("SCONE_") and k != "SCONE_CACHE":
            env.pop(k)
    env["SCONE_MODE"] = "SIM"
    return env


@pytest.fixture(scope="session")
def build(tmp_path_factory, async_env):
    """build(source, *flags) -> path of a signed enclave binary (cached per args)."""
    out_dir = tmp_path_factory.mktemp("bin")
    cache = {}

    def _build(source, *flags):
        key = (str(source), flags)
        if key not in cache:
            out = out_dir / f"{Path(source).stem}-{len(cache)}"
            r = subprocess.run(["scone-gcc", "-O2", "-o", str(out), str(source), *flags],
                               env=async_env, capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            cache[key] = out
        return cache[key]

    return _build
