/*
 * Exceptions inside the enclave (DESIGN.md §11), the way SGX delivers them:
 * an exception in enclave code leaves by AEX, which saves the interrupted
 * registers in the thread's current SSA frame (GPRSGX, with EXITINFO = the
 * vector; with MISCSELECT.EXINFO the #PF/#GP address and error code below
 * it: with SECS.MISCSELECT.EXINFO only, which is also the only way #PF and
 * #GP are reported at all, so a valid EXITINFO for them means EXINFO's
 * MADDR and ERRCD are the CPU's) and increments CSSA; the host's signal handler EENTERs again, and the
 * entry, seeing CSSA > 0, runs __scone_exception on a small stack at the
 * top of the thread page (entry.S). In SIM the host's handler plays the
 * CPU's part (untrusted/sim.c scone_sim_aex). Here, in two phases as the
 * Intel SDK does:
 *   1. (CSSA 1, this file) emulate CPUID (from the leaves the host gave at
 *      START, checked) or RDTSC/RDTSCP (from the enclave's own clock, a
 *      1 GHz counter) and resume after the instruction; or, when the
 *      program has a handler for the signal the vector means, rewrite the
 *      SSA so that ERESUME continues at phase 2 below the interrupted
 *      stack; otherwise say UNHANDLED, and the host ends the process by
 *      the signal, as the kernel does for a fault nobody handles.
 *   2. (CSSA 0, __scone_exc_second in entry.S, then deliver() here) run the
 *      handler as the kernel would, on the interrupted thread and stack,
 *      with siginfo (si_addr) and a ucontext whose gregs are the
 *      interrupted registers; when it returns, continue at the context it
 *      leaves there (changed or not); siglongjmp leaves as usual.
 * Trust: the SSA is enclave memory that only the CPU writes on AEX, so its
 * registers are the interrupted context's (in SIM the host writes it, as
 * SIM's CPU). The CPUID leaves are the host's: see load_cpuid.
 */
#include "internal.h"

#define NS 1000000000ull
#define SIGILL 4
#define SIGBUS 7
#define SIGFPE 8
#define SIGSEGV 11
#define SI_KERNEL 0x80
#define STACK_PROBE (64ul << 10)      /* a fault this close below RSP: stack overflow */

struct scone_exc {                    /* phase 1 -> phase 2, on the thread's stack */
	struct scone_gprsgx gpr;      /* first: entry.S reads it at GPRSGX offsets */
	int sig, code;
	uint64_t addr;
	uint32_t vector, errcd;
};
_Static_assert(offsetof(struct scone_exc, gpr) == 0, "exc ABI");

extern char __scone_exc_second[] SCONE_HIDDEN;

static struct scone_cpuid cpuid;      /* enclave copy, checked */
static int cpuid_ok;

/* The host's CPUID leaves, copied and checked: leaf 0 must be there, leaf
 * 1 must report what this enclave is running on already (x86-64's FXSR,
 * SSE, SSE2; XSAVE, which the runtime uses on every OCALL). A host that
 * lies about the rest can make the program choose slower or missing code
 * paths, which it could do anyway by refusing to run it; without a table
 * that passes, CPUID is not emulated and the fault ends the process. */
void __scone_cpuid_init(uint64_t host)
{
	if (!host || host % 8 || !__scone_host_range(host, sizeof cpuid))
		return;
	__scone_memcpy(&cpuid, (const void *)host, sizeof cpuid);
	if (cpuid.count > SCONE_CPUID_LEAVES)
		return;
	int leaf0 = 0, leaf1 = 0;
	for (uint32_t i = 0; i < cpuid.count; i++) {
		const struct scone_cpuid_leaf *l = &cpuid.l[i];
		if (l->leaf == 0 && l->eax >= 1)
			leaf0 = 1;
		if (l->leaf == 1) {
			uint32_t edx_need = (1u << 24) | (1u << 25) | (1u << 26), ecx_need = 1u << 26;
			leaf1 = (l->edx & edx_need) == edx_need && (l->ecx & ecx_need) == ecx_need;
		}
	}
	cpuid_ok = leaf0 && leaf1;
}

static void emulate_cpuid(struct scone_gprsgx *g)
{
	uint32_t leaf = (uint32_t)g->rax, sub = (uint32_t)g->rcx;
	uint32_t r[4] = { 0, 0, 0, 0 };
	/* Leaves with subleaves answer by ECX; the others answer any ECX, as
	 * the CPU does. */
	int indexed = leaf == 4 || leaf == 7 || leaf == 0xb || leaf == 0xd || leaf == 0xf || leaf == 0x10 ||
		      leaf == 0x12 || leaf == 0x14 || leaf == 0x17 || leaf == 0x18 || leaf == 0x1f ||
		      leaf == 0x8000001d;
	for (uint32_t i = 0; i < cpuid.count; i++) {
		const struct scone_cpuid_leaf *l = &cpuid.l[i];
		if (l->leaf == leaf && (!indexed || l->subleaf == sub)) {
			r[0] = l->eax, r[1] = l->ebx, r[2] = l->ecx, r[3] = l->edx;
			break;
		}
	}
	g->rax = r[0], g->rbx = r[1], g->rcx = r[2], g->rdx = r[3];
}

/* RDTSC inside: the enclave's monotonic clock in ns, a 1 GHz counter
 * (never an OCALL here: this runs on the exception entry). */
static uint64_t tsc_now(void)
{
	uint64_t ns = 0;
	__scone_clock_read(1, &ns);
	return ns;
}

static int in_enclave(uint64_t p, uint64_t n)
{
	return p >= __scone_rt.base && n <= __scone_rt.size && p - __scone_rt.base <= __scone_rt.size - n;
}

uint64_t __scone_exception(uint64_t cssa, uint64_t tcs) SCONE_HIDDEN;
uint64_t __scone_exception(uint64_t cssa, uint64_t tcs)
{
	const struct scone_enclave_config *c = __scone_rt.cfg;
	if (!c || !cssa || cssa >= c->nssa || !in_enclave(tcs, SCONE_PAGE_SIZE))
		return SCONE_EXIT_UNHANDLED;
	uint64_t ossa = *(const uint64_t *)(tcs + 16), frame = (uint64_t)c->ssa_frame_pages * SCONE_PAGE_SIZE;
	uint64_t top = __scone_rt.base + ossa + cssa * frame;
	struct scone_gprsgx *g = (struct scone_gprsgx *)(top - SCONE_GPRSGX_SIZE);
	const struct scone_exinfo *ex = (const struct scone_exinfo *)((uint8_t *)g - sizeof *ex);
	if (!(g->exitinfo & SCONE_EXITINFO_VALID))
		return SCONE_EXIT_UNHANDLED;
	uint32_t vector = g->exitinfo & 0xff;
	if (vector == SCONE_VEC_UD && in_enclave(g->rip, 3)) {
		const uint8_t *i = (const uint8_t *)g->rip;
		if (i[0] == 0x0f && i[1] == 0xa2 && cpuid_ok) {
			emulate_cpuid(g);
			g->rip += 2;
			return SCONE_EXIT_ERESUME;
		}
		if (i[0] == 0x0f && (i[1] == 0x31 || (i[1] == 0x01 && i[2] == 0xf9))) {
			uint64_t t = tsc_now();
			g->rax = (uint32_t)t;
			g->rdx = t >> 32;
			if (i[1] == 0x01)
				g->rcx = 0;           /* IA32_TSC_AUX */
			g->rip += i[1] == 0x01 ? 3 : 2;
			return SCONE_EXIT_ERESUME;
		}
	}
	struct scone_exc x = { .vector = vector, .errcd = ex->errcd };
	switch (vector) {
	case SCONE_VEC_DE: x.sig = SIGFPE, x.code = 1 /* FPE_INTDIV */, x.addr = g->rip; break;
	case SCONE_VEC_MF: case SCONE_VEC_XM: x.sig = SIGFPE, x.code = 0, x.addr = g->rip; break;
	case SCONE_VEC_UD: x.sig = SIGILL, x.code = 2 /* ILL_ILLOPN */, x.addr = g->rip; break;
	case SCONE_VEC_AC: x.sig = SIGBUS, x.code = 1 /* BUS_ADRALN */, x.addr = 0; break;   /* as Linux */
	case SCONE_VEC_GP: x.sig = SIGSEGV, x.code = SI_KERNEL, x.addr = 0; break;
	case SCONE_VEC_PF:
		x.addr = ex->maddr;
		/* Linux says ACCERR for an address inside a mapping whose
		 * protection forbade the access, MAPERR elsewhere. The enclave
		 * knows its program's mappings itself (memory.c); the error
		 * code's P bit is the host's page tables (a PROT_NONE page is
		 * not present there) and decides only outside them. */
		x.sig = SIGSEGV;
		x.code = __scone_mem_mapped(x.addr) || (ex->errcd & 1) ? 2 /* SEGV_ACCERR */ : 1 /* SEGV_MAPERR */;
		/* No stack left to run a handler on (no sigaltstack inside). */
		if (x.addr <= g->rsp + SCONE_PAGE_SIZE && x.addr + STACK_PROBE >= g->rsp)
			return SCONE_EXIT_UNHANDLED;
		break;
	default:
		return SCONE_EXIT_UNHANDLED;
	}
	if (!__scone_signal_fault_handled(x.sig))
		return SCONE_EXIT_UNHANDLED;
	/* Phase 2 below the interrupted stack's red zone. */
	uint64_t at = (g->rsp - 128 - sizeof x) & ~63ul;
	if (!in_enclave(at, g->rsp - at) || g->rsp - at > SCONE_PAGE_SIZE)
		return SCONE_EXIT_UNHANDLED;
	x.gpr = *g;
	__scone_memcpy((void *)at, &x, sizeof x);
	g->rdi = at;
	g->rsp = at - 8;                      /* as after a call: 16-byte aligned + 8 */
	g->rip = (uint64_t)__scone_exc_second;
	g->rflags &= ~(1ul << 10);            /* DF clear, as the ABI wants at a call */
	return SCONE_EXIT_ERESUME;
}

/* The kernel's x86-64 ucontext and siginfo, as handlers read them. */
enum { R8, R9, R10, R11, R12, R13, R14, R15, RDI, RSI, RBP, RBX, RDX, RAX, RCX, RSP, RIP, EFL,
       CSGSFS, ERR, TRAPNO, OLDMASK, CR2, NGREG };
struct k_ucontext {
	unsigned long flags;
	void *link;
	struct { void *sp; int flags; unsigned long size; } stack;
	unsigned long gregs[NGREG];
	void *fpregs;
	unsigned long reserved1[8];
	unsigned long sigmask[16];
};
_Static_assert(offsetof(struct k_ucontext, gregs) == 40, "ucontext ABI");
_Static_assert(offsetof(struct k_ucontext, sigmask) == 296, "ucontext ABI");
struct k_siginfo {
	int signo, errno_, code, pad;
	uint64_t addr;
	char rest[104];
};

/* Phase 2: called by __scone_exc_second with the vector state saved at
 * xsave (its first 512 bytes are the FXSAVE image that fpregs points to). */
void __scone_exc_deliver(struct scone_exc *x, void *xsave) SCONE_HIDDEN;
void __scone_exc_deliver(struct scone_exc *x, void *xsave)
{
	unsigned long flags, saved;
	unsigned long h = __scone_signal_fault_enter(x->sig, &flags, &saved);
	if (!h)
		return;                       /* gone meanwhile: the fault recurs, unhandled */
	struct scone_gprsgx *g = &x->gpr;
	struct k_ucontext uc = { .fpregs = xsave };
	static const unsigned char order[16] = { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
						 R8, R9, R10, R11, R12, R13, R14, R15 };
	const uint64_t *r = &g->rax;
	for (int i = 0; i < 16; i++)
		uc.gregs[order[i]] = r[i];
	uc.gregs[RIP] = g->rip;
	uc.gregs[EFL] = g->rflags;
	uc.gregs[ERR] = x->errcd;
	uc.gregs[TRAPNO] = x->vector;
	uc.gregs[CR2] = x->vector == SCONE_VEC_PF ? x->addr : 0;
	uc.sigmask[0] = saved;
	struct k_siginfo si = { .signo = x->sig, .code = x->code, .addr = x->addr };
	if (flags & 4 /* SA_SIGINFO */)
		((void (*)(int, void *, void *))h)(x->sig, &si, &uc);
	else
		((void (*)(int))h)(x->sig);
	uint64_t *w = &g->rax;
	for (int i = 0; i < 16; i++)
		w[i] = uc.gregs[order[i]];
	g->rip = uc.gregs[RIP];
	/* The flags a program may change (status, DF, TF, AC), as sigreturn. */
	g->rflags = (g->rflags & ~0x50dd5ul) | (uc.gregs[EFL] & 0x50dd5ul);
	__scone_signal_fault_leave(uc.sigmask[0]);
}
