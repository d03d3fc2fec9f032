"""The distribution a pip user gets: sdist and wheel built from this tree,
the wheel installed into a fresh venv, and hello built from the wheel's own
files with an empty cache (the sysroot is built from scratch, musl included).
"""

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from scone_cc import musl_source, paths

REPO = Path(__file__).resolve().parents[2]

HELLO = '#include <stdio.h>\nint main(int c, char **v) { printf("hello %s\\n", c > 1 ? v[1] : "?"); return 3; }\n'

# Every folder the sysroot build reads (scone_cc.sysroot's STAGE*_TREES),
# as the wheel must carry it.
DATA = ("libc_patch/arch/x86_64/syscall_arch.h", "runtime/Makefile",
        "runtime/untrusted/part.mk", "linker_scripts/enclave.ld",
        "kmod/lib/scone_kmod_user.c", "kmod/lib/scone_kmod_user.h",
        "kmod/uapi/scone_kmod.h")


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run([str(c) for c in cmd], **kw)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """sdist and wheel, as `python -m build` makes them (the wheel from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    proc = run([sys.executable, "-m", "build", "--no-isolation", "-o", out, REPO])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return out


def test_sdist_and_wheel_carry_the_sysroot_sources(dist):
    (wheel,) = dist.glob("scone_cc-*-py3-none-any.whl")
    (sdist,) = dist.glob("scone_cc-*.tar.gz")
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in DATA:
        assert f"scone_cc/_data/{rel}" in names, rel
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    for rel in ("buildsys/toolchain.cmake", "buildsys/meson-cross.ini", "buildsys/pkgconfig.py",
                "debug/scone_gdb.py"):
        assert f"scone_cc/{rel}" in names, rel
    (entry,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    scripts = zipfile.ZipFile(wheel).read(entry).decode()
    for prog in ("scone-gcc-driver", "scone-sign", "scone-check", "scone-pkg-config", "scone-gdb"):
        assert f"{prog} = " in scripts, prog
    # scone-gcc is the launcher, a script of the wheel's own (not rewritten by installers).
    (launcher,) = [n for n in names if n.endswith(".data/scripts/scone-gcc")]
    assert zipfile.ZipFile(wheel).read(launcher).startswith(b"#!/bin/sh\n")
    with tarfile.open(sdist) as tf:
        top = tf.getnames()[0].split("/")[0]
        snames = set(tf.getnames())
    for rel in DATA + ("LICENSE", "setup.sh", "pyproject.toml"):
        assert f"{top}/{rel}" in snames, rel


def test_wheel_in_a_fresh_venv_builds_hello_from_an_empty_cache(dist, tmp_path):
    (wheel,) = dist.glob("scone_cc-*-py3-none-any.whl")
    venv = tmp_path / "venv"
    # The venv sees the interpreter's site-packages for the dependencies
    # (no download needed); scone_cc itself comes from the wheel, checked below.
    proc = run([sys.executable, "-m", "venv", "--system-site-packages", venv])
    assert proc.returncode == 0, proc.stderr
    proc = run([venv / "bin/python", "-m", "pip", "install", "-q", wheel])
    assert proc.returncode == 0, proc.stderr[-2000:]

    work = tmp_path / "work"
    work.mkdir()
    (work / "hello.c").write_text(HELLO)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("SCONE_SYSROOT", "SCONE_MUSL_TARBALL", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
                        "PYTHONPATH", "VIRTUAL_ENV")}
    env.update(HOME=str(home), SCONE_CACHE=str(tmp_path / "cache"),
               PATH=f"{venv / 'bin'}:{os.environ['PATH']}")

    proc = run([venv / "bin/python", "-c",
                "import scone_cc.paths as p; print(p.__file__); print(p.data_root())"],
               cwd=work, env=env)
    assert proc.returncode == 0, proc.stderr
    module, data = proc.stdout.split()
    assert module.startswith(str(venv)) and data.startswith(str(venv)), proc.stdout

    # No deb-src entry and no tarball: one error that tells a pip user what
    # to do, not to run a setup.sh the wheel does not have.
    fakebin = tmp_path / "fakebin"
    fakebin.mkdir()
    (fakebin / "apt-get").write_text(
        "#!/bin/sh\necho \"E: You must put some 'deb-src' URIs in your sources.list\" >&2\nexit 100\n")
    (fakebin / "apt-get").chmod(0o755)
    proc = run([venv / "bin/scone-gcc", "hello.c", "-o", "hello"], cwd=work,
               env=dict(env, PATH=f"{fakebin}:{env['PATH']}"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("scone-gcc: error:")]
    assert len(errors) == 1, proc.stderr
    assert "SCONE_MUSL_TARBALL" in errors[0] and "deb-src" in errors[0]
    assert musl_source.MUSL_URL in errors[0] and "setup.sh" not in errors[0]
    assert not (work / "hello").exists()

    # With the pristine tarball named, the sysroot is built from the wheel's files.
    tarball = musl_source.tarball(paths.cache_dir())
    env["SCONE_MUSL_TARBALL"] = str(tarball)
    proc = run([venv / "bin/scone-gcc", "-O2", "hello.c", "-o", "hello"], cwd=work, env=env,
               timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run([venv / "bin/scone-gcc", "-print-sysroot"], cwd=work, env=env)
    assert proc.stdout.startswith(str(tmp_path / "cache")), proc.stdout
    proc = run(["./hello", "wheel"], cwd=work, env=dict(env, SCONE_MODE="SIM"))
    assert (proc.returncode, proc.stdout) == (3, "hello wheel\n"), proc.stderr
    proc = run([venv / "bin/scone-sign", "verify", "hello"], cwd=work, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    # The installed scone-gcc is the launcher: once the driver has run, a
    # compile execs gcc without Python (which cannot start here).
    proc = run([venv / "bin/scone-gcc", "-c", "hello.c", "-o", "hello.o"], cwd=work, env=env)
    assert proc.returncode == 0, proc.stderr
    proc = run([venv / "bin/scone-gcc", "-c", "hello.c", "-o", "fast.o"], cwd=work,
               env=dict(env, PYTHONHOME="/nonexistent-python-home"))
    assert proc.returncode == 0, proc.stderr
    assert (work / "fast.o").read_bytes() == (work / "hello.o").read_bytes()
    proc = run([venv / "bin/scone-gcc", "hello.o", "-o", "hello2"], cwd=work,
               env=dict(env, PYTHONHOME="/nonexistent-python-home"))
    assert proc.returncode != 0 and "Fatal Python error" in proc.stderr, proc.stderr
    proc = run([venv / "bin/scone-gcc", "--scone-print=cmake-toolchain"], cwd=work, env=env)
    assert proc.stdout.startswith(str(venv)) and os.path.isfile(proc.stdout.strip()), proc.stdout
