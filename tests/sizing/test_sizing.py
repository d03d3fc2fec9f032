"""High-water marks, scone-sign size, the enclave's sysinfo and the messages
where size runs out (runtime/trusted/hwm.c, runtime/untrusted/hwm.c,
scone_cc/sizing.py).

Expected values come from outside the code under test: the program's own
arguments (KiB of recursion, MiB held), the signed parameters as
``scone-sign show --json`` reports them, the native build's behaviour, and
the smallest sizes that pass, found by bisection.
"""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SRC = HERE / "sizes.c"


def _env(**extra):
    env = dict(os.environ, SCONE_MODE="SIM")
    for k in ("SCONE_LOG", "SCONE_HWM_FILE"):
        env.pop(k, None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture(scope="module")
def exes(tmp_path_factory):
    out = tmp_path_factory.mktemp("sizing")
    built = {}
    for name, flags in (("enclave", []), ("native", ["--scone-native"])):
        built[name] = out / name
        r = subprocess.run(["scone-gcc", *flags, "-O1", "-pthread", str(SRC), "-o", str(built[name])],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    return built


def _show(exe):
    r = subprocess.run(["scone-sign", "show", "--json", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _run(exe, *args, hwm=None, **kw):
    env = _env(**({"SCONE_HWM_FILE": hwm} if hwm else {}))
    return subprocess.run([str(exe), *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=60, **kw)


def test_marks_at_exit(exes, tmp_path):
    shown = _show(exes["enclave"])["parameters"]
    f = tmp_path / "h.json"
    r = _run(exes["enclave"], "stack", 100, hwm=f)
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
    d = json.loads(f.read_text())
    assert d["end"] == "exit" and d["value"] == 0 and d["exact"]
    assert (d["heap_size"], d["stack_size"], d["tcs_count"]) == (
        shown["heap_size"], shown["stack_size"], shown["tcs_count"])
    # 100 frames of a 1000-byte array: at least 100,000 bytes, and the
    # frames' own words and the runtime's below main at most 16 KiB more.
    assert 100_000 <= d["stack_peak"] <= 100_000 + (16 << 10)
    r = _run(exes["enclave"], "heap", 20, hwm=f)
    d = json.loads(f.read_text())
    assert r.stdout == "ok\n"
    assert 20 << 20 <= d["heap_peak"] <= (21 << 20) + (64 << 10)
    r = _run(exes["enclave"], "threads", 5, hwm=f)
    assert r.stdout == "ok\n"
    assert json.loads(f.read_text())["lthreads_peak"] == 6


def test_pthread_stacks_exact(exes, tmp_path):
    """A pthread's depth is found at its end, not sampled at switches: the
    recursion never switches, the thread and a detached one (gone through
    musl's __unmapself) leave their stacks' figures."""
    f = tmp_path / "p.json"
    r = _run(exes["enclave"], "tstack", 600, hwm=f)
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
    # 600 frames of a 1000-byte array, each frame's own words at most 24
    # bytes more, and musl's start routine below them.
    assert 600_000 <= json.loads(f.read_text())["pthread_stack_peak"] <= 600 * 1024 + (4 << 10)
    r = _run(exes["enclave"], "threads", 5, hwm=f)      # 32 KiB each, alive together
    assert 32_000 <= json.loads(f.read_text())["pthread_stack_peak"] <= 32 * 1024 + (4 << 10)
    env = _env(SCONE_LOG="info")
    r = subprocess.run([str(exes["enclave"]), "tstack", "300"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert "pthread stacks 300 KiB" in r.stderr or "pthread stacks 301 KiB" in r.stderr, r.stderr


def test_sigterm_and_overflow_leave_the_file(exes, tmp_path):
    env = _env(SCONE_HWM_FILE=tmp_path / "t.%p.json")
    p = subprocess.Popen([str(exes["enclave"]), "wait", "30"], env=env, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "ready\n"
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=20) == -signal.SIGTERM
    d = json.loads((tmp_path / f"t.{p.pid}.json").read_text())
    assert (d["end"], d["value"]) == ("signal", signal.SIGTERM)
    assert d["heap_peak"] >= 30 << 20
    assert not list(tmp_path.glob("*.tmp*"))

    f = tmp_path / "o.json"
    r = _run(exes["enclave"], "stack", 1200, hwm=f)
    assert r.returncode == -signal.SIGSEGV
    d = json.loads(f.read_text())
    assert (d["end"], d["stack_overflow_thread"]) == ("stack-overflow", 0)
    assert d["stack_peak"] > d["stack_size"]
    assert (f"[SCONE|ERROR] stack overflow in enclave thread 0: its stack is 1024 KiB (signed), "
            f"all of it used; sign with --stack 4M or more (scone-sign sign --stack 4M {exes['enclave']};"
            ) in r.stderr


def test_heap_exhausted_names_the_size(exes):
    r = _run(exes["enclave"], "heap", 100)
    assert (r.returncode, r.stdout) == (3, "ENOMEM\n")
    lines = [ln for ln in r.stderr.splitlines() if "heap exhausted" in ln]
    assert len(lines) == 1, r.stderr
    assert "a request of 100.0 MiB refused; sign with --heap 128M or more" in lines[0]
    assert _run(exes["native"], "heap", 100).stdout == "ok\n"


def test_sysinfo_is_the_signed_heap(exes):
    heap = _show(exes["enclave"])["parameters"]["heap_size"]
    r = _run(exes["enclave"], "sysinfo")
    v = dict((k, int(n)) for k, n in (ln.split() for ln in r.stdout.splitlines()))
    assert v["totalram"] == heap
    assert v["phys_pages"] == heap // v["pagesize"]
    assert 0 < v["freeram"] < heap and v["avphys_pages"] == v["freeram"] // v["pagesize"]
    assert v["freeram"] - v["freeram_after_8M"] >= 8 << 20
    native = _run(exes["native"], "sysinfo").stdout.split()
    meminfo = Path("/proc/meminfo").read_text().split()
    assert int(native[1]) // 1024 == int(meminfo[1])   # natively: the host's MemTotal


def _passes(exe, size_opt, value, *args):
    subprocess.run(["scone-sign", "sign", size_opt, value, str(exe)], check=True, capture_output=True)
    return _run(exe, *args).stdout == "ok\n"


@pytest.mark.parametrize("what,args,opt,step", [
    ("stack", ("stack", 600), "--stack", 64 << 10),
    ("heap", ("heap", 40), "--heap", 1 << 20),
])
def test_size_suggests_within_2x_of_the_smallest(exes, tmp_path, what, args, opt, step):
    exe = tmp_path / "app"
    shutil.copy2(exes["enclave"], exe)
    before = exe.read_bytes()
    r = subprocess.run(["scone-sign", "size", "--json", str(exe), "--", str(exe), *map(str, args)],
                       capture_output=True, text=True, env=_env(), timeout=120)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert exe.read_bytes() == before          # the generous copy is gone again
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert rep["measured"]["runs"] == 1 and rep["command_status"] == 0
    got = rep["suggested"][f"{what}_size"]
    assert rep["sign_command"].startswith("scone-sign sign --heap ")
    assert _passes(exe, opt, str(got), *args)
    lo, hi = step, got                          # smallest passing multiple of step
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        lo, hi = (lo, mid) if _passes(exe, opt, str(mid), *args) else (mid, hi)
    assert hi <= got <= 2 * hi, (hi, got)


def test_size_apply_and_bad_input(exes, tmp_path):
    exe = tmp_path / "app"
    shutil.copy2(exes["enclave"], exe)
    r = subprocess.run(["scone-sign", "size", "--apply", str(exe), "--", str(exe), "stack", "500"],
                       capture_output=True, text=True, env=_env(), timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-2].startswith("scone-sign sign --heap ")
    p = _show(exe)["parameters"]
    assert 500_000 <= p["stack_size"] <= 1 << 20 and p["heap_size"] <= 2 << 20
    assert _run(exe, "stack", 500).stdout == "ok\n"
    r = subprocess.run(["scone-sign", "size", "--json", str(exe), "heap", "30"], capture_output=True,
                       text=True, env=_env(), timeout=120)        # no "--": BINARY's own arguments
    assert r.returncode == 0 and json.loads(r.stdout)["measured"]["heap_used"] >= 30 << 20, r.stderr
    r = subprocess.run(["scone-sign", "size", str(tmp_path / "missing")], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    r = subprocess.run(["scone-sign", "size", str(exe), "--", "true"], capture_output=True, text=True)
    assert r.returncode == 1 and "no time" in r.stderr


def test_size_interrupted_puts_the_binary_back(exes, tmp_path):
    exe = tmp_path / "app"
    shutil.copy2(exes["enclave"], exe)
    before = exe.read_bytes()
    p = subprocess.Popen(["scone-sign", "size", str(exe), "wait", "5"], env=_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stderr.readline() == "ready\n"      # the command's output goes to stderr
    assert exe.read_bytes() != before            # the generous copy is in place
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 128 + signal.SIGTERM
    assert "interrupted by SIGTERM" in p.stderr.read()
    assert exe.read_bytes() == before
    assert [q.name for q in tmp_path.iterdir()] == ["app"]
