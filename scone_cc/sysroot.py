"""The scone sysroot: patched musl + runtime, built once and cached.

``current()`` runs on every scone-gcc invocation, so this module imports only
the stdlib; the build machinery (scone_cc.sysroot_build, rich) is imported
only when a build is needed.

Layout of a sysroot (``<cache>/sysroot-<key16>/``, see DESIGN.md section 3):
``include/`` (musl headers, ``scone/``), ``lib/`` (libc.a, crt objects,
runtime archives, linker scripts), ``libexec/`` (scone-starter),
``manifest.json``.
"""

import contextlib
import hashlib
import os
import subprocess
import time
from pathlib import Path

from . import paths
from .errors import SconeError
from .musl_source import MUSL_SHA256

# Bump when the build steps change in a way the inputs below do not show.
RECIPE_VERSION = "1"


def _hash_tree(h, root: Path, folder: str) -> None:
    """Feed every regular file under ``root/folder`` (path + content) to ``h``."""
    base = root / folder
    files = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if d != "__pycache__" and not d.startswith(".")]
        files.extend(os.path.join(dirpath, f) for f in filenames if not f.startswith("."))
    for f in sorted(files):
        rel = os.path.relpath(f, root)
        with open(f, "rb") as fh:
            data = fh.read()
        h.update(b"%s\0%d\0" % (rel.encode(), len(data)))
        h.update(data)


def gcc_version() -> str:
    """``gcc -dumpfullversion``: part of the stage-1 key (objects depend on it)."""
    try:
        out = subprocess.run(["gcc", "-dumpfullversion"], capture_output=True, text=True)
    except FileNotFoundError:
        raise SconeError("gcc not found in PATH; install it (apt-get install gcc) "
                         "or run `sh setup.sh`") from None
    return out.stdout.strip()


def stage1_key(root: Path | None = None) -> str:
    """Key of the patched musl: tarball, overlay files, recipe, gcc version."""
    root = root or paths.data_root()
    h = hashlib.sha256()
    h.update(f"musl {MUSL_SHA256}\0recipe {RECIPE_VERSION}\0gcc {gcc_version()}\0".encode())
    _hash_tree(h, root, "libc_patch")
    return h.hexdigest()


def stage2_key(key1: str, root: Path | None = None) -> str:
    """Key of the whole sysroot: stage-1 key + runtime/ and linker_scripts/."""
    root = root or paths.data_root()
    h = hashlib.sha256()
    h.update(f"stage1 {key1}\0".encode())
    _hash_tree(h, root, "runtime")
    _hash_tree(h, root, "linker_scripts")
    return h.hexdigest()


def sysroot_path(key2: str, cache: Path | None = None) -> Path:
    """Where the sysroot with key ``key2`` lives in the cache."""
    return (cache or paths.cache_dir()) / f"sysroot-{key2[:16]}"


def current() -> Path:
    """Path of the sysroot matching the current sources, built if missing
    (DESIGN.md section 3: built once from upstream musl and cached).

    ``$SCONE_SYSROOT`` overrides everything and is used as is. A sysroot
    directory exists only once complete (it is renamed into place), so its
    existence is the whole check here.
    """
    override = os.environ.get("SCONE_SYSROOT")
    if override:
        p = Path(override)
        if not (p / "lib" / "libc.a").is_file():
            raise SconeError(f"SCONE_SYSROOT={override}: no lib/libc.a there; "
                             "unset SCONE_SYSROOT to use the built-in sysroot")
        return p
    key2 = stage2_key(stage1_key())
    path = sysroot_path(key2)
    try:
        mtime = os.stat(path).st_mtime
    except OSError:  # missing, or an unusable cache: build() says which
        return build()
    # Mark it in use (at most every few minutes) so that pruning spares it.
    if time.time() - mtime > 300:
        with contextlib.suppress(OSError):
            os.utime(path)
    return path


def build(force: bool = False) -> Path:
    """Build (or find) the sysroot for the current sources and return its path."""
    from . import sysroot_build

    return sysroot_build.build(force=force)


def main(argv=None) -> None:
    """``python -m scone_cc.sysroot [--rebuild]``: print (building if needed) the sysroot."""
    import sys

    from .errors import run_cli

    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--rebuild"]):
        sys.stderr.write("usage: python -m scone_cc.sysroot [--rebuild]\n")
        sys.exit(2)
    path = run_cli("scone-sysroot", build if args else current, *([True] if args else []))
    print(path)


if __name__ == "__main__":
    main()
