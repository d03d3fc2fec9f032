"""A real program reading stdin through the console shield: Lua 5.4 from
Debian's source (the tree tests/apps builds), relinked with --scone-console.
The expected output is computed here from the script's meaning and equals
the unshielded lua's."""

import sys
from pathlib import Path

import pytest

from .conftest import run

APPS = Path(__file__).resolve().parents[1] / "apps"

# Upper-cases every line of stdin and sums the numbers in it (string.upper,
# tonumber, %d of string.format: Lua 5.4 reference manual §6.4, §6.1).
SCRIPT = ("local n, s = 0, 0 for l in io.lines() do n = n + 1 s = s + (tonumber(l:match('%d+')) or 0) "
          "io.write(l:upper(), '\\n') end io.write(string.format('%d lines, sum %d\\n', n, s))")


@pytest.fixture(scope="module")
def luas(con_env, tmp_path_factory):
    sys.path.insert(0, str(APPS))
    try:
        from appkit import flavour, lua
        from appkit.source import SourceUnavailable
    finally:
        sys.path.remove(str(APPS))
    try:
        tree = lua.build_tree(flavour.get("scone"))
    except (SourceUnavailable, flavour.FlavourUnavailable) as why:
        pytest.fail(f"lua5.4 could not be built: {why}")
    out = tmp_path_factory.mktemp("lua") / "lua"
    r = run(["scone-gcc", "-O2", "--scone-console", "--scone-allow=execve,popen,system", "-o", out,
             tree / "src" / "lua.o", tree / "src" / "liblua.a", "-lm"], con_env)
    assert r.returncode == 0, r.stderr
    return tree / "src" / "lua", out


def test_lua_reads_stdin_through_the_shield(luas, con_env):
    plain, shielded = luas
    lines = [f"row {i} has {i * 7} apples" for i in range(3000)]
    data = ("\n".join(lines) + "\n").encode()
    # the first run of digits in "row I has ..." is I (string.match, §6.4.1)
    want = "".join(line.upper() + "\n" for line in lines) + f"3000 lines, sum {sum(range(3000))}\n"
    a = run([plain, "-e", SCRIPT], con_env, input=data)
    b = run(["scone-console", "run", "--", shielded, "-e", SCRIPT], con_env, input=data)
    assert a.stdout.decode() == want and a.returncode == 0, a.stderr
    assert (b.returncode, b.stdout, b.stderr) == (a.returncode, a.stdout, a.stderr)
