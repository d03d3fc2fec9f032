"""Reproducers of enclave-only failures met in redis's and memcached's own suites.

Each program runs twice from the same source: as an enclave and as a plain
static musl binary (``--scone-native``); the enclave must print what the
native binary prints. Known bugs are strict xfails naming the runtime part,
so a fix turns them into failures that ask for the marker's removal.
"""

import os
import resource
import signal
import subprocess
from pathlib import Path

import pytest

from .conftest import get_flavour

HERE = Path(__file__).resolve().parent / "repro"


def _both(tmp_path, name: str, timeout: float = 20) -> tuple[str, str]:
    """(enclave stdout, native stdout) of ``repro/<name>``; a hang shows as a line saying so."""
    env = get_flavour("scone").environ()
    exes = {f: tmp_path / f"{Path(name).stem}-{f}" for f in ("enclave", "native")}
    builds = [subprocess.Popen(["scone-gcc", *(["--scone-native"] if f == "native" else []), "-O2", "-pthread",
                                str(HERE / name), "-o", str(exe)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for f, exe in exes.items()]
    for b in builds:  # both at once: an enclave link (check, sign) is the slow part
        _, err = b.communicate()
        assert b.returncode == 0, err
    outs = []
    for exe in exes.values():
        try:
            r = subprocess.run([str(exe)], env=env, capture_output=True, text=True, timeout=timeout)
            outs.append(r.stdout if r.returncode == 0 else f"{r.stdout}[exit {r.returncode}]\n")
        except subprocess.TimeoutExpired:
            outs.append(f"[no exit within {timeout:.0f} s]\n")
    return outs[0], outs[1]


def test_big_stack_frame_meets_the_guard(tmp_path):
    # scone-gcc compiles with -fstack-clash-protection: the 512 KiB frame
    # probes its pages in order, so on a 256 KiB enclave stack it
    # hits the guard page (named as a stack overflow) instead of skipping it
    # and overwriting mmap'd memory below, as a native process does on a
    # 256 KiB stack. With the 8 MiB a native main thread has, it fits.
    env = get_flavour("scone").environ()
    src = str(HERE / "stack_frame_skips_guard.c")
    exes = {}
    for name, flags in (("256K", ["--scone-stack=256K"]), ("8M", ["--scone-stack=8M"]), ("native", ["--scone-native"])):
        exes[name] = tmp_path / name
        subprocess.run(["scone-gcc", *flags, "-O2", src, "-o", str(exes[name])], env=env, check=True)
    run = lambda exe, **kw: subprocess.run([str(exe)], env=env, capture_output=True, text=True, timeout=20, **kw)

    def small_stack():
        resource.setrlimit(resource.RLIMIT_STACK, (256 << 10, 256 << 10))
    native_small = run(exes["native"], preexec_fn=small_stack)
    assert (native_small.returncode, native_small.stdout) == (-signal.SIGSEGV, "")
    ours = run(exes["256K"])
    assert (ours.returncode, ours.stdout) == (-signal.SIGSEGV, ""), ours.stderr
    assert ("[SCONE|ERROR] stack overflow in enclave thread 0: its stack is 256 KiB (signed), "
            f"all of it used; sign with --stack 1M or more (scone-sign sign --stack 1M {exes['256K']};") in ours.stderr
    native, big = run(exes["native"]), run(exes["8M"])
    assert native.stdout == "ok\n"  # the premise: natively the frame fits
    assert (big.returncode, big.stdout) == (0, native.stdout), big.stderr


def test_setid_with_threads_returns(tmp_path):
    ours, native = _both(tmp_path, "setid_threads.c", timeout=10)
    assert native == "setgid -> 0\n"
    assert ours == native


@pytest.mark.skipif(os.geteuid() != 0, reason="setgid/setuid to nobody need root")
def test_setid_reaches_every_host_thread(tmp_path):
    # Linux credentials are per thread and the enclave's calls run on host
    # threads (sthreads, ethreads): all of them must carry the new ids.
    ours, native = _both(tmp_path, "setid_host_threads.c", timeout=10)
    assert native == "setgid -> 0\nsetuid -> 0\nevery task: gid 65534, uid 65534\n"
    assert ours == native


def test_handler_runs_as_its_receiver(tmp_path):
    # pthread_kill's handler sees its target as pthread_self(), and a handler
    # that waits does not hold up the next thread's signal.
    ours, native = _both(tmp_path, "handler_as_receiver.c")
    assert native == "handlers entered: 2, as their receiver: 1 1\n"
    assert ours == native
