"""SHA-256 against FIPS 180-4 example vectors and against hashlib."""

import hashlib
import random
import subprocess

import pytest

from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[1] / "runtime" / "sgxcrypto"

PORTABLE, SHANI = 1, 2

# FIPS 180-4 / NIST CSRC "SHA256" example values, typed in from the publication.
VECTORS = [
    (b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    (b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    (b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
     b"ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    (b"a" * 1_000_000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
]


def cpu_has_sha_ni() -> bool:
    with open("/proc/cpuinfo") as f:
        return any(line.startswith("flags") and " sha_ni" in line for line in f)


def impls(lib):
    out = [PORTABLE]
    if lib.select(SHANI) == 0:
        out.append(SHANI)
    return out


def test_cpuid_detection_agrees_with_proc_cpuinfo(lib):
    assert (lib.select(SHANI) == 0) == cpu_has_sha_ni()
    assert lib.select(0) == 0
    assert lib.impl_name() == ("sha-ni" if cpu_has_sha_ni() else "portable")


@pytest.mark.parametrize("msg,digest", VECTORS, ids=["empty", "abc", "448bit", "896bit", "million-a"])
def test_fips_vectors(lib, msg, digest):
    for impl in impls(lib):
        assert lib.select(impl) == 0
        assert lib.sha256(msg).hex() == digest, lib.impl_name()
    lib.select(0)


def test_random_inputs_and_splits_match_hashlib(lib):
    rng = random.Random(1807)
    for impl in impls(lib):
        lib.select(impl)
        for _ in range(300):
            n = rng.choice([rng.randrange(0, 200), rng.randrange(0, 5000)])
            data = rng.randbytes(n)
            splits = sorted(rng.randrange(0, n + 1) for _ in range(rng.randrange(0, 5)))
            assert lib.sha256(data, splits) == hashlib.sha256(data).digest(), (lib.impl_name(), n, splits)
    lib.select(0)


def test_static_library_from_runtime_makefile(static_lib, tmp_path):
    """The archive the starter links gives the FIPS answers through both paths."""
    exe = tmp_path / "sha256_stdin"
    out = subprocess.run(["gcc", "-O2", "-I", str(SRC), str(HERE / "sha256_stdin.c"),
                          str(static_lib), "-o", str(exe)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for msg, digest in VECTORS[1:]:
        res = subprocess.run([str(exe)], input=msg, capture_output=True)
        lines = res.stdout.decode().split("\n")[:-1]
        assert len(lines) == (2 if cpu_has_sha_ni() else 1)
        for line in lines:
            assert line.split()[1] == digest, line
