"""The scheduler's host harness (issue 5): runtime/sched built into a static
musl test program whose hook routes to it, ethreads and stand-in sthreads
being raw OS threads. Programs are built once per session."""

import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCHED = REPO / "runtime" / "sched"
HARNESS = HERE / "harness"
PROGS = HERE / "progs"

# runtime/sched/part.mk's flags, so that the tested objects are built as the
# enclave's are.
SCHED_FLAGS = ["-O2", "-g", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-fPIE",
               "-fvisibility=hidden", "-fno-stack-protector", "-ffreestanding", "-fno-plt",
               "-mgeneral-regs-only", "-fno-asynchronous-unwind-tables"]
PROG_FLAGS = ["-O2", "-g", "-std=gnu11", "-Wall", "-fno-stack-protector"]


def gcc_dir(name: str = "") -> str:
    return subprocess.run(["gcc", f"-print-file-name={name}"], capture_output=True,
                          text=True, check=True).stdout.strip()


def _cc(args, cwd):
    r = subprocess.run(["gcc", *args], cwd=cwd, capture_output=True, text=True)
    assert r.returncode == 0, " ".join(args) + "\n" + r.stderr


@pytest.fixture(scope="session")
def harness_objs(tmp_path_factory, sysroot):
    """Object files of the scheduler and the harness, built once."""
    out = tmp_path_factory.mktemp("sched-objs")
    inc = ["-nostdinc", "-isystem", f"{sysroot}/include", "-isystem", gcc_dir("include"),
           f"-I{REPO}/runtime/include", f"-I{REPO}/runtime/trusted", f"-I{SCHED}", f"-I{HARNESS}"]
    objs = []
    for src in sorted(SCHED.glob("*.[cS]")):
        o = out / f"sched_{src.name}.o"
        _cc([*SCHED_FLAGS, *inc, "-c", str(src), "-o", str(o)], out)
        objs.append(o)
    for src in sorted(HARNESS.glob("*.[cS]")):
        o = out / f"harness_{src.name}.o"
        _cc([*PROG_FLAGS, *inc, "-c", str(src), "-o", str(o)], out)
        objs.append(o)
    return inc, objs


@pytest.fixture(scope="session")
def sched_prog(tmp_path_factory, sysroot, harness_objs):
    """sched_prog(name) -> a static musl program progs/<name>.c on the scheduler."""
    inc, objs = harness_objs
    out = tmp_path_factory.mktemp("sched-bin")
    lib, gcc = f"{sysroot}/lib", gcc_dir()
    cache = {}

    def _build(name):
        if name not in cache:
            o = out / f"{name}.o"
            _cc([*PROG_FLAGS, *inc, "-c", str(PROGS / f"{name}.c"), "-o", str(o)], out)
            exe = out / name
            _cc(["-static", "-nostdlib", "-nostartfiles", "-o", str(exe),
                 f"{lib}/crt1.o", f"{lib}/crti.o", f"{gcc}/crtbeginT.o", str(o), *map(str, objs),
                 "-Wl,--start-group", f"{lib}/libc.a", f"{gcc}/libgcc.a", f"{gcc}/libgcc_eh.a",
                 "-Wl,--end-group", f"{gcc}/crtend.o", f"{lib}/crtn.o"], out)
            cache[name] = exe
        return cache[name]

    return _build


@pytest.fixture(scope="session")
def native_prog(tmp_path_factory):
    """native_prog(name) -> progs/<name>.c built with the host libc: kernel
    futexes and OS threads, the oracle for the same checks."""
    out = tmp_path_factory.mktemp("sched-native")
    cache = {}

    def _build(name):
        if name not in cache:
            exe = out / name
            _cc(["-O2", "-DSCHED_NATIVE", "-pthread", f"-I{HARNESS}", "-o", str(exe),
                 str(PROGS / f"{name}.c")], out)
            cache[name] = exe
        return cache[name]

    return _build

