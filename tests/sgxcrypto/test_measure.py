"""MRENCLAVE records (sgx-spec.md §1) against records assembled here from the
spec's offsets with struct.pack and hashed with hashlib."""

import ctypes
import hashlib
import random
import struct


def ecreate_record(ssa: int, size: int) -> bytes:
    # §1.1: tag @0, SSAFRAMESIZE u32 @8, SIZE u64 @12 (unaligned), zero to 64
    return struct.pack("<8sIQ44x", b"ECREATE\0", ssa, size)


def eadd_record(offset: int, flags: int) -> bytes:
    return struct.pack("<8sQQ40x", b"EADD\0\0\0\0", offset, flags)


def eextend_records(offset: int, page: bytes) -> bytes:
    return b"".join(struct.pack("<8sQ48x", b"EEXTEND\0", offset + 256 * k) + page[256 * k:256 * (k + 1)]
                    for k in range(16))


def test_record_sizes_and_tags_from_spec():
    assert len(ecreate_record(1, 0x2000)) == 64 == len(eadd_record(0, 0x201))
    assert struct.unpack("<Q", b"ECREATE\0")[0] == 0x0045544145524345
    assert struct.unpack("<Q", b"EADD\0\0\0\0")[0] == 0x0000000044444145
    assert struct.unpack("<Q", b"EEXTEND\0")[0] == 0x00444E4554584545


def test_ecreate_matches_spec_example_bytes(lib):
    # sgx-spec.md §1.1, SSAFRAMESIZE = 1 and SIZE = 0x2000, typed from the spec
    example = bytes.fromhex("4543524541544500" "01000000" "0020000000000000") + bytes(44)
    ctx = lib.ctx()
    lib.c.mr_ecreate(ctx, 1, 0x2000)
    assert lib.final(ctx) == hashlib.sha256(example).digest()


def test_ecreate_restarts_the_hash(lib):
    ctx = lib.ctx()
    lib.c.mr_ecreate(ctx, 3, 1 << 30)
    lib.c.mr_eadd(ctx, 0, 0x203)
    lib.c.mr_ecreate(ctx, 2, 1 << 20)
    assert lib.final(ctx) == hashlib.sha256(ecreate_record(2, 1 << 20)).digest()


def test_random_enclaves_match_hand_assembled_records(lib):
    rng = random.Random(42)
    for _ in range(20):
        ssa, size = rng.randrange(1, 8), 1 << rng.randrange(13, 40)
        ctx = lib.ctx()
        lib.c.mr_ecreate(ctx, ssa, size)
        expect = ecreate_record(ssa, size)
        for _ in range(rng.randrange(1, 6)):
            offset = rng.randrange(0, size // 4096) * 4096
            flags = rng.choice([0x201, 0x203, 0x205, 0x207, 0x100])
            lib.c.mr_eadd(ctx, offset, flags)
            expect += eadd_record(offset, flags)
            if rng.random() < 0.7:
                page = rng.randbytes(4096)
                lib.c.mr_eextend_page(ctx, offset, page)
                expect += eextend_records(offset, page)
        assert lib.final(ctx) == hashlib.sha256(expect).digest()


def test_single_eextend_chunk(lib):
    chunk = bytes(range(256))
    ctx = lib.ctx()
    lib.c.mr_ecreate(ctx, 1, 0x4000)
    lib.c.mr_eextend(ctx, 0x1300, chunk)
    expect = ecreate_record(1, 0x4000) + struct.pack("<8sQ48x", b"EEXTEND\0", 0x1300) + chunk
    assert lib.final(ctx) == hashlib.sha256(expect).digest()


def test_tcs_eadd_hashes_without_permissions(lib):
    # §1.2: for PT_TCS the CPU clears R/W/X before hashing
    ctx = lib.ctx()
    lib.c.mr_ecreate(ctx, 1, 0x4000)
    lib.c.mr_eadd(ctx, 0x1000, 0x107)
    assert lib.final(ctx) == hashlib.sha256(ecreate_record(1, 0x4000) + eadd_record(0x1000, 0x100)).digest()


def test_tcs_as_stored_zeroes_state_cssa_aep_dbgoptin(lib):
    rng = random.Random(7)
    tcs = bytearray(rng.randbytes(4096))
    tcs[8] |= 0x03  # DBGOPTIN and AEXNOTIFY
    out = ctypes.create_string_buffer(4096)
    lib.c.mr_tcs_as_stored(out, bytes(tcs))
    want = bytearray(tcs)
    want[0:8] = bytes(8)      # STATE
    want[8] &= 0xFE           # FLAGS.DBGOPTIN only
    want[24:28] = bytes(4)    # CSSA
    want[40:48] = bytes(8)    # AEP
    assert out.raw == bytes(want)
