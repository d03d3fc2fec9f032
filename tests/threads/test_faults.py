"""Fault signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL) in the enclave.

A fault of enclave code without a handler ends the process by its signal,
as natively; with a handler, the handler runs inside the enclave on the
faulting thread (the exception path: runtime/trusted/exception.c;
test_exceptions.py has the cases). The same signals sent with kill follow
the application's disposition, as natively."""

import signal
import subprocess

import pytest


def _run(exe, case, env=None):
    r = subprocess.run([str(exe), case], env=env, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


@pytest.mark.parametrize("case, expected", [
    ("segv", (-signal.SIGSEGV, "")),
    ("fpe", (-signal.SIGFPE, "")),
    ("sent-handled", (0, f"handled {int(signal.SIGSEGV)}\n")),
    ("sent-ignored", (0, "ignored\n")),
    ("sent-default", (-signal.SIGBUS, "")),
])
@pytest.mark.parametrize("ethreads", [1, 2])
def test_as_natively(build, enclave_env, case, expected, ethreads):
    native = _run(build("faults.c", native=True), case)
    assert native[:2] == expected, native[2]
    ours = _run(build("faults.c"), case, enclave_env(SCONE_ETHREADS=ethreads))
    assert ours[:2] == expected, ours[2]
    assert "[SCONE|ERROR]" not in ours[2], ours[2]


@pytest.mark.parametrize("ethreads", [1, 2])
def test_fault_with_a_handler_runs_it_as_natively(build, enclave_env, ethreads):
    # Natively the handler runs on the faulting thread and exits 3. Before
    # the exception path the enclave could not run it: the process ended
    # by SIGSEGV with a line saying so.
    assert _run(build("faults.c", native=True), "segv-handled")[:2] == (3, "handler ran\n")
    rc, out, err = _run(build("faults.c"), "segv-handled", enclave_env(SCONE_ETHREADS=ethreads))
    assert (rc, out) == (3, "handler ran\n"), err
    assert "[SCONE|ERROR]" not in err, err
