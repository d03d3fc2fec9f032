/*
 * Strict SIM (DESIGN.md §11). In an SGX enclave SYSCALL, SYSENTER and INT
 * raise #UD, and so do CPUID always and RDTSC/RDTSCP on SGX1. SIM runs
 * enclave code as ordinary code of this process, so the kernel is asked to
 * refuse what the CPU would:
 *   - a seccomp filter traps every system call whose instruction pointer
 *     lies in the enclave range (seccomp sees it as two 32-bit halves);
 *     host code, which serves the enclave's OCALLs outside the range, is
 *     unaffected. The SIGSYS handler names the call and the enclave
 *     function, and the process ends by SIGSYS;
 *   - PR_SET_TSC(PR_TSC_SIGSEGV) on every thread that enters the enclave
 *     (SGX1 profile); ARCH_SET_CPUID(0) where the CPU has CPUID faulting
 *     (/proc/cpuinfo cpuid_fault). The SIGSEGV they raise is recognised by
 *     the instruction bytes (0f 31, 0f 01 f9, 0f a2): from enclave code it
 *     is the #UD the CPU would raise, and takes the exception path
 *     (faults.c, sim.c scone_sim_aex: the enclave emulates them); if that
 *     fails the process ends by SIGILL with one line naming the
 *     instruction and the function; from host code on such a thread it is
 *     emulated here, with the trap lifted for that one instruction.
 * SCONE_SIM_PROFILE=lax turns all of it off; sgx2 leaves RDTSC legal.
 * Handlers run on enclave threads (the enclave's %fs): raw system calls,
 * no libc.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <x86intrin.h>

#include <scone/syscall_table.h>

#include "rawsys.h"
#include "strict.h"

#define ARCH_GET_CPUID 0x1011
#define ARCH_SET_CPUID 0x1012

struct sym {
	uint64_t lo, hi;           /* enclave offsets */
	const char *name;
};

static enum scone_profile profile = SCONE_PROFILE_LAX;
static uint64_t lo, hi;            /* the enclave range */
static struct sym *syms;
static size_t nsyms;
static int cpuid_faulting;
static uint64_t pauses_per_kcycle;        /* SIM's exit cost without RDTSC */

static int by_lo(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The image's function symbols, kept for messages (the image itself is
 * released once the enclave is built). */
static void load_symbols(const uint8_t *img, size_t n)
{
	const Elf64_Ehdr *eh = (const void *)img;
	if (n < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    eh->e_shoff > n || eh->e_shnum > (n - eh->e_shoff) / sizeof(Elf64_Shdr))
		return;
	const Elf64_Shdr *sh = (const void *)(img + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
			continue;
		const Elf64_Shdr *st = &sh[sh[i].sh_link];
		if (sh[i].sh_offset > n || sh[i].sh_size > n - sh[i].sh_offset ||
		    st->sh_offset > n || st->sh_size > n - st->sh_offset)
			return;
		const Elf64_Sym *s = (const void *)(img + sh[i].sh_offset);
		size_t count = sh[i].sh_size / sizeof *s;
		syms = calloc(count ? count : 1, sizeof *syms);
		if (!syms)
			return;
		for (size_t k = 0; k < count; k++) {
			if (ELF64_ST_TYPE(s[k].st_info) != STT_FUNC || !s[k].st_value || s[k].st_name >= st->sh_size)
				continue;
			const char *name = (const char *)img + st->sh_offset + s[k].st_name;
			if (!memchr(name, 0, st->sh_size - s[k].st_name))
				continue;
			syms[nsyms++] = (struct sym){ s[k].st_value, s[k].st_value + (s[k].st_size ? s[k].st_size : 1),
						      strdup(name) };
		}
		qsort(syms, nsyms, sizeof *syms, by_lo);
		return;
	}
}

static const char *symbol(uint64_t off)
{
	size_t a = 0, b = nsyms;
	while (a < b) {
		size_t m = (a + b) / 2;
		if (syms[m].lo <= off)
			a = m + 1;
		else
			b = m;
	}
	return a && off < syms[a - 1].hi ? syms[a - 1].name : NULL;
}

/* A line built without libc (this may run with the enclave's %fs). */
struct line {
	char b[400];
	size_t n;
};

static void put(struct line *l, const char *s)
{
	while (s && *s && l->n < sizeof l->b - 1)
		l->b[l->n++] = *s++;
}

static void put_num(struct line *l, uint64_t v, int base)
{
	char d[24];
	int i = 0;
	do
		d[i++] = "0123456789abcdef"[v % base];
	while ((v /= base));
	if (base == 16)
		put(l, "0x");
	while (i && l->n < sizeof l->b - 1)
		l->b[l->n++] = d[--i];
}

static void put_where(struct line *l, uint64_t ip)
{
	put(l, " at enclave+");
	put_num(l, ip - lo, 16);
	const char *f = symbol(ip - lo);
	if (f) {
		put(l, " (");
		put(l, f);
		put(l, ")");
	}
}

static _Noreturn void die_by(int sig, struct line *l)
{
	l->b[l->n++] = '\n';
	scone_raw4(SYS_write, 2, (long)l->b, (long)l->n, 0);
	struct { long handler, flags, restorer, mask; } dfl = { 0, 0, 0, 0 };
	scone_raw4(SYS_rt_sigaction, sig, (long)&dfl, 0, 8);
	unsigned long unblock = 1ul << (sig - 1);
	scone_raw4(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&unblock, 0, 8);
	scone_raw4(SYS_tgkill, scone_raw4(SYS_getpid, 0, 0, 0, 0), scone_raw4(SYS_gettid, 0, 0, 0, 0), sig, 0);
	scone_raw4(SYS_exit_group, 128 + sig, 0, 0, 0);
	__builtin_unreachable();
}

static void on_sigsys(int sig, siginfo_t *info, void *uc)
{
	(void)sig, (void)uc;
	uint64_t ip = (uint64_t)(uintptr_t)info->si_call_addr;
	struct line l = { .n = 0 };
	put(&l, "[SCONE|ERROR] system call ");
	const char *name = scone_sys_name_of(info->si_syscall);
	put(&l, name ? name : "?");
	put(&l, " (");
	put_num(&l, (uint64_t)info->si_syscall, 10);
	put(&l, ") made by enclave code");
	put_where(&l, ip - 2);
	put(&l, ": SYSCALL raises #UD in an SGX enclave; go through libc (the scone hook) instead");
	die_by(SIGSYS, &l);
}

/* Deny every system call whose instruction pointer is in [lo, hi). */
static int install_filter(char *err, size_t errlen)
{
	uint32_t bh = (uint32_t)(lo >> 32), bl = (uint32_t)lo;
	uint64_t size = hi - lo;
	struct sock_filter f[16];
	unsigned n = 0;
#define S(code, k, jt, jf) (f[n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf))
	S(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
	S(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	S(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
	S(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4, 0, 0);
	if (size >= (1ull << 32)) {
		/* Whole 4 GiB units: the high half decides. */
		S(BPF_ALU | BPF_SUB | BPF_K, bh, 0, 0);
		S(BPF_JMP | BPF_JGE | BPF_K, (uint32_t)(size >> 32), 0, 1);
		S(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
		S(BPF_RET | BPF_K, SECCOMP_RET_TRAP, 0, 0);
	} else {
		S(BPF_JMP | BPF_JEQ | BPF_K, bh, 1, 0);
		S(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
		S(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer), 0, 0);
		S(BPF_ALU | BPF_SUB | BPF_K, bl, 0, 0);
		S(BPF_JMP | BPF_JGE | BPF_K, (uint32_t)size, 0, 1);
		S(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
		S(BPF_RET | BPF_K, SECCOMP_RET_TRAP, 0, 0);
	}
#undef S
	struct sock_fprog prog = { .len = (unsigned short)n, .filter = f };
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog)) {
		snprintf(err, errlen, "SCONE_SIM_PROFILE: cannot install the seccomp filter that refuses system calls "
			 "from enclave code: %s; use SCONE_SIM_PROFILE=lax to run without it", strerror(errno));
		return -1;
	}
	return 0;
}

int scone_strict_cpuid_faulting(void)
{
	/* 1 while CPUID runs; the call fails where the CPU cannot fault it. */
	return scone_raw4(SYS_arch_prctl, ARCH_GET_CPUID, 0, 0, 0) >= 0;
}

int scone_strict_init(enum scone_profile p, uint64_t base, uint64_t size,
		      const uint8_t *image, size_t image_size, char *err, size_t errlen)
{
	profile = p;
	lo = base;
	hi = base + size;
	if (p == SCONE_PROFILE_LAX)
		return 0;
	load_symbols(image, image_size);
	cpuid_faulting = scone_strict_cpuid_faulting();
	if (p == SCONE_PROFILE_SGX1) {
		/* Before any thread traps RDTSC: how many PAUSEs a thousand
		 * cycles take, so that an enclave thread can spend
		 * SCONE_SIM_EXIT_CYCLES without reading the TSC. */
		uint64_t t0 = __rdtsc();
		for (int i = 0; i < 20000; i++)
			_mm_pause();
		uint64_t dt = __rdtsc() - t0;
		pauses_per_kcycle = dt ? 20000000ull / dt : 1;
		if (!pauses_per_kcycle)
			pauses_per_kcycle = 1;
	}
	return install_filter(err, errlen);
}

void scone_strict_thread(void)
{
	if (profile == SCONE_PROFILE_SGX1)
		prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0);
	if (profile != SCONE_PROFILE_LAX && cpuid_faulting)
		scone_raw4(SYS_arch_prctl, ARCH_SET_CPUID, 0, 0, 0);
}

/* Lift (or put back) this thread's RDTSC trap, for host code. */
static void scone_strict_tsc(int allow)
{
	if (profile == SCONE_PROFILE_SGX1)
		scone_raw4(SYS_prctl, PR_SET_TSC, allow ? PR_TSC_ENABLE : PR_TSC_SIGSEGV, 0, 0);
}

int scone_strict_spend(uint64_t cycles)
{
	if (profile != SCONE_PROFILE_SGX1)
		return 0;
	for (uint64_t n = cycles * pauses_per_kcycle / 1000; n; n--)
		_mm_pause();
	return 1;
}

void scone_strict_refuse(void *ucv)
{
	ucontext_t *uc = ucv;
	uint64_t ip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	const uint8_t *c = (const uint8_t *)ip;
	int cpuid = c[1] == 0xa2, rdtsc = c[1] == 0x31;
	struct line l = { .n = 0 };
	put(&l, "[SCONE|ERROR] ");
	put(&l, cpuid ? "CPUID" : rdtsc ? "RDTSC" : "RDTSCP");
	put(&l, " executed by enclave code");
	put_where(&l, ip);
	put(&l, cpuid ? ": CPUID raises #UD in an SGX enclave, and nothing emulated it"
		      : ": it raises #UD in an SGX1 enclave, and nothing emulated it");
	die_by(SIGILL, &l);
}

int scone_strict_fault(siginfo_t *info, void *ucv)
{
	ucontext_t *uc = ucv;
	if (profile == SCONE_PROFILE_LAX || info->si_code != SI_KERNEL)
		return 0;
	uint64_t ip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	const uint8_t *c = (const uint8_t *)ip;
	int rdtsc = c[0] == 0x0f && c[1] == 0x31, rdtscp = c[0] == 0x0f && c[1] == 0x01 && c[2] == 0xf9;
	int cpuid = c[0] == 0x0f && c[1] == 0xa2;
	if (!rdtsc && !rdtscp && !cpuid)
		return 0;
	if (ip >= lo && ip < hi)
		return 2;                       /* #UD: the exception path (faults.c) */
	/* Host code on an enclave thread: run it with the trap lifted. */
	greg_t *g = uc->uc_mcontext.gregs;
	if (cpuid) {
		unsigned a = (unsigned)g[REG_RAX], b, cc = (unsigned)g[REG_RCX], d;
		scone_raw4(SYS_arch_prctl, ARCH_SET_CPUID, 1, 0, 0);
		__asm__ __volatile__("cpuid" : "+a"(a), "=b"(b), "+c"(cc), "=d"(d));
		scone_raw4(SYS_arch_prctl, ARCH_SET_CPUID, 0, 0, 0);
		g[REG_RAX] = a, g[REG_RBX] = b, g[REG_RCX] = cc, g[REG_RDX] = d;
		g[REG_RIP] += 2;
		return 1;
	}
	unsigned a, d, aux = 0;
	scone_strict_tsc(1);
	if (rdtscp)
		__asm__ __volatile__("rdtscp" : "=a"(a), "=d"(d), "=c"(aux));
	else
		__asm__ __volatile__("rdtsc" : "=a"(a), "=d"(d));
	scone_strict_tsc(0);
	g[REG_RAX] = a, g[REG_RDX] = d;
	if (rdtscp)
		g[REG_RCX] = aux;
	g[REG_RIP] += rdtscp ? 3 : 2;
	return 1;
}
