"""Fixtures for the shield crypto tests: the crypto object and a test program
linked with it (built once per session; OpenSSL itself once per cache)."""

import os
import subprocess
from pathlib import Path

import pytest

PROGS = Path(__file__).resolve().parent / "progs"


def scone_gcc(args, cwd=None, env=None):
    out = subprocess.run(["scone-gcc", *map(str, args)], cwd=cwd, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out


@pytest.fixture(scope="session")
def crypto_lib(sysroot) -> Path:
    """libscone-crypto.a for the current sysroot (OpenSSL built on first use)."""
    from scone_cc import crypto_build

    return crypto_build.current(sysroot)


@pytest.fixture(scope="session")
def openssl_dir(sysroot, crypto_lib) -> Path:
    """The same OpenSSL build, unhidden: a program's own copy."""
    from scone_cc import crypto_build

    return crypto_build.openssl_dir(sysroot)


@pytest.fixture(scope="session")
def crypto_prog(crypto_lib, tmp_path_factory) -> Path:
    """progs/shield_crypto.c as an enclave binary with the crypto object."""
    out = tmp_path_factory.mktemp("crypto") / "shield_crypto"
    scone_gcc(["-O2", "--scone-crypto", PROGS / "shield_crypto.c", "-o", out])
    return out


@pytest.fixture
def run_enclave():
    def _run(argv, timeout=120, **kw):
        env = {**os.environ, "SCONE_MODE": "SIM", **kw.pop("env", {})}
        return subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                              timeout=timeout, env=env, **kw)
    return _run
