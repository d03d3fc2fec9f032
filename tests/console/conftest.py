"""Fixtures for the console shield's tests: programs built with scone-gcc
(with and without --scone-console) and run in SIM."""

import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


@pytest.fixture(scope="session")
def con_env(private_env):
    return private_env(drop=("SCONE_",))


@pytest.fixture(scope="session")
def con_build(enclave_builder, con_env):
    """con_build(source, *flags) -> a binary (cached per arguments); a
    relative source is taken from this folder, samples/... from the repo."""
    build = enclave_builder(con_env, base=HERE)

    def _build(source, *flags):
        src = REPO / source if str(source).startswith("samples/") else source
        return build(src, *flags)

    return _build


def run(cmd, env, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", 120)
    return subprocess.run([str(c) for c in cmd], env=env, **kw)
