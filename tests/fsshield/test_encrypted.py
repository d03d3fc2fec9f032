"""Encrypted regions: files in Gramine's format under a volume, read and
written by the enclave through the format library and the crypto API, and
by scone-fs on the host with the same key (the debug key SCONE_FS_KEY)."""

import os
import re
import shutil
import subprocess

import pytest

from .conftest import HERE, KEY, run as _run, scone_fs as _fs


def test_every_file_call_matches_native(fs_build, fs_env, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    enclave = fs_build(HERE / "eph_calls.c", f"--scone-fs={vol}:encrypted")
    native = fs_build(HERE / "eph_calls.c", "--scone-native")
    real = tmp_path / "plain"
    real.mkdir()
    want = subprocess.run([str(native), str(real), "files"], capture_output=True, text=True,
                          timeout=60)
    assert want.returncode == 0, want.stderr
    got = _run(enclave, [vol, "files"], fs_env, SCONE_FS_KEY=f"{vol}:{KEY}", SCONE_LOG="info")
    assert got.returncode == 0, got.stderr
    assert got.stdout == want.stdout
    # the host holds the volume: scone-fs verifies it and reads the same bytes
    v = _fs("verify", "--key-hex", KEY, vol)
    assert v.returncode == 0, v.stdout + v.stderr
    for name in ("a.txt", "c.txt"):
        c = subprocess.run(["scone-fs", "cat", "--key-hex", KEY, str(vol), name],
                           capture_output=True, timeout=60)
        assert c.returncode == 0
        assert c.stdout == (real / name).read_bytes()
    assert len((real / "a.txt").read_bytes()) == 12
    assert (real / "a.txt").read_bytes() not in (vol / "a.txt").read_bytes()
    # the last tag the enclave logged is the volume's
    tags = re.findall(r"volume \S+ committed, tag ([0-9a-f]{64})", got.stderr)
    assert tags and tags[-1] == _fs("tag", vol).stdout.split()[-1]


def test_enclave_writes_scone_fs_reads(fs_build, fs_env, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    prog = fs_build(HERE / "open_one.c", f"--scone-fs={vol}:encrypted")
    r = _run(prog, [vol / "secret.txt"], fs_env, SCONE_FS_KEY=f"{vol}:{KEY}")
    assert r.returncode == 0 and "opened [secret marker" in r.stdout, r.stderr
    c = _fs("cat", "--key-hex", KEY, vol, "secret.txt")
    assert c.returncode == 0 and c.stdout == "secret marker\n", c.stderr
    for f in vol.iterdir():
        assert b"secret marker" not in f.read_bytes(), f
    # without the debug key the region's key is the (SIM-)sealed one: not
    # this volume's, so nothing is opened or written
    r = _run(prog, [vol / "other.txt"], fs_env)
    assert r.returncode == 1 and "I/O error" in r.stdout and "wrong volume key" in r.stderr
    assert not (vol / "other.txt").exists()


def test_scone_fs_writes_enclave_reads_tamper_and_key(fs_build, fs_env, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "big.txt").write_bytes(os.urandom(30000).hex().encode())
    (plain / "h.txt").write_text("hello\n")
    vol = tmp_path / "vol"
    c = _fs("create", vol, "--key-hex", KEY, "--from", plain)
    assert c.returncode == 0, c.stderr
    prog = fs_build(HERE / "read_all.c", f"--scone-fs={vol}:encrypted")
    key = {"SCONE_FS_KEY": f"{vol}:{KEY}"}
    r = _run(prog, [vol / "big.txt"], fs_env, **key)
    assert r.returncode == 0 and r.stdout == (plain / "big.txt").read_text(), r.stderr
    r = _run(prog, [vol / "h.txt"], fs_env, SCONE_FS_KEY=f"{vol}:{'f' * 32}")
    assert r.returncode == 1 and "I/O error" in r.stdout
    assert "wrong volume key" in r.stderr
    data = bytearray((vol / "big.txt").read_bytes())
    data[9000] ^= 1
    (vol / "big.txt").write_bytes(bytes(data))
    r = _run(prog, [vol / "big.txt"], fs_env, **key)
    assert r.returncode == 1 and "I/O error" in r.stdout
    assert "big.txt: read refused: data node fails its MAC" in r.stderr
    r = _run(prog, [vol / "h.txt"], fs_env, **key)
    assert r.returncode == 0 and r.stdout == "hello\n"


def test_rollback_with_the_tag_is_refused(fs_build, fs_env, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    prog = fs_build(HERE / "open_one.c", f"--scone-fs={vol}:encrypted")
    key = {"SCONE_FS_KEY": f"{vol}:{KEY}"}
    assert _run(prog, [vol / "f"], fs_env, **key).returncode == 0
    old = tmp_path / "old"
    shutil.copytree(vol, old)
    assert _run(prog, [vol / "g"], fs_env, **key).returncode == 0
    tag = _fs("tag", vol).stdout.split()[-1]
    r = _run(prog, [vol / "f"], fs_env, SCONE_FS_TAG=f"{vol}:{tag}", **key)
    assert r.returncode == 0, r.stderr
    shutil.rmtree(vol)
    shutil.copytree(old, vol)                      # the host puts the old volume back
    assert _run(prog, [vol / "f"], fs_env, **key).returncode == 0   # no tag: not detectable
    shutil.rmtree(vol)
    shutil.copytree(old, vol)
    r = _run(prog, [vol / "f"], fs_env, SCONE_FS_TAG=f"{vol}:{tag}", **key)
    assert r.returncode != 0 and "opened" not in r.stdout
    lines = [line for line in r.stderr.splitlines() if "refused" in line]
    assert len(lines) == 1 and str(vol) in lines[0] and "rolled back" in lines[0], r.stderr


def test_production_enclave_refuses_the_debug_key(fs_build, fs_env, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    prog = tmp_path / "prod"
    shutil.copy(fs_build(HERE / "open_one.c", f"--scone-fs={vol}:encrypted"), prog)
    s = subprocess.run(["scone-sign", "sign", "--production", str(prog)], env=fs_env,
                       capture_output=True, text=True)
    assert s.returncode == 0, s.stderr
    r = _run(prog, [vol / "f"], fs_env, SCONE_FS_KEY=f"{vol}:{KEY}")
    assert r.returncode != 0 and "refused by a production-signed enclave" in r.stderr
    assert list(vol.iterdir()) == []


def test_sim_sealed_keys(fs_build, fs_env, tmp_path):
    """SIM's EGETKEY stand-in: a per-machine secret (mode 0600, created on
    first use); MRENCLAVE-sealed volumes open only in the same enclave,
    MRSIGNER-sealed ones in any enclave of the signer; another secret
    (another machine) opens neither."""
    secret = __import__("pathlib").Path(fs_env["HOME"]) / ".config" / "scone" / "sim-seal-secret"
    enclave_vol, signer_vol = tmp_path / "by-enclave", tmp_path / "by-signer"
    enclave_vol.mkdir()
    signer_vol.mkdir()
    write_e = fs_build(HERE / "open_one.c", f"--scone-fs={enclave_vol}:encrypted")
    read_e = fs_build(HERE / "read_all.c", f"--scone-fs={enclave_vol}:encrypted")
    write_s = fs_build(HERE / "open_one.c", f"--scone-fs={signer_vol}:encrypted:sealed-mrsigner")
    read_s = fs_build(HERE / "read_all.c", f"--scone-fs={signer_vol}:encrypted:sealed-mrsigner")
    r = _run(write_e, [enclave_vol / "f"], fs_env)
    assert r.returncode == 0 and "opened [secret marker" in r.stdout, r.stderr
    assert "protects nothing against this machine's root" in r.stderr
    assert secret.stat().st_size == 32 and secret.stat().st_mode & 0o777 == 0o600
    assert _run(write_e, [enclave_vol / "f"], fs_env).returncode == 0     # same enclave: reopens
    r = _run(read_e, [enclave_vol / "f"], fs_env)                         # other enclave: refused
    assert r.returncode == 1 and "wrong volume key" in r.stderr
    assert _run(write_s, [signer_vol / "f"], fs_env).returncode == 0
    r = _run(read_s, [signer_vol / "f"], fs_env)
    assert r.returncode == 0 and r.stdout == "secret marker\n", r.stderr
    other_home = tmp_path / "other-machine"
    other_home.mkdir()
    r = _run(read_s, [signer_vol / "f"], fs_env, HOME=str(other_home))
    assert r.returncode == 1 and "wrong volume key" in r.stderr


def test_rename_within_a_volume(fs_build, fs_env, tmp_path):
    """A renamed file (or every file below a renamed directory) is copied
    into a file bound to its new path, then the old one goes, in one commit;
    scone-fs reads it under the new name."""
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "sub").mkdir()
    key = {"SCONE_FS_KEY": f"{vol}:{KEY}"}
    write = fs_build(HERE / "open_one.c", f"--scone-fs={vol}:encrypted")
    ren = fs_build(HERE / "rename_one.c", f"--scone-fs={vol}:encrypted")
    assert _run(write, [vol / "a"], fs_env, **key).returncode == 0
    assert _run(write, [vol / "b"], fs_env, **key).returncode == 0
    r = _run(ren, [vol / "a", vol / "b", "noreplace"], fs_env, **key)
    assert r.returncode == 1 and "File exists" in r.stdout
    r = _run(ren, [vol / "a", vol / "sub" / "c"], fs_env, **key)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (vol / "a").exists()
    ls = _fs("ls", "--key-hex", KEY, vol)
    assert "sub/c" in ls.stdout and "\na " not in ls.stdout, ls.stdout
    c = _fs("cat", "--key-hex", KEY, vol, "sub/c")
    assert c.returncode == 0 and c.stdout == "secret marker\n", c.stderr
    assert _fs("verify", "--key-hex", KEY, vol).returncode == 0
    # a directory: every file below moves, bound to its new path, in one commit
    r = _run(ren, [vol / "sub", vol / "sub2"], fs_env, **key)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (vol / "sub").exists() and sorted(p.name for p in (vol / "sub2").iterdir()) == ["c"]
    c = _fs("cat", "--key-hex", KEY, vol, "sub2/c")
    assert c.returncode == 0 and c.stdout == "secret marker\n", c.stderr
    assert _fs("verify", "--key-hex", KEY, vol).returncode == 0
    r = _run(ren, [vol / "sub2", vol / "sub2" / "deeper"], fs_env, **key)
    assert r.returncode == 1 and "Invalid argument" in r.stdout
    r = _run(ren, [vol, vol / "x"], fs_env, **key)                  # the volume itself
    assert r.returncode == 1 and "Operation not permitted" in r.stdout
    r = _run(ren, [vol / "b", tmp_path / "out"], fs_env, **key)
    assert r.returncode == 1 and "Cross-device" in r.stdout


def test_file_open_at_exit_is_committed(fs_build, fs_env, tmp_path):
    """The exit path encrypts and commits a file the program left open
    (libcrypto's own atexit cleanup must not have run before it)."""
    vol = tmp_path / "vol"
    vol.mkdir()
    prog = fs_build(HERE / "leave_open.c", f"--scone-fs={vol}:encrypted")
    r = _run(prog, [vol / "f", "written, never closed\n"], fs_env, SCONE_FS_KEY=f"{vol}:{KEY}",
             SCONE_LOG="info")
    assert r.returncode == 0 and r.stdout == "left open\n", r.stderr
    assert len(re.findall(r"committed, tag", r.stderr)) == 2, r.stderr   # at open, at exit
    c = _fs("cat", "--key-hex", KEY, vol, "f")
    assert c.returncode == 0 and c.stdout == "written, never closed\n", c.stderr


@pytest.mark.parametrize("mode", ["encrypted", "authenticated"])
def test_rename_of_an_open_file(fs_build, fs_env, tmp_path, mode):
    """An open file follows its rename, as on Linux (redis renames its AOF
    manifest before closing it): the same transcript as native, and the
    volume holds the new name with every byte written after the rename
    (an authenticated file's content stays in the enclave; only its
    descriptors move)."""
    vol = tmp_path / "vol"
    vol.mkdir()
    plain = tmp_path / "plain"
    plain.mkdir()
    native = fs_build(HERE / "rename_open.c", "--scone-native")
    want = subprocess.run([str(native), str(plain / "a"), str(plain / "b")], capture_output=True,
                          text=True, timeout=60)
    assert want.returncode == 0 and "[first line\nSECOND line\n]" in want.stdout, want.stdout
    prog = fs_build(HERE / "rename_open.c", f"--scone-fs={vol}:{mode}")
    got = _run(prog, [vol / "a", vol / "b"], fs_env, SCONE_FS_KEY=f"{vol}:{KEY}")
    assert got.returncode == 0, got.stderr
    assert got.stdout == want.stdout
    assert sorted(p.name for p in vol.iterdir()) == [".scone-volume", "b"]
    c = _fs("cat", "--key-hex", KEY, vol, "b")
    assert c.returncode == 0 and c.stdout == (plain / "b").read_text(), c.stderr
    assert _fs("verify", "--key-hex", KEY, vol).returncode == 0


def test_mixed_io_matches_native(fs_build, fs_env, tmp_path):
    """Writes at random offsets, reads through a second descriptor,
    truncations and fsyncs, with the smallest node cache (evictions) and
    the batched host I/O under it: every read and the final content as
    native; then a second process reads the whole file back."""
    vol = tmp_path / "vol"
    vol.mkdir()
    native = fs_build(HERE / "rw_mix.c", "--scone-native")
    want = subprocess.run([str(native), str(tmp_path / "plain")], capture_output=True, text=True,
                          timeout=120)
    assert want.returncode == 0, want.stderr
    prog = fs_build(HERE / "rw_mix.c", f"--scone-fs={vol}:encrypted")
    got = _run(prog, [vol / "f"], fs_env, SCONE_FS_KEY=f"{vol}:{KEY}", SCONE_FS_CACHE="16")
    assert got.returncode == 0, got.stderr
    assert got.stdout == want.stdout
    c = subprocess.run(["scone-fs", "cat", "--key-hex", KEY, str(vol), "f"], capture_output=True,
                       timeout=60)
    assert c.returncode == 0 and c.stdout == (tmp_path / "plain").read_bytes()
    reader = fs_build(HERE / "read_all.c", f"--scone-fs={vol}:encrypted")
    r = subprocess.run([str(reader), str(vol / "f")], env=dict(fs_env, SCONE_FS_KEY=f"{vol}:{KEY}"),
                       capture_output=True, timeout=120)
    assert r.returncode == 0 and r.stdout == c.stdout


def test_relative_names_follow_chdir_and_fchdir(fs_build, fs_env, tmp_path):
    """The shield folds relative names against the working directory: the
    one after each chdir/fchdir, never the one before it (a folded name
    during chdir cached the old one)."""
    vol, real = tmp_path / "vol", tmp_path / "plain"
    vol.mkdir()
    real.mkdir()
    enclave = fs_build(HERE / "chdir_rel.c", f"--scone-fs={vol}:encrypted")
    native = fs_build(HERE / "chdir_rel.c", "--scone-native")
    want = subprocess.run([str(native), str(real)], capture_output=True, text=True, timeout=60)
    assert want.returncode == 0 and "d/e y.txt: stat 0 size 7" in want.stdout, want.stderr
    got = _run(enclave, [vol], fs_env, SCONE_FS_KEY=f"{vol}:{KEY}")
    assert (got.returncode, got.stdout) == (0, want.stdout), got.stderr
    for name in ("top.txt", "d/x.txt", "d/e/y.txt", "d/e/z.txt"):
        c = _fs("cat", "--key-hex", KEY, vol, name)
        assert c.returncode == 0 and c.stdout == (real / name).read_text(), (name, c.stderr)
    assert not (vol / "x.txt").exists() and not (vol / "z.txt").exists()


def test_fchmod_and_fchown_on_a_protected_file(fs_build, fs_env, tmp_path):
    """Modes and owners stay the host's: fchmod/fchown on a protected
    descriptor reach the host file as chmod by name does (SQLite sets its
    -wal and -shm files to the database's mode past the umask this way)."""
    vol, real = tmp_path / "vol", tmp_path / "plain"
    vol.mkdir()
    real.mkdir()
    enclave = fs_build(HERE / "fchmod_one.c", f"--scone-fs={vol}:encrypted")
    native = fs_build(HERE / "fchmod_one.c", "--scone-native")
    want = subprocess.run([str(native), str(real / "f")], capture_output=True, text=True, timeout=60)
    assert want.stdout == "created 644 size 0\nfchmod 0 fchown 0: 666\nfchmod 0, after close: 600\n", want
    got = _run(enclave, [vol / "f"], fs_env, SCONE_FS_KEY=f"{vol}:{KEY}")
    assert (got.returncode, got.stdout) == (0, want.stdout), got.stderr
    assert os.stat(vol / "f").st_mode & 0o777 == 0o600
