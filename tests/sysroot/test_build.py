"""The sysroot build: pinned source, overlay on a copy, cache keys, and no
trusted leftovers from failed, interrupted or concurrent builds."""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from scone_cc import musl_source, paths, sysroot, sysroot_build
from scone_cc.errors import SconeError

PINNED = "7d5b0b6062521e4627e099e4c9dc8248d32a30285e959b7eecaa780cf8cfd4a4"
BUILD_SNIPPET = ("import sys; from pathlib import Path; from scone_cc.errors import run_cli; "
                 "from scone_cc import sysroot_build as b; "
                 "p = run_cli('scone-gcc', b.build, root=Path(sys.argv[1]), cache=Path(sys.argv[2])); "
                 "print(p)")


def copy_root(dst: Path) -> Path:
    """A private data root: the overlay, runtime and linker scripts, copied."""
    src = paths.data_root()
    for part in ("libc_patch", "runtime", "linker_scripts", "kmod/lib", "kmod/uapi"):
        shutil.copytree(src / part, dst / part,
                        ignore=shutil.ignore_patterns("__pycache__", ".*"))
    return dst


def trusted(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()
                  if p.name.startswith(("musl-", "sysroot-"))) if cache.exists() else []


def run_build(root: Path, cache: Path, env_extra=None, **kw):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-c", BUILD_SNIPPET, str(root), str(cache)],
                          capture_output=True, text=True, env=env, **kw)


def test_pinned_checksum_is_debian_orig(musl_tarball):
    assert hashlib.sha256(musl_tarball.read_bytes()).hexdigest() == PINNED
    assert musl_source.MUSL_SHA256 == PINNED
    assert musl_source.verify(musl_tarball) == musl_tarball


def test_bad_tarball_is_one_clear_error(tmp_path):
    bad = tmp_path / "musl-1.2.3.tar.gz"
    bad.write_bytes(b"not musl at all")
    cache = tmp_path / "cache"
    out = run_build(paths.data_root(), cache, {"SCONE_MUSL_TARBALL": str(bad)})
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    err = [ln for ln in out.stderr.splitlines() if ln.startswith("scone-gcc: error:")]
    assert len(err) == 1, out.stderr
    assert str(bad) in err[0] and "sha256" in err[0]
    assert "SCONE_MUSL_TARBALL" in err[0] and "unset it" in err[0]
    assert trusted(cache) == []


def test_missing_deb_src_says_how_to_fix(tmp_path):
    fakebin = tmp_path / "bin"
    fakebin.mkdir()
    # apt-get's own message when the sources list has no deb-src entry.
    (fakebin / "apt-get").write_text(
        "#!/bin/sh\necho \"E: You must put some 'deb-src' URIs in your sources.list\" >&2\n"
        "exit 100\n")
    (fakebin / "apt-get").chmod(0o755)
    env = {"PATH": f"{fakebin}:{os.environ['PATH']}"}
    env_clean = {k: v for k, v in os.environ.items() if k != "SCONE_MUSL_TARBALL"}
    cache = tmp_path / "cache"
    out = subprocess.run([sys.executable, "-c", BUILD_SNIPPET, str(paths.data_root()), str(cache)],
                         capture_output=True, text=True, env=dict(env_clean, **env))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    err = [ln for ln in out.stderr.splitlines() if ln.startswith("scone-gcc: error:")]
    assert len(err) == 1, out.stderr
    # Both ways out: a tarball from musl.libc.org, or a deb-src entry (which
    # a checkout's setup.sh adds; a wheel has no setup.sh: tests/packaging).
    assert "deb-src" in err[0] and "SCONE_MUSL_TARBALL" in err[0]
    assert musl_source.MUSL_URL in err[0] and "sh setup.sh" in err[0]
    assert trusted(cache) == []


def test_overlay_applies_to_a_copy(tmp_path, musl_tarball):
    before = hashlib.sha256(musl_tarball.read_bytes()).hexdigest()
    subprocess.run(["tar", "xzf", str(musl_tarball), "-C", str(tmp_path)], check=True)
    tree = tmp_path / "musl-1.2.3"
    overlay = paths.data_root() / "libc_patch"
    done = sysroot_build.apply_overlay(overlay, tree)
    assert "arch/x86_64/syscall_arch.h" in done and "src/thread/x86_64/clone.s" in done
    for rel in done:
        assert (tree / rel).read_bytes() == (overlay / rel).read_bytes(), rel
    with tarfile.open(musl_tarball) as tf:
        upstream_arch = tf.extractfile("musl-1.2.3/arch/x86_64/syscall_arch.h").read()
        upstream_printf = tf.extractfile("musl-1.2.3/src/stdio/printf.c").read()
    assert b'"syscall"' in upstream_arch
    assert b'"syscall"' not in (tree / "arch/x86_64/syscall_arch.h").read_bytes()
    assert (tree / "src/stdio/printf.c").read_bytes() == upstream_printf
    assert hashlib.sha256(musl_tarball.read_bytes()).hexdigest() == before


def test_keys_follow_their_inputs(tmp_path):
    root = copy_root(tmp_path / "root")
    k1, k2 = sysroot.stage1_key(root), None
    k2 = sysroot.stage2_key(k1, root)
    assert (k1, k2) == (sysroot.stage1_key(root), sysroot.stage2_key(k1, root))

    arch = root / "libc_patch/arch/x86_64/syscall_arch.h"
    arch.write_text(arch.read_text() + "/* changed */\n")
    k1b = sysroot.stage1_key(root)
    assert k1b != k1 and sysroot.stage2_key(k1b, root) != k2

    (root / "runtime/native/extra.c").write_text("int x;\n")
    assert sysroot.stage1_key(root) == k1b
    assert sysroot.stage2_key(k1b, root) != sysroot.stage2_key(k1b, copy_root(tmp_path / "r2"))

    # The starter compiles the kernel module's user library and uapi in.
    for rel in ("kmod/lib/scone_kmod_user.c", "kmod/uapi/scone_kmod.h"):
        before = sysroot.stage2_key(k1b, root)
        f = root / rel
        f.write_text(f.read_text() + "/* changed */\n")
        assert sysroot.stage1_key(root) == k1b
        assert sysroot.stage2_key(k1b, root) != before, rel


def test_failed_build_leaves_nothing_trusted(tmp_path, musl_tarball):
    root = copy_root(tmp_path / "root")
    arch = root / "libc_patch/arch/x86_64/syscall_arch.h"
    arch.write_text("#error deliberately broken overlay\n" + arch.read_text())
    cache = tmp_path / "cache"
    out = run_build(root, cache, {"SCONE_MUSL_TARBALL": str(musl_tarball)}, timeout=300)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "musl make failed" in out.stderr
    assert "deliberately broken overlay" in out.stderr  # the log's tail is shown
    log = out.stderr.split("full log: ", 1)[1].split(";", 1)[0]
    assert Path(log).is_file()
    assert trusted(cache) == []
    assert not list(cache.glob(".tmp-*"))


def test_interrupted_build_is_not_trusted(tmp_path, musl_tarball):
    root = copy_root(tmp_path / "root")
    cache = tmp_path / "cache"
    env = dict(os.environ, SCONE_MUSL_TARBALL=str(musl_tarball))
    proc = subprocess.Popen([sys.executable, "-c", BUILD_SNIPPET, str(root), str(cache)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not list(cache.glob(".tmp-musl-*/src/musl-1.2.3/obj/src/*")):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert trusted(cache) == []
    assert list(cache.glob(".tmp-musl-*"))  # the killed build's debris

    # The next build (here one that fails fast) clears the debris under the lock.
    arch = root / "libc_patch/arch/x86_64/syscall_arch.h"
    arch.write_text("#error deliberately broken overlay\n" + arch.read_text())
    out = run_build(root, cache, {"SCONE_MUSL_TARBALL": str(musl_tarball)}, timeout=300)
    assert out.returncode == 2
    assert trusted(cache) == [] and not list(cache.glob(".tmp-*"))


def test_concurrent_builders_build_once(tmp_path, built):
    import json

    manifest = json.loads((built / "manifest.json").read_text())
    cache = tmp_path / "cache"
    cache.mkdir()
    # Reuse the real stage 1 so that only stage 2 runs (quick) in both.
    key1 = manifest["stage1_key"]
    (cache / f"musl-{key1[:16]}").symlink_to(paths.cache_dir() / f"musl-{key1[:16]}")
    root = paths.data_root()
    procs = [subprocess.Popen([sys.executable, "-c", BUILD_SNIPPET, str(root), str(cache)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    paths_out = {o[0].strip() for o in outs}
    assert len(paths_out) == 1
    assert sum(o[1].count("building the scone runtime") for o in outs) == 1
    result = Path(paths_out.pop())
    assert (result / "lib/libc.a").is_file() and (result / "lib/libscone-native.a").is_file()


def test_scone_sysroot_overrides(tmp_path, built, monkeypatch):
    monkeypatch.setenv("SCONE_SYSROOT", str(built))
    assert sysroot.current() == built
    monkeypatch.setenv("SCONE_SYSROOT", str(tmp_path))
    with pytest.raises(SconeError, match="SCONE_SYSROOT"):
        sysroot.current()


def test_current_imports_nothing_heavy(built):
    code = ("import sys; from scone_cc import sysroot; sysroot.current(); "
            "print(sorted(m for m in ('rich', 'lief', 'elftools', 'capstone', 'cryptography', "
            "'scone_cc.sysroot_build') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_prune_keeps_newest_and_their_musl(tmp_path):
    import json

    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "logs").mkdir()
    for i in range(7):
        key1 = f"{i % 2:016d}"
        d = cache / f"sysroot-{i:016d}"
        d.mkdir()
        (d / "manifest.json").write_text(json.dumps({"stage1_key": key1 + "f" * 48}))
        (cache / "logs" / f"{d.name}.log").write_text("log")
        os.utime(d, (1000 + i, 1000 + i))
    for key1 in ("0" * 16, "0" * 15 + "1", "9" * 16):
        (cache / f"musl-{key1}").mkdir()
    keep = cache / f"sysroot-{0:016d}"  # the one just built, even if oldest
    sysroot_build.prune(cache, keep)
    left = sorted(p.name for p in cache.iterdir() if not p.name.startswith("."))
    # keep + the 3 newest others (6, 5, 4); stage 1 of 0/4/6 is "0...0", of 5 is "0...1".
    assert left == ["logs", "musl-" + "0" * 16, "musl-" + "0" * 15 + "1",
                    f"sysroot-{0:016d}", f"sysroot-{4:016d}", f"sysroot-{5:016d}",
                    f"sysroot-{6:016d}"]
    assert sorted(p.name for p in (cache / "logs").iterdir()) == [
        f"sysroot-{i:016d}.log" for i in (0, 4, 5, 6)]
    assert not list(cache.glob(".tmp-*"))


def test_prune_spares_recently_used(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    for i in range(6):
        (cache / f"sysroot-{i:016d}").mkdir()  # mtime now: recently used
    sysroot_build.prune(cache, cache / f"sysroot-{0:016d}")
    assert len(list(cache.glob("sysroot-*"))) == 6


def test_unwritable_cache_is_one_clear_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    cache = ro / "cache"
    if os.access(ro, os.W_OK):  # root ignores permission bits: use a file as parent
        (tmp_path / "file").write_text("")
        cache = tmp_path / "file" / "cache"
    out = run_build(paths.data_root(), cache)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "SCONE_CACHE" in out.stderr and str(cache) in out.stderr
