"""Boots the pinned Debian kernel under QEMU (TCG) with scone.ko, busybox and
the static test program in an initramfs, and checks from the serial output
that the module loads, validates its ioctls, serves many requests with
wake-ups, frees everything when a process dies, and unloads cleanly."""

import re

import pytest

from scone_cc.errors import SconeError

pytestmark = pytest.mark.qemu

PAIRS, REQUESTS, PAUSES, PAUSE_MS = 4, 10000, 8, 20
COUNTERS = ("wakeups", "polls", "requests_seen", "waits", "timeouts", "pairs", "pinned_pages")

INIT = f"""
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "KSTEP boot $(uname -r)"
insmod /scone.ko; echo "KSTEP insmod rc=$?"
[ -c /dev/scone ] && echo "KSTEP device ok"
/kmod_test errors; echo "KSTEP errors rc=$?"
/kmod_test serve {PAIRS} {REQUESTS} {PAUSES} {PAUSE_MS}; echo "KSTEP serve rc=$?"
/kmod_test die; echo "KSTEP die rc=$?"
for c in {' '.join(COUNTERS)}; do echo "KCOUNTER $c $(cat /sys/class/misc/scone/$c)"; done
rmmod scone; echo "KSTEP rmmod rc=$?"
[ -e /dev/scone ] || echo "KSTEP device gone"
grep -q '^scone ' /proc/modules || echo "KSTEP module gone"
echo KDMESG-BEGIN; dmesg; echo KDMESG-END
echo "KSTEP end"
poweroff -f
"""

# Every check of tests/kmod/prog/errors.c and die.c: one missing is a failure.
ERROR_CHECKS = """reg_entries_not_pow2 reg_entries_too_small reg_entries_too_big reg_misaligned
reg_null reg_flags reg_reserved reg_bad_argp reg_kernel_addr reg_entries_mismatch reg_bad_magic
reg_bad_version reg_readonly reg_unmapped reg_straddle reg_straddle_pages reg_duplicate
unreg_straddle unreg_unpins reg_max_pairs reg_table_full wait_unknown_id wait_id_out_of_range
wait_reserved wait_flags wait_bad_argp wait_timeout wait_timeout_length state_running_after_wait
wait_pending_returns wait_pending_immediate state_sleeping_in_wait wait_busy wait_woken_by_poller
wakeup_counted wait_woken_soon wait_signal unreg_with_waiter wait_unregistered unreg_twice wait_after_unreg
unreg_reserved unreg_bad_argp unknown_ioctl reg_other_process lib_strerror lib_open_off
lib_open_missing""".split()
DIE_CHECKS = ["die_killed_while_waiting", "die_exited_registered", "die_closed_released",
              "die_closed_registered"]
BAD_KERNEL_LOG = re.compile(r"WARNING:|BUG:|Oops|Call Trace|general protection|"
                            r"kernel BUG|refcount_t|list_(add|del) corruption|bad page")


@pytest.fixture(scope="module")
def guest(kq, kernel, module_build, tmp_path_factory):
    """Serial output of one boot, plus its parsed KT checks and counters."""
    missing = kq.missing_tools()
    if missing:
        pytest.skip("QEMU test needs: " + ", ".join(missing))
    work = tmp_path_factory.mktemp("guest")
    try:
        prog = kq.build_prog(work / "kmod_test")
        initrd = work / "initramfs.cpio"
        initrd.write_bytes(kq.initramfs(INIT, {"scone.ko": module_build[0], "kmod_test": prog}))
        out = kq.boot(kernel, initrd, timeout=240)
    except SconeError as err:
        pytest.fail(str(err))
    checks = {}
    for m in re.finditer(r"^KT (\S+) (ok|FAIL)(.*)$", out, re.M):
        checks[m.group(1)] = (m.group(2), m.group(3).strip())
    counters = {m.group(1): int(m.group(2))
                for m in re.finditer(r"^KCOUNTER (\S+) (-?\d+)", out, re.M)}
    return out, checks, counters


def _step(out, text):
    return re.search(rf"^KSTEP {re.escape(text)}\s*$", out, re.M) is not None


def _failed(checks, names):
    return {n: checks.get(n, ("missing", "")) for n in names if checks.get(n, ("missing",))[0] != "ok"}


def test_module_loads(guest):
    out, _, _ = guest
    assert _step(out, "insmod rc=0"), out[-3000:]
    assert _step(out, "device ok")
    assert "scone: /dev/scone ready" in out


def test_ioctls_validate_and_document_errors(guest):
    out, checks, _ = guest
    assert not _failed(checks, ERROR_CHECKS)
    assert _step(out, "errors rc=0")


def test_many_requests_served_with_wakeups(guest):
    out, checks, _ = guest
    names = ["serve_register", "serve_answered", "serve_results", "serve_sleeping",
             "serve_sthreads", "serve_unregister", "serve_requests_seen", "serve_wakeups"]
    assert not _failed(checks, names)
    assert _step(out, "serve rc=0")
    # Numbers the test chose, not the program's own claims.
    assert checks["serve_register"][1].startswith(f"pairs={PAIRS} pinned_pages={PAIRS}")
    assert checks["serve_sthreads"][1].startswith(f"served={REQUESTS} ")
    seen = re.search(r"requests_seen=(\d+) posted=(\d+)", checks["serve_requests_seen"][1])
    assert int(seen.group(1)) == REQUESTS + PAIRS  # + one stop request per pair
    wakeups = int(re.search(r"wakeups=(\d+)", checks["serve_wakeups"][1]).group(1))
    assert wakeups >= PAUSES
    assert checks["serve_sleeping"][1] == f"pauses={PAUSES} all_sthreads_sleeping={PAUSES}"


def test_release_frees_everything_when_process_dies(guest):
    out, checks, _ = guest
    assert not _failed(checks, DIE_CHECKS)
    assert _step(out, "die rc=0")


def test_counters_after_run(guest):
    _, _, counters = guest
    assert set(counters) == set(COUNTERS)
    assert counters["pairs"] == 0 and counters["pinned_pages"] == 0
    assert counters["requests_seen"] >= REQUESTS + PAIRS
    assert counters["wakeups"] >= PAUSES + 1  # serve's pauses + errors' poller wake
    assert counters["polls"] >= counters["wakeups"]
    assert counters["waits"] >= counters["wakeups"]
    assert counters["timeouts"] >= 1  # errors' wait_timeout


def test_unloads_cleanly(guest):
    out, _, _ = guest
    assert _step(out, "rmmod rc=0")
    assert _step(out, "device gone") and _step(out, "module gone")
    assert _step(out, "end")
    dmesg = out[out.index("KDMESG-BEGIN"):out.index("KDMESG-END")]
    assert "scone: unloaded" in dmesg
    bad = [line for line in out.splitlines() if BAD_KERNEL_LOG.search(line)]
    assert not bad, "\n".join(bad)
