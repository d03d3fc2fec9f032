"""The M:N scheduler in the host harness: musl's own pthreads, futexes,
sleeps, external calls and stealing on a few ethreads (issue 5)."""

import os
import re
import subprocess

import pytest

STHREADS = 4  # harness/ext.c


def run_prog(exe, *args, ethreads=2, timeout=120, **env):
    """Run a harness program; env values become SCHED_* variables."""
    e = dict(os.environ)
    e["SCHED_ETHREADS"] = str(ethreads)
    e.update({f"SCHED_{k.upper()}": str(v) for k, v in env.items()})
    return subprocess.run([str(exe), *map(str, args)], env=e, capture_output=True, text=True,
                          timeout=timeout)


def ok(r, what):
    assert r.returncode == 0, f"{what}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    assert f"ok {what}" in r.stdout, r.stdout
    return r.stdout


@pytest.mark.parametrize("ethreads", [1, 2, 4])
def test_stress_200_threads(sched_prog, ethreads):
    out = ok(run_prog(sched_prog("stress"), 200, 20, ethreads=ethreads), "stress")
    # OS threads while 200 pthreads live: ethreads + sthreads, not one per pthread.
    assert int(re.search(r"tasks=(\d+)", out).group(1)) == ethreads + STHREADS, out


def test_stress_without_fsgsbase(sched_prog):
    """The FS fallback (a callback per switch) keeps __thread right."""
    ok(run_prog(sched_prog("stress"), 200, 10, no_fsgsbase=1), "stress")


def test_stress_oracle(native_prog):
    ok(run_prog(native_prog("stress"), 200, 20), "stress")


def test_futex_ops(sched_prog):
    ok(run_prog(sched_prog("futex")), "futex")


def test_futex_ops_one_ethread(sched_prog):
    ok(run_prog(sched_prog("futex"), ethreads=1, espins=0), "futex")


def test_futex_oracle(native_prog):
    """The expectations of progs/futex.c hold against the kernel itself."""
    ok(run_prog(native_prog("futex")), "futex")


@pytest.mark.parametrize("ethreads", [1, 2])
@pytest.mark.parametrize("path", ["fast", "xsavec", "xsave"])
def test_vector_state_survives_parking(sched_prog, path, ethreads):
    """xmm/ymm, MXCSR and the x87 CW come back across parks (hook ABI):
    the SSE-only fast path with dirty neighbours, XSAVEC, plain XSAVE."""
    env = {"fast": {}, "xsavec": {"no_xinuse": 1},
           "xsave": {"no_xinuse": 1, "no_xsavec": 1}}[path]
    ok(run_prog(sched_prog("vector"), ethreads=ethreads, **env), "vector")


def test_sleep(sched_prog):
    ok(run_prog(sched_prog("sleep")), "sleep")


def test_sleep_oracle(native_prog):
    ok(run_prog(native_prog("sleep")), "sleep")


def test_external_calls_park_only_their_lthread(sched_prog):
    ok(run_prog(sched_prog("ext")), "ext")


def test_external_calls_oracle(native_prog):
    ok(run_prog(native_prog("ext")), "ext")


def test_external_calls_one_ethread_sleeping(sched_prog):
    """One ethread that sleeps outside at once: responses must wake it."""
    ok(run_prog(sched_prog("ext"), ethreads=1, espins=0), "ext")


def test_stealing(sched_prog):
    ok(run_prog(sched_prog("steal"), ethreads=2), "steal")


def test_soak_quick(sched_prog):
    ok(run_prog(sched_prog("soak"), 3, timeout=60), "soak")


@pytest.mark.slow
@pytest.mark.parametrize("ethreads,espins", [(2, 200), (4, 0), (1, 0)])
def test_soak(sched_prog, ethreads, espins):
    ok(run_prog(sched_prog("soak"), 30, ethreads=ethreads, espins=espins, timeout=120), "soak")
