"""Fixtures of the scone-check tests: the corpus, compilers, expected verdicts."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent / "corpus"
EXPECT_RE = re.compile(r"EXPECT: (\w+)")


def expected(src: Path) -> set:
    """{(line, name)} from the ``/* EXPECT: name */`` markers of a corpus source."""
    out = set()
    for n, line in enumerate(src.read_text().splitlines(), 1):
        for m in EXPECT_RE.finditer(line):
            out.add((n, m.group(1)))
    return out


def verdict_name(f) -> str:
    """What a finding is about: the function referred to, or the system call for raw sites."""
    if f.kind in ("call", "reference", "pointer"):
        return f.callee
    return f.syscall


def compile_c(cmd, src: Path, out: Path) -> Path:
    r = subprocess.run(cmd + [str(src), "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, f"{' '.join(cmd)} {src.name}: {r.stderr}"
    return out


@pytest.fixture(scope="session")
def corpus_dir():
    return CORPUS


@pytest.fixture(scope="session")
def have_tool():
    return lambda t: shutil.which(t) is not None
