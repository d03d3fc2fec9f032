"""A distribution root file system under an image, for programs that are not scone binaries.

A scone binary needs no base (build.py). A service written in Python does:
the CAS (``scone-cas``) runs on CPython, ``cryptography``, PyYAML, click and
jsonschema. Such an image names a ``[base]`` in its recipe, either a root
file system tar file it has, or a Debian suite and a fixed package list::

    [base]
    debian = "bookworm"
    packages = ["python3-minimal", "python3-cryptography"]
    # mirror = "http://deb.debian.org/debian"   (default; -security is added)

The Debian base is made by ``mmdebstrap`` from Debian's archive: the
Essential:yes packages and the listed ones with their dependencies, signed
by the archive key apt checks, without manual pages, documentation (the
copyright files stay) and translations, without device nodes (the runtime
makes /dev). It is slow the first time (a download and dpkg: 20 s to a
few minutes), so the tar file is kept in the scone cache under a key made of
everything that goes into it (suite, mirror, package list, options, this
module's format version); a second build finds it. Beside it,
``packages.txt`` lists the package versions it holds: the archive moves on
with Debian's point releases, so a rebuild after one may hold newer
versions (pin a snapshot.debian.org mirror to freeze them). The image built
on one cached tar file is reproducible like any other (build.py).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from scone_cc.errors import SconeError

# Bumped when the way a base is made changes: the cache key changes with it.
FORMAT = 1
DEFAULT_MIRROR = "http://deb.debian.org/debian"
_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+")
_SUITE = re.compile(r"[a-z][a-z0-9-]*")
# Left out of the root file system (dpkg --path-exclude): no program reads them.
EXCLUDES = ("/usr/share/man/*", "/usr/share/doc/*", "/usr/share/info/*", "/usr/share/locale/*",
            "/usr/share/lintian/*")
INCLUDES = ("/usr/share/doc/*/copyright",)


@dataclass(frozen=True)
class Base:
    """A base: a tar file given (``tar``), or a Debian suite and package list to make one."""

    tar: Path | None = None
    suite: str | None = None
    packages: tuple[str, ...] = ()
    mirror: str = DEFAULT_MIRROR

    def describe(self) -> str:
        if self.tar is not None:
            return f"tar {self.tar.name}"
        return f"debian {self.suite} " + " ".join(self.packages)


def check_package(name, fail) -> str:
    if not isinstance(name, str) or not _PACKAGE.fullmatch(name):
        raise fail(f"{name!r} is not a Debian package name (lower-case letters, digits, + . -)")
    return name


def check_suite(name, fail) -> str:
    if not _SUITE.fullmatch(name):
        raise fail(f"{name!r} is not a Debian suite such as bookworm")
    return name


def cache_key(base: Base) -> str:
    """SHA-256 of everything a Debian base is made from."""
    facts = {"format": FORMAT, "suite": base.suite, "mirror": base.mirror,
             "packages": sorted(set(base.packages)), "excludes": EXCLUDES, "includes": INCLUDES}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def _mirrors(base: Base) -> list[str]:
    lines = [f"deb {base.mirror} {base.suite} main"]
    if base.mirror == DEFAULT_MIRROR:
        lines.append(f"deb http://deb.debian.org/debian-security {base.suite}-security main")
    return lines


def rootfs_tar(base: Base, where: str) -> Path:
    """The root file system tar file of ``base``: the one given, or made (or found) in the cache."""
    if base.tar is not None:
        return base.tar
    from scone_cc.paths import cache_dir

    key = cache_key(base)
    folder = cache_dir() / "image-base" / key[:32]
    tar = folder / "rootfs.tar"
    if tar.is_file():
        return tar
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / ".lock", "w")
    except OSError as err:
        raise SconeError(f"{where}: cannot write the base cache {folder} ({err.strerror}); "
                         "set SCONE_CACHE to a writable folder") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)      # another build making the same base: wait for it
        if not tar.is_file():
            _mmdebstrap(base, folder, where)
    return tar


def _mmdebstrap(base: Base, folder: Path, where: str) -> None:
    tool = shutil.which("mmdebstrap")
    if tool is None:
        raise SconeError(f"{where}: base: mmdebstrap is not installed; install it with apt-get "
                         "install mmdebstrap (setup.sh does)")
    tmp = Path(tempfile.mkdtemp(prefix=".make-", dir=folder))
    try:
        out = tmp / "rootfs.tar"
        argv = [tool, "--quiet", "--variant=essential", f"--include={','.join(base.packages)}",
                *[f"--dpkgopt=path-exclude={p}" for p in EXCLUDES],
                *[f"--dpkgopt=path-include={p}" for p in INCLUDES],
                "--skip=output/dev", "--skip=output/mknod",
                base.suite, str(out), *_mirrors(base)]
        env = dict(os.environ, SOURCE_DATE_EPOCH="0")
        done = subprocess.run(argv, capture_output=True, text=True, env=env)
        if done.returncode:
            lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
            why = lines[-1].strip() if lines else f"exit status {done.returncode}"
            raise SconeError(f"{where}: base: mmdebstrap {base.suite} failed: {why}; check that "
                             f"{base.mirror} is reachable and every package exists in {base.suite}")
        (tmp / "packages.txt").write_text(installed(out))
        (tmp / "inputs.json").write_text(json.dumps(
            {"suite": base.suite, "mirror": base.mirror, "packages": list(base.packages),
             "key": cache_key(base)}, indent=1) + "\n")
        os.replace(tmp / "packages.txt", folder / "packages.txt")
        os.replace(tmp / "inputs.json", folder / "inputs.json")
        os.replace(out, folder / "rootfs.tar")      # last: its presence means complete
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def installed(tar: Path) -> str:
    """``PACKAGE VERSION`` lines, sorted, from the tar file's dpkg status."""
    with tarfile.open(tar) as tf:
        member = tf.extractfile("./var/lib/dpkg/status")
        text = member.read().decode()
    rows, name = [], None
    for line in text.splitlines():
        if line.startswith("Package: "):
            name = line.split(": ", 1)[1]
        elif line.startswith("Version: ") and name:
            rows.append(f"{name} {line.split(': ', 1)[1]}")
    return "\n".join(sorted(rows)) + "\n"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def unpack(tar: Path, rootfs: Path, where: str) -> None:
    """Extract the root file system ``tar`` into ``rootfs``, owners and modes kept (root only)."""
    if os.geteuid() != 0:
        raise SconeError(f"{where}: base: a root file system keeps its owners only when unpacked "
                         "as root; run scone-image build as root")
    done = subprocess.run(["tar", "--numeric-owner", "--same-permissions", "--xattrs",
                           "--exclude=./dev/*", "-xf", str(tar), "-C", str(rootfs)],
                          capture_output=True, text=True)
    if done.returncode:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        raise SconeError(f"{where}: base: cannot unpack {tar}: "
                         f"{lines[-1] if lines else 'tar failed'}; give a root file system tar file")
