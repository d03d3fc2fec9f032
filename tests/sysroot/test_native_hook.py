"""Programs linked against the patched musl and the native hook run, and every
system call they make passes through the hook: its per-number counts equal
strace's for the same run (strace is the independent witness)."""

import collections
import os
import re
import subprocess

import pytest

from .conftest import need

STRACE_CALL = re.compile(r"^\d+\s+([a-z_0-9]+)\(")
TRACE_LINE = re.compile(r"^scone-trace:\s+(\d+) (\S+) (\d+)$")


def hook_counts(text: str) -> collections.Counter:
    counts = collections.Counter()
    for line in text.splitlines():
        m = TRACE_LINE.match(line)
        if m:
            counts[m.group(2)] += int(m.group(3))
    return counts


def strace_counts(text: str) -> collections.Counter:
    """Calls as strace -f logs them; `<... resumed>` halves are not new calls."""
    counts = collections.Counter()
    for line in text.splitlines():
        m = STRACE_CALL.match(line)
        if m:
            counts[m.group(1)] += 1
    counts["execve"] -= 1  # the kernel's exec of the program itself
    return +counts


@pytest.mark.parametrize("pie", [True, False], ids=["static-pie", "static"])
def test_hello_runs(build_prog, pie):
    exe = build_prog("hello", pie=pie)
    out = subprocess.run([exe], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout == "hello from the hook\n"


def test_hook_keeps_its_register_abi(build_prog):
    """Only RAX (result), RCX and R11 change; RSP may be misaligned (hook.h)."""
    exe = build_prog("abi", ext="S")
    out = subprocess.run([exe], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, f"register #{out.returncode} not preserved (see progs/abi.S)"


def test_counts_equal_strace(build_prog, tmp_path):
    need("strace")
    exe = build_prog("traced")
    trace = tmp_path / "hook.txt"
    slog = tmp_path / "strace.txt"
    env = dict(os.environ, SCONE_TRACE=str(trace))
    out = subprocess.run(["strace", "-f", "-qq", "-o", str(slog), str(exe)],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "traced ok 1\n"
    ours = hook_counts(trace.read_text())
    theirs = strace_counts(slog.read_text())
    assert ours == theirs
    # The run really took the special paths, not only the C choke point.
    for name in ("clone", "exit", "munmap", "rt_sigreturn", "arch_prctl", "clock_gettime"):
        assert ours[name] > 0, name


def test_forked_reports_add_up_to_strace(build_prog, tmp_path):
    need("strace")
    exe = build_prog("forked")
    trace = tmp_path / "hook.txt"
    slog = tmp_path / "strace.txt"
    out = subprocess.run(["strace", "-f", "-qq", "-o", str(slog), str(exe)],
                         capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, SCONE_TRACE=str(trace)))
    assert out.returncode == 0, out.stderr
    assert sorted(out.stdout.splitlines()) == ["child", "parent"]
    text = trace.read_text()
    assert text.count("scone-trace: total") == 3  # parent, fork child, vfork child
    assert hook_counts(text) == strace_counts(slog.read_text())


def test_trace_to_stderr_totals(build_prog):
    exe = build_prog("hello")
    out = subprocess.run([exe], capture_output=True, text=True, timeout=30,
                         env=dict(os.environ, SCONE_TRACE="1"))
    assert out.returncode == 0
    lines = out.stderr.splitlines()
    per = hook_counts(out.stderr)
    total = int(re.fullmatch(r"scone-trace: total (\d+)", lines[-1]).group(1))
    assert sum(per.values()) == total
    # exit_group and the report's own write are counted, by name from musl's table.
    assert per["exit_group"] == 1 and per["write"] >= 1


def test_no_trace_without_env(build_prog):
    exe = build_prog("hello")
    env = {k: v for k, v in os.environ.items() if k != "SCONE_TRACE"}
    out = subprocess.run([exe], capture_output=True, text=True, timeout=30, env=env)
    assert out.returncode == 0 and out.stderr == ""


def test_fork_vfork_spawn_system(build_prog):
    exe = build_prog("spawn")
    out = subprocess.run([exe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, (out.returncode, out.stderr)
    assert out.stdout == "spawned\nspawn ok\n"


def test_vfork_is_fork(build_prog, tmp_path):
    need("strace")
    exe = build_prog("spawn")
    slog = tmp_path / "strace.txt"
    subprocess.run(["strace", "-f", "-qq", "-o", str(slog), str(exe)],
                   capture_output=True, timeout=60, check=True)
    calls = strace_counts(slog.read_text())
    assert calls["vfork"] == 0 and calls["fork"] == 2


def test_threads_under_a_signal_storm(build_prog):
    exe = build_prog("stress")
    out = subprocess.run([exe], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, SCONE_TRACE="1"))
    assert out.returncode == 0, (out.returncode, out.stderr)
    assert out.stdout == "stress ok 1\n"
    assert hook_counts(out.stderr)["rt_sigreturn"] > 0


def test_cancel_blocked_threads(build_prog):
    exe = build_prog("cancel")
    out = subprocess.run([exe], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, (out.returncode, out.stderr)
    assert out.stdout == "cancel ok\n"
