"""Fixtures for the file-system shield's tests: programs built with
scone-gcc (enclave, SIM) and with --scone-native, in a private HOME."""

import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def fs_env(tmp_path_factory, sysroot):
    home = tmp_path_factory.mktemp("home")
    env = dict(os.environ)
    env.setdefault("SCONE_CACHE", str(Path.home() / ".cache" / "scone"))
    env["HOME"] = str(home)
    env.pop("XDG_CONFIG_HOME", None)
    for k in ("SCONE_MODE", "SCONE_HASH", "SCONE_LOG", "SCONE_FS", "SCONE_HEAP"):
        env.pop(k, None)
    env["SCONE_MODE"] = "SIM"
    return env


@pytest.fixture(scope="session")
def fs_build(tmp_path_factory, fs_env):
    """fs_build(source, *flags) -> a binary (cached per arguments)."""
    out_dir = tmp_path_factory.mktemp("bin")
    cache = {}

    def _build(source, *flags):
        key = (str(source), flags)
        if key not in cache:
            out = out_dir / f"{Path(source).stem}-{len(cache)}"
            r = subprocess.run(["scone-gcc", "-O2", "-o", str(out), str(source), *flags],
                               env=fs_env, capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            cache[key] = out
        return cache[key]

    return _build
