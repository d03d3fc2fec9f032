"""Minimal reproducers of runtime/starter problems met while building real programs."""

import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import get_flavour


def _build(tmp_path, name):
    exe = tmp_path / name.removesuffix(".c")
    here = Path(__file__).resolve().parent / "repro" / name
    fl = get_flavour("scone")
    out = subprocess.run(["scone-gcc", "-O2", str(here), "-o", str(exe)], env=fl.environ(),
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return exe


needs_tclsh = pytest.mark.skipif(shutil.which("tclsh") is None, reason="tclsh missing: apt-get install tcl")


@needs_tclsh
def test_tcl_exec_of_enclave_in_sim_mode(tmp_path):
    """With SCONE_MODE=SIM the starter is silent and Tcl's exec gets the output."""
    exe = _build(tmp_path, "tcl_exec_auto.c")
    env = dict(get_flavour("scone").environ(), SCONE_MODE="SIM")
    out = subprocess.run(["tclsh"], input=f"puts [exec {exe}]\n", env=env, capture_output=True, text=True)
    assert (out.returncode, out.stdout.split()[0]) == (0, "2022-12-28"), out.stderr


@needs_tclsh
def test_tcl_exec_of_enclave_in_auto_mode(tmp_path):
    exe = _build(tmp_path, "tcl_exec_auto.c")
    env = get_flavour("scone").environ()
    env.pop("SCONE_MODE", None)
    out = subprocess.run(["tclsh"], input=f"puts [exec {exe}]\n", env=env, capture_output=True, text=True)
    assert (out.returncode, out.stdout.split()[0] if out.stdout else "") == (0, "2022-12-28"), out.stderr


needs_zoneinfo = pytest.mark.skipif(not Path("/usr/share/zoneinfo/Europe/Berlin").exists(),
                                    reason="tzdata missing: apt-get install tzdata")


@needs_zoneinfo
def test_localtime_reads_zoneinfo(tmp_path):
    exe = _build(tmp_path, "tz_map_file.c")
    out = subprocess.run([str(exe)], env=get_flavour("scone").environ(), capture_output=True, text=True)
    # Berlin is UTC+1 in winter (CET): midnight UTC is 01:00 there.
    assert (out.returncode, out.stdout) == (0, "01:00 CET +0100\n"), out.stderr


def test_signal_interrupts_blocked_epoll_wait(tmp_path):
    """A handled SIGTERM ends the main thread's blocked epoll_wait with EINTR,
    after the handler has run: servers whose loop checks a shutdown flag
    (lighttpd -D under its test harness, nginx, redis) stop."""
    import signal
    import time

    exe = _build(tmp_path, "signal_eintr.c")
    proc = subprocess.Popen([str(exe)], stdout=subprocess.PIPE, text=True, env=get_flavour("scone").environ())
    try:
        assert proc.stdout.readline() == "ready\n"
        time.sleep(0.3)  # let it block in epoll_wait
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        out = "still blocked 10 s after SIGTERM"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # What Linux does (epoll_wait(2): EINTR when a handler interrupts the wait).
    assert out == "-1 Interrupted system call 1\n"
