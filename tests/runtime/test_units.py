"""C pieces of the trusted runtime tested alone on the host: the heap page
allocator and the self-relocation (expected values worked out by hand)."""

import subprocess
from pathlib import Path

import pytest

from shutil import which

REPO = Path(__file__).resolve().parent.parent.parent
TRUSTED = REPO / "runtime" / "trusted"
UNITS = Path(__file__).resolve().parent / "units"


def build_and_run(tmp_path, test, sources):
    exe = tmp_path / test
    cc = subprocess.run(["gcc", "-O1", "-Wall", "-Werror", f"-I{TRUSTED}", f"-I{REPO / 'runtime' / 'include'}",
                         "-o", str(exe), str(UNITS / f"{test}.c"), *[str(TRUSTED / s) for s in sources]],
                        capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(not which("gcc"), reason="needs gcc")
def test_heap_allocator(tmp_path):
    r = build_and_run(tmp_path, "heap_test", ["heap.c", "util.c"])
    assert (r.returncode, r.stdout) == (0, "heap ok\n"), r.stdout


@pytest.mark.skipif(not which("gcc"), reason="needs gcc")
def test_relocation(tmp_path):
    r = build_and_run(tmp_path, "reloc_test", ["reloc.c"])
    assert (r.returncode, r.stdout) == (0, "reloc ok\n"), r.stdout


def test_entry_refusals(host_loader, build):
    """RESUME without an OCALL, an unknown op, a START whose OCALL block is
    enclave memory, and any second START: each leaves with ABORT."""
    exe = host_loader("entry_test")
    r = subprocess.run([str(exe), str(build(REPO / "samples" / "hello.c"))],
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout) == (0, "entry ok\n"), r.stdout + r.stderr


def test_refused_start_keeps_the_running_thread(host_loader, build):
    exe = host_loader("entry_run_test")
    r = subprocess.run([str(exe), str(build(REPO / "samples" / "hello.c"))],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[:2] == ["Hello, again, from inside the enclave!", "argc=3 HOME=/h"]
    assert lines[2].startswith("run ok after ")
