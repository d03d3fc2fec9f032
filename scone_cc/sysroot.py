"""The scone sysroot: patched musl + runtime, built once and cached.

``current()`` runs on every scone-gcc invocation, so this module imports only
the stdlib, and only the cheap parts of it on the fast path: the key of the
sources is remembered in a stamp file together with the (size, mtime) of
every input, and recomputed from content only when one of those changes.
The build machinery (scone_cc.sysroot_build, rich) is imported only when a
build is needed.

Layout of a sysroot (``<cache>/sysroot-<key16>/``, see DESIGN.md section 3):
``include/`` (musl headers, ``scone/``), ``lib/`` (libc.a, crt objects,
runtime archives, linker scripts), ``libexec/`` (scone-starter),
``manifest.json``.
"""

import os
import time
from pathlib import Path

from . import paths
from .errors import SconeError

# Bump when the build steps change in a way the inputs below do not show.
RECIPE_VERSION = "2"   # 2: musl built with -fno-tree-sink (sysroot_build.MUSL_CFLAGS)

# The folders whose content makes up the key: stage 1, then stage 2. The
# starter compiles the kernel module's user library and uapi header in
# (runtime/untrusted/part.mk), so they are stage-2 inputs too; a wheel
# carries the same folders (pyproject.toml's force-include).
STAGE1_TREES = ("libc_patch",)
STAGE2_TREES = ("runtime", "linker_scripts", "kmod/lib", "kmod/uapi")

STAMP_VERSION = "scone-sysroot-stamp 1"
# File-system timestamps advance in clock ticks, not nanoseconds: a file
# rewritten (same size) in the tick that stamped it keeps its mtime. Inputs
# whose mtime is this close to the stamp's own time are therefore re-hashed
# (git's "racily clean" rule) until a later stamp is out of that window.
RACY_NS = 2_000_000_000


def _tree(root: Path, folder: str) -> tuple[list[str], list[str]]:
    """The directories and regular files under ``root/folder`` that make up the key.

    Directories count for the stamp: adding, removing or renaming an entry
    changes their mtime, so the stamp need not list them anew.
    """
    dirs, files = [], []
    for dirpath, dirnames, filenames in os.walk(root / folder):
        dirnames[:] = [d for d in dirnames if d != "__pycache__" and not d.startswith(".")]
        dirs.append(dirpath)
        files.extend(os.path.join(dirpath, f) for f in filenames if not f.startswith("."))
    return dirs, sorted(files)


def _hash_tree(h, root: Path, folder: str) -> None:
    """Feed every regular file under ``root/folder`` (path + content) to ``h``."""
    for f in _tree(root, folder)[1]:
        rel = os.path.relpath(f, root)
        with open(f, "rb") as fh:
            data = fh.read()
        h.update(b"%s\0%d\0" % (rel.encode(), len(data)))
        h.update(data)


def gcc_version() -> str:
    """``gcc -dumpfullversion``: part of the stage-1 key (objects depend on it)."""
    import subprocess

    try:
        out = subprocess.run(["gcc", "-dumpfullversion"], capture_output=True, text=True)
    except FileNotFoundError:
        raise SconeError("gcc not found in PATH; install it (apt-get install gcc) "
                         "or point PATH at a gcc") from None
    return out.stdout.strip()


def stage1_key(root: Path | None = None) -> str:
    """Key of the patched musl: tarball, overlay files, recipe, gcc version."""
    import hashlib

    from .musl_source import MUSL_SHA256

    root = root or paths.data_root()
    h = hashlib.sha256()
    h.update(f"musl {MUSL_SHA256}\0recipe {RECIPE_VERSION}\0gcc {gcc_version()}\0".encode())
    for folder in STAGE1_TREES:
        _hash_tree(h, root, folder)
    return h.hexdigest()


def stage2_key(key1: str, root: Path | None = None) -> str:
    """Key of the whole sysroot: stage-1 key + runtime/ and linker_scripts/."""
    import hashlib

    root = root or paths.data_root()
    h = hashlib.sha256()
    h.update(f"stage1 {key1}\0".encode())
    for folder in STAGE2_TREES:
        _hash_tree(h, root, folder)
    return h.hexdigest()


def sysroot_path(key2: str, cache: Path | None = None) -> Path:
    """Where the sysroot with key ``key2`` lives in the cache."""
    return (cache or paths.cache_dir()) / f"sysroot-{key2[:16]}"


def _which_gcc() -> str | None:
    """The file ``gcc`` resolves to through PATH (as gcc_version() runs it), or None."""
    for d in os.environ.get("PATH", os.defpath).split(os.pathsep):
        cand = os.path.join(d or ".", "gcc")
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return os.path.realpath(cand)
    return None


def _stamp_path(root: Path, cache: Path) -> Path:
    return cache / "driver" / ("sysroot-key" + str(root).replace(os.sep, "_") + ".stamp")


def _constant_files() -> list[str]:
    """The modules that hold the key's constants (RECIPE_VERSION, MUSL_SHA256)."""
    here = os.path.dirname(os.path.abspath(__file__))
    return [os.path.join(here, "sysroot.py"), os.path.join(here, "musl_source.py")]


def _stamp_inputs(root: Path, gcc: str | None) -> list[str]:
    """Every path whose (size, mtime) vouches for the key: the trees, their
    directories, the modules holding the key's constants, and gcc."""
    out = _constant_files() + ([gcc] if gcc else [])
    for folder in STAGE1_TREES + STAGE2_TREES:
        dirs, files = _tree(root, folder)
        out += dirs + files
    return out


def _stamp_key(stamp: Path, root: Path, gcc: str | None) -> str | None:
    """The key the stamp holds if every input it lists is as it was, else None."""
    valid = _valid_stamp(stamp, root, gcc)
    return valid[0] if valid else None


def _valid_stamp(stamp: Path, root: Path, gcc: str | None):
    """(key, [(path, size, mtime_ns)]) of the stamp if every input it lists
    is as it was, else None."""
    try:
        with open(stamp, encoding="utf-8", errors="surrogateescape") as f:
            fields = f.read().split("\0")
    except OSError:
        return None
    # version, root, gcc, written_ns, key, count, then count (path, size, mtime_ns)
    # triples, then "" (the text ends in NUL): a cut-off stamp never validates.
    if len(fields) < 7 or fields[:3] != [STAMP_VERSION, str(root), str(gcc)] \
            or fields[5] != str((len(fields) - 7) // 3) or (len(fields) - 7) % 3 or fields[-1]:
        return None
    try:
        fresh_before = int(fields[3]) - RACY_NS
        inputs = []
        for i in range(6, len(fields) - 1, 3):
            size, mtime = int(fields[i + 1]), int(fields[i + 2])
            st = os.stat(fields[i])
            if st.st_size != size or st.st_mtime_ns != mtime or mtime >= fresh_before:
                return None
            inputs.append((fields[i], size, mtime))
    except (OSError, ValueError):
        return None
    return fields[4], inputs


def _write_stamp(stamp: Path, root: Path, gcc: str | None, written_ns: int,
                 key: str, stats: list) -> None:
    parts = [STAMP_VERSION, str(root), str(gcc), str(written_ns), key, str(len(stats))]
    for path, st in stats:
        parts += [path, str(st.st_size), str(st.st_mtime_ns)]
    try:
        from .fsutil import atomic_write

        stamp.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(stamp, ("\0".join(parts) + "\0").encode("utf-8", "surrogateescape"))
    except OSError:
        pass  # a read-only cache only costs the content hash next time


def current_key(root: Path | None = None, cache: Path | None = None) -> str:
    """The stage-2 key of the sources under ``root``: ``stage2_key(stage1_key(root), root)``.

    Cheap when nothing changed: the inputs are only stat'ed against the
    stamp kept in ``cache``. Any change of size or mtime (or a recent
    mtime, see RACY_NS) makes it hash the content again and rewrite the stamp,
    so a touched but unchanged file keeps its key and an edited one never does.
    """
    root = Path(root or paths.data_root())
    cache = Path(cache or paths.cache_dir())
    gcc = _which_gcc()
    stamp = _stamp_path(root, cache)
    key = _stamp_key(stamp, root, gcc)
    if key is not None:
        return key
    # Stat before hashing: an edit during the hash leaves a stale stat behind,
    # which the next call notices.
    written_ns = time.time_ns()
    stats = []
    for path in _stamp_inputs(root, gcc):
        try:
            stats.append((path, os.stat(path)))
        except OSError:
            stats = None  # vanished while listed: do not remember this round
            break
    key = stage2_key(stage1_key(root), root)
    if stats is not None:
        _write_stamp(stamp, root, gcc, written_ns, key, stats)
    return key


def stamped_inputs(root: Path | None = None, cache: Path | None = None):
    """What vouches for ``current_key()`` without hashing: (key, gcc,
    [(path, size, mtime_ns)]) when the stamp is valid now, else None.

    Every input's mtime is then older than the stamp by RACY_NS, so while
    each keeps its size and mtime, the key stays the same (scone_cc.driver.fast
    records them for the compile path's launcher).
    """
    root = Path(root or paths.data_root())
    cache = Path(cache or paths.cache_dir())
    gcc = _which_gcc()
    valid = _valid_stamp(_stamp_path(root, cache), root, gcc)
    return (valid[0], gcc, valid[1]) if valid else None


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
    path = sysroot_path(current_key())
    try:
        mtime = os.stat(path).st_mtime
    except OSError:  # missing, or an unusable cache: build() says which
        return build()
    # Mark it in use (at most every few minutes) so that pruning spares it.
    if time.time() - mtime > 300:
        try:
            os.utime(path)
        except OSError:
            pass
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
