"""/proc/meminfo inside the enclave (runtime/shield/proc.c): the signed heap
is the machine's memory, as lxcfs reports a cgroup's limit.

Expected values come from outside the code under test: the heap the test
signs with, the host kernel's own /proc/meminfo (field names, their order,
the line format) and the native build of the same program (how the file
behaves under read, lseek, pread, dup, fstat and the calls that fail).
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SRC = HERE / "meminfo.c"
LINE = re.compile(r"^([A-Za-z0-9_()]+):( +)(\d+)( kB)?$")


def _env():
    env = dict(os.environ, SCONE_MODE="SIM")
    for k in ("SCONE_LOG", "SCONE_HWM_FILE"):
        env.pop(k, None)
    return env


@pytest.fixture(scope="module")
def exes(tmp_path_factory):
    out = tmp_path_factory.mktemp("meminfo")
    built = {}
    for name, flags in (("enclave", []), ("native", ["--scone-native"])):
        built[name] = out / name
        r = subprocess.run(["scone-gcc", *flags, "-O1", str(SRC), "-o", str(built[name])],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    return built


def _run(exe):
    r = subprocess.run([str(exe)], env=_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    text, _, checks = r.stdout.partition("---\n")
    return text, dict(ln.split(" ", 1) for ln in checks.splitlines())


def _fields(text):
    out = {}
    for ln in text.splitlines():
        m = LINE.match(ln)
        assert m, f"not a meminfo line: {ln!r}"
        # Linux: the name and colon padded to 16 columns, the number right-aligned in 8.
        assert len(m.group(1)) + 1 + len(m.group(2)) + len(m.group(3)) == 16 + max(8, len(m.group(3))), ln
        out[m.group(1)] = int(m.group(3))
    return out


@pytest.mark.parametrize("heap_mib", [64, 40])
def test_meminfo_is_the_signed_heap(exes, tmp_path, heap_mib):
    exe = tmp_path / "mi"
    exe.write_bytes(exes["enclave"].read_bytes())
    exe.chmod(0o755)
    if heap_mib != 64:                          # 64 MiB: the default, as built
        subprocess.run(["scone-sign", "sign", "--heap", f"{heap_mib}M", str(exe)], check=True,
                       capture_output=True)
    text, got = _run(exe)
    f = _fields(text)
    total = heap_mib << 10
    assert f["MemTotal"] == total and f["CommitLimit"] == total
    assert 0 < f["MemFree"] == f["MemAvailable"] < total
    used = total - f["MemFree"]
    assert f["Active"] == f["Active(anon)"] == f["AnonPages"] == f["Committed_AS"] == used
    assert f["SwapTotal"] == f["SwapFree"] == f["Cached"] == f["Buffers"] == 0
    # The same fields as the host kernel's, in its order (a subset of them).
    host = [ln.split(":")[0] for ln in Path("/proc/meminfo").read_text().splitlines()]
    assert [n for n in host if n in f] == list(f)
    # Every way of reaching it says the same; sysinfo agrees.
    for k in ("stdio_total", "sysconf_kb", "self_dotdot", "slashes", "openat_dir", "relative", "relative2"):
        assert int(got[k]) == total, k
    # 16 MiB touched: MemFree fell by at least that, re-read through lseek(0) as procps does.
    assert int(got["memfree_drop_kb"]) >= 16 << 10


def test_meminfo_behaves_as_procfs(exes):
    _, ours = _run(exes["enclave"])
    _, native = _run(exes["native"])
    host = _fields(Path("/proc/meminfo").read_text())
    assert int(native["stdio_total"]) == host["MemTotal"]        # the native program reads the host's
    same = ("read_end", "fstat", "lseek_set", "after_lseek", "lseek_cur", "lseek_end", "lseek_neg",
            "pread", "pread20", "dup_shares_offset", "dupfd", "write", "mmap_failed", "o_directory",
            "o_excl", "close")
    assert {k: ours[k] for k in same} == {k: native[k] for k in same}
    assert ours["fstat"] == "0 100444 0 1024"                    # regular, size 0, as procfs says
    assert ours["o_wronly"] == "0 13"                            # EACCES (root natively may open it)
