"""Fixtures for the asynchronous system-call tests: programs built once per
session with scone-gcc, run in SIM."""

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SAMPLES = REPO / "samples"
PROGS = HERE / "progs"


@pytest.fixture(scope="session")
def async_env(private_env):
    """A private HOME (fresh developer key), SIM, no syscall knobs inherited."""
    return private_env(drop=("SCONE_",))


@pytest.fixture(scope="session")
def build(enclave_builder, async_env):
    """build(source, *flags) -> path of a signed enclave binary (cached per args)."""
    return enclave_builder(async_env)
