"""Ephemeral regions: files only in enclave memory. One C program calls
every served system call; the enclave over an ephemeral region prints the
same bytes as the same program built --scone-native over a real tmpfs
directory, and nothing of it appears on the host."""

import os
import subprocess
import tempfile
from pathlib import Path

from .conftest import HERE


def _tmpfs_dir():
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    return tempfile.mkdtemp(prefix="scone-eph-", dir=base)


def test_every_call_matches_native_tmpfs(fs_build, fs_env, tmp_path):
    region = tmp_path / "scratch"          # not created on the host
    enclave = fs_build(HERE / "eph_calls.c", f"--scone-fs={region}:ephemeral")
    native = fs_build(HERE / "eph_calls.c", "--scone-native")
    real = _tmpfs_dir()
    try:
        want = subprocess.run([str(native), real], capture_output=True, text=True, timeout=60)
    finally:
        subprocess.run(["rm", "-rf", real])
    assert want.returncode == 0, want.stderr
    got = subprocess.run([str(enclave), str(region)], env=fs_env, capture_output=True,
                         text=True, timeout=120)
    assert got.returncode == 0, got.stderr
    assert got.stdout == want.stdout
    assert "big sum" in want.stdout and "list: . .. a.txt c.txt sub" in want.stdout
    assert not region.exists()


def test_region_outside_and_unprotected_inside(fs_build, fs_env, tmp_path):
    """Longest prefix wins: an unprotected region inside an ephemeral one is
    the host's; the ephemeral rest stays in the enclave."""
    outer = tmp_path / "outer"
    inner = outer / "host"
    inner.mkdir(parents=True)
    prog = fs_build(HERE / "open_one.c", f"--scone-fs={outer}:ephemeral",
                    f"--scone-fs={inner}:unprotected")
    r = subprocess.run([str(prog), str(inner / "f")], env=fs_env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "opened [secret marker" in r.stdout, r.stderr
    assert (inner / "f").read_text() == "secret marker\n"
    r = subprocess.run([str(prog), str(outer / "g")], env=fs_env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "opened [secret marker" in r.stdout, r.stderr
    assert not (outer / "g").exists()
    # a relative path resolves against the working directory into the region
    r = subprocess.run([str(prog), "g"], env=fs_env, capture_output=True, text=True,
                       timeout=60, cwd=outer)
    assert r.returncode == 0 and "opened [secret marker" in r.stdout, r.stderr
    assert not (outer / "g").exists()
