"""Fixtures for the file-system shield's tests: programs built with
scone-gcc (enclave, SIM) and with --scone-native, in a private HOME."""

import subprocess
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


# The volume key the tests give with SCONE_FS_KEY and scone-fs --key-hex.
KEY = "00112233445566778899aabbccddeeff"


def run(binary, args, env=None, **extra):
    """One run of a test program: its arguments, env plus ``extra``."""
    e = dict(env, **extra) if env is not None else None
    return subprocess.run([str(binary), *map(str, args)], env=e, capture_output=True,
                          text=True, timeout=120)


def scone_fs(*args):
    """``scone-fs ARGS`` (text output)."""
    return subprocess.run(["scone-fs", *map(str, args)], capture_output=True, text=True, timeout=60)
