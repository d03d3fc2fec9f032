"""Fixtures for the sysroot tests: the built sysroot and a plain-gcc link
against it (independent of scone-gcc's own link path)."""

import shutil
import subprocess
from pathlib import Path

import pytest

from scone_cc import sysroot as sysroot_mod

PROGS = Path(__file__).resolve().parent / "progs"


@pytest.fixture(scope="session")
def built() -> Path:
    """The sysroot for the current sources (built on first use)."""
    return sysroot_mod.current()


@pytest.fixture(scope="session")
def musl_tarball(built) -> Path:
    """The verified pristine tarball the sysroot was built from."""
    from scone_cc import musl_source, paths

    return musl_source.tarball(paths.cache_dir())


def link_native(sr: Path, src: Path, out: Path, pie: bool = True, extra=()) -> Path:
    """Compile and link ``src`` with plain gcc against the sysroot and the native hook."""
    libgcc = subprocess.run(["gcc", "-print-libgcc-file-name"], capture_output=True,
                            text=True, check=True).stdout.strip()
    lib = sr / "lib"
    crt1 = lib / ("rcrt1.o" if pie else "crt1.o")
    cmd = ["gcc", "-static-pie" if pie else "-static", "-O2", "-nostdinc", "-isystem",
           str(sr / "include"), "-nostdlib", str(crt1), str(lib / "crti.o"), str(src),
           *extra, str(lib / "libc.a"), str(lib / "libscone-native.a"), libgcc,
           str(lib / "crtn.o"), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture
def build_prog(built, tmp_path):
    def _build(name: str, pie: bool = True, ext: str = "c") -> Path:
        return link_native(built, PROGS / f"{name}.{ext}", tmp_path / name, pie=pie)
    return _build


def need(tool: str):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed (sh setup.sh installs it)")
