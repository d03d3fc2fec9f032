"""sysroot.current_key(): stat-based on the fast path, never stale.

The reference is the content hash (``stage2_key(stage1_key(root), root)``);
the stamp may only save work, never change the answer.
"""

import os
import shutil
import time

import pytest

from scone_cc import paths, sysroot

HOUR_NS = 3600 * 10**9


def copy_root(dst):
    src = paths.data_root()
    for part in ("libc_patch", "runtime", "linker_scripts"):
        shutil.copytree(src / part, dst / part, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    return dst


def age(root, ns=HOUR_NS):
    """Move every mtime under ``root`` an hour back: out of the racy window."""
    past = time.time_ns() - ns
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames + [dirpath]:
            path = os.path.join(dirpath, name)
            os.utime(path, ns=(past, past))


def full_key(root):
    return sysroot.stage2_key(sysroot.stage1_key(root), root)


@pytest.fixture
def tree(tmp_path, monkeypatch):
    root = copy_root(tmp_path / "root")
    # The stamp also lists the modules holding the key's constants; aged
    # copies stand in for them, which may have been edited a moment ago.
    mods = tmp_path / "mods"
    mods.mkdir()
    copies = [shutil.copy(f, mods) for f in sysroot._constant_files()]
    monkeypatch.setattr(sysroot, "_constant_files", lambda: copies)
    age(root)
    age(mods)
    return root, tmp_path / "cache"


@pytest.fixture
def hashes(monkeypatch):
    """Counts the content hashes current_key() falls back on."""
    calls = []
    real = sysroot._hash_tree

    def counting(h, root, folder):
        calls.append(folder)
        return real(h, root, folder)

    monkeypatch.setattr(sysroot, "_hash_tree", counting)
    return calls


def test_unchanged_sources_are_only_stated(tree, hashes):
    root, cache = tree
    key = sysroot.current_key(root, cache)
    assert hashes and key == full_key(root)
    hashes.clear()
    for _ in range(3):
        assert sysroot.current_key(root, cache) == key
    assert hashes == []


def test_edit_of_a_runtime_file_gives_a_new_key(tree, hashes):
    root, cache = tree
    key = sysroot.current_key(root, cache)
    victim = next((root / "runtime").rglob("*.c"))
    data = bytearray(victim.read_bytes())
    data[-2] ^= 0x20                           # same size: only mtime and content tell
    victim.write_bytes(bytes(data))
    new = sysroot.current_key(root, cache)
    assert new != key and new == full_key(root)


def test_same_size_edit_keeping_an_old_looking_mtime_within_the_racy_window(tree):
    root, cache = tree
    victim = root / "linker_scripts" / "enclave.ld"
    os.utime(victim)                           # an mtime just now: racily clean
    key = sysroot.current_key(root, cache)
    st = os.stat(victim)
    data = bytearray(victim.read_bytes())
    data[0] ^= 0x01
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))  # same tick as the stamp saw
    new = sysroot.current_key(root, cache)
    assert new != key and new == full_key(root)


def test_touch_without_change_keeps_the_key_and_refreshes_the_stamp(tree, hashes):
    root, cache = tree
    key = sysroot.current_key(root, cache)
    victim = next((root / "libc_patch").rglob("*.h"))
    later = time.time_ns() - HOUR_NS // 2
    os.utime(victim, ns=(later, later))
    hashes.clear()
    assert sysroot.current_key(root, cache) == key
    assert hashes                              # re-verified by content once ...
    hashes.clear()
    assert sysroot.current_key(root, cache) == key
    assert hashes == []                        # ... then trusted by its stats again


def test_added_and_removed_files_change_the_key(tree):
    root, cache = tree
    key = sysroot.current_key(root, cache)
    extra = root / "runtime" / "trusted" / "extra.c"
    extra.write_text("int extra;\n")
    with_extra = sysroot.current_key(root, cache)
    assert with_extra != key and with_extra == full_key(root)
    extra.unlink()
    assert sysroot.current_key(root, cache) == key


def test_another_gcc_gives_a_new_key(tree, tmp_path, monkeypatch):
    root, cache = tree
    key = sysroot.current_key(root, cache)
    fake = tmp_path / "bin"
    fake.mkdir()
    gcc = fake / "gcc"
    gcc.write_text('#!/bin/sh\n[ "$1" = -dumpfullversion ] && { echo 99.1.0; exit 0; }\n'
                   f'exec {shutil.which("gcc")} "$@"\n')
    gcc.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    other = sysroot.current_key(root, cache)
    assert other != key and other == full_key(root)


def test_damaged_or_foreign_stamps_are_not_trusted(tree):
    root, cache = tree
    key = sysroot.current_key(root, cache)
    stamp = sysroot._stamp_path(root, cache)
    good = stamp.read_bytes()
    cut = good[:good.rindex(b"\0", 0, len(good) - 1) + 1]     # one field short
    triple = good[:good.index(b"\0", good.index(b"/", 200))]  # cut inside the list
    for bad in (b"", b"garbage", good[:len(good) // 2], cut, triple,
                good.replace(str(root).encode(), b"/elsewhere", 1),
                good.replace(b"scone-sysroot-stamp 1", b"scone-sysroot-stamp 0", 1)):
        stamp.write_bytes(bad)
        assert sysroot.current_key(root, cache) == key
    # An unwritable cache costs the hash every time, never a wrong key or an error.
    shutil.rmtree(cache)
    cache.write_text("not a directory")
    assert sysroot.current_key(root, cache) == key


def test_a_change_of_the_modules_holding_the_constants_is_rechecked(tree, hashes):
    root, cache = tree
    key = sysroot.current_key(root, cache)
    module = sysroot._constant_files()[1]
    with open(module, "a") as f:
        f.write("# edited\n")
    hashes.clear()
    assert sysroot.current_key(root, cache) == key
    assert hashes
