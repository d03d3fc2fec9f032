"""Building the sysroot: stage 1 (patched musl), stage 2 (runtime), assembly.

Everything is built in a temporary directory inside the cache and renamed
into place only once complete, under an fcntl lock, so an interrupted or
failed build leaves nothing that ``sysroot.current()`` would trust and two
concurrent scone-gcc processes never build into the same directory.
"""

import contextlib
import fcntl
import glob
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from . import musl_source, paths, sysroot
from .build_progress import Progress
from .errors import SconeError
from .fsutil import atomic_write

JOBS = "2"
MUSL_CFLAGS = "-O2 -fPIC -fno-stack-protector"
# The build must not see the user's compiler settings: CC=scone-gcc in the
# environment would recurse, and a parent make's jobserver flags do not apply.
_SCRUB = ("CC", "CFLAGS", "CPPFLAGS", "LDFLAGS", "LIBS", "CROSS_COMPILE", "AR",
          "RANLIB", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "GNUMAKEFLAGS")
# Command echoes in the build log, left out of the tail shown on failure.
_ECHO = re.compile(r"^(gcc|cc|ar|ranlib|rm|mkdir|cp|ln|install|\S+/install\.sh|sh) .*")


def _build_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env["CC"] = "gcc"
    env["LC_ALL"] = "C"
    return env


@contextlib.contextmanager
def _locked(cache: Path):
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".build.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


KEEP_SYSROOTS = 4
# A sysroot used this recently may still be in use (current() touches it).
PRUNE_AFTER_S = 3600


def _remove_stale(cache: Path) -> None:
    """Drop leftovers of builds that died: safe, we hold the build lock."""
    for p in cache.glob(".tmp-*"):
        shutil.rmtree(p, ignore_errors=True)


def _discard(path: Path) -> None:
    """Remove a cache entry: renamed away first, so it is never seen half-deleted."""
    doomed = path.with_name(f".tmp-gone-{path.name}")
    try:
        os.rename(path, doomed)
    except OSError:
        return
    shutil.rmtree(doomed, ignore_errors=True)


def prune(cache: Path, keep: Path) -> list[str]:
    """Keep ``keep``, the newest other sysroots (KEEP_SYSROOTS in all), any
    used in the last PRUNE_AFTER_S seconds, and the stage-1 builds they use;
    remove the rest. Call with the lock held.

    Every change under runtime/ makes a new sysroot, so without this the
    cache grows by a few MB per edit.
    """
    now = time.time()
    sysroots = sorted(((p, p.stat().st_mtime) for p in cache.glob("sysroot-*") if p != keep),
                      key=lambda pm: pm[1], reverse=True)
    old = [p for i, (p, mtime) in enumerate(sysroots)
           if i >= KEEP_SYSROOTS - 1 and now - mtime > PRUNE_AFTER_S]
    kept = [keep] + [p for p, _ in sysroots if p not in old]
    removed = []
    for p in old:
        _discard(p)
        with contextlib.suppress(FileNotFoundError):
            (cache / "logs" / f"{p.name}.log").unlink()
        removed.append(p.name)
    used = set()
    for p in kept:
        with contextlib.suppress(OSError, ValueError, KeyError):
            used.add(json.loads((p / "manifest.json").read_text())["stage1_key"][:16])
    for m in cache.glob("musl-*"):
        if m.name[len("musl-"):] not in used:
            _discard(m)
            removed.append(m.name)
    return removed


def overlay_files(overlay: Path) -> list[str]:
    """The overlay's files, relative to it (the same set the stage-1 key hashes)."""
    base = overlay
    out = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "__pycache__"]
        out.extend(str((Path(dirpath) / f).relative_to(base))
                   for f in filenames if not f.startswith("."))
    return sorted(out)


class _Runner:
    """Runs build commands, appending to one log; failures become SconeError."""

    def __init__(self, log_path: Path, progress: Progress):
        self.log_path = log_path
        self.progress = progress
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(log_path, "w")

    def close(self):
        self.log.close()

    def run(self, what: str, cmd, cwd, count=None):
        self.log.write(f"$ {' '.join(map(str, cmd))}   (in {cwd})\n")
        self.log.flush()
        try:
            proc = subprocess.Popen(cmd, cwd=cwd, env=_build_env(), stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, errors="replace")
        except OSError as err:
            raise SconeError(f"sysroot build: {what}: cannot run {cmd[0]} ({err.strerror}); "
                             "install the build tools (apt-get install build-essential)") from None
        for line in proc.stdout:
            self.log.write(line)
            if count and count.search(line):
                self.progress.advance()
        rc = proc.wait()
        self.log.flush()
        if rc != 0:
            self.fail(f"{what} failed (exit {rc})")

    def fail(self, message: str):
        self.log.flush()
        with open(self.log_path, errors="replace") as f:
            # Command echoes drown the diagnostics.
            tail = [ln for ln in f if not _ECHO.match(ln)][-15:]
        tail_text = "".join("    " + line for line in tail).rstrip()
        raise SconeError(f"sysroot build: {message}; last lines of the log:\n{tail_text}\n"
                         f"  full log: {self.log_path}; fix the cause and run the command "
                         "again (nothing from this build was kept)")


def _musl_object_count(src: Path) -> int:
    """How many objects musl's Makefile compiles (its own glob rules)."""
    base = {p[:-2] for p in glob.glob(str(src / "src/*/*.c"))}
    arch = {os.path.splitext(p)[0] for pat in ("*.c", "*.s", "*.S")
            for p in glob.glob(str(src / "src/*/x86_64" / pat))}
    replaced = {p.replace("/x86_64/", "/") for p in arch}
    crt = glob.glob(str(src / "crt/*.c")) + glob.glob(str(src / "crt/x86_64/*.s"))
    return len(base - replaced) + len(arch) + len(crt)


def apply_overlay(overlay: Path, tree: Path) -> list[str]:
    """Copy every file of ``overlay`` over the same path in ``tree`` (a copy of upstream).

    Returns the overlaid relative paths. Implements the overlay rule of
    issue 2: files mirror musl's paths one for one.
    """
    done = overlay_files(overlay)
    for rel in done:
        dst = tree / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(overlay / rel, dst)
    return done


def _extract(tarball: Path, dest: Path) -> Path:
    with tarfile.open(tarball) as tf:
        tf.extractall(dest, filter="data")
    top = dest / f"musl-{musl_source.MUSL_VERSION}"
    if not (top / "configure").is_file():
        raise SconeError(f"{tarball}: no musl-{musl_source.MUSL_VERSION}/configure inside; "
                         f"{musl_source.fix_text()}")
    return top


def _stage1(root: Path, cache: Path, key1: str, run: _Runner, progress: Progress) -> tuple[Path, list]:
    """Patched musl, installed into ``<cache>/musl-<key16>``."""
    final = cache / f"musl-{key1[:16]}"
    overlaid = overlay_files(root / "libc_patch")
    if final.is_dir():
        return final, overlaid
    progress.phase("fetching musl source")
    tarball = musl_source.tarball(cache)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-musl-", dir=cache))
    try:
        progress.phase("extracting pristine musl")
        src = _extract(tarball, tmp / "src")
        progress.phase("applying overlay")
        overlaid = apply_overlay(root / "libc_patch", src)
        prefix = tmp / "prefix"
        progress.phase("configuring musl")
        run.run("musl configure", ["./configure", f"--prefix={prefix}", "--disable-shared",
                                   "--disable-wrapper",
                                   f"CFLAGS={MUSL_CFLAGS}"], src)
        progress.phase("compiling musl", total=_musl_object_count(src))
        run.run("musl make", ["make", f"-j{JOBS}"], src, count=re.compile(r" -c -o obj/"))
        progress.phase("installing musl")
        run.run("musl make install", ["make", "install"], src)
        if not (prefix / "lib" / "libc.a").is_file():
            run.fail("musl install produced no lib/libc.a")
        os.rename(prefix, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final, overlaid


def _stage2(root: Path, cache: Path, musl: Path, key1: str, key2: str,
            overlaid: list, run: _Runner, progress: Progress) -> Path:
    """Runtime archives + musl assembled into ``<cache>/sysroot-<key16>``."""
    final = sysroot.sysroot_path(key2, cache)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-sysroot-", dir=cache))
    try:
        out = tmp / "out"
        out.mkdir()
        progress.phase("building the scone runtime")
        # `all` named: a part's first rule must not become the default goal.
        run.run("runtime make", ["make", f"-j{JOBS}", "-C", str(root / "runtime"),
                                 f"MUSL={musl}", f"O={out}", "all"], root / "runtime")
        progress.phase("assembling the sysroot")
        sr = tmp / "sysroot"
        shutil.copytree(musl / "include", sr / "include", symlinks=True)
        scone_inc = root / "runtime" / "include" / "scone"
        if scone_inc.is_dir():
            shutil.copytree(scone_inc, sr / "include" / "scone")
        shutil.copytree(musl / "lib", sr / "lib", symlinks=True)
        runtime_outputs = []
        for a in sorted(out.glob("*.a")):
            shutil.copy2(a, sr / "lib" / a.name)
            runtime_outputs.append(f"lib/{a.name}")
        starter = out / "scone-starter"
        if starter.is_file():
            (sr / "libexec").mkdir()
            shutil.copy2(starter, sr / "libexec" / starter.name)
            runtime_outputs.append("libexec/scone-starter")
        for ld in sorted((root / "linker_scripts").glob("*.ld")):
            shutil.copy2(ld, sr / "lib" / ld.name)
            runtime_outputs.append(f"lib/{ld.name}")
        manifest = {
            "musl_version": musl_source.MUSL_VERSION,
            "musl_sha256": musl_source.MUSL_SHA256,
            "recipe": sysroot.RECIPE_VERSION,
            "gcc": sysroot.gcc_version(),
            "musl_cflags": MUSL_CFLAGS,
            "stage1_key": key1,
            "key": key2,
            "overlay": overlaid,
            "runtime_outputs": runtime_outputs,
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        atomic_write(sr / "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode())
        old = None
        if final.exists():
            old = tmp / "old"
            os.rename(final, old)
        os.rename(sr, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def build(force: bool = False, root: Path | None = None, cache: Path | None = None) -> Path:
    """Build the sysroot for the sources under ``root`` into ``cache`` (issue 2, item 2)."""
    root = root or paths.data_root()
    cache = cache or paths.cache_dir()
    key1 = sysroot.stage1_key(root)
    key2 = sysroot.stage2_key(key1, root)
    final = sysroot.sysroot_path(key2, cache)
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SconeError(f"{cache}: cannot create the scone cache ({err.strerror}); "
                         "set SCONE_CACHE to a writable directory") from None
    try:
        return _build_locked(root, cache, key1, key2, final, force)
    except OSError as err:
        where = f" ({err.filename})" if err.filename else ""
        raise SconeError(f"sysroot build: {err.strerror or err}{where}; check that {cache} is "
                         "writable and has free space, or set SCONE_CACHE elsewhere") from None


def _build_locked(root: Path, cache: Path, key1: str, key2: str, final: Path,
                  force: bool) -> Path:
    with _locked(cache):
        if final.is_dir() and not force:
            return final
        _remove_stale(cache)
        if force:
            musl_dir = cache / f"musl-{key1[:16]}"
            if musl_dir.is_dir():
                os.rename(musl_dir, cache / f".tmp-old-{key1[:16]}")
                _remove_stale(cache)
        progress = Progress()
        run = _Runner(cache / "logs" / f"sysroot-{key2[:16]}.log", progress)
        try:
            with progress:
                musl, overlaid = _stage1(root, cache, key1, run, progress)
                path = _stage2(root, cache, musl, key1, key2, overlaid, run, progress)
                progress.done(f"sysroot ready: {path}")
            prune(cache, path)
        finally:
            run.close()
    return path
