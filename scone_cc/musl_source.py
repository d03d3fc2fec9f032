"""The pristine upstream musl tarball: find it, fetch it, verify it.

Upstream is never edited: the build extracts a fresh copy every time and the
overlay is applied to that copy (see scone_cc.sysroot_build).
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import SconeError

MUSL_VERSION = "1.2.3"
MUSL_SHA256 = "7d5b0b6062521e4627e099e4c9dc8248d32a30285e959b7eecaa780cf8cfd4a4"
ORIG_NAME = f"musl_{MUSL_VERSION}.orig.tar.gz"

MUSL_URL = f"https://musl.libc.org/releases/musl-{MUSL_VERSION}.tar.gz"


def fix_text() -> str:
    """How to get the source when it cannot be fetched: for pip users first.

    A wheel has no setup.sh; a checkout does, and it adds the deb-src entry.
    """
    from .paths import data_root

    checkout = (data_root() / "setup.sh").is_file()
    return (f"download {MUSL_URL} and set SCONE_MUSL_TARBALL to that file, or add a "
            "deb-src entry to APT's sources (the deb line repeated as deb-src, then "
            "apt-get update) so that `apt-get source musl` works"
            + ("; in a scone checkout, `sh setup.sh` adds the entry" if checkout else ""))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


FIX_NAMED = (f"point SCONE_MUSL_TARBALL at {MUSL_URL} (downloaded), "
             "or unset it to use Debian's source package")


def verify(path: Path, fix: str | None = None) -> Path:
    """Raise SconeError unless ``path`` is the pinned musl tarball (by SHA-256)."""
    fix = fix or fix_text()
    try:
        got = sha256_file(path)
    except OSError as err:
        raise SconeError(f"{path}: cannot read musl tarball ({err.strerror}); {fix}") from None
    if got != MUSL_SHA256:
        raise SconeError(
            f"{path}: sha256 {got} does not match musl {MUSL_VERSION} "
            f"({MUSL_SHA256}); the file is corrupt or another version; {fix}")
    return path


def _fetch_with_apt(dest: Path) -> Path:
    """Download Debian's orig tarball with `apt-get source --download-only`."""
    if shutil.which("apt-get") is None:
        raise SconeError(f"cannot fetch musl {MUSL_VERSION}: apt-get not found; {fix_text()}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=dest.parent) as tmp:
        proc = subprocess.run(
            ["apt-get", "source", "--download-only", "musl"],
            cwd=tmp, capture_output=True, text=True)
        got = Path(tmp) / ORIG_NAME
        if proc.returncode != 0 or not got.is_file():
            detail = (proc.stderr.strip().splitlines() or ["no tarball downloaded"])[-1]
            raise SconeError(
                f"cannot fetch musl {MUSL_VERSION} with `apt-get source musl` ({detail}); {fix_text()}")
        verify(got)
        os.replace(got, dest)
    return dest


def tarball(cache: Path) -> Path:
    """The verified musl source tarball: ``$SCONE_MUSL_TARBALL`` or Debian's.

    Debian's is downloaded once into ``<cache>/src/``.
    """
    named = os.environ.get("SCONE_MUSL_TARBALL")
    if named:
        return verify(Path(named), f"SCONE_MUSL_TARBALL={named}: {FIX_NAMED}")
    cached = cache / "src" / ORIG_NAME
    if cached.is_file():
        try:
            return verify(cached)
        except SconeError:
            cached.unlink()  # a damaged download: fetch it again
    return _fetch_with_apt(cached)
