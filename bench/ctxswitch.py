"""Context-switch cost: lthreads (runtime/sched) against OS threads.

Measured in one run, each figure the best of ``--runs`` interleaved runs:

* ``swap``, ``swap_x``: the bare context switch of runtime/sched/ctx.S
  between two contexts of a static musl program (callee-saved registers,
  MXCSR, x87 CW; ``_x`` adds the vector state an lthread parked in a
  system call must keep: the whole XSAVE state, or xmm0-15 only when
  XINUSE says nothing else is in use);
* lthread ``sched_yield`` and futex ping-pong: two musl pthreads on one
  ethread of the scheduler's host harness (tests/sched/harness), through
  the syscall hook as in the enclave;
* pthread futex ping-pong: two OS threads of the host libc, pinned to one
  CPU (a real context switch) and unpinned (a cross-CPU wake-up).

Printed: nanoseconds per switch and the ratio pthread / lthread. Never
asserted. Run: ``python -m bench.ctxswitch [--runs N] [--iters N]``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCHED = REPO / "runtime" / "sched"
HARNESS = REPO / "tests" / "sched" / "harness"

COMMON = r"""
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static long long ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ll + t.tv_nsec;
}
static atomic_uint turn;
static long iters;
static void fx(void *a, int op, unsigned v)
{
	syscall(SYS_futex, a, op, v, 0, 0, 0);
}
/* One hand-off per iteration and side: wait for my turn, pass it on. */
static void *pong(void *arg)
{
	unsigned me = (unsigned)(long)arg;
	for (long i = 0; i < iters; i++) {
		unsigned t;
		while ((t = atomic_load(&turn)) % 2 != me)
			fx(&turn, 128, t);
		atomic_fetch_add(&turn, 1);
		fx(&turn, 129, 1);
	}
	return 0;
}
static double pingpong(void)
{
	pthread_t a, b;
	atomic_store(&turn, 0);
	long long t0 = ns();
	pthread_create(&a, 0, pong, (void *)0);
	pthread_create(&b, 0, pong, (void *)1);
	pthread_join(a, 0);
	pthread_join(b, 0);
	return (double)(ns() - t0) / (2.0 * iters);
}
"""

LTHREAD = COMMON + r"""
int test_main(int argc, char **argv);
static void *yielder(void *arg)
{
	for (long i = 0; i < iters; i++)
		sched_yield();
	return arg;
}
int test_main(int argc, char **argv)
{
	iters = argc > 1 ? atol(argv[1]) : 100000;
	pthread_t a, b;
	long long t0 = ns();
	pthread_create(&a, 0, yielder, 0);
	pthread_create(&b, 0, yielder, 0);
	pthread_join(a, 0);
	pthread_join(b, 0);
	printf("yield %.1f\n", (double)(ns() - t0) / (2.0 * iters));
	printf("futex %.1f\n", pingpong());
	return 0;
}
"""

PTHREAD = COMMON + r"""
int main(int argc, char **argv)
{
	iters = argc > 1 ? atol(argv[1]) : 100000;
	printf("unpinned %.1f\n", pingpong());
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	sched_setaffinity(0, sizeof one, &one);    /* threads inherit it */
	printf("pinned %.1f\n", pingpong());
	return 0;
}
"""

# The bare switch: two contexts bouncing through ctx.S only.
SWAP = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
void __scone_ctx_swap(void **save, void *load);
void __scone_ctx_swap_x(void **save, void *load);
void __scone_sched_after_switch(void);
void __scone_sched_after_switch(void) {}   /* only __scone_clone_boot calls it */
extern char __scone_ctx_fast;
extern unsigned __scone_ctx_xmask;
static void *main_sp, *other_sp;
static long iters;
static int use_x;
static void other(void)
{
	for (;;) {
		if (use_x)
			__scone_ctx_swap_x(&other_sp, main_sp);
		else
			__scone_ctx_swap(&other_sp, main_sp);
	}
}
static double run(int x)
{
	static char stack[1 << 16] __attribute__((aligned(16)));
	void **top = (void **)(stack + sizeof stack - 16);
	*top = (void *)other;
	other_sp = top;
	use_x = x;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < iters; i++) {
		if (x)
			__scone_ctx_swap_x(&main_sp, other_sp);
		else
			__scone_ctx_swap(&main_sp, other_sp);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (2.0 * iters);
}
int main(int argc, char **argv)
{
	iters = argc > 1 ? atol(argv[1]) : 1000000;
	unsigned lo, hi;
	__asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	__scone_ctx_xmask = lo & ~(0x60000u | 3u);
	printf("swap %.1f\n", run(0));
	printf("full %.1f\n", run(1));
	__scone_ctx_fast = 1;                      /* a musl program: SSE only */
	printf("fast %.1f\n", run(1));
	return 0;
}
"""


def _cc(args, cwd) -> None:
    r = subprocess.run(["gcc", *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"ctxswitch: gcc {' '.join(args)} failed:\n{r.stderr[-2000:]}")


def _gcc_dir(name: str = "") -> str:
    return subprocess.run(["gcc", f"-print-file-name={name}"], capture_output=True, text=True,
                          check=True).stdout.strip()


def _sysroot() -> str:
    r = subprocess.run(["scone-gcc", "-print-sysroot"], capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"ctxswitch: scone-gcc -print-sysroot failed:\n{r.stderr}")
    return r.stdout.strip()


def build(tmp: Path) -> dict[str, Path]:
    """The three programs: lthread (harness), pthread (host libc), swap."""
    sysroot, gcc = _sysroot(), _gcc_dir()
    inc = ["-nostdinc", "-isystem", f"{sysroot}/include", "-isystem", _gcc_dir("include"),
           f"-I{REPO}/runtime/include", f"-I{REPO}/runtime/trusted", f"-I{SCHED}", f"-I{HARNESS}"]
    sched_flags = ["-O2", "-std=gnu11", "-fPIE", "-fvisibility=hidden", "-fno-stack-protector",
                   "-ffreestanding", "-mgeneral-regs-only"]
    objs = []
    for src in sorted(SCHED.glob("*.[cS]")):
        o = tmp / f"s_{src.name}.o"
        _cc([*sched_flags, *inc, "-c", str(src), "-o", str(o)], tmp)
        objs.append(str(o))
    for src in sorted(HARNESS.glob("*.[cS]")):
        o = tmp / f"h_{src.name}.o"
        _cc(["-O2", "-fno-stack-protector", *inc, "-c", str(src), "-o", str(o)], tmp)
        objs.append(str(o))
    (tmp / "lthread.c").write_text(LTHREAD)
    _cc(["-O2", "-fno-stack-protector", *inc, "-c", "lthread.c", "-o", "lthread.o"], tmp)
    lib = f"{sysroot}/lib"
    _cc(["-static", "-nostdlib", "-nostartfiles", "-o", "lthread", f"{lib}/crt1.o", f"{lib}/crti.o",
         f"{gcc}/crtbeginT.o", "lthread.o", *objs, "-Wl,--start-group", f"{lib}/libc.a",
         f"{gcc}/libgcc.a", f"{gcc}/libgcc_eh.a", "-Wl,--end-group", f"{gcc}/crtend.o",
         f"{lib}/crtn.o"], tmp)
    (tmp / "pthread.c").write_text(PTHREAD)
    _cc(["-O2", "-pthread", "-o", "pthread", "pthread.c"], tmp)
    (tmp / "swap.c").write_text(SWAP)
    _cc(["-O2", "-fno-stack-protector", *inc, "-c", "swap.c", "-o", "swap.o"], tmp)
    # ctx.S shares its XSAVE set-up macros with the OCALL path (scone/xsave_asm.h).
    _cc([f"-I{REPO}/runtime/include", "-c", str(SCHED / "ctx.S"), "-o", "ctx.o"], tmp)
    _cc(["-static", "-nostdlib", "-nostartfiles", "-o", "swap", f"{lib}/crt1.o", f"{lib}/crti.o",
         f"{gcc}/crtbeginT.o", "swap.o", "ctx.o", "-Wl,--start-group", f"{lib}/libc.a",
         f"{lib}/libscone-native.a", f"{gcc}/libgcc.a", "-Wl,--end-group", f"{gcc}/crtend.o",
         f"{lib}/crtn.o"], tmp)
    return {"lthread": tmp / "lthread", "pthread": tmp / "pthread", "swap": tmp / "swap"}


def _figures(exe: Path, iters: int) -> dict[str, float]:
    env = dict(os.environ, SCHED_ETHREADS="1")
    r = subprocess.run([str(exe), str(iters)], env=env, capture_output=True, text=True, timeout=300)
    if r.returncode:
        sys.exit(f"ctxswitch: {exe.name} failed (exit {r.returncode}):\n{r.stderr[-2000:]}")
    return {k: float(v) for k, v in re.findall(r"^(\w+) ([0-9.]+)$", r.stdout, re.M)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="bench.ctxswitch", description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--iters", type=int, default=200000)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ctxswitch-") as d:
        exes = build(Path(d))
        best: dict[str, float] = {}
        for _ in range(args.runs):
            for name, n in (("swap", args.iters * 5), ("lthread", args.iters), ("pthread", args.iters)):
                for k, v in _figures(exes[name], n).items():
                    key = f"{name}.{k}"
                    best[key] = min(best.get(key, v), v)
    print(f"context switch, ns per switch (best of {args.runs}, {os.cpu_count()} CPUs)")
    rows = [("ctx.S swap (callee-saved, MXCSR, x87 CW)", "swap.swap"),
            ("ctx.S swap_x, whole XSAVE state", "swap.full"),
            ("ctx.S swap_x, SSE-only fast path", "swap.fast"),
            ("lthread sched_yield, 1 ethread", "lthread.yield"),
            ("lthread futex ping-pong, 1 ethread", "lthread.futex"),
            ("pthread futex ping-pong, pinned to one CPU", "pthread.pinned"),
            ("pthread futex ping-pong, unpinned", "pthread.unpinned")]
    for label, key in rows:
        print(f"  {label:<46} {best[key]:9.1f}")
    print(f"  ratio pthread pinned / lthread futex:  {best['pthread.pinned'] / best['lthread.futex']:.1f}x")
    print(f"  ratio pthread pinned / lthread yield:  {best['pthread.pinned'] / best['lthread.yield']:.1f}x")


if __name__ == "__main__":
    main()
