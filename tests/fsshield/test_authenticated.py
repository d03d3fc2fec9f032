"""Authenticated regions: files stay plaintext on the host, their size and
SHA-256 kept in the volume's authenticated-encrypted metadata (FORMAT.md
2.3). The enclave reads a file whole into its memory once, checks it there
and serves it from there; every change the host makes is refused (EIO, one
line naming the file), never read as the file's bytes."""

import os
import re
import shutil
import subprocess

from .conftest import HERE, KEY, run as _run, scone_fs as _fs


def test_every_file_call_matches_native(fs_build, fs_env, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    enclave = fs_build(HERE / "eph_calls.c", f"--scone-fs={vol}:authenticated")
    native = fs_build(HERE / "eph_calls.c", "--scone-native")
    real = tmp_path / "plain"
    real.mkdir()
    want = subprocess.run([str(native), str(real), "files"], capture_output=True, text=True,
                          timeout=60)
    assert want.returncode == 0, want.stderr
    got = _run(enclave, [vol, "files"], fs_env, SCONE_FS_KEY=f"{vol}:{KEY}", SCONE_LOG="info")
    assert got.returncode == 0, got.stderr
    assert got.stdout == want.stdout
    v = _fs("verify", "--key-hex", KEY, vol)
    assert v.returncode == 0, v.stdout + v.stderr
    ls = _fs("ls", "--json", "--key-hex", KEY, vol)
    assert '"mode": "authenticated"' in ls.stdout, ls.stdout
    for name in ("a.txt", "c.txt"):
        # in clear on the host (by design: grep finds it), and the same bytes
        assert (vol / name).read_bytes() == (real / name).read_bytes()
        c = subprocess.run(["scone-fs", "cat", "--key-hex", KEY, str(vol), name],
                           capture_output=True, timeout=60)
        assert c.returncode == 0 and c.stdout == (real / name).read_bytes()
    tags = re.findall(r"volume \S+ committed, tag ([0-9a-f]{64})", got.stderr)
    assert tags and tags[-1] == _fs("tag", vol).stdout.split()[-1]


def _volume(tmp_path, files):
    plain = tmp_path / "plain"
    plain.mkdir()
    for name, data in files.items():
        (plain / name).write_bytes(data)
    vol = tmp_path / "vol"
    c = _fs("create", vol, "--key-hex", KEY, "--from", plain, "--mode", "authenticated")
    assert c.returncode == 0, c.stderr
    return vol


def _refused(r, name, what):
    assert r.returncode == 1 and r.stdout == "open: I/O error\n", r.stdout
    lines = [x for x in r.stderr.splitlines() if "refused" in x]
    assert len(lines) == 1 and name in lines[0] and what in lines[0], r.stderr


def test_scone_fs_writes_enclave_reads_and_tamper(fs_build, fs_env, tmp_path):
    big = os.urandom(50000)
    vol = _volume(tmp_path, {"big": big, "a": b"alpha one\n", "b": b"bravo two\n"})
    prog = fs_build(HERE / "read_all.c", f"--scone-fs={vol}:authenticated")
    key = {"SCONE_FS_KEY": f"{vol}:{KEY}"}
    r = subprocess.run([str(prog), str(vol / "big")], env=dict(fs_env, **key),
                       capture_output=True, timeout=60)
    assert r.returncode == 0 and r.stdout == big
    assert b"alpha one" in (vol / "a").read_bytes()          # grep finds it: integrity only
    # a changed byte
    data = bytearray(big)
    data[40000] ^= 1
    (vol / "big").write_bytes(bytes(data))
    _refused(_run(prog, [vol / "big"], fs_env, **key), "big", "differs from its recorded SHA-256")
    # truncated, grown
    (vol / "big").write_bytes(big[:4096])
    _refused(_run(prog, [vol / "big"], fs_env, **key), "big", "size differs")
    (vol / "big").write_bytes(big + b"x")
    _refused(_run(prog, [vol / "big"], fs_env, **key), "big", "size differs")
    (vol / "big").write_bytes(big)
    assert _run(prog, [vol / "a"], fs_env, **key).stdout == "alpha one\n"
    # two files of the same size swapped
    a, b = (vol / "a").read_bytes(), (vol / "b").read_bytes()
    (vol / "a").write_bytes(b)
    (vol / "b").write_bytes(a)
    _refused(_run(prog, [vol / "a"], fs_env, **key), "a", "SHA-256")
    _refused(_run(prog, [vol / "b"], fs_env, **key), "b", "SHA-256")
    (vol / "a").write_bytes(a)
    (vol / "b").write_bytes(b)
    # deleted
    os.unlink(vol / "b")
    _refused(_run(prog, [vol / "b"], fs_env, **key), "b", "no such file")
    # a wrong key
    r = _run(prog, [vol / "a"], fs_env, SCONE_FS_KEY=f"{vol}:{'f' * 32}")
    assert r.returncode == 1 and "wrong volume key" in r.stderr


def test_old_copy_and_rolled_back_volume(fs_build, fs_env, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    write = fs_build(HERE / "open_one.c", f"--scone-fs={vol}:authenticated")
    read = fs_build(HERE / "read_all.c", f"--scone-fs={vol}:authenticated")
    key = {"SCONE_FS_KEY": f"{vol}:{KEY}"}
    assert _run(write, [vol / "f"], fs_env, **key).returncode == 0
    old = tmp_path / "old"
    shutil.copytree(vol, old)
    # the enclave appends through a second program: a new version of f
    app = fs_build(HERE / "append_one.c", f"--scone-fs={vol}:authenticated")
    r = _run(app, [vol / "f", "second line\n"], fs_env, **key)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (vol / "f").read_text() == "secret marker\nsecond line\n"
    shutil.copy(old / "f", vol / "f")                 # the old copy of f put back
    _refused(_run(read, [vol / "f"], fs_env, **key), "f", "size differs")
    shutil.copy(old / "f", vol / "f")
    (vol / "f").write_text("secret markex\nsecond line\n")   # same size, other bytes
    _refused(_run(read, [vol / "f"], fs_env, **key), "f", "SHA-256")
    (vol / "f").write_text("secret marker\nsecond line\n")
    tag = _fs("tag", vol).stdout.split()[-1]
    r = _run(read, [vol / "f"], fs_env, SCONE_FS_TAG=f"{vol}:{tag}", **key)
    assert r.returncode == 0 and r.stdout == "secret marker\nsecond line\n", r.stderr
    shutil.rmtree(vol)
    shutil.copytree(old, vol)                         # the whole volume rolled back
    r = _run(read, [vol / "f"], fs_env, SCONE_FS_TAG=f"{vol}:{tag}", **key)
    assert r.returncode != 0 and "secret" not in r.stdout
    lines = [x for x in r.stderr.splitlines() if "refused" in x]
    assert len(lines) == 1 and str(vol) in lines[0] and "rolled back" in lines[0], r.stderr
