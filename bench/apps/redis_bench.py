"""Drive ``redis-benchmark --csv`` and parse its per-test rps and p99 latency."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess


def available() -> bool:
    return shutil.which("redis-benchmark") is not None


def parse(text: str) -> dict[str, dict]:
    """CSV (redis 7: test, rps, ..., p99_latency_ms, ...) -> {test: {"tput", "p99_ms"}}. Pure."""
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r.get("test")]
    return {r["test"]: {"tput": float(r["rps"]), "p99_ms": float(r["p99_latency_ms"]), "note": ""}
            for r in rows}


def run(port: int, requests: int, pipeline: int, clients: int = 16) -> dict[str, dict]:
    try:
        out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "get,set",
                              "-n", str(requests), "-c", str(clients), "-P", str(pipeline), "--csv"],
                             capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return {"*": {"note": "no answer within 120 s"}}
    return parse(out.stdout)
