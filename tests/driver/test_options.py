"""The option table and classify(): argv in, hand-written classification out."""

import pytest

from scone_cc.driver import options
from scone_cc.driver.options import TABLE, classify, lookup
from scone_cc.errors import SconeError


def test_table_is_sorted_and_unique():
    names = [o.name for o in TABLE]
    assert names == sorted(names)
    assert len(names) == len(set(names))


def test_table_entries_are_well_formed():
    syntaxes = {"flag", "joined", "separate", "joined-or-separate"}
    roles = {"compile-only", "link-only", "driver", "driver-info", "forbidden", "passthrough", "scone"}
    for o in TABLE:
        assert o.syntax in syntaxes, o
        assert o.role in roles, o
        assert o.name.startswith("-"), o
        if o.role == "forbidden":
            assert "instead" in o.why or "drop" in o.why, o  # every refusal says the fix


@pytest.mark.parametrize("word, name, value", [
    ("-lm", "-l", "m"),
    ("-l", "-l", ""),
    ("-MF", "-MF", ""),
    ("-MFdeps.d", "-MF", "deps.d"),
    ("-MD", "-MD", ""),
    ("-M", "-M", ""),
    ("-Wl,-Map,x.map", "-Wl,", "-Map,x.map"),
    ("-undef", "-undef", ""),
    ("-uentry", "-u", "entry"),
    ("-iwithprefixbefore/x", "-iwithprefixbefore", "/x"),
    ("-includeconfig.h", "-include", "config.h"),
    ("-Tdata", "-Tdata", ""),
    ("-Tlink.ld", "-T", "link.ld"),
    ("-print-file-name=libc.a", "-print-file-name=", "libc.a"),
    ("-O2", None, None),
    ("-Wall", None, None),
    ("-static-libgcc", "-static-libgcc", ""),
    ("-shared-libgcc", "-shared-libgcc", ""),
])
def test_lookup(word, name, value):
    opt, got = lookup(word)
    assert (opt.name if opt else None, got) == (name, value)


def test_plain_compile():
    inv = classify(["-O2", "-c", "a.c", "-o", "a.o", "-DX=1", "-I", "inc"])
    assert inv.action == "compile"
    assert inv.args == ("-O2", "-c", "a.c", "-o", "a.o", "-DX=1", "-I", "inc")
    assert inv.inputs == ("a.c",)
    assert inv.output == "a.o"
    assert inv.compile_only == ("-c",)


def test_link_keeps_order_and_drops_driver_options():
    argv = ["-O2", "main.o", "-L", "lib dir", "-lfoo", "util.c", "-Wl,--gc-sections",
            "-static", "-pthread", "-o", "my app", "-Xlinker", "-Map=m", "-lm", "-pie"]
    inv = classify(argv)
    assert inv.action == "link"
    assert inv.args == tuple(argv)
    assert inv.link_args == ("-O2", "main.o", "-L", "lib dir", "-lfoo", "util.c",
                             "-Wl,--gc-sections", "-pthread", "-Xlinker", "-Map=m", "-lm")
    assert inv.inputs == ("main.o", "util.c")
    assert inv.output == "my app"
    assert inv.driver == ("-static", "-pie")


def test_words_are_never_resplit():
    inv = classify(["-DMSG=\"a b\"", "x y.c", "-o", "out put"])
    assert inv.args == ("-DMSG=\"a b\"", "x y.c", "-o", "out put")
    assert inv.inputs == ("x y.c",)


def test_separate_values_are_not_inputs():
    inv = classify(["-x", "c", "-", "-Xlinker", "script", "-MF", "d", "-include", "h.h",
                    "-aux-info", "f", "-o", "o"])
    assert inv.inputs == ("-",)
    assert inv.action == "link"


@pytest.mark.parametrize("argv, action", [
    (["-E", "a.c"], "compile"),
    (["-M", "a.c"], "compile"),
    (["-MM", "a.c"], "compile"),
    (["-MD", "-MF", "a.d", "a.c"], "link"),
    (["-MMD", "-c", "a.c"], "compile"),
    (["-S", "a.c"], "compile"),
    (["-fsyntax-only", "a.c"], "compile"),
    (["--compile", "a.c"], "compile"),
    (["a.c"], "link"),
    (["-lm"], "link"),
    ([], "compile"),
    (["-O2"], "compile"),
    (["-v"], "info"),
    (["-v", "a.c"], "link"),
    (["--version"], "info"),
    (["-print-sysroot"], "info"),
    (["-dumpmachine", "a.c"], "info"),
    (["-print-file-name=libc.a"], "info"),
    (["-r", "a.o", "b.o", "-o", "ab.o"], "partial-link"),
])
def test_action(argv, action):
    assert classify(argv).action == action


def test_info_words_in_order():
    inv = classify(["-print-file-name=libc.a", "-dumpmachine"])
    assert inv.info == ("-print-file-name=libc.a", "-dumpmachine")


def test_scone_options_are_removed_and_recorded():
    inv = classify(["--scone-heap=128M", "a.o", "--scone-native", "--scone-allow=fork,execve",
                    "-o", "a", "--scone-tcs=4"])
    assert inv.args == ("a.o", "-o", "a")
    assert inv.link_args == ("a.o",)
    assert inv.scone == (("--scone-heap", "128M"), ("--scone-native", ""),
                         ("--scone-allow", "fork,execve"), ("--scone-tcs", "4"))


@pytest.mark.parametrize("word", ["-shared", "--shared", "-m32", "-mx32", "-m16"])
def test_forbidden(word):
    with pytest.raises(SconeError) as err:
        classify(["a.c", word])
    assert str(err.value).startswith(f"{word}: not supported: ")


def test_shared_error_says_the_fix():
    with pytest.raises(SconeError, match=r"ar rcs libNAME\.a .*-lNAME"):
        classify(["-shared", "-fPIC", "a.c", "-o", "liba.so"])


@pytest.mark.parametrize("argv, message", [
    (["a.c", "-o"], "-o: missing argument"),
    (["-x"], "-x: missing argument"),
    (["-Xlinker"], "-Xlinker: missing argument"),
    (["--scone-heap="], "--scone-heap=: missing value"),
    (["--scone-bogus=1"], "--scone-bogus=1: unknown scone-gcc option"),
    (["--scone-heap", "1M"], "--scone-heap: unknown scone-gcc option"),
])
def test_bad_words(argv, message):
    with pytest.raises(SconeError) as err:
        classify(argv)
    assert str(err.value).startswith(message)


def test_unknown_options_pass_through():
    argv = ["-fno-strict-aliasing", "-Wno-foo", "-march=native", "--frobnicate", "a.c"]
    inv = classify(argv)
    assert inv.args == tuple(argv)
    assert inv.link_args == tuple(argv)
    assert inv.inputs == ("a.c",)


def test_nostdlib_family_recorded():
    inv = classify(["-nostdlib", "-nostartfiles", "-nodefaultlibs", "-nolibc", "-static-pie", "a.o"])
    assert inv.driver == ("-nostdlib", "-nostartfiles", "-nodefaultlibs", "-nolibc", "-static-pie")
    assert inv.link_args == ("a.o",)


def test_roles_of_key_options():
    role = {o.name: o.role for o in TABLE}
    assert role["-c"] == role["-S"] == role["-E"] == role["-M"] == role["-MM"] == options.COMPILE_ONLY
    assert role["-shared"] == options.FORBIDDEN
    assert role["-l"] == role["-L"] == role["-Wl,"] == role["-Xlinker"] == options.LINK_ONLY
    assert role["-static"] == role["-static-pie"] == options.DRIVER
    assert role["-print-sysroot"] == role["-dumpmachine"] == options.INFO
