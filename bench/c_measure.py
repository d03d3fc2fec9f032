"""C measurement throughput (issue 3, "Measure"): MRENCLAVE as the starter
computes it, as a ratio to a bare SHA-256 of the same bytes (goal >= 0.5).
Builds bench/c_measure.c against runtime/sgxcrypto and prints the figures."""

import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CRYPTO = HERE.parent / "runtime" / "sgxcrypto"


def hashlib_mib_s(mib: int) -> float:
    data = bytes(mib << 20)
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        hashlib.sha256(data).digest()
        best = min(best, time.perf_counter() - t)
    return mib / best


def main(argv=None) -> int:
    mib = int((argv or sys.argv[1:] or ["64"])[0])
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "c_measure"
        build = subprocess.run(["gcc", "-O2", "-I", str(CRYPTO), str(HERE / "c_measure.c"),
                                *map(str, sorted(CRYPTO.glob("*.c"))), "-o", str(exe)],
                               capture_output=True, text=True)
        if build.returncode:
            print(f"c_measure: error: cannot build the benchmark: {build.stderr.strip()}", file=sys.stderr)
            return 2
        out = subprocess.run([str(exe), str(mib)], capture_output=True, text=True, check=True).stdout
    print(f"C measurement throughput over {mib} MiB of pages (EADD + 16 EEXTEND per page)")
    print(f"{'sha256':>10} {'bare MiB/s':>11} {'measure MiB/s':>14} {'ratio':>6}  (goal >= 0.5)")
    for line in out.splitlines():
        impl, _, bare, measured, ratio = line.split()
        print(f"{impl:>10} {float(bare):>11.1f} {float(measured):>14.1f} {float(ratio):>6.2f}")
    print(f"{'hashlib':>10} {hashlib_mib_s(mib):>11.1f} {'':>14} {'':>6}  (Python's SHA-256, for scale)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
