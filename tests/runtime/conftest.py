"""Fixtures for the enclave runtime and starter tests: programs built once per
session with scone-gcc (enclave mode), run in SIM."""

from pathlib import Path

import pytest

PROGS = Path(__file__).resolve().parent / "progs"


@pytest.fixture(scope="session")
def rt_env(private_env):
    """A private HOME (fresh developer key) sharing the built sysroot cache."""
    return private_env(drop=("SCONE_MODE", "SCONE_HASH", "SCONE_VERSION", "SCONE_LOG",
                             "SCONE_SIM_EXIT_CYCLES"), sim=False)


@pytest.fixture(scope="session")
def build(enclave_builder, rt_env):
    """build(source, *flags) -> path of a signed enclave binary (cached per args)."""
    return enclave_builder(rt_env)


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
