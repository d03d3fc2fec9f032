"""Non-blocking descriptors and MSG_DONTWAIT in the enclave: a call that is
not ready fails with EAGAIN at once, as natively, instead of being parked
until the descriptor becomes ready (redis-server's accept loop hung there)."""

import subprocess

EXPECTED = "".join(f"{name} EAGAIN\n" for name in
                   ("accept4", "read", "readv", "recv-dontwait", "recvmsg-dontwait",
                    "send-dontwait", "write"))


def test_nonblocking_calls_do_not_wait_natively(build):
    r = subprocess.run([str(build("nonblock.c", native=True))], capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stdout) == (0, EXPECTED), r.stderr


def test_nonblocking_calls_do_not_wait_in_enclave(build, enclave_env):
    for ethreads in (1, 2):
        r = subprocess.run([str(build("nonblock.c"))], env=enclave_env(SCONE_ETHREADS=ethreads),
                           capture_output=True, text=True, timeout=30)
        assert (r.returncode, r.stdout) == (0, EXPECTED), (ethreads, r.stdout, r.stderr)


def test_nonblocking_regular_file_reads_wait_for_the_disk(build, enclave_env, tmp_path):
    """O_NONBLOCK means nothing to a regular file (open(2)): a read that must
    go to the disk waits natively and must not say EAGAIN in the enclave."""
    path = str(tmp_path / "data")
    native = subprocess.run([str(build("nonblock_file.c", native=True)), path],
                            capture_output=True, text=True, timeout=30)
    assert (native.returncode, native.stdout) == (0, "ok\n"), native.stderr
    r = subprocess.run([str(build("nonblock_file.c")), path], env=enclave_env(),
                       capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
