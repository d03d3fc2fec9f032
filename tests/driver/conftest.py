"""Fixtures for scone-gcc tests: a C toolchain user's view of the driver."""

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest


def run(cmd, **kw):
    """subprocess.run with text output captured; never raises on exit code."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(cmd, **kw)


@pytest.fixture(scope="session")
def scone_gcc() -> str:
    path = shutil.which("scone-gcc")
    if path is None:
        pytest.fail("scone-gcc is not installed; run pip install -e .")
    return path


@pytest.fixture
def cenv(scone_env):
    """Environment for build-system tests: private HOME, shared sysroot cache."""
    return dict(scone_env)


def debian_source(package: str, dest: Path) -> Path:
    """Unpack Debian's upstream tarball of ``package`` under ``dest``, fetched once.

    ``apt-get source --download-only`` keeps the files in the scone cache so
    later runs need no network.
    """
    from scone_cc.paths import cache_dir

    store = cache_dir() / "test-sources" / package
    if not list(store.glob("*.orig.tar.*")):
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "apps"))
        from appkit.source import SourceUnavailable, apt_source

        try:
            apt_source(package, store)
        except SourceUnavailable as why:
            pytest.fail(str(why))
    tarball = sorted(p for p in store.glob("*.orig.tar.*") if "orig-" not in p.name)[0]
    with tarfile.open(tarball) as tf:
        top = tf.getnames()[0].split("/")[0]
        if hasattr(tarfile, "data_filter"):
            tf.extractall(dest, filter="data")
        else:
            tf.extractall(dest)
    return dest / top
