"""Mappings of protected files (encrypted and authenticated regions), and
the whole call-by-call program with directories, directory renames and
mappings: each transcript compared with the same program on a plain
directory (native build). A mapping is a copy of the plaintext in enclave
memory kept by the runtime's file maps; writable shared copies go back
through the shield (msync commits, munmap, exit)."""

import re
import subprocess

import pytest

from .conftest import HERE, KEY, run as _run

MODES = ["encrypted", "authenticated"]


def _cat(vol, name):
    r = subprocess.run(["scone-fs", "cat", "--key-hex", KEY, str(vol), name],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("mode", MODES)
def test_mappings_match_native(mode, fs_build, fs_env, tmp_path):
    native, plain = fs_build(HERE / "mmap_calls.c", "--scone-native"), tmp_path / "plain"
    plain.mkdir()
    want = _run(native, [plain]).stdout + _run(native, [plain, "check"]).stdout
    assert "after exit" in want and "[EXIT]" in want, want
    vol = tmp_path / "vol"
    vol.mkdir()
    prog = fs_build(HERE / "mmap_calls.c", f"--scone-fs={vol}:{mode}")
    key = {"SCONE_FS_KEY": f"{vol}:{KEY}"}
    first = _run(prog, [vol], fs_env, **key)
    assert first.returncode == 0, first.stderr
    check = _run(prog, [vol, "check"], fs_env, **key)
    assert check.returncode == 0, check.stderr
    assert first.stdout + check.stdout == want
    assert _cat(vol, "m.txt") == (plain / "m.txt").read_bytes()
    on_host = (vol / "m.txt").read_bytes()
    assert (b"SHARED" in on_host) == (mode == "authenticated")


def _without_volume_file(text):
    return re.sub(r" \.scone-volume(?= |$)", "", text, flags=re.M)


@pytest.mark.parametrize("mode", MODES)
def test_every_call_with_directories_matches_native(mode, fs_build, fs_env, tmp_path):
    """eph_calls.c in full: directories, renames of files and directories,
    unlink while open, a read-only private mapping. The volume's own
    metadata file is the one name the listings show beyond native's."""
    native, plain = fs_build(HERE / "eph_calls.c", "--scone-native"), tmp_path / "plain"
    plain.mkdir()
    want = _run(native, [plain])
    assert want.returncode == 0, want.stderr
    vol = tmp_path / "vol"
    vol.mkdir()
    prog = fs_build(HERE / "eph_calls.c", f"--scone-fs={vol}:{mode}")
    got = _run(prog, [vol], fs_env, SCONE_FS_KEY=f"{vol}:{KEY}")
    assert got.returncode == 0, got.stderr
    assert _without_volume_file(got.stdout) == want.stdout
    v = subprocess.run(["scone-fs", "verify", "--key-hex", KEY, str(vol)], capture_output=True,
                       text=True, timeout=60)
    assert v.returncode == 0, v.stdout + v.stderr
