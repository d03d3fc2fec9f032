"""Real links in the native mode: static musl programs that run."""

import os
import subprocess

import pytest

from .conftest import run

HELLO = '#include <stdio.h>\nint main(int c, char **v){ printf("hello %s\\n", c > 1 ? v[1] : "x"); return 3; }\n'


def elf_type(path) -> int:
    return int.from_bytes(open(path, "rb").read(18)[16:18], "little")


def readelf(*args):
    out = run(["readelf", *args])
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture
def native_env(scone_env):
    return dict(scone_env, SCONE_NATIVE="1")


def test_hello_static_musl(scone_gcc, sysroot, tmp_path, native_env):
    (tmp_path / "hello.c").write_text(HELLO)
    out = run([scone_gcc, "-O2", "hello.c", "-o", "hello"], cwd=tmp_path, env=native_env)
    assert out.returncode == 0, out.stderr
    res = run([str(tmp_path / "hello"), "world"])
    assert (res.returncode, res.stdout) == (3, "hello world\n")
    assert elf_type(tmp_path / "hello") == 2  # ET_EXEC
    assert "INTERP" not in readelf("-lW", str(tmp_path / "hello"))
    symbols = readelf("-sW", str(tmp_path / "hello"))
    assert "__init_libc" in symbols  # musl's start-up, absent from glibc
    if (sysroot / "lib" / "libscone-native.a").exists():
        assert "__scone_syscall" in symbols


def test_threads_math_and_order(scone_gcc, tmp_path, native_env):
    (tmp_path / "t.c").write_text(
        "#include <pthread.h>\n#include <math.h>\n#include <stdio.h>\n#include <stdlib.h>\n"
        "double twice(double);\n"
        "static void *run(void *a){ *(double*)a = twice(sqrt(*(double*)a)); return 0; }\n"
        "int main(int c, char **v){ double x = atof(v[1]); pthread_t t;\n"
        "  if (pthread_create(&t, 0, run, &x)) return 1; pthread_join(t, 0);\n"
        "  printf(\"%.1f\\n\", x); return 0; }\n")
    (tmp_path / "u.c").write_text("double twice(double x){ return 2 * x; }\n")
    assert run([scone_gcc, "-c", "u.c", "-o", "u.o"], cwd=tmp_path, env=native_env).returncode == 0
    assert run(["ar", "rcs", "libu.a", "u.o"], cwd=tmp_path).returncode == 0
    out = run([scone_gcc, "-pthread", "t.c", "-L.", "-lu", "-lm", "-lpthread", "-lrt", "-ldl",
               "-static", "-o", "t"], cwd=tmp_path, env=native_env)
    assert out.returncode == 0, out.stderr
    assert run([str(tmp_path / "t"), "16"]).stdout == "8.0\n"


def test_stdin_and_objects_on_one_link_line(scone_gcc, tmp_path, native_env):
    (tmp_path / "f.c").write_text("int f(void){ return 42; }\n")
    assert run([scone_gcc, "-c", "f.c"], cwd=tmp_path, env=native_env).returncode == 0
    out = subprocess.run([scone_gcc, "-x", "c", "-", "-x", "none", "f.o", "-o", "my prog"], cwd=tmp_path,
                         input="int f(void); int main(void){ return f(); }\n",
                         capture_output=True, text=True, env=native_env)
    assert out.returncode == 0, out.stderr
    assert run([str(tmp_path / "my prog")]).returncode == 42


def test_static_pie(scone_gcc, tmp_path, native_env):
    (tmp_path / "hello.c").write_text(HELLO)
    out = run([scone_gcc, "-static-pie", "-fPIE", "hello.c", "-o", "hp"], cwd=tmp_path, env=native_env)
    assert out.returncode == 0, out.stderr
    assert elf_type(tmp_path / "hp") == 3  # ET_DYN, self-relocating
    assert "INTERP" not in readelf("-lW", str(tmp_path / "hp"))
    assert run([str(tmp_path / "hp"), "pie"]).stdout == "hello pie\n"


def test_default_output_and_response_file(scone_gcc, tmp_path, native_env):
    (tmp_path / "hello.c").write_text(HELLO)
    (tmp_path / "link.rsp").write_text("hello.c '-Wl,-Map,out map.txt'\n")
    out = run([scone_gcc, "@link.rsp"], cwd=tmp_path, env=native_env)
    assert out.returncode == 0, out.stderr
    assert run([str(tmp_path / "a.out")]).stdout == "hello x\n"
    assert (tmp_path / "out map.txt").exists()


def test_host_libraries_are_not_searched(scone_gcc, tmp_path, native_env):
    """libanl is glibc's alone: gcc -static finds it, a musl link must not."""
    host = run(["gcc", "-print-file-name=libanl.a"]).stdout.strip()
    if not os.path.isabs(host):
        pytest.skip("host has no libanl.a to tempt the linker")
    (tmp_path / "m.c").write_text("int main(void){ return 0; }\n")
    assert run(["gcc", "-static", "m.c", "-lanl", "-o", "g"], cwd=tmp_path).returncode == 0
    out = run([scone_gcc, "m.c", "-lanl", "-o", "s"], cwd=tmp_path, env=native_env)
    assert out.returncode != 0
    assert "cannot find -lanl" in out.stderr
    assert not (tmp_path / "s").exists()


def test_link_errors_are_gccs(scone_gcc, tmp_path, native_env):
    (tmp_path / "m.c").write_text("void nothere(void); int main(void){ nothere(); return 0; }\n")
    out = run([scone_gcc, "m.c", "-o", "m"], cwd=tmp_path, env=native_env)
    assert out.returncode == 1
    assert "undefined reference to `nothere'" in out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "m").exists()


def test_shared_is_refused_without_output(scone_gcc, tmp_path, native_env):
    (tmp_path / "l.c").write_text("int f(void){ return 1; }\n")
    out = run([scone_gcc, "-shared", "-fPIC", "l.c", "-o", "libl.so"], cwd=tmp_path, env=native_env)
    assert out.returncode == 2
    assert out.stderr.startswith("scone-gcc: error: -shared: not supported: ")
    assert out.stderr.count("\n") == 1
    assert sorted(os.listdir(tmp_path)) == ["home", "l.c"]  # home: the private HOME


def test_partial_link(scone_gcc, tmp_path, native_env):
    (tmp_path / "a.c").write_text("int a(void){ return 1; }\n")
    (tmp_path / "b.c").write_text("int b(void){ return 2; }\n")
    assert run([scone_gcc, "-c", "a.c", "b.c"], cwd=tmp_path, env=native_env).returncode == 0
    out = run([scone_gcc, "-r", "a.o", "b.o", "-o", "ab.o"], cwd=tmp_path, env=native_env)
    assert out.returncode == 0, out.stderr
    assert elf_type(tmp_path / "ab.o") == 1  # ET_REL
    syms = readelf("-sW", str(tmp_path / "ab.o"))
    assert " a\n" in syms and " b\n" in syms and "__init_libc" not in syms


def test_bad_scone_option_value(scone_gcc, tmp_path, native_env):
    (tmp_path / "m.c").write_text("int main(void){ return 0; }\n")
    out = run([scone_gcc, "--scone-heap=12Q", "m.c"], cwd=tmp_path, env=native_env)
    assert out.returncode == 2
    assert out.stderr.startswith("scone-gcc: error: --scone-heap: '12Q' is not a size")
