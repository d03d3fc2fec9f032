"""The starter with scone.ko (issue 8 item 2): a scone-gcc-built program (the
static starter with its enclave, run in SIM) boots in the QEMU guest with
the module loaded and SCONE_KMOD=on; its sthreads register their queue
pairs and sleep in the module, which wakes them for each burst of calls.
The module's counters, read before and after, show the pairs registered,
the requests seen and the wake-ups; the module then unloads cleanly.
Without /dev/scone, SCONE_KMOD=on is a clear error and auto falls back."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from scone_cc.errors import SconeError

HERE = Path(__file__).resolve().parent
PROG = HERE / "starter_prog" / "syscalls.c"
QUEUES, BURSTS, CALLS = 4, 6, 2000
COUNTERS = ("wakeups", "requests_seen", "waits", "pairs", "pinned_pages")

INIT = f"""
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
insmod /scone.ko; echo "KSTEP insmod rc=$?"
for c in {' '.join(COUNTERS)}; do echo "KBEFORE $c $(cat /sys/class/misc/scone/$c)"; done
SCONE_MODE=SIM SCONE_KMOD=on SCONE_QUEUES={QUEUES} SCONE_VERSION=1 /prog {BURSTS} {CALLS}; echo "KSTEP prog rc=$?"
for c in {' '.join(COUNTERS)}; do echo "KAFTER $c $(cat /sys/class/misc/scone/$c)"; done
rmmod scone; echo "KSTEP rmmod rc=$?"
grep -q '^scone ' /proc/modules || echo "KSTEP module gone"
echo KDMESG-BEGIN; dmesg; echo KDMESG-END
poweroff -f
"""
BAD_KERNEL_LOG = re.compile(r"WARNING:|BUG:|Oops|Call Trace|general protection|kernel BUG")


def _scone_env(tmp):
    env = dict(os.environ)
    env.setdefault("SCONE_CACHE", str(Path.home() / ".cache" / "scone"))
    env["HOME"] = str(tmp)
    for k in [k for k in env if k.startswith("SCONE_") and k != "SCONE_CACHE"]:
        env.pop(k)
    return env


@pytest.fixture(scope="module")
def prog(sysroot, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kprog")
    out = tmp / "prog"
    r = subprocess.run(["scone-gcc", "-O2", "-o", str(out), str(PROG)], env=_scone_env(tmp),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


def _boot(kq, kernel, initrd, timeout):
    """kq.boot with a CPU that has what SIM needs (FSGSBASE, RDRAND)."""
    cmd = [kq.QEMU, "-accel", kq.ACCEL, "-cpu", "max", "-smp", "2", "-m", "512",
           "-nographic", "-no-reboot", "-kernel", str(kernel.image), "-initrd", str(initrd),
           "-append", "console=ttyS0 panic=-1 quiet oops=panic " + kq.APPEND_EXTRA]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise SconeError(f"QEMU guest did not power off within {timeout} s: "
                         f"{(exc.stdout or b'').decode(errors='replace')[-2000:]}") from None
    return p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


@pytest.fixture(scope="module")
def guest(kq, kernel, module_build, prog, tmp_path_factory):
    missing = kq.missing_tools()
    if missing:
        pytest.skip("QEMU test needs: " + ", ".join(missing))
    work = tmp_path_factory.mktemp("kguest")
    initrd = work / "initramfs.cpio"
    initrd.write_bytes(kq.initramfs(INIT, {"scone.ko": module_build[0], "prog": prog}))
    try:
        out = _boot(kq, kernel, initrd, timeout=240)
    except SconeError as err:
        pytest.fail(str(err))
    before = {m.group(1): int(m.group(2)) for m in re.finditer(r"^KBEFORE (\S+) (-?\d+)", out, re.M)}
    after = {m.group(1): int(m.group(2)) for m in re.finditer(r"^KAFTER (\S+) (-?\d+)", out, re.M)}
    return out, before, after



@pytest.mark.qemu
def test_program_runs_with_the_module(guest):
    out, _, _ = guest
    assert "KSTEP insmod rc=0" in out, out[-3000:]
    assert "syscalls async (scone.ko)" in out, out[-3000:]
    assert f"KPROG calls={BURSTS * CALLS} bad=0" in out, out[-3000:]
    assert "KSTEP prog rc=0" in out


@pytest.mark.qemu
def test_queues_registered_requests_seen_wakeups(guest):
    out, before, after = guest
    assert f"KPROG pairs_while_running={QUEUES}" in out, out[-3000:]
    seen = after["requests_seen"] - before["requests_seen"]
    wakeups = after["wakeups"] - before["wakeups"]
    print(f"module: requests_seen +{seen}, wakeups +{wakeups}, waits +{after['waits'] - before['waits']}")
    assert seen >= BURSTS * CALLS
    assert wakeups >= BURSTS          # every burst found its sthread asleep in the module
    assert after["pairs"] == 0 and after["pinned_pages"] == 0   # released at exit


@pytest.mark.qemu
def test_module_unloads_cleanly_after(guest):
    out, _, _ = guest
    assert "KSTEP rmmod rc=0" in out and "KSTEP module gone" in out
    bad = [line for line in out.splitlines() if BAD_KERNEL_LOG.search(line)]
    assert not bad, "\n".join(bad)


def test_kmod_on_without_the_device_is_a_clear_error(prog, tmp_path):
    if Path("/dev/scone").exists():
        pytest.skip("/dev/scone exists on this host")
    env = dict(_scone_env(tmp_path), SCONE_MODE="SIM", SCONE_KMOD="on")
    r = subprocess.run([str(prog), "1", "1"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("scone: error: ") and len(r.stderr.splitlines()) == 1, r.stderr
    assert "scone.ko is not loaded" in r.stderr and "SCONE_KMOD=off" in r.stderr


def test_kmod_auto_without_the_device_falls_back(prog, tmp_path):
    if Path("/dev/scone").exists():
        pytest.skip("/dev/scone exists on this host")
    for mode in ("auto", "off"):
        env = dict(_scone_env(tmp_path), SCONE_MODE="SIM", SCONE_KMOD=mode, SCONE_VERSION="1")
        r = subprocess.run([str(prog), "1", "10"], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert "syscalls async\n" in r.stderr and "KPROG calls=10 bad=0" in r.stdout
