"""The starter's fast measurement path (runtime/sgxcrypto: mr_add_pages and
the SHA-256 rider) against records assembled here from sgx-spec.md §1 with
struct.pack and hashed with hashlib: batches of EADD records, measured pages
from a buffer or a repeated zero page, TCS permissions, and a second message
hashed alongside, with SHA-NI and with the portable block function."""

import ctypes
import hashlib
import random
import struct
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CRYPTO = REPO / "runtime" / "sgxcrypto"
PAGE = 4096
CTX_BYTES = 104          # struct sha256_ctx: h[8], nbytes, buf[64]
RIDER_BYTES = CTX_BYTES + 16


def ecreate_record(ssa: int, size: int) -> bytes:
    return struct.pack("<8sIQ44x", b"ECREATE\0", ssa, size)


def eadd_record(offset: int, flags: int) -> bytes:
    if (flags >> 8) & 0xFF == 1:          # §1.2: a TCS is hashed without R/W/X
        flags &= ~7
    return struct.pack("<8sQQ40x", b"EADD\0\0\0\0", offset, flags)


def eextend_records(offset: int, page: bytes) -> bytes:
    return b"".join(struct.pack("<8sQ48x", b"EEXTEND\0", offset + 256 * k) + page[256 * k:256 * (k + 1)]
                    for k in range(16))


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    so = tmp_path_factory.mktemp("sgxcrypto") / "libsgxcrypto.so"
    r = subprocess.run(["gcc", "-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                        "-o", str(so), *map(str, sorted(CRYPTO.glob("*.c")))],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    c = ctypes.CDLL(str(so))
    c.mr_ecreate.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint64]
    c.mr_add_pages.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_uint64,
                               ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p]
    c.mr_einit_final.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    c.sha256_rider_init.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    c.sha256_rider_final.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    c.sha256_update.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    c.sha256_impl_name.restype = ctypes.c_char_p
    return c


def impls(lib):
    """The block functions this CPU can run: portable always, SHA-NI if present."""
    out = []
    for impl, name in ((1, "portable"), (2, "sha-ni")):
        if lib.sha256_select(impl) == 0:
            out.append(name)
    lib.sha256_select(0)
    return out


def select(lib, name):
    assert lib.sha256_select({"portable": 1, "sha-ni": 2}[name]) == 0
    assert lib.sha256_impl_name().decode() == name


def random_runs(rng, size):
    """(offset, count, flags, data): data None = unmeasured, bytes of one
    page = that page repeated (stride 0), else count pages."""
    runs, at = [], 0
    for _ in range(rng.randrange(2, 9)):
        count = rng.choice([1, 2, 63, 64, 65, 130, rng.randrange(1, 300)])
        flags = rng.choice([0x201, 0x203, 0x205, 0x100])
        kind = rng.choice(["unmeasured", "repeat", "pages"])
        if kind == "unmeasured":
            data = None
        elif kind == "repeat":
            data = rng.choice([bytes(PAGE), rng.randbytes(PAGE)])
        else:
            count = min(count, 12)
            data = rng.randbytes(count * PAGE)
        runs.append((at, count, flags, data))
        at += (count + rng.randrange(0, 3)) * PAGE
        assert at < size
    return runs


def measure(lib, ssa, size, runs, rider_msg=None):
    ctx = ctypes.create_string_buffer(CTX_BYTES)
    rider = None
    if rider_msg is not None:
        rider = ctypes.create_string_buffer(RIDER_BYTES)
        keep = ctypes.create_string_buffer(rider_msg, len(rider_msg))
        lib.sha256_rider_init(rider, keep, len(rider_msg))
    lib.mr_ecreate(ctx, ssa, size)
    for offset, count, flags, data in runs:
        stride = 0 if data is not None and len(data) == PAGE and count > 1 else PAGE
        lib.mr_add_pages(ctx, offset, count, flags, data, stride, rider)
    out = ctypes.create_string_buffer(32)
    lib.mr_einit_final(ctx, out)
    side = None
    if rider is not None:
        side = ctypes.create_string_buffer(32)
        lib.sha256_rider_final(rider, side)
        side = side.raw
    return out.raw, side


def expected(ssa, size, runs):
    h = hashlib.sha256(ecreate_record(ssa, size))
    for offset, count, flags, data in runs:
        for i in range(count):
            at = offset + i * PAGE
            h.update(eadd_record(at, flags))
            if data is not None:
                page = data if len(data) == PAGE else data[i * PAGE:(i + 1) * PAGE]
                h.update(eextend_records(at, page))
    return h.digest()


def test_batched_pages_match_spec_records(lib):
    rng = random.Random(2016)
    for name in impls(lib):
        select(lib, name)
        for _ in range(12):
            ssa, size = rng.randrange(1, 4), 1 << rng.randrange(24, 36)
            runs = random_runs(rng, size)
            got, _ = measure(lib, ssa, size, runs)
            assert got == expected(ssa, size, runs), (name, runs)
    lib.sha256_select(0)


def test_rider_hashes_its_message_alongside(lib):
    """The rider's digest is its message's SHA-256 whether the measurement
    outlasts it or not, and riding leaves MRENCLAVE unchanged."""
    rng = random.Random(1102)
    for name in impls(lib):
        select(lib, name)
        for length in (0, 1, 63, 64, 65, 4095, 64 * 81, 64 * 81 + 7, 300_000, 3_000_000):
            msg = rng.randbytes(length)
            runs = random_runs(rng, 1 << 30)
            got, side = measure(lib, 1, 1 << 30, runs, msg)
            assert side == hashlib.sha256(msg).digest(), (name, length)
            assert got == expected(1, 1 << 30, runs), (name, length)
    lib.sha256_select(0)


def test_rider_waits_while_the_stream_is_off_a_block_boundary(lib):
    """A stream fed a partial block cannot hash whole blocks in place: the
    rider then waits, and both digests stay right."""
    for name in impls(lib):
        select(lib, name)
        msg = bytes(range(256)) * 40
        ctx = ctypes.create_string_buffer(CTX_BYTES)
        rider = ctypes.create_string_buffer(RIDER_BYTES)
        keep = ctypes.create_string_buffer(msg, len(msg))
        lib.sha256_rider_init(rider, keep, len(msg))
        lib.mr_ecreate(ctx, 1, 1 << 20)
        lib.sha256_update(ctx, b"abc", 3)
        lib.mr_add_pages(ctx, 0, 70, 0x203, None, 0, rider)
        out, side = ctypes.create_string_buffer(32), ctypes.create_string_buffer(32)
        lib.mr_einit_final(ctx, out)
        lib.sha256_rider_final(rider, side)
        stream = ecreate_record(1, 1 << 20) + b"abc" + b"".join(eadd_record(i * PAGE, 0x203) for i in range(70))
        assert out.raw == hashlib.sha256(stream).digest(), name
        assert side.raw == hashlib.sha256(msg).digest(), name
    lib.sha256_select(0)
