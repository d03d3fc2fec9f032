"""Projects with dependencies: zlib built with scone-gcc and installed into
the scone prefix, then a CMake and a Meson project that find it through the
shipped toolchain and cross files (and scone-pkg-config) and run in SIM.
The host's own zlib and expat (.pc files, headers, glibc archives) are
never found."""

import os
import shutil
import textwrap

import pytest

from .conftest import debian_source, run

USER = textwrap.dedent("""\
    #include <stdio.h>
    #include <string.h>
    #include <zlib.h>
    int main(void) {
        const char *text = "scone scone scone scone scone scone scone";
        unsigned char packed[256], back[256];
        uLongf n = sizeof packed, m = sizeof back;
        if (compress(packed, &n, (const Bytef *)text, strlen(text)) != Z_OK) return 1;
        if (uncompress(back, &m, packed, n) != Z_OK) return 2;
        printf("%s %s %d\\n", ZLIB_VERSION, zlibVersion(), m == strlen(text) && !memcmp(back, text, m));
        return 0;
    }
    """)

CMAKELISTS = textwrap.dedent("""\
    cmake_minimum_required(VERSION 3.13)
    project(zuse C)
    find_package(ZLIB REQUIRED)
    add_executable(zuse zuse.c)
    target_link_libraries(zuse ZLIB::ZLIB)
    """)

MESON = textwrap.dedent("""\
    project('zuse', 'c')
    z = dependency('zlib')
    exe = executable('zuse', 'zuse.c', dependencies: z)
    test('roundtrip', exe)
    """)


def need(*tools):
    for t in tools:
        if shutil.which(t) is None:
            pytest.skip(f"{t} is not installed (sh setup.sh installs it)")


def printed(scone_gcc, what, env) -> str:
    out = run([scone_gcc, f"--scone-print={what}"], env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.fixture
def penv(cenv, tmp_path):
    env = dict(cenv, SCONE_PREFIX=str(tmp_path / "prefix"), SCONE_MODE="SIM")
    for k in ("SCONE_NATIVE", "PKG_CONFIG_PATH", "CC", "CFLAGS", "LDFLAGS"):
        env.pop(k, None)
    return env


def test_printed_paths(scone_gcc, penv, tmp_path):
    assert printed(scone_gcc, "prefix", penv) == str(tmp_path / "prefix")
    for what, name in (("cmake-toolchain", "toolchain.cmake"), ("meson-cross", "meson-cross.ini")):
        path = printed(scone_gcc, what, penv)
        assert os.path.basename(path) == name and os.path.isfile(path)
    assert os.access(printed(scone_gcc, "pkg-config", penv), os.X_OK)
    out = run([scone_gcc, "--scone-print=nothing"], env=penv)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "cmake-toolchain" in out.stderr


def test_host_packages_are_never_found(scone_gcc, penv, tmp_path):
    need("pkg-config", "cmake")
    for pkg in ("zlib", "expat"):
        if run(["pkg-config", "--exists", pkg]).returncode:
            continue  # the host has no .pc for it: nothing to hide
        assert run(["scone-pkg-config", "--exists", pkg], env=penv).returncode == 1, pkg
    if not os.path.exists("/usr/include/zlib.h"):
        return
    src = tmp_path / "cm"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(CMAKELISTS)
    (src / "zuse.c").write_text(USER)
    out = run(["cmake", "-S", src, "-B", src / "build",
               f"-DCMAKE_TOOLCHAIN_FILE={printed(scone_gcc, 'cmake-toolchain', penv)}"], env=penv)
    assert out.returncode != 0 and "Could NOT find ZLIB" in out.stderr, out.stdout + out.stderr


@pytest.fixture
def zlib_prefix(scone_gcc, penv, tmp_path):
    """zlib built with scone-gcc (its library objects are the same in either
    link mode; native keeps configure's test links fast) and installed."""
    src = debian_source("zlib", tmp_path / "zsrc")
    prefix = printed(scone_gcc, "prefix", penv)
    env = dict(penv, CC="scone-gcc", SCONE_NATIVE="1")
    for cmd in (["./configure", "--static", f"--prefix={prefix}"], ["make", "-j2", "libz.a"],
                ["make", "install"]):
        out = run(cmd, cwd=src, env=env)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert os.path.isfile(f"{prefix}/lib/libz.a") and os.path.isfile(f"{prefix}/lib/pkgconfig/zlib.pc")
    version = next(ln.split('"')[1] for ln in open(f"{prefix}/include/zlib.h")
                   if ln.startswith("#define ZLIB_VERSION"))
    return prefix, version


def test_cmake_and_meson_projects_use_the_scone_built_zlib(scone_gcc, penv, tmp_path, zlib_prefix):
    need("cmake", "meson", "ninja", "pkg-config")
    prefix, version = zlib_prefix
    want = f"{version} {version} 1\n"

    out = run(["scone-pkg-config", "--cflags", "--libs", "zlib"], env=penv)
    assert out.returncode == 0 and f"-L{prefix}/lib" in out.stdout, out.stdout + out.stderr

    cm = tmp_path / "cm"
    cm.mkdir()
    (cm / "CMakeLists.txt").write_text(CMAKELISTS)
    (cm / "zuse.c").write_text(USER)
    out = run(["cmake", "-S", cm, "-B", cm / "build",
               f"-DCMAKE_TOOLCHAIN_FILE={printed(scone_gcc, 'cmake-toolchain', penv)}"], env=penv)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    cache = (cm / "build" / "CMakeCache.txt").read_text()
    assert f"ZLIB_LIBRARY_RELEASE:FILEPATH={prefix}/lib/libz.a" in cache
    assert f"ZLIB_INCLUDE_DIR:PATH={prefix}/include" in cache
    out = run(["cmake", "--build", cm / "build", "-j2"], env=penv)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    r = run([cm / "build" / "zuse"], env=penv)
    assert (r.returncode, r.stdout) == (0, want), r.stderr
    assert run(["scone-sign", "verify", cm / "build" / "zuse"], env=penv).returncode == 0

    ms = tmp_path / "ms"
    ms.mkdir()
    (ms / "meson.build").write_text(MESON)
    (ms / "zuse.c").write_text(USER)
    out = run(["meson", "setup", "--cross-file", printed(scone_gcc, "meson-cross", penv),
               ms / "build", ms], env=penv)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "Run-time dependency zlib found: YES" in out.stdout, out.stdout
    out = run(["meson", "compile", "-C", ms / "build"], env=penv)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    out = run(["meson", "test", "-C", ms / "build"], env=penv)
    assert out.returncode == 0 and "Ok:                 1" in out.stdout, out.stdout
    r = run([ms / "build" / "zuse"], env=penv)
    assert (r.returncode, r.stdout) == (0, want), r.stderr
    assert run(["scone-sign", "verify", ms / "build" / "zuse"], env=penv).returncode == 0
