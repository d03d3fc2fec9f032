"""Lua 5.4 scripts in SIM; expected values from the Lua 5.4 reference manual."""

import textwrap

from appkit import lua

from .conftest import built, is_enclave

# Each line's value is fixed by the manual (string.format follows C's printf,
# integer/float division rules §3.4.1, string.pack §6.4.2), not by running lua.
SCRIPT = textwrap.dedent("""\
    local t = {}
    for i = 1, 10 do t[#t + 1] = i * i end
    print(table.concat(t, ","))
    print(7 // 2, 7.0 // 2, 7 % -3, 2^-1, math.type(1), math.type(1.0))
    print(string.format("%5.2f|%-4d|%x|%q", math.pi, 42, 255, "a\\nb"))
    print(("scone"):upper():rep(2, "-"), ("hello world"):gsub("o", "0"))
    print(#string.pack("<i4i8", 1, 2), string.unpack("<i4", "\\1\\0\\0\\0"))
    local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
    print(co(41), co(5))
    print(pcall(error, {code = 7}), select("#", pcall(error)))
    local f = assert(io.open(arg[1], "w")) f:write("line1\\n", 2, "\\n") f:close()
    for l in io.lines(arg[1]) do io.write("[", l, "]") end print()
    print(os.remove(arg[1]), io.open(arg[1]) == nil, os.time{year=2000, month=1, day=1, hour=0} ~= nil)
    local s = 0 for k, v in pairs({a = 1, b = 2, c = 3}) do s = s + v end print(s)
    print(tostring(nil), tonumber("0x10"), tonumber("10", 2), math.maxinteger + 1 == math.mininteger)
    """)
EXPECTED = (
    "1,4,9,16,25,36,49,64,81,100\n"
    "3\t3.0\t-2\t0.5\tinteger\tfloat\n"
    " 3.14|42  |ff|\"a\\\nb\"\n"
    "SCONE-SCONE\thell0 w0rld\t2\n"
    "12\t1\t5\n"
    "42\t10\n"
    "false\t2\n"  # pcall not last in the list: truncated to its first value (§3.4.12)
    "[line1][2]\n"
    "true\ttrue\ttrue\n"
    "6\n"
    "nil\t16\t2\ttrue\n"
)


def test_script_in_enclave(scone, tmp_path):
    tree = built(lua.build_tree, scone)
    assert is_enclave(tree / "src" / "lua")
    (tmp_path / "t.lua").write_text(SCRIPT)
    out = lua.run(tree, scone, str(tmp_path / "t.lua"), str(tmp_path / "data.txt"))
    assert out.returncode == 0, out.stderr
    assert out.stdout == EXPECTED


def test_child_process_is_refused_not_crashing(scone):
    """io.popen needs a child: it fails cleanly inside the enclave (lua reports the error)."""
    tree = built(lua.build_tree, scone)
    out = lua.run(tree, scone, "-e", "local f, err = io.popen('echo hi') print(f and f:read('a') or err)")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "echo hi: Function not implemented\n"
