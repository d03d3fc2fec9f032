/*
 * The trusted runtime's private declarations. Everything here is hidden:
 * the image is static-pie, so hidden symbols are reached PC-relative and
 * need neither the GOT nor relocation (code that runs before
 * __scone_relocate depends on that).
 */
#ifndef SCONE_TRUSTED_INTERNAL_H
#define SCONE_TRUSTED_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <scone/enclave_abi.h>

#define SCONE_HIDDEN __attribute__((visibility("hidden")))

/* The frame __scone_syscall builds: number and arguments in syscall order. */
struct scone_sc {
	long nr;
	long a[6];
};

/* Enclave-wide state fixed at START; read-only afterwards. */
struct scone_rt {
	uintptr_t base;                      /* enclave base address */
	uint64_t size;                       /* SECS.SIZE */
	const struct scone_enclave_config *cfg;
	struct scone_ocall *host_ocall;      /* ethread 0's (untrusted); set = START has it */
	unsigned ethreads;                   /* TCS the scheduler runs on */
	int log_level;
	long pid, tid;                       /* from the syscall area, else asked once */
	int sim;                             /* the host runs the SIM backend (its claim: SIM
	                                      * evidence is refused unless a verifier allows it) */
};
extern struct scone_rt __scone_rt SCONE_HIDDEN;

/* This TCS's host OCALL block (thread page scratch[2]): one per ethread. */
#define SCONE_TH_OCALL 104
static inline struct scone_ocall *__scone_host_ocall(void)
{
	struct scone_ocall *o;
	__asm__ __volatile__("mov %%gs:%c1, %0" : "=r"(o) : "i"(SCONE_TH_OCALL));
	return o;
}

static inline void __scone_set_host_ocall(struct scone_ocall *o)
{
	__asm__ __volatile__("mov %0, %%gs:%c1" : : "r"(o), "i"(SCONE_TH_OCALL) : "memory");
}

/* entry.S */
_Noreturn void __scone_eexit(uint64_t reason, uint64_t value) SCONE_HIDDEN;
long __scone_ocall_exit(struct scone_ocall *host) SCONE_HIDDEN;

/* ocall.c: run one system call on the host (SCONE-sync). */
long __scone_ocall(long nr, long a0, long a1, long a2, long a3, long a4, long a5) SCONE_HIDDEN;
_Noreturn void __scone_abort(const char *msg) SCONE_HIDDEN;
_Noreturn void __scone_exit(int status) SCONE_HIDDEN;

/* host.c: untrusted memory. */
int __scone_host_range(uint64_t p, uint64_t n) SCONE_HIDDEN;

/* threads.c: the M:N scheduler's embedding (runtime/sched). */
void __scone_threads_init(uint64_t hwcap2, uint64_t start_flags) SCONE_HIDDEN;
_Noreturn void __scone_ethread_enter(uint64_t host_ocall) SCONE_HIDDEN;
/* 1 on an lthread (which may yield), 0 in the scheduler loop or before it. */
int __scone_on_lthread(void) SCONE_HIDDEN;

/* clock.c: time from the host's time page, without an exit. */
void __scone_clock_init(uint64_t host_page, uint64_t start_flags) SCONE_HIDDEN;
uint64_t __scone_clock_now(int clock) SCONE_HIDDEN;
/* 1 and *out = ns if clock is served inside, else 0. */
int __scone_clock_read(long clock, uint64_t *out) SCONE_HIDDEN;
/* clock_gettime, gettimeofday, time: 1 and *ret if served inside. */
int __scone_clock_call(long nr, const long *a, long *ret) SCONE_HIDDEN;
/* After a timed wait outside: the host's exact CLOCK_MONOTONIC, once. */
void __scone_clock_resync(void) SCONE_HIDDEN;
/* The time page's idle word: 1 while every ethread sleeps outside. */
void __scone_clock_idle(int all) SCONE_HIDDEN;
/* Wake the host's sampling thread if it parked. */
void __scone_clock_wake(void) SCONE_HIDDEN;
/* One host clock_gettime through this TCS's OCALL block: ns, or 0. */
uint64_t __scone_clock_host(int clock) SCONE_HIDDEN;

/* exception.c: CPUID emulation's leaves, from the host (checked). */
void __scone_cpuid_init(uint64_t host_table) SCONE_HIDDEN;
/* signal.c, for exceptions: would a handler run for fault sig on this
 * thread now? Then enter it (its mask installed, the old one in *saved,
 * its sa_flags in *flags; returns the handler, 0 if none), and leave it. */
int __scone_signal_fault_handled(long sig) SCONE_HIDDEN;
unsigned long __scone_signal_fault_enter(long sig, unsigned long *flags, unsigned long *saved) SCONE_HIDDEN;
void __scone_signal_fault_leave(unsigned long mask) SCONE_HIDDEN;
/* hwm.c: high-water marks (enclave_abi.h struct scone_hwm). */
void __scone_hwm_init(uint64_t host_block, int want_scan, int sim) SCONE_HIDDEN;
void __scone_hwm_name(const char *argv0) SCONE_HIDDEN;
const char *__scone_hwm_prog(void) SCONE_HIDDEN;
void __scone_hwm_heap(uint64_t bytes) SCONE_HIDDEN;
uint64_t __scone_hwm_heap_peak(void) SCONE_HIDDEN;
void __scone_hwm_refused(uint64_t bytes) SCONE_HIDDEN;
void __scone_hwm_arena_note(uint64_t bytes) SCONE_HIDDEN;
void __scone_hwm_lthreads(unsigned live) SCONE_HIDDEN;
void __scone_hwm_sp(uintptr_t top, uintptr_t sp) SCONE_HIDDEN;
void __scone_hwm_finish(void) SCONE_HIDDEN;
void __scone_hwm_thread_end(uint64_t fs, uintptr_t top) SCONE_HIDDEN;
/* libc_patch src/scone/pthread_stack.c: the lowest address of a musl thread's stack. */
uintptr_t __scone_pthread_stack_lo(uintptr_t tp) SCONE_HIDDEN;
/* "12.3 MiB" into out (at least 32 bytes). */
void __scone_hwm_mib(char *out, uint64_t bytes) SCONE_HIDDEN;

/* log.c */
#define SCONE_LOG_OFF 0
#define SCONE_LOG_ERROR 1
#define SCONE_LOG_WARN 2
#define SCONE_LOG_INFO 3
#define SCONE_LOG_DEBUG 4
int __scone_log_parse(const char *value) SCONE_HIDDEN;
void __scone_log(int level, const char *fmt, ...) SCONE_HIDDEN;
_Noreturn void __scone_abortf(const char *fmt, ...) SCONE_HIDDEN;

/* memory.c: the in-enclave mmap family, over the heap of the config page. */
long __scone_sys_brk(unsigned long addr) SCONE_HIDDEN;
long __scone_sys_mmap(unsigned long addr, unsigned long len, long prot, long flags,
		      long fd, long off) SCONE_HIDDEN;
long __scone_sys_munmap(unsigned long addr, unsigned long len) SCONE_HIDDEN;
long __scone_sys_mremap(unsigned long old, unsigned long oldlen, unsigned long newlen,
			long flags, unsigned long new_addr) SCONE_HIDDEN;
long __scone_sys_mprotect(unsigned long addr, unsigned long len, long prot) SCONE_HIDDEN;
long __scone_sys_madvise(unsigned long addr, unsigned long len, long advice) SCONE_HIDDEN;
long __scone_sys_sysinfo(void *info) SCONE_HIDDEN;
void __scone_memory_init(uintptr_t start, size_t size) SCONE_HIDDEN;
/* The program's own calls (dispatch.c): they keep memory.c's record of
 * which heap pages are the program's and how it protected them. */
long __scone_prog_mmap(const long a[6], long (*map)(const long a[6])) SCONE_HIDDEN;
long __scone_prog_munmap(unsigned long addr, unsigned long len) SCONE_HIDDEN;
long __scone_prog_brk(unsigned long addr) SCONE_HIDDEN;
long __scone_prog_mremap(unsigned long old, unsigned long oldlen, unsigned long newlen,
			 long flags, unsigned long new_addr) SCONE_HIDDEN;
void __scone_prog_unmapself(unsigned long addr, unsigned long len) SCONE_HIDDEN;
/* 1 if a is in a heap page the program mapped (a fault there: SEGV_ACCERR). */
int __scone_mem_mapped(uintptr_t a) SCONE_HIDDEN;
/* 0 if the program closed a page of [a, a + n) to this access: EFAULT. */
int __scone_mem_usable(uintptr_t a, size_t n, int write) SCONE_HIDDEN;

/* signal.c */
long __scone_sys_rt_sigaction(long sig, const void *act, void *oact, unsigned long size) SCONE_HIDDEN;
long __scone_sys_rt_sigprocmask(long how, const void *set, void *oset, unsigned long size) SCONE_HIDDEN;
/* START: the host's signal box (enclave_abi.h), 0 = none. */
void __scone_signals_init(uint64_t host_box) SCONE_HIDDEN;
/* From every poll: take the signals the host posted. */
void __scone_signals_poll(void) SCONE_HIDDEN;

/* util.c: no libc calls, so these work before TLS and relocation. */
void __scone_memcpy(void *d, const void *s, size_t n) SCONE_HIDDEN;
void __scone_memset(void *d, int c, size_t n) SCONE_HIDDEN;
size_t __scone_strlen(const char *s) SCONE_HIDDEN;
int __scone_strncmp(const char *a, const char *b, size_t n) SCONE_HIDDEN;

#endif
