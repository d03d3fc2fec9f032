"""The link path: a static musl executable (native) or a signed enclave binary.

``{lib}`` is the sysroot's lib dir, ``{gcc}`` the host gcc's libdir. Names
ending in ``?`` are linked only if present.
"""

import contextlib
import os
import subprocess
import tempfile
from pathlib import Path

from scone_cc.errors import SconeError

# The enclave image's link shape (DESIGN.md §3 (1), issue 3): a static-pie
# laid out by enclave.ld. The enclave runtime's authors own these values.
ENCLAVE_LDFLAGS = (
    "-static-pie",
    "-Wl,-T,{lib}/enclave.ld",
    "-Wl,-z,text",
    "-Wl,--build-id",
)
ENCLAVE_START = ("{lib}/crti.o", "{gcc}/crtbeginS.o")
ENCLAVE_LIBS = ("{lib}/libscone-sched.a?", "{lib}/libscone-enclave.a", "{lib}/libc.a", "{gcc}/libgcc.a", "{gcc}/libgcc_eh.a")
ENCLAVE_END = ("{gcc}/crtendS.o", "{lib}/crtn.o")

# A static musl program, as gcc itself links -static (crtbeginT.o and the
# libc/libgcc group) but with musl's crt files and libc.
NATIVE_LDFLAGS = ("-static",)
NATIVE_START = ("{lib}/crt1.o", "{lib}/crti.o", "{gcc}/crtbeginT.o")
NATIVE_END = ("{gcc}/crtend.o", "{lib}/crtn.o")
# -static-pie: musl's self-relocating rcrt1.o and the PIC crtbegin/end.
NATIVE_PIE_LDFLAGS = ("-static-pie",)
NATIVE_PIE_START = ("{lib}/rcrt1.o", "{lib}/crti.o", "{gcc}/crtbeginS.o")
NATIVE_PIE_END = ("{gcc}/crtendS.o", "{lib}/crtn.o")
# The hook library defines __scone_syscall for the native (SCONE-sync) libc.
NATIVE_LIBS = ("{lib}/libc.a", "{lib}/libscone-native.a?", "{gcc}/libgcc.a", "{gcc}/libgcc_eh.a")

# Options that make gcc link libgcov (its LINK_COMMAND_SPEC).
_PROFILING = ("--coverage", "-fprofile-arcs", "-fprofile-generate")

LIBC_NAMES = ("libc.a", "libscone-native.a", "libscone-enclave.a")


def _files(templates, lib: str, gcc: str, *, skip_libc: bool = False) -> list[str]:
    out = []
    for t in templates:
        optional = t.endswith("?")
        path = t.rstrip("?").format(lib=lib, gcc=gcc)
        if skip_libc and os.path.basename(path) in LIBC_NAMES:
            continue
        if not os.path.exists(path):
            if optional:
                continue
            raise SconeError(
                f"{path}: missing from the toolchain; rebuild the sysroot "
                "(remove it as printed by scone-gcc -print-sysroot) or reinstall gcc")
        out.append(path)
    return out


def specs_text(lib: str, gcc_libdir: str) -> str:
    """A gcc specs file whose library search is the sysroot's, not the host's.

    Overriding ``link_libgcc`` (as musl-gcc does) drops gcc's default -L
    dirs, so ``-lfoo`` can never pick up a glibc-built /usr/lib archive.
    """
    return f"*link_libgcc:\n-L{lib} -L{gcc_libdir}\n\n"


def link_argv(inv, *, gcc: str, sysroot: str, gcc_libdir: str, cflags: list[str],
              specs: str, output: str, enclave: bool, crypto: str | None = None,
              tls: bool = False) -> list[str]:
    """The gcc argv of the link (DESIGN.md §3 (1)); a pure function but for file checks.

    Start files, then the user's words in their order (sources are compiled
    by gcc in the same call), then libc, the hook library and libgcc in one
    group, then the end files. ``-nostartfiles``, ``-nodefaultlibs``,
    ``-nolibc`` and ``-nostdlib`` drop their parts as with gcc.

    ``crypto``: the shields' crypto archive (DESIGN.md §8), first in the
    group, with ``--gc-sections`` so that only what is reached of OpenSSL
    stays; a link without it is unchanged. ``tls``: the network shield's
    policy needs the TLS engine, which the runtime names only weakly (so
    that a link without the archive still works): name it for ld.
    """
    lib = sysroot + "/lib"
    if enclave:
        ldflags = [f.format(lib=lib, gcc=gcc_libdir) for f in ENCLAVE_LDFLAGS]
        start, libs, end = ENCLAVE_START, ENCLAVE_LIBS, ENCLAVE_END
    elif "-static-pie" in inv.driver:
        ldflags, start, libs, end = list(NATIVE_PIE_LDFLAGS), NATIVE_PIE_START, NATIVE_LIBS, NATIVE_PIE_END
    else:
        ldflags, start, libs, end = list(NATIVE_LDFLAGS), NATIVE_START, NATIVE_LIBS, NATIVE_END
    if any(w in _PROFILING or w.startswith("-fprofile-generate") for w in inv.link_args):
        # gcc adds -lgcov after every input, so after the libc group it needs.
        libs = ("{gcc}/libgcov.a", *libs)
    no_start = "-nostartfiles" in inv.driver or "-nostdlib" in inv.driver
    no_libs = "-nodefaultlibs" in inv.driver or "-nostdlib" in inv.driver
    no_libc = "-nolibc" in inv.driver

    # -Wl,-nostdlib: ld also has built-in SEARCH_DIRs (/usr/lib/...) that
    # would find glibc-built archives the specs file keeps gcc from naming.
    if crypto:
        ldflags = [*ldflags, "-Wl,--gc-sections", *(["-Wl,--undefined=__scone_tls_new"] if tls else [])]
    argv = [gcc, f"-specs={specs}", *ldflags, "-nostdlib", "-Wl,-nostdlib", *cflags]
    if not no_start:
        argv += _files(start, lib, gcc_libdir)
    argv += inv.link_args
    # The files we append must not be read in a language the user chose
    # with -x for the files before them.
    argv += ["-x", "none"] if any(w == "-x" or w.startswith("-x") for w in inv.link_args) else []
    if not no_libs:
        argv += ["-Wl,--start-group", *([crypto] if crypto else []),
                 *_files(libs, lib, gcc_libdir, skip_libc=no_libc), "-Wl,--end-group"]
    if not no_start:
        argv += _files(end, lib, gcc_libdir)
    return argv + ["-o", output]


_NOT_COMPILED = (".o", ".a", ".so", ".lo", ".obj")


def dumpdir(output: str, inputs) -> str:
    """The ``-dumpdir`` gcc would choose for a compile-and-link to ``output``.

    The enclave image is linked to a temporary name; aux outputs named after
    it (``--coverage``'s .gcno/.gcda, ``-save-temps``, ``.su``) must carry
    the user's output name as with gcc (gcc 11+): ``<dir>/<stem>-``, or
    just ``<dir>/`` when the one source has the output's stem.
    """
    where, base = os.path.split(output)
    stem = os.path.splitext(base)[0]
    sources = [i for i in inputs if i != "-" and not i.endswith(_NOT_COMPILED)]
    prefix = where + os.sep if where else ""
    if len(sources) == 1 and os.path.splitext(os.path.basename(sources[0]))[0] == stem:
        return prefix or "." + os.sep
    return prefix + stem + "-"


def _specs_file(cache_root: str, lib: str, gcc_libdir: str) -> str:
    text = specs_text(lib, gcc_libdir)
    name = "link" + lib.replace(os.sep, "_") + ".specs"
    path = os.path.join(cache_root, "driver", name)
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return path
    except OSError:
        pass
    from scone_cc.fsutil import atomic_write

    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write(path, text.encode())
    except OSError as err:
        raise SconeError(f"{path}: cannot write the link specs ({err.strerror}); "
                         "make the scone cache writable or set SCONE_CACHE") from None
    return path


def warn(lines, prog: str = "scone-gcc") -> None:
    """Print library warnings, one ``scone-gcc: warning: ...`` line each."""
    import sys

    for line in lines:
        sys.stderr.write(f"{prog}: warning: {line}\n")
    sys.stderr.flush()


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (gcc -> collect2 -> ld), deepest first."""
    out = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            continue
        for kid in kids:
            out += _descendants(kid) + [kid]
    return out


def _subreaper() -> None:
    """Become the parent of our orphans (PR_SET_CHILD_SUBREAPER), so that an
    ld whose gcc was killed is still ours to find and stop."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)


def _stop_all() -> None:
    """SIGKILL every descendant until none is left: one forked while we list
    them becomes ours (subreaper) and is found by the next round."""
    import signal
    import time

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        tree = _descendants(os.getpid())
        for pid in tree:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        while True:         # reap what died: zombies keep no file open, but count
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid = 0
            if pid == 0:
                break
        if not tree:
            return
        time.sleep(0.002)


def _run(argv) -> int:
    """Run gcc; if we are interrupted, stop it and everything it started.

    Killing gcc alone would leave ld running, and ld would write the image
    file after we removed it.
    """
    _subreaper()
    try:
        rc = subprocess.Popen(argv).wait()
    except OSError as err:
        raise SconeError(f"{argv[0]}: cannot run the host compiler ({err.strerror})") from None
    except BaseException:   # also inside Popen: gcc may be forked, not yet known
        _stop_all()
        raise
    return rc if rc >= 0 else 128 - rc


def link(inv, *, host, sysroot: str, cache_root: str, environ) -> int:
    """Link ``inv`` (DESIGN.md §3); returns the exit status gcc or the enclave step gave.

    Mode: native with ``--scone-native`` or ``SCONE_NATIVE=1``, else enclave
    when the sysroot has ``lib/libscone-enclave.a``, else native.
    """
    from scone_cc.driver.compile import CODEGEN, include_flags
    from scone_cc.driver.settings import link_settings

    settings = link_settings(inv.scone, environ)
    lib = sysroot + "/lib"
    enclave = not settings.native and os.path.exists(lib + "/libscone-enclave.a")
    output = inv.output or "a.out"
    crypto = None
    if settings.crypto:
        from scone_cc import crypto_build

        crypto = str(crypto_build.current(Path(sysroot)))
    common = dict(gcc=host.program, sysroot=sysroot, gcc_libdir=host.libdir, crypto=crypto,
                  tls=bool(settings.params.net),
                  cflags=[*CODEGEN, *include_flags(sysroot, host.include)],
                  specs=_specs_file(cache_root, lib, host.libdir))
    # Our start files and libraries are inputs too, so gcc would not name
    # aux outputs as it does for the user's words alone: say it.
    aux = [] if any(w.startswith(("-dumpdir", "-dumpbase")) for w in inv.args) \
        else ["-dumpdir", dumpdir(output, inv.inputs)]
    if not enclave:
        return _run(link_argv(inv, output=output, enclave=False, **common) + aux)

    from scone_cc.fsutil import new_temp, output_target

    # Before ld runs: an output that is an input, a directory, or in a
    # missing or unwritable folder is one line and exit 2, not ld's errors.
    target = output_target(output, inputs=inv.inputs)
    # -o /dev/null: the image never goes beside a device.
    folder = Path(tempfile.gettempdir()) if target.stream else target.path.parent
    try:
        image = str(new_temp(folder, f"{target.path.name}.enclave"))
    except OSError as err:
        raise SconeError(f"{output}: cannot write the output: folder {folder}: {err.strerror}; "
                         "choose another place") from None
    try:
        # The shields a signed policy names, and only those: shield.c reaches
        # each through weak references (an enclave links only what its
        # policy uses; the runtime refuses a policy naming one it lacks).
        from scone_cc.enclave import netpolicy

        modes = {mode for _, mode, _ in settings.params.fs}
        roots = [*(["__scone_enc_call"] if modes & {"encrypted", "authenticated"} else []),
                 *(["__scone_eph_fd_call"] if "ephemeral" in modes else []),
                 *(["__scone_net_call"] if settings.params.net else []),
                 *(["__scone_ratls_identity", "__scone_ratls_require"]
                   if netpolicy.uses_ratls(settings.params.net) else []),
                 *(["__scone_console_call"] if settings.params.console else [])]
        common["cflags"] = [*common["cflags"], *(f"-Wl,-u,{r}" for r in roots)]
        argv = link_argv(inv, output=image, enclave=True, **common)
        if settings.params.cas_key:
            # The attestation client (runtime/shield/cas) is reached only
            # through a weak reference in START: name it so ld keeps it.
            argv[1:1] = ["-Wl,-u,__scone_cas_main"]
        rc = _run(argv + aux)
        if rc:
            return rc
        from scone_cc.enclave.build import finish

        warnings = finish(Path(image), Path(output), sysroot=Path(sysroot), params=settings.params,
                          key=Path(settings.key) if settings.key else None, allow=settings.allow)
        warn(warnings)
        return 0
    finally:
        if os.path.exists(image):
            os.unlink(image)
