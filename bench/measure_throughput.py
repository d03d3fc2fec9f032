"""Measurement throughput of scone_cc.sgx.measure against a bare SHA-256.

The ratio is (time of hashlib.sha256 over the record stream, already in
memory) / (time of ``mrenclave(layout)``, which builds the records and hashes
them). 1.0 would mean building the records is free; the goal is >= 0.5.
The layout is a typical enclave: an 8 MiB measured image, a 64 MiB heap
(EADD only) and 8 threads. Figures are printed, never asserted.

Run: ``python bench/measure_throughput.py``.
"""

from __future__ import annotations

import hashlib
import os
import time

from scone_cc.sgx import measure
from scone_cc.sgx.pages import PAGE_SIZE, R, W, X, Layout, PageRun, PageType


def _layout(image_mib: int = 8, heap_mib: int = 64, threads: int = 8) -> Layout:
    image = os.urandom(image_mib << 20)
    runs = [PageRun(0, len(image) // PAGE_SIZE, PageType.REG, R | X, True, image, "image"),
            PageRun(len(image), (heap_mib << 20) // PAGE_SIZE, PageType.REG, R | W, False,
                    b"", "heap")]
    at = len(image) + (heap_mib << 20)
    for i in range(threads):
        at += PAGE_SIZE                                   # guard page
        runs.append(PageRun(at, 64, PageType.REG, R | W, False, b"", f"stack[{i}]"))
        at += 64 * PAGE_SIZE
        runs.append(PageRun(at, 1, PageType.TCS, 0, True, bytes(72), f"tcs[{i}]"))
        runs.append(PageRun(at + PAGE_SIZE, 2, PageType.REG, R | W, True, b"", f"ssa[{i}]"))
        at += 3 * PAGE_SIZE
    return Layout(1 << (at - 1).bit_length(), 1, tuple(runs))


def _best(func, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    """Print the measurement throughput and its ratio to a bare hashlib SHA-256."""
    layout = _layout()
    data = b"".join(measure.stream(layout))
    assert hashlib.sha256(data).digest() == measure.mrenclave(layout)
    t_measure = _best(lambda: measure.mrenclave(layout))
    t_hash = _best(lambda: hashlib.sha256(data).digest())
    mib = len(data) / (1 << 20)
    print(f"record stream: {mib:.1f} MiB for a {layout.size >> 20} MiB enclave")
    print(f"mrenclave(layout): {t_measure * 1e3:8.1f} ms  {mib / t_measure:8.0f} MiB/s")
    print(f"hashlib.sha256:    {t_hash * 1e3:8.1f} ms  {mib / t_hash:8.0f} MiB/s")
    print(f"ratio (goal >= 0.5): {t_hash / t_measure:.2f}")


if __name__ == "__main__":
    main()
