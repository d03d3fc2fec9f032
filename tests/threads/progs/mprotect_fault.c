/* mprotect and the faults it makes, as a program sees them: a guard page
 * closed with mprotect, a SIGSEGV handler that opens it again and returns
 * (the instruction runs again), a write to a read-only page, and mprotect's
 * errors at the edges (unaligned, length 0, holes, lengths that wrap, bad
 * flags) and EFAULT from a system call given a closed buffer. Built
 * --scone-native it prints the same lines, except the one line marked
 * "exec" (an enclave's heap pages can never become executable: EACCES).
 * argv[1] = "sweep" instead closes every page it can above one of its own
 * and then prints: inside the enclave, the runtime's pages are not the
 * program's to close (not run natively). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PG 4096ul

static char *base;                 /* the mapping offsets are printed from */
static volatile int faults, last_code;
static volatile uintptr_t last_addr;

static void opener(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	faults++;
	last_code = si->si_code;
	last_addr = (uintptr_t)si->si_addr;
	char *page = (char *)((uintptr_t)si->si_addr & ~(PG - 1));
	if (mprotect(page, PG, PROT_READ | PROT_WRITE))
		_exit(3);
}

static const char *err(int r)
{
	if (!r)
		return "0";
	switch (errno) {
	case EINVAL: return "EINVAL";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	default: return strerror(errno);
	}
}

static void fault_line(const char *what, int before)
{
	printf("%s: faults %d code %s addr base+0x%lx\n", what, faults - before,
	       last_code == SEGV_ACCERR ? "SEGV_ACCERR" : last_code == SEGV_MAPERR ? "SEGV_MAPERR" : "?",
	       (unsigned long)(last_addr - (uintptr_t)base));
}

static int sweep(void)
{
	char *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	long closed = 0, refused = 0;
	for (char *a = p; a < p + (256ul << 20); a += PG) {
		if (mprotect(a, PG, PROT_NONE) == 0)
			closed++;
		else if (errno == ENOMEM)
			refused++;
	}
	/* Everything the runtime needs for a system call is still there. */
	printf("closed %s refused %s\n", closed ? "some" : "none", refused ? "some" : "none");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "sweep"))
		return sweep();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = opener;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, 0);

	base = mmap(0, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return 1;
	volatile char *b = base;

	/* A guard page: the write faults, the handler opens it, the write runs again. */
	int f = faults;
	printf("guard: %s\n", err(mprotect(base + PG, PG, PROT_NONE)));
	b[PG + 8] = 7;
	fault_line("guard write", f);
	printf("value %d\n", b[PG + 8]);
	f = faults;
	mprotect(base + 2 * PG, PG, PROT_NONE);
	int v = b[2 * PG + 100];
	fault_line("guard read", f);
	printf("read %d\n", v);

	/* A read-only page: reads go, the first write faults once. */
	f = faults;
	b[3 * PG] = 5;
	printf("ro: %s\n", err(mprotect(base + 3 * PG, PG, PROT_READ)));
	printf("ro read %d faults %d\n", b[3 * PG], faults - f);
	b[3 * PG + 16] = 9;
	fault_line("ro write", f);
	printf("ro now %d %d\n", b[3 * PG], b[3 * PG + 16]);

	/* Many times over: each close is enforced again. */
	f = faults;
	for (int i = 0; i < 200; i++) {
		mprotect(base + 4 * PG, 2 * PG, i % 2 ? PROT_READ : PROT_NONE);
		b[4 * PG + (i % 2) * PG + i] = (char)i;
	}
	fault_line("loop", f);

	/* mprotect's errors, in Linux's order: the system call itself (libc's
	 * mprotect rounds addr down and len up first). */
#define mprotect(a, l, p) (int)syscall(SYS_mprotect, (a), (l), (p))
	printf("unaligned: %s\n", err(mprotect(base + 1, PG, PROT_READ)));
	printf("len 0 unaligned: %s\n", err(mprotect(base + 1, 0, PROT_READ)));
	printf("len 0: %s\n", err(mprotect(base, 0, PROT_NONE)));
	printf("len 1: %s\n", err(mprotect(base + 6 * PG, 1, PROT_READ | PROT_WRITE)));
	printf("len wraps to 0: %s\n", err(mprotect(base, (size_t)-1, PROT_READ)));
	printf("end wraps: %s\n", err(mprotect(base, (size_t)-PG, PROT_READ)));
	printf("end wraps, len 0 page: %s\n", err(mprotect(base + PG, (size_t)-PG, PROT_READ)));
	printf("bad prot: %s\n", err(mprotect(base, PG, 0x10)));
	printf("bad prot unmapped: %s\n", err(mprotect((void *)0x10000, PG, 0x10)));
	printf("PROT_SEM: %s\n", err(mprotect(base + 6 * PG, PG, PROT_READ | PROT_WRITE | 8)));
	printf("grows both: %s\n", err(mprotect(base, PG, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP)));
	printf("growsdown: %s\n", err(mprotect(base + 6 * PG, PG, PROT_READ | PROT_WRITE | PROT_GROWSDOWN)));
	printf("growsup: %s\n", err(mprotect(base + 6 * PG, PG, PROT_READ | PROT_WRITE | PROT_GROWSUP)));
	printf("unmapped: %s\n", err(mprotect((void *)0x10000, PG, PROT_READ)));
	printf("exec: %s\n", err(mprotect(base + 6 * PG, PG, PROT_READ | PROT_EXEC)));
#undef mprotect
	printf("libc unaligned: %s\n", err(mprotect(base + 1, PG, PROT_READ | PROT_WRITE)));
	printf("libc len wraps: %s\n", err(mprotect(base + 1, (size_t)-1, PROT_READ | PROT_WRITE)));

	/* Holes: one at the start refuses all; one after a mapped part
	 * changes what comes before it, then ENOMEM. */
	char *h = mmap(0, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(h, PG);
#define mprotect(a, l, p) (int)syscall(SYS_mprotect, (a), (l), (p))
	printf("hole first: %s\n", err(mprotect(h, 3 * PG, PROT_NONE)));
	h[PG] = 1;
	char *t = mmap(0, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(t + 2 * PG, PG);
	printf("hole last: %s\n", err(mprotect(t, 3 * PG, PROT_NONE)));
#undef mprotect
	f = faults;
	base = t;
	((volatile char *)t)[PG + 1] = 2;
	fault_line("before the hole", f);

	/* A system call given a closed buffer: EFAULT, nothing else. */
	int fd[2];
	if (pipe(fd))
		return 1;
	write(fd[1], "abc", 3);
	f = faults;
	mprotect((char *)b + 7 * PG, PG, PROT_READ);
	printf("read into ro: %s\n", err(read(fd[0], (char *)b + 7 * PG, 3) < 0 ? -1 : 0));
	mprotect((char *)b + 7 * PG, PG, PROT_NONE);
	printf("write from none: %s\n", err(write(fd[1], (char *)b + 7 * PG, 3) < 0 ? -1 : 0));
	printf("syscall faults %d\n", faults - f);

	/* A closed page unmapped and mapped again is an ordinary page. */
	char *c = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(c, PG, PROT_NONE);
	munmap(c, PG);
	f = faults;
	char *d = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	d[0] = 1;
	char *e = mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(e, 2 * PG, PROT_NONE);
	e = mmap(e, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	e[PG] = 1;
	printf("remapped: faults %d\n", faults - f);
	printf("total faults %d\n", faults);
	return 0;
}
