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


def _remove_stale(cache: Path) -> None:
    """Drop leftovers of builds that died: safe, we hold the build lock."""
    for p in cache.glob(".tmp-*"):
        shutil.rmtree(p, ignore_errors=True)


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
                             "install the build tools with `sh setup.sh`") from None
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
            # Compiler command echoes drown the diagnostics: leave them out.
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
    done = []
    for dirpath, dirnames, filenames in os.walk(overlay):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "__pycache__"]
        for name in filenames:
            if name.startswith("."):
                continue
            src = Path(dirpath) / name
            rel = src.relative_to(overlay)
            dst = tree / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            done.append(str(rel))
    return sorted(done)


def _extract(tarball: Path, dest: Path) -> Path:
    with tarfile.open(tarball) as tf:
        tf.extractall(dest, filter="data")
    top = dest / f"musl-{musl_source.MUSL_VERSION}"
    if not (top / "configure").is_file():
        raise SconeError(f"{tarball}: no musl-{musl_source.MUSL_VERSION}/configure inside; "
                         f"{musl_source.FIX}")
    return top


def _stage1(root: Path, cache: Path, key1: str, run: _Runner, progress: Progress) -> tuple[Path, list]:
    """Patched musl, installed into ``<cache>/musl-<key16>``."""
    final = cache / f"musl-{key1[:16]}"
    overlay_files = sorted(str(p.relative_to(root / "libc_patch"))
                           for p in (root / "libc_patch").rglob("*") if p.is_file())
    if final.is_dir():
        return final, overlay_files
    progress.phase("fetching musl source")
    tarball = musl_source.tarball(cache)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-musl-", dir=cache))
    try:
        progress.phase("extracting pristine musl")
        src = _extract(tarball, tmp / "src")
        progress.phase("applying overlay")
        overlay_files = apply_overlay(root / "libc_patch", src)
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
    return final, overlay_files


def _stage2(root: Path, cache: Path, musl: Path, key1: str, key2: str,
            overlay_files: list, run: _Runner, progress: Progress) -> Path:
    """Runtime archives + musl assembled into ``<cache>/sysroot-<key16>``."""
    final = sysroot.sysroot_path(key2, cache)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-sysroot-", dir=cache))
    try:
        out = tmp / "out"
        out.mkdir()
        progress.phase("building the scone runtime")
        run.run("runtime make", ["make", f"-j{JOBS}", "-C", str(root / "runtime"),
                                 f"MUSL={musl}", f"O={out}"], root / "runtime")
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
            "gcc": sysroot._gcc_version(),
            "musl_cflags": MUSL_CFLAGS,
            "stage1_key": key1,
            "key": key2,
            "overlay": overlay_files,
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
                musl, overlay_files = _stage1(root, cache, key1, run, progress)
                path = _stage2(root, cache, musl, key1, key2, overlay_files, run, progress)
                progress.done(f"sysroot ready: {path}")
        finally:
            run.close()
    return path
