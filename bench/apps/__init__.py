"""Shared pieces of the real-application benchmarks (``bench/app_*.py``).

The programs are built by ``tests/apps/appkit`` (the same cached builds the
tests use). Every benchmark runs the four configurations of issue 7 in one
run, interleaved round by round, and prints best-of-N figures with ratios
against native glibc. Nothing is asserted.
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO / "tests" / "apps"))
