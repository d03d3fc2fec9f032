"""copy_file_range, splice and sendfile from and to protected files (the
bytes go through the enclave and the shield), and fcntl/flock locks on them
(served inside, per process), compared call by call with a native run on a
plain directory; scone-fs reads the same files."""

import subprocess

import pytest

from .conftest import HERE, KEY


@pytest.mark.parametrize("mode", ["encrypted", "authenticated"])
def test_copies_and_locks_match_native(mode, fs_build, fs_env, tmp_path):
    native = fs_build(HERE / "copy_lock_calls.c", "--scone-native")
    plain, out_n = tmp_path / "plain", tmp_path / "out-native"
    plain.mkdir()
    out_n.mkdir()
    want = subprocess.run([str(native), str(plain), str(out_n)], capture_output=True, text=True,
                          timeout=60)
    assert want.returncode == 0 and "cfr out of the region" in want.stdout, want.stderr
    vol, out = tmp_path / "vol", tmp_path / "out"
    vol.mkdir()
    out.mkdir()
    prog = fs_build(HERE / "copy_lock_calls.c", f"--scone-fs={vol}:{mode}")
    got = subprocess.run([str(prog), str(vol), str(out)], env=dict(fs_env, SCONE_FS_KEY=f"{vol}:{KEY}"),
                         capture_output=True, text=True, timeout=120)
    assert got.returncode == 0, got.stderr
    assert got.stdout == want.stdout
    assert (out / "out").read_bytes() == (out_n / "out").read_bytes()   # plaintext left the region
    for name in ("src", "dst", "back"):
        c = subprocess.run(["scone-fs", "cat", "--key-hex", KEY, str(vol), name],
                           capture_output=True, timeout=60)
        assert c.returncode == 0 and c.stdout == (plain / name).read_bytes(), name
    if mode == "encrypted":
        assert (plain / "dst").read_bytes()[:64] not in (vol / "dst").read_bytes()
