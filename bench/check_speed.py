"""Time scone-check on a large static binary (issue 6: <= 5 s for ~7 MB).

Without an argument, builds one: a small main linked statically (glibc) with
the whole of Debian's libcrypto.a and libsqlite3.a (about 7 MB), or, with
``--tcl``, with libtcl8.6.a, whose exec command reaches fork/execve through
tables of function pointers. With a path, times that file instead (e.g. a
redis-server). Prints the best and median of ``--runs`` in-process checks,
the file size and the number of findings; never asserts a timing.

Run: ``python bench/check_speed.py [--runs N] [--tcl] [FILE]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIBDIR = Path("/usr/lib/x86_64-linux-gnu")
MAIN = '#include <stdio.h>\nint main(void) { puts("big"); return 0; }\n'
TCL_MAIN = ('#include <tcl8.6/tcl.h>\nint main(void) {\n  Tcl_Interp *i = Tcl_CreateInterp();\n'
            '  return Tcl_Eval(i, "puts hi");\n}\n')


def _build(tmp: Path, tcl: bool) -> Path:
    src, out = tmp / "big.c", tmp / "big"
    src.write_text(TCL_MAIN if tcl else MAIN)
    libs = ["libtcl8.6.a"] if tcl else ["libcrypto.a", "libsqlite3.a"]
    missing = [lib for lib in libs if not (LIBDIR / lib).exists()]
    if missing:
        sys.exit(f"check_speed: {', '.join(missing)} not installed (apt-get install "
                 f"{'tcl8.6-dev' if tcl else 'libssl-dev libsqlite3-dev'}), or pass a large binary")
    argv = ["gcc", "-g", "-static", str(src), "-o", str(out), "-Wl,--whole-archive"]
    argv += [str(LIBDIR / lib) for lib in libs]
    argv += ["-Wl,--no-whole-archive", "-lz", "-lm", "-lpthread", "-ldl"]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"check_speed: building the test binary failed:\n{done.stderr}")
    return out


def main(argv=None) -> int:
    """Print how long scone-check takes on a large static binary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", help="binary to check (default: build one)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tcl", action="store_true", help="build against libtcl8.6.a (findings expected)")
    args = ap.parse_args(argv)

    from scone_cc.check import check_paths

    with tempfile.TemporaryDirectory(prefix="scone-check-speed.") as tmp:
        path = Path(args.file) if args.file else _build(Path(tmp), args.tcl)
        times, n = [], 0
        for _ in range(args.runs):
            t0 = time.perf_counter()
            n = len(check_paths([path]))
            times.append(time.perf_counter() - t0)
        cli_t0 = time.perf_counter()
        rc = subprocess.run(["scone-check", str(path)], capture_output=True).returncode
        cli = time.perf_counter() - cli_t0
        size = path.stat().st_size
    print(f"file            {path.name} ({size / 1e6:.1f} MB)")
    print(f"findings        {n}")
    print(f"check_paths     best {min(times):.2f} s, median {statistics.median(times):.2f} s over {args.runs} runs")
    print(f"scone-check     {cli:.2f} s wall, exit {rc} (process start and imports included)")
    print("goal            <= 5 s for ~7 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
