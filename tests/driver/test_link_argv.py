"""The link command lines, checked word by word against hand-written lists."""

import pytest

from scone_cc.driver.link import link_argv, specs_text
from scone_cc.driver.options import classify
from scone_cc.errors import SconeError

INC = ["-nostdinc", "-isystem", "/S/include", "-isystem", "/G/include"]


@pytest.fixture
def roots(tmp_path):
    s, g = tmp_path / "S", tmp_path / "G"
    (s / "lib").mkdir(parents=True)
    g.mkdir()
    for f in ("crt1.o", "rcrt1.o", "crti.o", "crtn.o", "libc.a", "libscone-native.a",
              "libscone-enclave.a", "enclave.ld"):
        (s / "lib" / f).touch()
    for f in ("crtbeginT.o", "crtbeginS.o", "crtend.o", "crtendS.o", "libgcc.a", "libgcc_eh.a"):
        (g / f).touch()
    return str(s), str(g)


def argv_for(words, roots, *, enclave=False, output="app"):
    s, g = roots
    return link_argv(classify(words), gcc="gcc", sysroot=s, gcc_libdir=g, cflags=INC,
                     specs="/c/link.specs", output=output, enclave=enclave)


def test_native(roots):
    s, g = roots
    got = argv_for(["main.o", "-L", "x", "-lz", "-Wl,-Map,m", "-static", "-o", "app"], roots)
    assert got == [
        "gcc", "-specs=/c/link.specs", "-static", "-nostdlib", "-Wl,-nostdlib", *INC,
        f"{s}/lib/crt1.o", f"{s}/lib/crti.o", f"{g}/crtbeginT.o",
        "main.o", "-L", "x", "-lz", "-Wl,-Map,m",
        "-Wl,--start-group", f"{s}/lib/libc.a", f"{s}/lib/libscone-native.a",
        f"{g}/libgcc.a", f"{g}/libgcc_eh.a", "-Wl,--end-group",
        f"{g}/crtend.o", f"{s}/lib/crtn.o", "-o", "app"]


def test_native_static_pie(roots):
    s, g = roots
    got = argv_for(["-static-pie", "a.o"], roots)
    assert got[2] == "-static-pie"
    assert got[4 + len(INC) + 1:4 + len(INC) + 4] == [f"{s}/lib/rcrt1.o", f"{s}/lib/crti.o", f"{g}/crtbeginS.o"]
    assert got[-4:] == [f"{g}/crtendS.o", f"{s}/lib/crtn.o", "-o", "app"]


def test_language_reset_before_our_files(roots):
    got = argv_for(["-x", "c", "-", "-o", "app"], roots)
    i = got.index("-")
    assert got[i + 1:i + 4] == ["-x", "none", "-Wl,--start-group"]


def test_nostdlib_family(roots):
    s, g = roots
    assert argv_for(["-nostdlib", "a.o"], roots) == [
        "gcc", "-specs=/c/link.specs", "-static", "-nostdlib", "-Wl,-nostdlib", *INC, "a.o", "-o", "app"]
    got = argv_for(["-nostartfiles", "a.o"], roots)
    assert f"{s}/lib/crt1.o" not in got and f"{s}/lib/libc.a" in got
    got = argv_for(["-nolibc", "a.o"], roots)
    assert f"{s}/lib/libc.a" not in got and f"{g}/libgcc.a" in got and f"{s}/lib/crt1.o" in got


def test_enclave(roots):
    s, g = roots
    got = argv_for(["main.o", "-lm"], roots, enclave=True, output=".app.tmp")
    assert got == [
        "gcc", "-specs=/c/link.specs", "-static-pie", f"-Wl,-T,{s}/lib/enclave.ld",
        "-Wl,-z,text", "-Wl,--build-id", "-nostdlib", "-Wl,-nostdlib", *INC,
        f"{s}/lib/crti.o", f"{g}/crtbeginS.o", "main.o", "-lm",
        "-Wl,--start-group", f"{s}/lib/libscone-enclave.a", f"{s}/lib/libc.a",
        f"{g}/libgcc.a", f"{g}/libgcc_eh.a", "-Wl,--end-group",
        f"{g}/crtendS.o", f"{s}/lib/crtn.o", "-o", ".app.tmp"]


def test_missing_sysroot_file_is_an_error(roots):
    import os

    os.unlink(roots[0] + "/lib/crt1.o")
    with pytest.raises(SconeError, match=r"crt1\.o: missing from the toolchain; rebuild the sysroot"):
        argv_for(["a.o"], roots)


def test_optional_hook_library(roots):
    import os

    os.unlink(roots[0] + "/lib/libscone-native.a")
    assert not any("libscone-native" in w for w in argv_for(["a.o"], roots))


def test_specs_replace_library_search():
    assert specs_text("/S/lib", "/G") == "*link_libgcc:\n-L/S/lib -L/G\n\n"
