"""Facts about the host gcc that the driver needs on every call, cached.

Asking gcc (``-print-libgcc-file-name``, ``-print-file-name=include``) costs
two processes; the answer only changes when gcc does, so it is kept in the
cache keyed by gcc's resolved path, size and mtime.
"""

import os
from collections import namedtuple

from scone_cc.errors import SconeError

# ``libdir`` holds libgcc.a, libgcc_eh.a and the crtbegin/crtend objects;
# ``include`` is gcc's own header dir (stddef.h, stdarg.h, intrinsics).
HostGcc = namedtuple("HostGcc", "program libdir include")


def program() -> str:
    """The host compiler to run: ``$SCONE_HOST_GCC`` or ``gcc``."""
    return os.environ.get("SCONE_HOST_GCC") or "gcc"


def find(prog: str) -> str | None:
    """Where ``prog`` is found as exec does it (through PATH unless it names a path), or None."""
    if os.sep in prog:
        return prog
    for d in os.environ.get("PATH", os.defpath).split(os.pathsep):
        cand = os.path.join(d or ".", prog)
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


def _resolve(prog: str) -> str:
    found = find(prog)
    if found is not None:
        return os.path.realpath(found)
    raise SconeError(
        f"{prog}: host compiler not found in PATH; install gcc (apt-get install gcc) "
        "or point SCONE_HOST_GCC at it")


def _ask(prog: str, option: str) -> str:
    import subprocess

    try:
        out = subprocess.run([prog, option], capture_output=True, text=True, check=False)
    except OSError as err:
        raise SconeError(f"{prog}: cannot run the host compiler ({err.strerror})") from None
    if out.returncode != 0:
        raise SconeError(f"{prog} {option} failed: {out.stderr.strip()}; check the host gcc")
    return out.stdout.strip()


def facts(cache_root: str) -> HostGcc:
    """The host gcc's libdir and include dir (DESIGN.md §3), cached under ``cache_root``."""
    prog = program()
    real = _resolve(prog)
    st = os.stat(real)
    stamp = f"{real}:{st.st_size}:{st.st_mtime_ns}"
    path = os.path.join(cache_root, "driver", "hostgcc" + real.replace(os.sep, "_") + ".txt")
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        if lines[0] == stamp and os.path.isdir(lines[2]):
            return HostGcc(prog, lines[1], lines[2])
    except (OSError, IndexError):
        pass
    libdir = os.path.dirname(_ask(prog, "-print-libgcc-file-name"))
    include = _ask(prog, "-print-file-name=include")
    if not os.path.isabs(libdir) or not os.path.isdir(include):
        raise SconeError(
            f"{prog}: gcc does not report its libgcc and include directories "
            f"(got {libdir!r}, {include!r}); is it a complete gcc installation?")
    try:
        from scone_cc.fsutil import atomic_write

        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write(path, f"{stamp}\n{libdir}\n{include}\n".encode())
    except OSError:
        pass  # a read-only cache only costs the two questions next time
    return HostGcc(prog, libdir, include)
