"""Drive ``memcaslap`` (libmemcached-tools) and parse TPS and a p99 bound.

memcaslap reports latency only as a log2 histogram (``Log2 Dist``: bucket
``k`` counts operations of < 2^k microseconds, four buckets a row, the row
labelled with its first), so p99 is given as the upper bound of the bucket
holding the 99th percentile.
"""

from __future__ import annotations

import re
import shutil
import subprocess

_TPS = re.compile(r"^Run time: .*?TPS: (\d+)", re.M)
# The block is indented, and ends at the blank line before the counters.
_TOTAL = re.compile(r"^\s*Total Statistics \((\d+) events\)(.*?)(?:\n\s*\n|\Z)", re.M | re.S)
_ROW = re.compile(r"^\s*(\d+):((?:[ \t]+\d+)+)[ \t]*$", re.M)


def available() -> str | None:
    return shutil.which("memcaslap") or shutil.which("memaslap")


def p99_bound_ms(block: str) -> float | None:
    """Upper bound (ms) of the log2 bucket that holds the 99th percentile. Pure."""
    dist = block.split("Log2 Dist:", 1)
    if len(dist) < 2:
        return None
    buckets = sorted((int(first) + i, int(n)) for first, row in _ROW.findall(dist[1])
                     for i, n in enumerate(row.split()))
    total = sum(n for _, n in buckets)
    seen = 0
    for k, n in buckets:
        seen += n
        if total and seen >= 0.99 * total:
            return (1 << k) / 1000.0
    return None


def parse(text: str) -> dict:
    tps, total = _TPS.search(text), _TOTAL.search(text)
    return {"tput": float(tps.group(1)) if tps else None,
            "p99_ms": p99_bound_ms(total.group(2)) if total else None,
            "note": "p99 = log2-bucket bound" if tps else "memcaslap printed no result"}


def run(port: int, seconds: int, concurrency: int = 16) -> dict:
    exe = available()
    try:
        # The latency histogram is printed only with a statistics period (-S).
        out = subprocess.run([exe, "-s", f"127.0.0.1:{port}", "-t", f"{seconds}s", "-S", f"{seconds}s",
                              "-T", "1", "-c", str(concurrency)], capture_output=True, text=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        return {"note": f"no result within {seconds + 60} s"}
    return parse(out.stdout + out.stderr)
