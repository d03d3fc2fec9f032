"""The marshalling compared with native Linux, call by call.

progs/vecio.c runs read/write, pread/pwrite, readv/writev, preadv/pwritev,
preadv2/pwritev2, send/recv(MSG_WAITALL), sendmsg/recvmsg (with SCM_RIGHTS
control data), sendmmsg/recvmmsg, with sizes of 0, 1, the arena unit
(128 KiB) and one byte either side, 1 MiB and more, and up to 1024 iovecs,
on a regular file, a pipe, a stream socket pair and UDP, and prints a
transcript of every result and an FNV-1a digest of every byte moved. The
same source built with --scone-native is the oracle: the enclave's
transcript, async and SCONE_SYSCALL=sync, must be the same byte for byte.
(process_vm_readv/writev are refused in enclaves: not compared.)"""

import subprocess
from pathlib import Path

import pytest

PROGS = Path(__file__).resolve().parent / "progs"


@pytest.fixture(scope="module")
def native(build, async_env, tmp_path_factory):
    exe = build(PROGS / "vecio.c", "--scone-native")
    out = tmp_path_factory.mktemp("vecio") / "file"
    r = subprocess.run([str(exe), str(out)], env=async_env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "wrong 0" in r.stdout and "ret 1048576" in r.stdout   # the oracle itself is sane
    return r.stdout


@pytest.mark.parametrize("mode", ["async", "sync", "adaptive"])
def test_vector_and_message_calls_match_native(build, async_env, native, tmp_path, mode):
    env = dict(async_env, SCONE_SYSCALL=mode)
    r = subprocess.run([str(build(PROGS / "vecio.c")), str(tmp_path / "file")], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    got, want = r.stdout.splitlines(), native.splitlines()
    diff = [f"native: {w}\nenclave: {g}" for w, g in zip(want, got) if w != g]
    assert not diff and len(got) == len(want), "\n".join(diff[:10]) or (len(got), len(want))
