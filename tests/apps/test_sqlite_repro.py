"""Reproducers of the runtime bugs SQLite's suite met in the enclave (tests/apps/repro).

Each program runs natively (``--scone-native``, plain Linux) and in the
enclave; both must print what Linux does, written out here from the
programs' own logic, and leave the same file behind.
"""

import subprocess
from pathlib import Path

from .conftest import get_flavour

REPRO = Path(__file__).resolve().parent / "repro"
PG = 4096


def _build(tmp_path, name, native):
    exe = tmp_path / (name.removesuffix(".c") + ("-native" if native else "-enclave"))
    cmd = ["scone-gcc", "-O2", *(["--scone-native"] if native else []), str(REPRO / name), "-o", str(exe)]
    out = subprocess.run(cmd, env=get_flavour("scone").environ(), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return exe


def _run_both(tmp_path, name):
    """(stdout, file bytes) of the native and the enclave run."""
    results = []
    for native in (True, False):
        exe = _build(tmp_path, name, native)
        data = tmp_path / f"{exe.name}.dat"
        out = subprocess.run([str(exe), str(data)], env=get_flavour("scone").environ(),
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, (exe.name, out.stdout, out.stderr)
        results.append((out.stdout, data.read_bytes()))
    return results


SHARED_MAP_OUT = """\
pread after a store through the map: hello
map after pwrite: WORLD
map after write: write
read across the store: ..hello..
msync: 0
another descriptor after msync: hello
munmap: 0
mapped again: hello
mapped again: WORLD
after ftruncate: 0 .
munmap of the first page: 0
"""


def _shared_map_file_bytes():
    """The file shared_map_file.c leaves: its stores, the second page cut to zeros, then the store exit writes."""
    first = bytearray(b"." * PG)
    for off, text in ((100, b"hello"), (200, b"WORLD"), (300, b"write"), (400, b"kept!")):
        first[off:off + len(text)] = text
    second = bytearray(PG)
    second[500:507] = b"at exit"
    return bytes(first + second)


def test_writable_shared_file_mapping(tmp_path):
    native, enclave = _run_both(tmp_path, "shared_map_file.c")
    assert native == (SHARED_MAP_OUT, _shared_map_file_bytes())
    assert enclave == native


def test_mremap_grows_file_mapping_with_file_content(tmp_path):
    native, enclave = _run_both(tmp_path, "mremap_file.c")
    expected = b"".join(bytes([c]) * PG for c in b"ABC")
    assert native == ("A B C\nshrunk: A\n", expected)
    assert enclave == native

