"""Unmodified projects built with CC=scone-gcc: plain make, CMake, ccache, zlib, lua, sqlite3.

Every build runs in both link modes: ``native`` (a static musl program,
SCONE_NATIVE=1) and ``enclave`` (the default: a signed enclave binary, run
in SIM), and each project's own checks run its programs.
"""

import os
import shutil
import textwrap

import pytest

from .conftest import debian_source, run

JOBS = "-j2"
MODES = ("native", "enclave")

SQ = "int sq(int x) { return x * x; }\n"
MAIN = textwrap.dedent("""\
    #include <math.h>
    #include <pthread.h>
    #include <stdio.h>
    #include <stdlib.h>
    int sq(int);
    static int in, out;
    static void *work(void *a) { (void)a; out = sq(in); return 0; }
    int main(int argc, char **argv) {
        pthread_t t;
        in = argc > 1 ? atoi(argv[1]) : 0;
        if (pthread_create(&t, 0, work, 0) || pthread_join(t, 0)) return 1;
        printf("%d %.2f\\n", out, sqrt((double)in));
        return 0;
    }
    """)
MAKEFILE = textwrap.dedent("""\
    CFLAGS ?= -O2
    demo: main.o sq.o
    \t$(CC) $(CFLAGS) -pthread -o $@ main.o sq.o -lm
    check: demo
    \ttest "`./demo 9`" = "81 3.00"
    """)
CMAKELISTS = textwrap.dedent("""\
    cmake_minimum_required(VERSION 3.13)
    project(demo C)
    include(CheckFunctionExists)
    include(CheckIncludeFile)
    check_include_file(pthread.h HAVE_PTHREAD_H)
    check_function_exists(clock_gettime HAVE_CLOCK_GETTIME)
    if(NOT HAVE_PTHREAD_H OR NOT HAVE_CLOCK_GETTIME)
      message(FATAL_ERROR "configure checks failed")
    endif()
    set(THREADS_PREFER_PTHREAD_FLAG ON)
    find_package(Threads REQUIRED)
    add_library(sq STATIC sq.c)
    add_executable(demo main.c)
    target_link_libraries(demo sq Threads::Threads m)
    enable_testing()
    add_test(NAME squares COMMAND demo 7)
    set_tests_properties(squares PROPERTIES PASS_REGULAR_EXPRESSION "^49 2.65\\n$")
    """)


@pytest.fixture(params=MODES)
def benv(request, scone_env, scone_gcc, sysroot):
    """The build environment of one link mode (the test's ``mode`` parameter)."""
    enclave = request.param == "enclave"
    if enclave and not (sysroot / "lib" / "libscone-enclave.a").exists():
        pytest.skip("the sysroot has no enclave runtime (lib/libscone-enclave.a)")
    env = dict(scone_env, SCONE_NATIVE="0" if enclave else "1", SCONE_MODE="SIM")
    env["PATH"] = os.path.dirname(scone_gcc) + os.pathsep + env.get("PATH", "")
    return env


def is_enclave(env) -> bool:
    return env["SCONE_NATIVE"] == "0"


def ok(cmd, **kw):
    out = run(cmd, **kw)
    assert out.returncode == 0, f"{cmd} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def assert_built(path, env):
    """A static ELF of the mode asked for: musl's start-up code, or a scone enclave binary."""
    assert open(path, "rb").read(4) == b"\x7fELF"
    assert "INTERP" not in run(["readelf", "-lW", str(path)]).stdout
    if is_enclave(env):
        sections = run(["readelf", "-SW", str(path)]).stdout
        assert ".scone.enclave" in sections and ".note.scone" in sections
    else:
        assert "__init_libc" in run(["readelf", "-sW", str(path)]).stdout


def demo_project(tmp_path, *files):
    d = tmp_path / "demo"
    d.mkdir()
    (d / "sq.c").write_text(SQ)
    (d / "main.c").write_text(MAIN)
    for name, text in files:
        (d / name).write_text(text)
    return d


def test_plain_make(tmp_path, benv):
    d = demo_project(tmp_path, ("Makefile", MAKEFILE))
    ok(["make", JOBS, "CC=scone-gcc", "check"], cwd=d, env=benv)
    assert_built(d / "demo", benv)


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake not installed (apt-get install cmake)")
def test_cmake_with_ctest(tmp_path, benv):
    d = demo_project(tmp_path, ("CMakeLists.txt", CMAKELISTS))
    ok(["cmake", "-S", str(d), "-B", str(d / "build"), "-DCMAKE_C_COMPILER=scone-gcc"], env=benv)
    ok(["cmake", "--build", str(d / "build"), "--", JOBS], env=benv)
    out = ok(["ctest", "--output-on-failure"], cwd=d / "build", env=benv)
    assert "100% tests passed" in out.stdout
    assert_built(d / "build" / "demo", benv)


@pytest.mark.skipif(shutil.which("ccache") is None, reason="ccache not installed (setup.sh installs it)")
def test_ccache(tmp_path, benv):
    d = demo_project(tmp_path, ("Makefile", MAKEFILE))
    env = dict(benv, CCACHE_DIR=str(tmp_path / "ccache"))
    for _ in range(2):
        ok(["make", "CC=ccache scone-gcc", "check"], cwd=d, env=env)
        ok(["rm", "-f", "demo", "main.o", "sq.o"], cwd=d)
    stats = ok(["ccache", "--print-stats"], env=env).stdout
    counts = dict(ln.split("\t")[:2] for ln in stats.splitlines() if "\t" in ln)
    assert int(counts["direct_cache_hit"]) + int(counts.get("preprocessed_cache_hit", 0)) == 2


def test_zlib_configure_make_test(tmp_path, benv):
    src = debian_source("zlib", tmp_path)
    env = dict(benv, CC="scone-gcc")
    out = ok(["./configure"], cwd=src, env=env)
    assert "No shared library support" in out.stdout  # -shared refused, static build chosen
    ok(["make", JOBS], cwd=src, env=env)
    test = ok(["make", "test"], cwd=src, env=env)
    assert "*** zlib test OK ***" in test.stdout or "*** zlib 64-bit test OK ***" in test.stdout
    assert_built(src / "minigzip", benv)


LUA_SCRIPT = textwrap.dedent("""\
    local t = {}
    for i = 1, 10 do t[i] = i * i end
    print(table.concat(t, ","))
    local co = coroutine.wrap(function(a) coroutine.yield(a + 1) end)
    print(co(41))
    print(string.format("%5.2f", math.pi), ("scone"):upper():rep(2, "-"))
    local f = assert(io.open(arg[1], "w")) f:write("written") f:close()
    print(io.open(arg[1]):read("a"), os.time() > 0, select("#", pcall(error, "x")))
    """)


def test_lua_plain_make(tmp_path, benv):
    src = debian_source("lua5.4", tmp_path)
    # io.popen and os.execute need a child process: allowed (ENOSYS at run
    # time) so that the enclave link's static check lets lua through.
    benv = dict(benv, SCONE_ALLOW="execve,popen,system")
    ok(["make", JOBS, "-C", "src", "linux", "CC=scone-gcc"], cwd=src, env=benv)
    (tmp_path / "t.lua").write_text(LUA_SCRIPT)
    out = ok([str(src / "src" / "lua"), str(tmp_path / "t.lua"), str(tmp_path / "out.txt")], env=benv)
    assert out.stdout == "1,4,9,16,25,36,49,64,81,100\n42\n 3.14\tSCONE-SCONE\nwritten\ttrue\t2\n"
    assert_built(src / "src" / "lua", benv)


@pytest.mark.slow
def test_sqlite3_configure_make(tmp_path, benv):
    src = debian_source("sqlite3", tmp_path)
    if shutil.which("tclsh") is None:
        pytest.skip("sqlite3's build needs tclsh (apt-get install tcl)")
    # The shell's .system, .once -e and edit() start other programs: allowed
    # (ENOSYS at run time) so that the enclave link's static check lets it through.
    env = dict(benv, CC="scone-gcc", SCONE_ALLOW="popen,system")
    # libtool assumes gcc can build shared objects; an enclave cannot load one.
    ok(["./configure", "--disable-tcl", "--disable-readline", "--disable-shared"], cwd=src, env=env)
    ok(["make", JOBS, "sqlite3"], cwd=src, env=env)
    sql = ("create table t(a integer, b text);\n"
           "insert into t values (1, 'x'), (2, 'y'), (3, 'z');\n"
           "select sum(a), group_concat(b, '-') from t;\nselect sqlite_version();\n")
    out = run([str(src / "sqlite3"), str(tmp_path / "db.sqlite")], input=sql, env=env)
    assert (out.returncode, out.stdout) == (0, "6|x-y-z\n3.40.1\n"), out.stderr
    assert_built(src / "sqlite3", benv)
