"""Strict SIM and exceptions inside the enclave (DESIGN.md §11).

A system call made by enclave code itself (not through the scone hook) is
killed, with one line naming it and the function; RDTSC (SGX1 profile) and
CPUID raise #UD as in an enclave and are emulated by the enclave's
exception handler; a program's own SIGSEGV, SIGFPE and SIGILL handlers run
inside, on the faulting thread, with si_addr and the interrupted context in
their ucontext. Every case is compared with the same program built
--scone-native."""

import signal
import subprocess

import pytest

# forbidden.c makes a system call itself: scone-check refuses the link
# unless told (tests/check has the refusal).
ALLOW = ("--scone-allow=syscall",)


def _run(exe, *args, env=None):
    r = subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


@pytest.mark.parametrize("case", ["segv-skip", "segv-longjmp", "fpe", "ill", "threads", "unhandled", "blocked"])
@pytest.mark.parametrize("ethreads", [1, 2])
def test_fault_handlers_as_natively(build, enclave_env, case, ethreads):
    native = _run(build("faults_inside.c", native=True), case)
    ours = _run(build("faults_inside.c"), case, env=enclave_env(SCONE_ETHREADS=ethreads))
    assert ours[:2] == native[:2], ours[2]
    assert "[SCONE|ERROR]" not in ours[2], ours[2]


def test_fault_handler_cases_say_what_the_kernel_says(build):
    """The oracle itself, against signal(7)/sigaction(2): si_addr of a load
    from 0x10..0x12, FPE_INTDIV, ILL_ILLOPN at the ud2, SIGSEGV unblocked
    again after siglongjmp, death by SIGSEGV without a handler or with
    SIGSEGV blocked."""
    exe = build("faults_inside.c", native=True)
    assert _run(exe, "segv-skip")[:2] == (0, "sum 126 acc 13.5 calls 3 sig 11 code 1 addr 0x12\n")
    assert _run(exe, "segv-longjmp")[:2] == (0, "calls 3 addr 0x3008 code 1, SIGSEGV blocked after: 0\n")
    assert _run(exe, "fpe")[:2] == (0, "r 0 sig 8 code 1 (FPE_INTDIV 1) calls 1\n")
    assert _run(exe, "ill")[:2] == (0, "sig 4 code 2 (ILL_ILLOPN 2) at the ud2: 1 calls 1\n")
    assert _run(exe, "threads")[:2] == (0, "sum 800 calls 800\n")
    assert _run(exe, "unhandled")[:2] == (-signal.SIGSEGV, "before\n")
    assert _run(exe, "blocked")[:2] == (-signal.SIGSEGV, "before\n")


@pytest.mark.parametrize("profile", ["sgx1", "sgx2"])
@pytest.mark.parametrize("case", ["rdtsc", "rdtscp", "cpuid", "builtin"])
def test_rdtsc_and_cpuid_are_emulated(build, enclave_env, profile, case):
    native = _run(build("forbidden.c", native=True), case)
    assert native[0] == 0, native[2]
    ours = _run(build("forbidden.c", flags=ALLOW), case, env=enclave_env(SCONE_SIM_PROFILE=profile))
    assert ours[:2] == native[:2], ours[2]


def test_cpuid_emulated_with_the_hosts_leaves(build, enclave_env):
    """Leaf 0 (vendor, highest leaf) and leaf 7's AVX2 bit as the CPU says."""
    native = _run(build("forbidden.c", native=True), "leaves")
    ours = _run(build("forbidden.c", flags=ALLOW), "leaves", env=enclave_env())
    assert native[0] == 0 and ours[:2] == native[:2], ours[2]
    assert native[1].startswith("vendor ")


@pytest.mark.parametrize("profile", ["sgx1", "sgx2"])
def test_a_raw_system_call_is_killed_with_its_name(build, enclave_env, profile):
    assert _run(build("forbidden.c", native=True), "syscall")[:2] == (0, "getpid agrees 1\n")
    rc, out, err = _run(build("forbidden.c", flags=ALLOW), "syscall", env=enclave_env(SCONE_SIM_PROFILE=profile))
    assert (rc, out) == (-signal.SIGSYS, ""), err
    lines = [l for l in err.splitlines() if "[SCONE|ERROR]" in l]
    assert len(lines) == 1 and "system call getpid (39) made by enclave code" in lines[0], err
    assert "(raw_getpid)" in lines[0], err


def test_lax_profile_lets_everything_through(build, enclave_env):
    """SCONE_SIM_PROFILE=lax: yesterday's SIM, for debugging."""
    assert _run(build("forbidden.c", flags=ALLOW), "syscall", env=enclave_env(SCONE_SIM_PROFILE="lax"))[:2] == \
        (0, "getpid agrees 1\n")


def test_unknown_profile_is_refused(build, enclave_env):
    rc, out, err = _run(build("forbidden.c", flags=ALLOW), "rdtsc", env=enclave_env(SCONE_SIM_PROFILE="sgx3"))
    assert rc == 2 and "SCONE_SIM_PROFILE=sgx3: expected sgx1 (the default), sgx2 or lax" in err


@pytest.mark.parametrize("profile, traps", [("sgx1", 2), ("sgx2", 0), ("lax", 0)])
def test_rdtsc_traps_only_under_sgx1(build, enclave_env, profile, traps):
    """The kernel's view (strace): under the SGX1 profile each RDTSC of
    enclave code raises SIGSEGV (PR_SET_TSC), which the AEX path turns into
    the enclave's #UD; under sgx2 and lax it runs. (The program's CPUID
    start-up, libgcc's __cpu_indicator_init, traps in both runs alike where
    the CPU has CPUID faulting: the difference is the two RDTSCs.)"""
    def segvs(case):
        r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=none", "-e", "signal=SIGSEGV",
                            str(build("forbidden.c", flags=ALLOW)), case],
                           env=enclave_env(SCONE_SIM_PROFILE=profile), capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stderr.count("SIGSEGV {si_signo=SIGSEGV, si_code=SI_KERNEL")
    assert segvs("rdtsc") - segvs("nothing") == traps


def test_rdtsc_in_the_sgx1_enclave_counts_its_clock(build, enclave_env):
    """Emulated RDTSC is the enclave's monotonic clock in ns: a 10 ms sleep
    between two reads is at least 10^7 of it."""
    rc, out, err = _run(build("forbidden.c", flags=ALLOW), "tsc-rate", env=enclave_env(SCONE_SIM_PROFILE="sgx1"))
    assert rc == 0, err
    delta = int(out.split()[1])
    assert 10_000_000 <= delta <= 1_000_000_000, out


@pytest.mark.parametrize("syscall", ["sync", "async"])
def test_mprotect_guard_pages_fault_and_reopen_as_natively(build, enclave_env, syscall):
    """A guard page closed with mprotect, a SIGSEGV handler that opens it
    with mprotect and returns (the access runs again), a write to a
    read-only page, mprotect's errors at every edge (unaligned, length 0,
    holes before and after a mapped part, lengths that wrap, bad flags) and
    EFAULT from a system call given a closed buffer: the same lines as the
    native build, except PROT_EXEC, which an enclave's heap pages can never
    get (EPCM permissions are fixed at EADD; the SGX driver says EACCES)."""
    native = _run(build("mprotect_fault.c", native=True))
    assert native[0] == 0, native[2]
    assert "exec: 0\n" in native[1] and "guard write: faults 1 code SEGV_ACCERR addr base+0x1008\n" in native[1]
    assert "loop: faults 200 " in native[1] and "read into ro: EFAULT\n" in native[1]
    ours = _run(build("mprotect_fault.c"), env=enclave_env(SCONE_SYSCALL=syscall, SCONE_ETHREADS=2))
    assert ours[0] == 0, ours[2]
    assert ours[1] == native[1].replace("exec: 0\n", "exec: EACCES\n"), ours[2]
    assert "[SCONE|" not in ours[2], ours[2]


def test_program_mprotect_cannot_close_the_runtimes_pages(build, enclave_env):
    """The program closes every page it can in 256 MiB above one of its own
    mappings (the heap's top, where the runtime's queues, arena and thread
    stacks sit, included), then makes system calls: the runtime's pages are
    not the program's mappings (ENOMEM, as where nothing is mapped), so it
    still serves them. Not run natively: there it would close whatever
    mappings lie above."""
    rc, out, err = _run(build("mprotect_fault.c"), "sweep", env=enclave_env())
    assert (rc, out) == (0, "closed some refused some\n"), err


def test_without_exinfo_page_faults_never_reach_the_enclave(build, enclave_env, tmp_path):
    """The signer asks for MISCSELECT.EXINFO; re-signed without it (as an
    older signer, or a CPU without EXINFO, would leave SECS), SIM does what
    the CPU does: #PF and #GP are not reported in EXITINFO, so the program's
    SIGSEGV handler cannot run inside and the process ends by SIGSEGV,
    while a #DE still reaches its SIGFPE handler."""
    import shutil
    import sys

    exe = tmp_path / "faults_inside"
    shutil.copy2(build("faults_inside.c"), exe)
    script = ("import sys, scone_cc.sgx.sigstruct as s; s.MISCSELECT = 0\n"
              "from scone_cc.sgx import signing; signing.sign_binary(sys.argv[1])\n")
    r = subprocess.run([sys.executable, "-c", script, str(exe)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    show = subprocess.run(["scone-sign", "show", "--json", str(exe)], capture_output=True, text=True, timeout=60)
    assert '"miscselect": "0x0"' in show.stdout, show.stdout
    rc, out, err = _run(exe, "segv-skip", env=enclave_env())
    assert rc == -signal.SIGSEGV and "calls" not in out, (rc, out, err)
    assert _run(exe, "fpe", env=enclave_env())[:2] == _run(build("faults_inside.c", native=True), "fpe")[:2]
