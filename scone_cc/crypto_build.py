"""The shields' crypto object: OpenSSL 3.0 for the enclave, built once and cached.

Two cache entries, each renamed into place only once complete (as the
sysroot's are):

* ``<cache>/openssl-<key16>/``: OpenSSL's ``lib/libcrypto.a``,
  ``lib/libssl.a`` and ``include/``, compiled against the sysroot's musl
  headers. Key: the source package's ``.dsc`` SHA-256, the configuration
  below, the patched musl (stage-1 key) and gcc. Minutes to build; no
  runtime edit rebuilds it.
* ``<cache>/scone-crypto-<key16>/lib/libscone-crypto.a``: our API
  (runtime/shield/crypto) with OpenSSL linked in and every symbol but the
  API made local. Key: the OpenSSL key and our sources. Seconds to build.

``current()`` is what a link calls: stat and hash a few small files, and
build only when an entry is missing. The build lock is our own, so a
sysroot build is never held up by OpenSSL's; our temporary folders are
named so that the sysroot's clean-up leaves them alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from . import paths
from .errors import SconeError

# Bump when the steps below change in a way the key does not show.
RECIPE_VERSION = "1"
JOBS = "2"

# linux-x86_64 with what an enclave cannot or must not do switched off:
# no shared objects, modules, DSOs or engines (one static image); no async
# (makecontext), no console UI (termios), no AF_ALG or kTLS (kernel crypto
# is outside the enclave), no secure heap (mlock/mmap of its own: enclave
# memory is already protected); no configuration file read at start
# (no-autoload-config) and random seed from getrandom only, which the
# runtime serves inside (no /dev/random, no egd). Legacy and weak
# algorithms go as in Debian's own build.
#
# Size: OpenSSL 3's default provider names every algorithm it has in its
# dispatch tables, so --gc-sections cannot drop an algorithm that is built
# in. What the shields and today's TLS peers do not need is left out here:
# DTLS, SRP, CT, OCSP, CMS, TS, CMP, SRTP, NPN, RFC 3779, the SM, GOST, ARIA,
# Camellia, SEED, Blowfish, CAST, RC2, RC4, DES, DSA, Whirlpool and MD4
# algorithms, binary-field curves, scrypt, OCB and SipHash. TLS keeps
# ECDHE/FFDHE, ECDSA/RSA/EdDSA, AES-GCM/CCM and ChaCha20-Poly1305.
CONFIG = (
    "linux-x86_64", "no-shared", "no-module", "no-dso", "no-engine", "no-async",
    "no-ui-console", "no-afalgeng", "no-ktls", "no-secure-memory", "no-tests",
    "no-legacy", "no-autoload-config", "no-comp", "no-zlib", "no-ssl3",
    "no-ssl3-method", "no-idea", "no-mdc2", "no-rc5", "no-capieng", "no-rdrand",
    "no-dtls", "no-srp", "no-ct", "no-ocsp", "no-cms", "no-ts", "no-cmp", "no-srtp",
    "no-nextprotoneg", "no-rfc3779", "no-sm2", "no-sm3", "no-sm4", "no-gost", "no-aria",
    "no-camellia", "no-seed", "no-bf", "no-cast", "no-rc2", "no-rc4", "no-des", "no-dsa",
    "no-whirlpool", "no-md4", "no-ec2m", "no-scrypt", "no-ocb", "no-siphash",
    "no-filenames",
    "enable-ec_nistp_64_gcc_128", "--with-rand-seed=getrandom",
    "--prefix=/usr/local", "--openssldir=/etc/ssl",
)
# Position-independent (a static-pie enclave image), one section per
# function and object (the enclave link's --gc-sections keeps what is used).
CFLAGS = ("-fPIE", "-ffunction-sections", "-fdata-sections", "-fstack-clash-protection")
EXPORT_PREFIXES = ("__scone_crypto_", "__scone_tls_")

GLUE_DIR = Path("runtime") / "shield" / "crypto"
API_HEADER = Path("runtime") / "include" / "scone" / "crypto.h"
KEEP = 3

_SCRUB = ("CC", "CFLAGS", "CPPFLAGS", "LDFLAGS", "LIBS", "CROSS_COMPILE", "AR", "RANLIB",
          "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "GNUMAKEFLAGS", "OPENSSL_CONF", "OPENSSL_ia32cap")


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(CC="gcc", LC_ALL="C")
    return env


def _stage1_key(sysroot: Path) -> str:
    try:
        return json.loads((sysroot / "manifest.json").read_text())["stage1_key"]
    except (OSError, ValueError, KeyError, TypeError):
        raise SconeError(f"{sysroot}/manifest.json: no stage1_key; rebuild the sysroot "
                         "(python -m scone_cc.sysroot --rebuild)") from None


def _gcc_version() -> str:
    from .sysroot import gcc_version

    return gcc_version()


def openssl_key(dsc_sha256: str, stage1: str, gcc: str) -> str:
    """Key of the OpenSSL build: source, configuration, musl headers, compiler."""
    h = hashlib.sha256()
    h.update(f"openssl {RECIPE_VERSION}\0dsc {dsc_sha256}\0config {' '.join(CONFIG)}\0"
             f"cflags {' '.join(CFLAGS)}\0stage1 {stage1}\0gcc {gcc}\0".encode())
    return h.hexdigest()


def glue_files(root: Path) -> list[Path]:
    """Our sources of the crypto object: the glue folder's code and Makefile, the API header."""
    files = [root / API_HEADER]
    for dirpath, dirnames, filenames in os.walk(root / GLUE_DIR):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        files += [Path(dirpath) / f for f in sorted(filenames)
                  if f == "Makefile" or f.endswith((".c", ".h", ".S"))]
    return files


def crypto_key(okey: str, root: Path) -> str:
    """Key of the crypto object: the OpenSSL key and our sources (path + content)."""
    h = hashlib.sha256()
    h.update(f"scone-crypto {RECIPE_VERSION}\0openssl {okey}\0".encode())
    for f in glue_files(root):
        data = f.read_bytes()
        h.update(b"%s\0%d\0" % (str(f.relative_to(root)).encode(), len(data)))
        h.update(data)
    return h.hexdigest()


@contextlib.contextmanager
def _locked(cache: Path):
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".crypto-build.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _tmpdir(cache: Path, what: str) -> Path:
    # Not ".tmp-*": the sysroot build removes those under its own lock.
    return Path(tempfile.mkdtemp(prefix=f".crypto-build-{what}-", dir=cache))


def _run(what: str, cmd, cwd, log, env=None) -> float:
    """Run ``cmd`` appending to ``log``; SconeError with the log's tail on failure."""
    t0 = time.monotonic()
    log.write(f"$ {' '.join(map(str, cmd))}   (in {cwd})\n")
    log.flush()
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env or _env(), stdout=log,
                              stderr=subprocess.STDOUT)
    except OSError as err:
        raise SconeError(f"crypto build: {what}: cannot run {cmd[0]} ({err.strerror}); "
                         "install the build tools with `sh setup.sh`") from None
    if proc.returncode != 0:
        log.flush()
        with open(log.name, errors="replace") as f:
            tail = [ln for ln in f if not re.match(r"^(gcc|ar|ranlib|perl|/usr/bin/perl) ", ln)]
        text = "".join("    " + ln for ln in tail[-15:]).rstrip()
        raise SconeError(f"crypto build: {what} failed (exit {proc.returncode}); last lines "
                         f"of the log:\n{text}\n  full log: {log.name}")
    return time.monotonic() - t0


def _say(text: str) -> None:
    import sys

    sys.stderr.write(f"scone: {text}\n")
    sys.stderr.flush()


def _prune(cache: Path, prefix: str, keep: Path) -> None:
    """Keep ``keep`` and the KEEP-1 newest other entries named ``prefix*``."""
    others = sorted((p for p in cache.glob(prefix + "*") if p != keep),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for p in others[KEEP - 1:]:
        doomed = cache / f".crypto-build-gone-{p.name}"
        with contextlib.suppress(OSError):
            os.rename(p, doomed)
            shutil.rmtree(doomed, ignore_errors=True)


def _build_openssl(cache: Path, sysroot: Path, final: Path, rec: dict, folder: Path,
                   log) -> None:
    from .openssl_source import unpack

    gcc_include = subprocess.run(["gcc", "-print-file-name=include"], capture_output=True,
                                 text=True).stdout.strip()
    tmp = _tmpdir(cache, "openssl")
    try:
        t0 = time.monotonic()
        _say(f"building OpenSSL {rec['version']} for the enclave (once; 2-6 minutes by load "
             "on 2 cores; later links use the cache)")
        tree = unpack(folder, rec, tmp)
        # Joined -isystem forms: Configure takes each word as one compiler flag.
        inc = ("-nostdinc", f"-isystem{sysroot}/include", f"-isystem{gcc_include}")
        _run("OpenSSL Configure", ["perl", "./Configure", *CONFIG, *CFLAGS, *inc], tree, log)
        _run("OpenSSL make build_libs", ["make", f"-j{JOBS}", "build_libs"], tree, log)
        out = tmp / "out"
        (out / "lib").mkdir(parents=True)
        for a in ("libcrypto.a", "libssl.a"):
            shutil.copy2(tree / a, out / "lib" / a)
        shutil.copytree(tree / "include" / "openssl", out / "include" / "openssl")
        manifest = {
            "package": "openssl", "version": rec["version"], "dsc": rec["dsc"],
            "dsc_sha256": rec["dsc_sha256"], "config": list(CONFIG), "cflags": list(CFLAGS),
            "sysroot_stage1_key": _stage1_key(sysroot), "gcc": _gcc_version(),
            "build_seconds": round(time.monotonic() - t0, 1),
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        os.rename(out, final)
        _say(f"OpenSSL built in {manifest['build_seconds']:.0f} s: {final}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def exported(obj: Path) -> tuple[list[str], list[str]]:
    """The global defined symbols of ``obj`` (an object or archive) that are ours,
    and those that are not (which must be none)."""
    proc = subprocess.run(["nm", "-g", "--defined-only", str(obj)], capture_output=True,
                          text=True, check=True)
    names = [ln.split()[-1] for ln in proc.stdout.splitlines()
             if len(ln.split()) == 3]
    ours = [n for n in names if n.startswith(EXPORT_PREFIXES)]
    return ours, [n for n in names if not n.startswith(EXPORT_PREFIXES)]


def _build_glue(root: Path, cache: Path, sysroot: Path, openssl: Path, final: Path,
                okey: str, log) -> None:
    tmp = _tmpdir(cache, "glue")
    try:
        out = tmp / "out"
        _run("scone crypto object", ["make", f"-j{JOBS}", "-C", str(root / GLUE_DIR),
                                     f"SYSROOT={sysroot}", f"OPENSSL={openssl}",
                                     f"O={tmp / 'work'}", "all"], root / GLUE_DIR, log)
        ours, leaked = exported(tmp / "work" / "libscone-crypto.a")
        if leaked or not ours:
            raise SconeError("crypto build: the crypto object exports "
                             f"{', '.join(leaked[:5]) or 'none of our API'}; only "
                             f"{'/'.join(p + '*' for p in EXPORT_PREFIXES)} may be global "
                             f"(see {GLUE_DIR}/Makefile)")
        (out / "lib").mkdir(parents=True)
        shutil.copy2(tmp / "work" / "libscone-crypto.a", out / "lib" / "libscone-crypto.a")
        manifest = json.loads((openssl / "manifest.json").read_text())
        manifest.update(openssl_key=okey, exports=sorted(ours),
                        built=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        os.rename(out, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def openssl_dir(sysroot: Path, cache: Path | None = None) -> Path:
    """The cached OpenSSL build for ``sysroot`` (libs + headers), built if missing.

    Tests link it unhidden, as a program with its own OpenSSL would.
    """
    return _ensure(Path(sysroot), Path(cache or paths.cache_dir()), glue=False)


def current(sysroot: Path, cache: Path | None = None, root: Path | None = None) -> Path:
    """``libscone-crypto.a`` for ``sysroot`` and the current sources, built if missing."""
    return _ensure(Path(sysroot), Path(cache or paths.cache_dir()), glue=True,
                   root=Path(root or paths.data_root())) / "lib" / "libscone-crypto.a"


def _ensure(sysroot: Path, cache: Path, glue: bool, root: Path | None = None) -> Path:
    from . import openssl_source

    stage1, gcc = _stage1_key(sysroot), _gcc_version()
    rec = openssl_source.recorded(cache)
    if rec:
        okey = openssl_key(rec["dsc_sha256"], stage1, gcc)
        odir = cache / f"openssl-{okey[:16]}"
        if odir.is_dir():
            if not glue:
                return odir
            cdir = cache / f"scone-crypto-{crypto_key(okey, root)[:16]}"
            if cdir.is_dir():
                return cdir
    try:
        with _locked(cache):
            for p in cache.glob(".crypto-build-*"):
                shutil.rmtree(p, ignore_errors=True)
            folder, rec = openssl_source.fetch(cache)
            okey = openssl_key(rec["dsc_sha256"], stage1, gcc)
            odir = cache / f"openssl-{okey[:16]}"
            logs = cache / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            with open(logs / f"openssl-{okey[:16]}.log", "a") as log:
                if not odir.is_dir():
                    _build_openssl(cache, sysroot, odir, rec, folder, log)
                    _prune(cache, "openssl-", odir)
                if not glue:
                    return odir
                cdir = cache / f"scone-crypto-{crypto_key(okey, root)[:16]}"
                if not cdir.is_dir():
                    _build_glue(root, cache, sysroot, odir, cdir, okey, log)
                    _prune(cache, "scone-crypto-", cdir)
                return cdir
    except OSError as err:
        where = f" ({err.filename})" if err.filename else ""
        raise SconeError(f"crypto build: {err.strerror or err}{where}; check that {cache} is "
                         "writable and has free space, or set SCONE_CACHE elsewhere") from None


def main(argv=None) -> None:
    """``python -m scone_cc.crypto_build``: print (building if needed) the crypto object."""
    import sys

    from . import sysroot as sysroot_mod
    from .errors import run_cli

    if (sys.argv[1:] if argv is None else argv):
        sys.stderr.write("usage: python -m scone_cc.crypto_build\n")
        sys.exit(2)
    print(run_cli("scone-crypto", lambda: current(sysroot_mod.current())))


if __name__ == "__main__":
    main()
