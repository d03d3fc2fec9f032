"""Host-side checks of scone.ko that need no QEMU: a warning-free W=1 build
against the pinned kernel headers, kernel-doc and checkpatch cleanliness,
the ioctl ABI against hand-computed numbers, the initramfs writer against
the cpio tool."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest



def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)

KMOD_SOURCES = ["main.c", "ioctl.c", "pair.c", "poller.c", "stats.c",
                "scone.h", "compat.h", "uapi/scone_kmod.h"]


def test_module_builds_without_warnings(module_build):
    ko, log = module_build
    assert ko.is_file() and ko.read_bytes()[:4] == b"\x7fELF"
    assert not re.search(r"warning:|error:", log), log
    modinfo = run(["modinfo", "-F", "vermagic", str(ko)])
    if modinfo.returncode == 0:
        assert modinfo.stdout.startswith("6.1.0-"), modinfo.stdout


def test_kernel_doc_clean(repo, kernel):
    script = kernel.headers / "scripts" / "kernel-doc"  # from linux-kbuild-6.1
    if not script.is_file():
        pytest.skip(f"{script} not found (linux-kbuild-6.1)")
    out = run(["perl", str(script), "-none", *KMOD_SOURCES], cwd=repo / "kmod")
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr


def _checkpatch():
    env = os.environ.get("CHECKPATCH")
    if env and Path(env).is_file():
        return Path(env)
    for cand in Path("/usr/src").glob("linux-*/scripts/checkpatch.pl"):
        return cand
    return None


def test_checkpatch_clean(repo):
    cp = _checkpatch()
    if cp is None:
        pytest.skip("checkpatch.pl not installed (it ships in linux-source-6.1; "
                    "set CHECKPATCH=/path/to/checkpatch.pl)")
    out = run(["perl", str(cp), "--no-tree", "-f", "--terse", "--show-types", *KMOD_SOURCES],
              cwd=repo / "kmod")
    # compat.h exists to test LINUX_VERSION_CODE; that one warning is its job.
    problems = [line for line in out.stdout.splitlines()
                if re.search(r": (ERROR|WARNING|CHECK):", line)
                and not line.startswith("compat.h:")]
    compat = [line for line in out.stdout.splitlines() if line.startswith("compat.h:")]
    assert not problems, "\n".join(problems)
    assert all("LINUX_VERSION_CODE" in line for line in compat), "\n".join(compat)


def _ioc(direction: int, nr: int, size: int) -> int:
    # asm-generic/ioctl.h: dir:2 | size:14 | type:8 | nr:8
    return (direction << 30) | (size << 16) | (0xB2 << 8) | nr


def test_ioctl_abi_and_library(repo, tmp_path):
    exe = tmp_path / "abi_check"
    build = run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror",
                 f"-I{repo / 'kmod'}", f"-I{repo / 'kmod' / 'lib'}", f"-I{repo / 'runtime' / 'include'}",
                 "-o", str(exe), str(repo / "tests" / "kmod" / "abi_check.c"),
                 str(repo / "kmod" / "lib" / "scone_kmod_user.c")])
    assert build.returncode == 0, build.stderr
    out = run([str(exe)])
    assert out.returncode == 0, out.stderr
    got = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    # struct layouts of uapi/scone_kmod.h, counted by hand
    assert got["sizeof_register"] == "32" and got["offsetof_register_id"] == "16"
    assert got["sizeof_wait"] == "32" and got["offsetof_wait_timeout"] == "8"
    assert got["sizeof_unregister"] == "8"
    assert int(got["ioc_register"], 16) == _ioc(3, 1, 32) == 0xC020B201
    assert int(got["ioc_wait"], 16) == _ioc(1, 2, 32) == 0x4020B202
    assert int(got["ioc_unregister"], 16) == _ioc(1, 3, 8) == 0x4008B203
    assert got["mode_null"] == got["mode_on"] == got["mode_off"] == got["mode_bad"] == "1"
    assert got["open_off"] == "-2" and got["open_missing"] == "-2"
    assert "insmod" in got["msg_open"] and "SCONE_KMOD=off" in got["msg_open"]
    assert "one sthread" in got["msg_wait"]


def test_initramfs_archive_lists_with_cpio(kq, tmp_path):
    if shutil.which("cpio") is None:
        pytest.skip("cpio not installed (apt-get install cpio)")
    import kmod_newc as newc
    data = newc.archive([newc.directory("bin"), newc.regular("bin/x", b"abc", 0o755),
                         newc.symlink("bin/sh", "x"), newc.chardev("dev/console", 5, 1)])
    listing = subprocess.run(["cpio", "-itv"], input=data, capture_output=True, check=True).stdout.decode()
    lines = [line.split() for line in listing.splitlines()]
    assert [ln[-1] for ln in lines] == ["bin", "bin/x", "x", "dev/console"]
    assert lines[1][0] == "-rwxr-xr-x" and lines[1][4] == "3"
    assert lines[2][0].startswith("l") and lines[2][-3:] == ["bin/sh", "->", "x"]
    assert lines[3][0].startswith("c") and lines[3][4:6] == ["5,", "1"]
    extracted = tmp_path / "x"
    extracted.mkdir()
    subprocess.run(["cpio", "-idm", "--quiet", "bin/x"], input=data, cwd=extracted, check=True)
    assert (extracted / "bin" / "x").read_bytes() == b"abc"
