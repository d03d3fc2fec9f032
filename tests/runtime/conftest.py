"""Fixtures for the enclave runtime and starter tests: programs built once per
session with scone-gcc (enclave mode), run in SIM."""

import os
import subprocess
from pathlib import Path

import pytest

PROGS = Path(__file__).resolve().parent / "progs"


@pytest.fixture(scope="session")
def rt_env(tmp_path_factory, sysroot):
    """A private HOME (fresh developer key) sharing the built sysroot cache."""
    home = tmp_path_factory.mktemp("home")
    env = dict(os.environ)
    env.setdefault("SCONE_CACHE", str(Path.home() / ".cache" / "scone"))
    env["HOME"] = str(home)
    env.pop("XDG_CONFIG_HOME", None)
    for k in ("SCONE_MODE", "SCONE_HASH", "SCONE_VERSION", "SCONE_LOG", "SCONE_SIM_EXIT_CYCLES"):
        env.pop(k, None)
    return env


@pytest.fixture(scope="session")
def build(tmp_path_factory, rt_env, sysroot):
    """build(source, *flags) -> path of a signed enclave binary (cached per args)."""
    out_dir = tmp_path_factory.mktemp("bin")
    cache = {}

    def _build(source, *flags):
        key = (str(source), flags)
        if key not in cache:
            name = Path(source).stem + "-" + str(len(cache))
            out = out_dir / name
            r = subprocess.run(["scone-gcc", "-O2", "-o", str(out), str(source), *flags],
                               env=rt_env, capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            cache[key] = out
        return cache[key]

    return _build


@pytest.fixture
def sim_env(rt_env):
    env = dict(rt_env)
    env["SCONE_MODE"] = "SIM"
    return env


@pytest.fixture(scope="session")
def starter(sysroot) -> Path:
    p = Path(sysroot) / "libexec" / "scone-starter"
    assert p.is_file(), "the sysroot has no starter"
    return p
