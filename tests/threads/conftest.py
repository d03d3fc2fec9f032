"""Builds for tests/threads: each program once per session, as an enclave
binary and as a native musl binary (the oracle for behaviour)."""

import os
import subprocess
from pathlib import Path

import pytest

PROGS = Path(__file__).resolve().parent / "progs"
SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture(scope="session")
def build(tmp_path_factory):
    out = tmp_path_factory.mktemp("threads-bin")
    cache = {}

    def _build(src, native=False, flags=()):
        src = Path(src)
        if not src.is_absolute():
            src = PROGS / src
        key = (src, native, tuple(flags))
        if key not in cache:
            exe = out / (src.stem + ("-native" if native else ""))
            cmd = ["scone-gcc", "-O2", "-Wall", *flags, str(src), "-o", str(exe)]
            if native:
                cmd.insert(1, "--scone-native")
            r = subprocess.run(cmd, capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            cache[key] = exe
        return cache[key]

    return _build


@pytest.fixture(scope="session")
def enclave_env():
    def _env(**extra):
        env = dict(os.environ, SCONE_MODE="SIM")
        env.pop("SCONE_LOG", None)
        env.update({k: str(v) for k, v in extra.items()})
        return env
    return _env


@pytest.fixture(scope="session")
def samples():
    return SAMPLES
