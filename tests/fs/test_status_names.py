"""One vocabulary of refusals: every code the Python side reports is a
status the C library names (or one of the two only a caller can see), each
C status has a distinct name and text, and FORMAT.md's table lists them with
the C numbers."""

import re
from pathlib import Path

from .conftest import LIB, run_tool

REPO = LIB.parents[2]
CALLER_ONLY = {"missing", "unknown"}


def c_names(tool):
    r = run_tool(tool, "names")
    assert r.returncode == 0, r.stderr
    return {int(n): name for n, name in (l.split() for l in r.stdout.splitlines())}


def test_python_codes_are_c_statuses(sfs_tool):
    names = c_names(sfs_tool)
    assert len(set(names.values())) == len(names) and "unknown" not in names.values()
    src = "".join((REPO / "scone_cc" / "fs" / f).read_text() for f in ("pf.py", "volume.py"))
    used = set(re.findall(r'(?:PFError|VolumeError)\(\s*"([a-z_]+)"', src))
    assert used and used - CALLER_ONLY <= set(names.values()), used - set(names.values())


def test_format_md_table_matches_c(sfs_tool):
    names = c_names(sfs_tool)
    table = re.findall(r"^\| (\d+|—) \| `([a-z_]+)` \|", (LIB / "FORMAT.md").read_text(), re.M)
    assert table
    for num, name in table:
        if num == "—":
            assert name in CALLER_ONLY
        else:
            assert names[int(num)] == name
    src = (LIB / "sfs_volume.c").read_text()
    table_src = src[src.index("texts[SFS__COUNT]"):src.index("const char *sfs_strerror")]
    texts = re.findall(r'\[SFS_\w+\] = "([^"]+)"', table_src)
    assert len(texts) == len(names) and len(set(texts)) == len(texts)
