"""Answers to gcc's ``-print-*`` / ``-dump*`` questions that the sysroot changes.

autotools, libtool and CMake ask these to find libraries and the target;
the answers must describe the musl toolchain, not the host's glibc one.
"""

import os
import subprocess

from scone_cc.errors import SconeError

# What musl's own gcc would report (x86_64 + musl ABI).
MACHINE = "x86_64-linux-musl"


def _gcc(host, option: str) -> str:
    try:
        out = subprocess.run([host.program, option], capture_output=True, text=True)
    except OSError as err:
        raise SconeError(f"{host.program}: cannot run the host compiler ({err.strerror})") from None
    if out.returncode:
        raise SconeError(f"{host.program} {option} failed: {out.stderr.strip()}")
    return out.stdout.rstrip("\n")


def answer(word: str, *, sysroot: str, host):
    """gcc's output for the driver-info option ``word``, or None to let gcc answer.

    ``-print-file-name=X`` finds X in the sysroot's lib, else where gcc
    keeps its own files (libgcc, crtbegin.o, include); a host system library
    is not ours, so like gcc for a missing file we print X itself.
    """
    lib = sysroot + "/lib"
    if word == "-print-sysroot":
        return sysroot
    if word in ("-dumpmachine", "-print-multiarch"):
        return MACHINE
    if word.startswith("-print-file-name="):
        name = word[len("-print-file-name="):]
        if name and os.path.exists(os.path.join(lib, name)):
            return os.path.join(lib, name)
        found = _gcc(host, word)
        inside = os.path.realpath(found).startswith(os.path.realpath(host.libdir) + os.sep)
        return found if os.path.isabs(found) and inside else name
    if word == "-print-search-dirs":
        lines = _gcc(host, word).split("\n")
        libraries = f"libraries: ={lib}/:{host.libdir}/"
        return "\n".join(libraries if ln.startswith("libraries:") else ln for ln in lines)
    return None
