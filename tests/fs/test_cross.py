"""The C library and scone_cc/fs/pf.py read each other's files byte for byte,
across every boundary of the format (node 0's 3 KiB, the first data node,
the first child MHT node), and the C library's random-access writes and
truncations (small cache, evictions, flushes) give files Python reads as a
plain model of the same operations says."""

import os
import random

import pytest

from scone_cc.fs import pf

from .conftest import refusal, run_tool

KEY = bytes.fromhex("8f1e2d3c4b5a69788796a5b4c3d2e1f0")
MHT_EDGE = 96 * 4096 + 3072
SIZES = [0, 1, 3071, 3072, 3073, 4096, MHT_EDGE - 1, MHT_EDGE, MHT_EDGE + 1,
         (1 << 20) + 12345]


@pytest.mark.parametrize("size", SIZES)
def test_python_writes_c_reads(size, sfs_tool, tmp_path):
    plain = os.urandom(size)
    enc = pf.encrypt(plain, "d/f.bin", KEY)
    (tmp_path / "e").write_bytes(enc.data)
    r = run_tool(sfs_tool, "dec", KEY.hex(), "d/f.bin", tmp_path / "e", tmp_path / "p")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "p").read_bytes() == plain
    assert r.stdout.split() == [enc.root_mac.hex(), str(size)]


@pytest.mark.parametrize("size", SIZES)
def test_c_writes_python_reads(size, sfs_tool, tmp_path):
    plain = os.urandom(size)
    (tmp_path / "p").write_bytes(plain)
    # odd chunk size: writes straddle node boundaries
    r = run_tool(sfs_tool, "enc", KEY.hex(), "d/f.bin", tmp_path / "p", tmp_path / "e", 5000)
    assert r.returncode == 0, r.stderr
    data = (tmp_path / "e").read_bytes()
    assert len(data) == pf.host_size(size)
    out = pf.decrypt(data, "d/f.bin", KEY)
    assert out.data == plain
    assert r.stdout.split() == [out.root_mac.hex(), str(size)]


def test_wrong_path_and_key_refused_alike(sfs_tool, tmp_path):
    enc = pf.encrypt(b"x" * 5000, "a", KEY)
    (tmp_path / "e").write_bytes(enc.data)
    r = run_tool(sfs_tool, "dec", KEY.hex(), "b", tmp_path / "e", tmp_path / "o")
    assert r.returncode == 1 and refusal(r.stderr) == "path"
    r = run_tool(sfs_tool, "dec", bytes(16).hex(), "a", tmp_path / "e", tmp_path / "o")
    assert r.returncode == 1 and refusal(r.stderr) == "meta_mac"
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_access_writes_with_small_cache(seed, sfs_tool, tmp_path):
    """Writes, holes, shrinking and growing truncations, flushes and reopens
    with a 16-node cache, over files that cross the first child MHT node."""
    rng = random.Random(seed)
    data = rng.randbytes(1 << 20)
    (tmp_path / "data").write_bytes(data)
    model = bytearray()
    ops = []
    for _ in range(60):
        k = rng.random()
        if k < 0.6:
            off = rng.randrange(0, len(model) + 20000)
            n = rng.choice([1, 100, 3000, 4096, 9000, 70000])
            src = rng.randrange(0, len(data) - n)
            ops.append(f"w {off} {n} {src}")
            if off > len(model):
                model += bytes(off - len(model))
            model[off:off + n] = data[src:src + n]
        elif k < 0.75:
            size = rng.choice([0, 5, 3072, 3073, MHT_EDGE, MHT_EDGE + 5000,
                               rng.randrange(0, 600000)])
            ops.append(f"t {size}")
            model = model[:size] + bytes(max(0, size - len(model)))
        elif k < 0.9:
            ops.append("f")
        else:
            ops.append("r")
    r = run_tool(sfs_tool, "ops", KEY.hex(), "rw/file", tmp_path / "f", tmp_path / "data", 16,
                 stdin="\n".join(ops) + "\n")
    assert r.returncode == 0, r.stderr
    got = pf.decrypt((tmp_path / "f").read_bytes(), "rw/file", KEY)
    assert got.size == len(model)
    assert got.data == bytes(model)


def test_library_builds_with_the_enclave_flags(sysroot, tmp_path):
    """The library compiles as trusted runtime code does (freestanding, the
    patched musl's headers, no vector registers) and needs nothing from libc
    but the mem* functions."""
    import subprocess

    from .conftest import LIB

    flags = ["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-fPIE", "-fvisibility=hidden",
             "-fno-stack-protector", "-ffreestanding", "-fno-plt", "-mgeneral-regs-only",
             "-nostdinc", "-isystem", str(sysroot / "include"), "-isystem",
             subprocess.run(["gcc", "-print-file-name=include"], capture_output=True,
                            text=True).stdout.strip()]
    undefined = set()
    for src in ("sfs_file.c", "sfs_volume.c"):
        obj = tmp_path / (src + ".o")
        r = subprocess.run(["gcc", *flags, "-c", str(LIB / src), "-o", str(obj)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        nm = subprocess.run(["nm", "-u", str(obj)], capture_output=True, text=True).stdout
        undefined |= {line.split()[-1] for line in nm.splitlines()}
    undefined -= {"_GLOBAL_OFFSET_TABLE_", "sfs_file_flush", "sfs_kdf"}
    assert undefined <= {"memcpy", "memset", "memmove", "memcmp"}, undefined


def test_three_level_tree_with_small_cache(sfs_tool, tmp_path):
    """A file past 33 MHT nodes (about 13 MB) has MHT nodes two levels below
    the root; scattered writes with a 16-node cache keep evicting parts of
    the chain while others are dirty."""
    rng = random.Random(11)
    data = rng.randbytes(1 << 20)
    (tmp_path / "data").write_bytes(data)
    model = bytearray()
    ops = []
    for i in range(14):                                   # 14 MiB, sequentially
        ops.append(f"w {i << 20} {1 << 20} 0")
        model += data
    for _ in range(150):
        off, n = rng.randrange(0, len(model) - 5000), rng.choice([1, 700, 4096, 5000])
        src = rng.randrange(0, len(data) - n)
        ops.append(f"w {off} {n} {src}")
        model[off:off + n] = data[src:src + n]
        if rng.random() < 0.05:
            ops.append("f")
    r = run_tool(sfs_tool, "ops", KEY.hex(), "deep", tmp_path / "f", tmp_path / "data", 16,
                 stdin="\n".join(ops) + "\n")
    assert r.returncode == 0, r.stderr
    got = pf.decrypt((tmp_path / "f").read_bytes(), "deep", KEY)
    assert pf.data_nodes(len(model)) // 96 > 33
    assert got.data == bytes(model)
