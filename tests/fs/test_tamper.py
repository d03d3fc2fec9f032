"""Every attack on a volume is refused, by the C library and by scone-fs
alike, with the same distinct status, naming the file. Expected statuses
come from the format's structure (which region of which node was hit), not
from either implementation."""

import os
import random
import shutil
import subprocess

import pytest

from scone_cc.fs import pf
from scone_cc.fs import volume as vol

from .conftest import run_tool

KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
BIG = 96 * 4096 + 3072 + 5000   # root MHT, 97 data nodes, one child MHT node (physical 98)
N = 4096


def problems_c(tool, root, tag=None):
    args = ["vol-verify", KEY.hex(), root] + ([tag.hex()] if tag else [])
    r = run_tool(tool, *args)
    if r.returncode == 0:
        return set()
    assert r.returncode == 1, r.stderr
    return {tuple(l.split(": ")[:2]) for l in r.stderr.splitlines() if l.strip()}


def problems_py(root, tag=None):
    try:
        v = vol.Volume.open(root, KEY, tag)
    except vol.VolumeError as err:
        return {(vol.META_NAME, err.code)}
    return {(p.path, p.code) for p in v.verify() if p.code != "unknown"}


@pytest.fixture
def volume(tmp_path):
    root = tmp_path / "vol"
    v = vol.Volume.create(root, KEY)
    rng = random.Random(7)
    v.add([("a", rng.randbytes(BIG)), ("b", b"small file b\n"), ("sub/d", rng.randbytes(8000))],
          vol.ENCRYPTED)
    v.add([("c", rng.randbytes(5000))], vol.AUTHENTICATED)
    return root


def flip(path, off, mask=0x01):
    data = bytearray(path.read_bytes())
    data[off] ^= mask
    path.write_bytes(bytes(data))


def swap_nodes(path, i, j):
    data = bytearray(path.read_bytes())
    a, b = data[i * N:(i + 1) * N], data[j * N:(j + 1) * N]
    data[i * N:(i + 1) * N], data[j * N:(j + 1) * N] = b, a
    path.write_bytes(bytes(data))


def truncate(path, n):
    os.truncate(path, path.stat().st_size - n)


CASES = {
    "data node byte": (lambda r: flip(r / "a", 2 * N + 10), {("a", "data_mac")}),
    "last data node byte": (lambda r: flip(r / "a", 99 * N + 4095), {("a", "data_mac")}),
    "child MHT byte": (lambda r: flip(r / "a", 98 * N + 7), {("a", "mht_mac")}),
    "root MHT byte": (lambda r: flip(r / "a", 1 * N + 3000), {("a", "root_mac")}),
    "metadata ciphertext": (lambda r: flip(r / "a", 1000), {("a", "meta_mac")}),
    "metadata nonce": (lambda r: flip(r / "a", 20), {("a", "meta_mac")}),
    "metadata MAC": (lambda r: flip(r / "a", 50), {("a", "meta_mac")}),
    "magic": (lambda r: flip(r / "a", 3), {("a", "not_pf")}),
    "major version": (lambda r: flip(r / "a", 8), {("a", "version")}),
    "minor version": (lambda r: flip(r / "a", 9), {("a", "version")}),
    "unknown flag": (lambda r: flip(r / "a", 58, 0x80), {("a", "flags")}),
    "pending-write flag": (lambda r: flip(r / "a", 58, 0x01), {("a", "pending")}),
    "padding": (lambda r: flip(r / "a", 4000), {("a", "padding")}),
    "truncated by a node": (lambda r: truncate(r / "a", N), {("a", "truncated")}),
    "truncated by a byte": (lambda r: truncate(r / "a", 1), {("a", "host_size")}),
    "truncated to nothing": (lambda r: truncate(r / "b", N), {("b", "truncated")}),
    "node appended": (lambda r: open(r / "a", "ab").write(bytes(N)), {("a", "host_size")}),
    "data nodes swapped": (lambda r: swap_nodes(r / "a", 2, 3), {("a", "data_mac")}),
    "MHT nodes swapped": (lambda r: swap_nodes(r / "a", 1, 98), {("a", "root_mac")}),
    "authenticated byte": (lambda r: flip(r / "c", 100), {("c", "auth_hash")}),
    "authenticated grown": (lambda r: open(r / "c", "ab").write(b"x"), {("c", "size")}),
    "file deleted": (lambda r: os.unlink(r / "b"), {("b", "missing")}),
    "metadata deleted": (lambda r: os.unlink(r / vol.META_NAME),
                         {(vol.META_NAME, "vol_missing")}),
    "metadata byte": (lambda r: flip(r / vol.META_NAME, 70), {(vol.META_NAME, "vol_mac")}),
    "metadata tag byte": (lambda r: flip(r / vol.META_NAME, -1), {(vol.META_NAME, "vol_mac")}),
    "metadata counter": (lambda r: flip(r / vol.META_NAME, 16), {(vol.META_NAME, "vol_mac")}),
    "metadata magic": (lambda r: flip(r / vol.META_NAME, 0), {(vol.META_NAME, "vol_magic")}),
    "metadata truncated": (lambda r: truncate(r / vol.META_NAME, 1),
                           {(vol.META_NAME, "vol_format")}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_tamper_refused_alike(case, volume, sfs_tool):
    assert problems_c(sfs_tool, volume) == set() == problems_py(volume)
    act, want = CASES[case]
    act(volume)
    assert problems_py(volume) == want
    assert problems_c(sfs_tool, volume) == want


def test_two_files_swapped(volume, sfs_tool):
    b, d = volume / "b", volume / "sub" / "d"
    tmp = volume / "tmp"
    os.rename(b, tmp)
    os.rename(d, b)
    os.rename(tmp, d)
    want = {("b", "path"), ("sub/d", "path")}
    assert problems_py(volume) == want
    assert problems_c(sfs_tool, volume) == want


def test_old_copy_put_back(volume, sfs_tool):
    old = (volume / "b").read_bytes()
    vol.Volume.open(volume, KEY).add([("b", b"new content of b\n")], vol.ENCRYPTED)
    (volume / "b").write_bytes(old)   # authentic, bound to "b", but not the recorded version
    assert problems_py(volume) == {("b", "stale")}
    assert problems_c(sfs_tool, volume) == {("b", "stale")}


def test_whole_volume_rolled_back(volume, sfs_tool, tmp_path):
    snapshot = tmp_path / "snapshot"
    shutil.copytree(volume, snapshot)
    v = vol.Volume.open(volume, KEY)
    v.add([("b", b"newer\n")], vol.ENCRYPTED)
    tag = v.tag
    shutil.rmtree(volume)
    shutil.copytree(snapshot, volume)   # consistent, authentic, old
    # without the expected tag a consistent old volume cannot be told apart
    assert problems_py(volume) == set() == problems_c(sfs_tool, volume)
    want = {(vol.META_NAME, "vol_tag")}
    assert problems_py(volume, tag) == want
    assert problems_c(sfs_tool, volume, tag) == want
    assert problems_py(volume, vol.volume_tag(volume)) == set()


def test_wrong_key(volume, sfs_tool):
    r = run_tool(sfs_tool, "vol-verify", bytes(16).hex(), volume)
    assert r.returncode == 1 and r.stderr.split(": ")[:2] == [vol.META_NAME, "vol_key"]
    with pytest.raises(vol.VolumeError) as e:
        vol.Volume.open(volume, bytes(16))
    assert e.value.code == "vol_key"


def test_random_byte_flips(volume, sfs_tool):
    """Any single changed byte of a file or of the metadata is refused."""
    rng = random.Random(2024)
    targets = [volume / "a", volume / "b", volume / "c", volume / vol.META_NAME]
    pristine = {p: p.read_bytes() for p in targets}
    for _ in range(30):
        p = rng.choice(targets)
        off = rng.randrange(p.stat().st_size)
        flip(p, off, rng.randrange(1, 256))
        rel = p.relative_to(volume).as_posix()
        got_py, got_c = problems_py(volume), problems_c(sfs_tool, volume)
        assert len(got_py) == 1 and next(iter(got_py))[0] == rel, (rel, off, got_py)
        assert got_c == got_py, (rel, off)
        p.write_bytes(pristine[p])


def test_gramine_path_check_binds_name_in_node0():
    """A file encrypted for one path and read as another is refused by the
    path in node 0's encrypted part (the format's own rename protection)."""
    enc = pf.encrypt(b"payload", "x/one", KEY)
    with pytest.raises(pf.PFError) as e:
        pf.decrypt(enc.data, "x/two", KEY)
    assert e.value.code == "path"
    assert pf.decrypt(enc.data, "x/one", KEY).data == b"payload"


def test_c_written_volume_read_by_scone_fs(sfs_tool, tmp_path):
    """The reverse direction for volumes: the C side adds files, Python
    verifies, and scone-fs reads them."""
    root = tmp_path / "cvol"
    root.mkdir()
    rng = random.Random(5)
    files = {"e1": rng.randbytes(0), "e2": rng.randbytes(MHT := 96 * 4096 + 3073),
             "au": rng.randbytes(777)}
    for rel, data in files.items():
        (tmp_path / rel).write_bytes(data)
        mode = "authenticated" if rel == "au" else "encrypted"
        r = run_tool(sfs_tool, "vol-add", KEY.hex(), root, rel, tmp_path / rel, mode)
        assert r.returncode == 0, r.stderr
    tag = bytes.fromhex(r.stdout.strip())
    v = vol.Volume.open(root, KEY, tag)
    assert v.meta.counter == 3
    assert v.verify() == []
    assert {rel: v.read(rel) for rel in files} == files
    assert v.meta.entries["e2"].size == MHT
    out = subprocess.run(["scone-fs", "cat", str(root), "e2", "--key-hex", KEY.hex()],
                         capture_output=True)
    assert out.returncode == 0 and out.stdout == files["e2"]
    # the C side drops an entry: the metadata no longer records it, the rest holds
    r = run_tool(sfs_tool, "vol-rm", KEY.hex(), root, "e1")
    assert r.returncode == 0, r.stderr
    v = vol.Volume.open(root, KEY, bytes.fromhex(r.stdout.strip()))
    assert sorted(v.meta.entries) == ["au", "e2"] and v.meta.counter == 4
    assert v.verify() == [] and not (root / "e1").exists()
    r = run_tool(sfs_tool, "vol-rm", KEY.hex(), root, "e1")
    assert r.returncode == 1 and r.stderr.startswith("e1: no_entry: ")
