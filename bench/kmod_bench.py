"""What scone.ko changes for an idle server, measured inside a QEMU guest.

Boots the pinned Debian kernel under QEMU (TCG) with the module and the
static test program, and runs the same workload three times in the guest:
without the module (sthreads back off with nanosleep up to
--backoff-max-us), with an explicit futex wake by the producer (what an
enclave thread could only do by leaving the enclave: the reference floor),
and with the module (sthreads sleep in /dev/scone). It prints:

* idle CPU of a server blocked in accept (whole guest, percent of one CPU);
* latency of the first request after an idle period (median and max);
* null system-call throughput;

and the ratios between the two. Nothing is asserted: under software
emulation absolute numbers are slow and noisy; the ratios are the point.

    python3 bench/kmod_bench.py [--idle-ms 2000] [--reps 15] ...
"""

import argparse
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "kmod" / "tools"))

FIELDS = re.compile(r"(\w+)=([-\w.]+)")


def _init_script(a) -> str:
    args = f"{a.pairs} {a.idle_ms} {a.reps} {a.lat_idle_ms} {a.tput_ms} {a.backoff_max_us}"
    return f"""
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
ifconfig lo 127.0.0.1 up
/kmod_test bench backoff {args}
/kmod_test bench futex {args}
insmod /scone.ko poll_min_ns={a.poll_min_ns} poll_max_ns={a.poll_max_ns} || echo "KB insmod failed"
/kmod_test bench kmod {args}
rmmod scone
poweroff -f
"""


def parse(output: str) -> dict[str, dict[str, str]]:
    """The "KB mode=..." lines of the guest, keyed by mode."""
    runs = {}
    for line in output.splitlines():
        if "KB mode=" in line:
            line = line[line.index("KB mode="):]
            fields = dict(FIELDS.findall(line))
            runs[fields["mode"]] = fields
    return runs


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b > 0 else "inf" if a > 0 else "-"


def report(runs: dict[str, dict[str, str]], a) -> str:
    """A fixed-width table of the three modes and the module's gain."""
    off, futex, on = runs["backoff"], runs["futex"], runs["kmod"]
    rows = [
        ("idle CPU, server blocked in accept (% of a CPU)", "idle_cpu_pct", "{:.2f}", True),
        ("  of which the process's own (%)", "idle_proc_cpu_pct", "{:.2f}", True),
        ("first request after idle, median (us)", "lat_after_idle_us_median", "{:.1f}", True),
        ("first request after idle, max (us)", "lat_after_idle_us_max", "{:.1f}", True),
        ("  post to sthread awake, median (us)", "wake_after_idle_us_median", "{:.1f}", True),
        ("null syscalls per second", "throughput_per_s", "{:.0f}", True),
        ("poller runs per idle second", "idle_polls_per_s", "{:.0f}", False),
    ]
    out = [f"scone.ko benchmark in QEMU/TCG: {a.pairs} sthreads, idle {a.idle_ms} ms, "
           f"{a.reps} requests after {a.lat_idle_ms} ms idle each, throughput {a.tput_ms} ms",
           f"back-off: nanosleep up to {a.backoff_max_us} us; futex: explicit wake "
           f"(an enclave exit per wake); module: poll_min_ns={a.poll_min_ns} "
           f"poll_max_ns={a.poll_max_ns}",
           f"{'':48} {'back-off':>10} {'futex':>10} {'module':>10} {'back-off/module':>16}"]
    for label, key, fmt, compare in rows:
        x, f, y = float(off[key]), float(futex[key]), float(on[key])
        ratio = _ratio(x, y) if compare else ""
        out.append(f"{label:48} {fmt.format(x):>10} {fmt.format(f):>10} {fmt.format(y):>10} {ratio:>16}")
    out.append("back-off/module > 1: the module lowers the figure (throughput: < 1 is a gain); "
               "absolute numbers are TCG-slow")
    return "\n".join(out)


def run(a) -> str:
    import kmod_qemu as kq
    from scone_cc.errors import SconeError

    missing = kq.missing_tools()
    if missing:
        raise SconeError("kmod benchmark needs: " + ", ".join(missing) + f"; {kq.INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="kmod-bench-") as tmp:
        kernel, initrd, _ = kq.prepare(Path(tmp), _init_script(a))
        output = kq.boot(kernel, initrd, timeout=600, smp=a.smp)
    runs = parse(output)
    if set(runs) != {"backoff", "futex", "kmod"}:
        raise SconeError("the guest did not report all three runs; its output ends with: "
                         + output[-1500:])
    return report(runs, a)


def main(argv=None) -> None:
    """Entry point: builds, boots, prints the table (DESIGN.md section 6)."""
    from scone_cc.errors import run_cli

    p = argparse.ArgumentParser(prog="kmod_bench", description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=2, help="sthreads (queue pairs)")
    p.add_argument("--idle-ms", type=int, default=2000, help="idle window for the CPU figure")
    p.add_argument("--reps", type=int, default=15, help="first-request samples (max 64)")
    p.add_argument("--lat-idle-ms", type=int, default=100, help="idle time before each sample")
    p.add_argument("--tput-ms", type=int, default=1000, help="throughput window")
    p.add_argument("--backoff-max-us", type=int, default=1000,
                   help="longest nanosleep of the back-off without the module")
    p.add_argument("--poll-min-ns", type=int, default=20000)
    p.add_argument("--poll-max-ns", type=int, default=100000)
    p.add_argument("--smp", type=int, default=2, help="guest vCPUs")
    a = p.parse_args(argv)
    print(run_cli("kmod_bench", run, a))


if __name__ == "__main__":
    main()
