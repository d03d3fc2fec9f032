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
