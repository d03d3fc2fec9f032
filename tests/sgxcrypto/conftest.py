"""Builds of runtime/sgxcrypto for the tests: a shared object of the same
sources for ctypes, and the real libsgxcrypto.a through the runtime Makefile."""

import ctypes
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "runtime" / "sgxcrypto"


def _build(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.fixture(scope="session")
def libpath(tmp_path_factory) -> Path:
    so = tmp_path_factory.mktemp("sgxcrypto") / "libsgxcrypto.so"
    _build(["gcc", "-O2", "-std=gnu11", "-Wall", "-Werror", "-shared", "-fPIC",
            "-o", str(so), *map(str, sorted(SRC.glob("*.c")))])
    return so


class Lib:
    """ctypes view of the C API; digests and records come back as bytes."""

    def __init__(self, path: Path):
        self.c = ctypes.CDLL(str(path))
        self.ctx_size = 256  # >= sizeof(struct sha256_ctx) = 104
        self.c.sha256_impl_name.restype = ctypes.c_char_p
        self.c.sha256_update.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        self.c.mr_ecreate.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint64]
        self.c.mr_eadd.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64]
        self.c.mr_eextend.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_char_p]
        self.c.mr_eextend_page.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_char_p]
        self.c.sim_einit_check.argtypes = [
            ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint64, ctypes.c_uint64,
            ctypes.c_uint32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        self.c.sgx_einit_code_name.restype = ctypes.c_char_p

    def select(self, impl: int) -> int:
        return self.c.sha256_select(impl)

    def impl_name(self) -> str:
        return self.c.sha256_impl_name().decode()

    def ctx(self):
        return ctypes.create_string_buffer(self.ctx_size)

    def sha256(self, data: bytes, splits=()) -> bytes:
        ctx, out = self.ctx(), ctypes.create_string_buffer(32)
        self.c.sha256_init(ctx)
        pos = 0
        for cut in list(splits) + [len(data)]:
            self.c.sha256_update(ctx, data[pos:cut], cut - pos)
            pos = cut
        self.c.sha256_final(ctx, out)
        return out.raw

    def final(self, ctx) -> bytes:
        out = ctypes.create_string_buffer(32)
        self.c.mr_einit_final(ctx, out)
        return out.raw

    def einit(self, sig: bytes, mrenclave: bytes, attributes: int, xfrm: int, misc: int):
        signer = ctypes.create_string_buffer(32)
        why = ctypes.create_string_buffer(1024)
        rc = self.c.sim_einit_check(sig, mrenclave, attributes, xfrm, misc, signer, why, len(why))
        return rc, signer.raw, why.value.decode()


@pytest.fixture(scope="session")
def lib(libpath) -> Lib:
    return Lib(libpath)


@pytest.fixture(scope="session")
def static_lib(tmp_path_factory) -> Path:
    """libsgxcrypto.a exactly as the sysroot build makes it (runtime/Makefile)."""
    out = tmp_path_factory.mktemp("runtime-out")
    target = out / "libsgxcrypto.a"
    # Only our target is built, so the MUSL prefix is never consulted.
    _build(["make", "-s", "-C", str(REPO / "runtime"), "MUSL=/nonexistent",
            f"O={out}", str(target)])
    return target
