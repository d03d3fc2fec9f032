"""Fixtures for the file-system shield's tests: programs built with
scone-gcc (enclave, SIM) and with --scone-native, in a private HOME."""

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def fs_env(private_env):
    return private_env(drop=("SCONE_MODE", "SCONE_HASH", "SCONE_LOG", "SCONE_FS", "SCONE_HEAP"))


@pytest.fixture(scope="session")
def fs_build(enclave_builder, fs_env):
    """fs_build(source, *flags) -> a binary (cached per arguments)."""
    return enclave_builder(fs_env)
