"""xz from Debian's source, built unmodified with scone-gcc (static), in the
enclave with the default sizes: it sizes itself from the machine's memory
(sysinfo), which is the signed heap in the enclave; its default preset
(-6) needs 94 MiB to compress by its own table (xz(1), "Memory usage"),
more than the default 64 MiB heap: the heap-exhausted line names a size,
and scone-sign size, from one run, gives one that works.
"""

import json
import subprocess

import pytest

from .debian_build import build_both, env as sim_env

pytestmark = pytest.mark.slow

CONFIGURE = ["./configure", "--disable-shared", "--disable-nls", "--disable-doc", "--disable-scripts",
             "--disable-lzmadec", "--disable-lzmainfo", "--disable-xzdec"]


@pytest.fixture(scope="module")
def xz(tmp_path_factory):
    return build_both(tmp_path_factory, "xz-utils", CONFIGURE, "", "src/xz/xz")


def _xz(exe, *args, stdin=b"", env=None):
    return subprocess.run([str(exe), *args], input=stdin, capture_output=True, env=env or sim_env(), timeout=300)


def test_xz_sees_the_enclave_and_sizes_from_one_run(xz, tmp_path):
    heap = json.loads(subprocess.run(["scone-sign", "show", "--json", str(xz["enclave"])],
                                     capture_output=True, text=True).stdout)["parameters"]["heap_size"]
    info = _xz(xz["enclave"], "--robot", "--info-memory").stdout.decode().split()
    assert int(info[0]) == heap                      # xz's own reading of the machine's RAM
    native = _xz(xz["native"], "--robot", "--info-memory").stdout.decode().split()
    assert int(native[0]) > heap                     # natively: the host's

    data = b"hello\n"
    # A limit relative to RAM now adapts to the enclave (8 MiB dictionary -> 4 MiB).
    r = _xz(xz["enclave"], "--memlimit-compress=80%", "-c", stdin=data)
    assert r.returncode == 0, r.stderr
    assert subprocess.run(["xz", "-dc"], input=r.stdout, capture_output=True).stdout == data
    # -T0 -9 with the whole enclave as the limit: xz drops to one thread and a
    # 4 MiB dictionary (xz(1): the limit adjusts the settings down). Without a
    # limit xz's automatic one for threads (a quarter of RAM) is soft: it
    # says 1250 MiB are needed, continues anyway and runs out, as it would
    # natively on a machine with 64 MiB.
    r = _xz(xz["enclave"], "-T0", "-9", "--memlimit-compress=100%", "-vv", "-c", stdin=data)
    assert r.returncode == 0, r.stderr
    assert b"to not exceed the memory usage limit of 64 MiB" in r.stderr
    assert subprocess.run(["xz", "-dc"], input=r.stdout, capture_output=True).stdout == data
    # The default preset does not fit 64 MiB; the line says what would.
    r = _xz(xz["enclave"], "-c", stdin=data)
    assert r.returncode == 1 and b"Out of memory" in r.stderr
    assert b"heap exhausted" in r.stderr and b"sign with --heap 128M or more" in r.stderr

    exe = tmp_path / "xz"
    exe.write_bytes(xz["enclave"].read_bytes())
    exe.chmod(0o755)
    r = subprocess.run(["scone-sign", "size", "--apply", "--json", str(exe), "--",
                        "sh", "-c", f"printf 'hello\\n' | {exe} -c | {exe} -dc"],
                       capture_output=True, text=True, env=sim_env(), timeout=600)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["measured"]["runs"] == 2
    assert 94 << 20 <= rep["suggested"]["heap_size"] <= 2 * (100 << 20)
    r = _xz(exe, "-c", stdin=data)
    assert r.returncode == 0, r.stderr
    assert _xz(exe, "-dc", stdin=r.stdout).stdout == data
