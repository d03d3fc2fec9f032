"""Drive ``wrk`` (Debian's) against a loopback URL; parse requests/s and the 99th percentile."""

from __future__ import annotations

import re
import shutil
import subprocess

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_P99 = re.compile(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", re.M)
_ERRORS = re.compile(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*")


def available() -> bool:
    return shutil.which("wrk") is not None


def parse(text: str) -> dict:
    """wrk --latency output -> {"tput", "p99_ms", "note"}. Pure."""
    rps, p99 = _RPS.search(text), _P99.search(text)
    errs = _ERRORS.search(text)
    return {"tput": float(rps.group(1)) if rps else None,
            "p99_ms": float(p99.group(1)) * _UNITS[p99.group(2)] if p99 else None,
            "note": errs.group(0) if errs else ("" if rps else "wrk printed no result")}


def run(url: str, seconds: int = 5, connections: int = 16, threads: int = 1) -> dict:
    try:
        out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                             capture_output=True, text=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        return {"note": f"wrk gave no result within {seconds + 60} s"}
    return parse(out.stdout + out.stderr)
