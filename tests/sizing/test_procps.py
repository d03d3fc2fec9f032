"""procps's ``free`` from Debian's source, built unmodified with scone-gcc:
a real program that learns the machine's memory from /proc/meminfo only
(libproc2's meminfo reader; ``free`` never calls sysinfo). In the enclave
it reports the signed heap; natively, the host's. Expected values: the heap
signed, and the host kernel's /proc/meminfo.
"""

import subprocess
from pathlib import Path

import pytest

from .debian_build import build_both, env as sim_env

pytestmark = pytest.mark.slow

CONFIGURE = ["./configure", "--disable-shared", "--disable-nls", "--without-ncurses", "--without-systemd",
             "--disable-pidof", "--disable-kill", "--disable-w"]


@pytest.fixture(scope="module")
def free(tmp_path_factory):
    return build_both(tmp_path_factory, "procps", CONFIGURE, "src/free", "src/free")


def _mem_row(exe, env=None):
    r = subprocess.run([str(exe), "-k", "-w"], capture_output=True, text=True, env=env or sim_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    head, mem = r.stdout.splitlines()[:2]
    return dict(zip(head.split(), map(int, mem.split()[1:])))


def test_free_reads_the_enclave(free, tmp_path):
    exe = tmp_path / "free"
    exe.write_bytes(free["enclave"].read_bytes())
    exe.chmod(0o755)
    for heap_mib in (64, 200):
        if heap_mib != 64:
            subprocess.run(["scone-sign", "sign", "--heap", f"{heap_mib}M", str(exe)], check=True,
                           capture_output=True)
        row = _mem_row(exe)
        assert row["total"] == heap_mib << 10
        # MemAvailable is in /proc/meminfo only (sysinfo has no such figure).
        assert 0 < row["available"] == row["free"] < row["total"]
        assert row["used"] == row["total"] - row["free"]
        assert row["buffers"] == row["cache"] == row["shared"] == 0
    host = dict(ln.split(":") for ln in Path("/proc/meminfo").read_text().splitlines())
    assert _mem_row(free["native"])["total"] == int(host["MemTotal"].split()[0])
