"""In SIM, the OS thread that enters the enclave (the ethread) makes no
system call of its own once it has entered, except futex to sleep when
idle (or to wake a sleeping sthread) and the final exit_group: sthreads do
all the work. The starter names the ethread's TID at SCONE_LOG=debug as the
last thing it writes before entering; strace -f shows who made each call."""

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ALLOWED = {"futex", "exit_group"}

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")


def _ethread_calls(trace: str):
    """(tid, [calls]) the ethread made after it announced itself."""
    # strace pads the TID column: "1384  write(" as well as "20366 write("
    m = re.search(r"^(\d+) +write\(2, \"\[SCONE\|DEBUG\] ethread 0 is threa", trace, re.M)
    assert m, trace[-3000:]
    tid, after = m.group(1), trace[m.end():]
    calls = re.findall(rf"^{tid} +([a-z_0-9]+)\(", after, re.M)   # "<... resumed>" lines are not calls
    return tid, calls


def _strace(cmd, env, tmp_path, **kw):
    out = tmp_path / "trace"
    p = subprocess.Popen(["strace", "-f", "-qq", "-o", str(out), *cmd], env=dict(env, SCONE_LOG="debug"), **kw)
    return p, out


def _check(trace, what):
    tid, calls = _ethread_calls(trace)
    others = {c for c in calls if c not in ALLOWED}
    print(f"{what}: ethread {tid} made {len(calls)} calls after entering: {sorted(set(calls))}")
    assert not others, (what, sorted(others))
    # the work happened elsewhere: other threads made the program's calls
    # (a write to a descriptor that may block is attempted as pwritev2 with
    # RWF_NOWAIT, runtime/untrusted/blocking_xfer.c)
    assert re.search(rf"^(?!{tid} )\d+ +(?:p?writev?2?)\(1,", trace, re.M), what


def test_hello_ethread_only_sleeps(build, async_env, tmp_path):
    p, out = _strace([str(build(REPO / "samples/hello.c")), "a"], async_env, tmp_path,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.communicate(timeout=60)
    assert p.returncode == 0
    _check(out.read_text(), "hello")


def test_files_program_ethread_only_sleeps(build, async_env, tmp_path):
    exe = build(REPO / "tests/runtime/progs/files.c")
    p, out = _strace([str(exe), str(tmp_path / "f.txt")], async_env, tmp_path,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.communicate(timeout=60)
    assert p.returncode == 0
    _check(out.read_text(), "files")


def test_echo_server_ethread_only_sleeps(build, async_env, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    p, out = _strace([str(build(REPO / "samples/echo_server.c")), str(port), "2"], async_env, tmp_path,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == f"listening on 127.0.0.1:{port}\n"
        for i in range(2):
            deadline = time.monotonic() + 20
            while True:
                try:
                    c = socket.create_connection(("127.0.0.1", port), timeout=20)
                    break
                except ConnectionRefusedError:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
            with c:
                c.sendall(b"ping %d\n" % i)
                assert c.recv(100) == b"ping %d\n" % i
            time.sleep(0.3)     # idle between clients: the ethread sleeps
        assert p.wait(timeout=20) == 0
    finally:
        p.kill()
        p.wait()
    _check(out.read_text(), "echo_server")
