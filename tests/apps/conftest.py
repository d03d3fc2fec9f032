"""Real programs built unmodified and checked by their own test suites (issue 7).

Builds are cached under ``$SCONE_CACHE/apps/build/<flavour key>`` (the
enclave flavour's key is the sysroot, so a runtime change rebuilds), so
reruns only run the programs.
"""

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from appkit import flavour as _flavour  # noqa: E402
from appkit.source import SourceUnavailable  # noqa: E402


def get_flavour(name: str):
    """The flavour ``name``, skipping the test when its compiler is missing."""
    try:
        return _flavour.get(name)
    except _flavour.FlavourUnavailable as why:
        pytest.skip(str(why))


@pytest.fixture(scope="session")
def scone():
    return get_flavour("scone")


@pytest.fixture(scope="session")
def musl():
    return get_flavour("musl")


def built(builder, fl):
    """``builder(fl)``; a source package that cannot be fetched fails the test
    (appkit.source already tried every version apt knows)."""
    try:
        return builder(fl)
    except SourceUnavailable as why:
        pytest.fail(str(why))


def is_enclave(path: Path) -> bool:
    """The binary carries an enclave image and its signed note (not a native build)."""
    out = subprocess.run(["readelf", "-SW", str(path)], capture_output=True, text=True)
    return ".scone.enclave" in out.stdout and ".note.scone" in out.stdout
