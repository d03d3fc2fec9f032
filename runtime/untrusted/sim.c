/*
 * The SIM backend (backend.h): the enclave is ordinary memory of this
 * process, built in the order the hardware requires and measured in C as it
 * goes (sgxcrypto/measure.h), EINIT played by sim_einit_check, EENTER and
 * EEXIT emulated with FSGSBASE (sim_enter.S). The same code, without memory,
 * is the measure-only backend behind SCONE_HASH.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/ucontext.h>

#include "../sgxcrypto/einit.h"
#include "simquote.h"
#include "../sgxcrypto/measure.h"
#include <scone/enclave_abi.h>

#include "sim.h"

#define PAGE 4096ull
#define HWCAP2_FSGSBASE (1ul << 1)

struct prot_run {
	uint64_t offset, bytes;
	int prot;
};

struct scone_enclave {
	uint8_t *base;                 /* NULL: measure only */
	uint64_t size;
	struct scone_secs_params secs;
	struct sha256_ctx mr;
	struct sha256_rider *rider;    /* hashed alongside mr (scone_sim_ride) */
	uint8_t mrenclave[32];
	int initialized;
	struct prot_run *prots;
	size_t nprots, cap;
};

/* The one SIM enclave of this process, for scone_sim_aex. */
static struct scone_enclave *sim_enclave;

static const uint8_t zero_page[PAGE] __attribute__((aligned(4096)));
static const uint8_t *zero_region;
static uint64_t zero_bytes;

const void *scone_zero_src(uint64_t bytes)
{
	if (bytes <= zero_bytes)
		return zero_region;
	if (zero_region)
		munmap((void *)zero_region, zero_bytes);
	/* Never written: reads map the kernel's shared zero page, no memory. */
	void *p = mmap(NULL, bytes, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		zero_region = NULL;
		zero_bytes = 0;
		return NULL;
	}
	zero_region = p;
	zero_bytes = bytes;
	return p;
}

static int is_zero_src(const void *src, uint64_t bytes)
{
	const uint8_t *s = src;
	return zero_region && s >= zero_region && bytes <= zero_bytes &&
	       (uint64_t)(s - zero_region) <= zero_bytes - bytes;
}

static int sim_available(char *err, size_t errlen)
{
	if (!(getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE)) {
		snprintf(err, errlen, "SIM mode needs the FSGSBASE instructions in user space "
			 "(AT_HWCAP2 bit 1): use Linux 5.9 or later on a CPU that has them");
		return 0;
	}
	return 1;
}

static int create(struct scone_enclave **out, const struct scone_secs_params *p, uint64_t *base,
		  int with_memory, char *err, size_t errlen)
{
	struct scone_enclave *e = calloc(1, sizeof *e);
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	e->size = p->size;
	e->secs = *p;
	if (with_memory) {
		/* Reserve 2*SIZE and keep the SIZE-aligned middle (sgx-spec.md §7
		 * CREATE). Writable until EINIT, which closes every page never
		 * added: one mprotect per permission change instead of two per
		 * run (each costs microseconds in a VM). */
		uint8_t *m = mmap(NULL, 2 * p->size, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m == MAP_FAILED) {
			snprintf(err, errlen, "cannot reserve %llu bytes of address space for the enclave: %m",
				 (unsigned long long)p->size);
			free(e);
			return -ENOMEM;
		}
		uint8_t *b = (uint8_t *)(((uintptr_t)m + p->size - 1) & ~(uintptr_t)(p->size - 1));
		if (b > m)
			munmap(m, b - m);
		if (m + 2 * p->size > b + p->size)
			munmap(b + p->size, m + 2 * p->size - (b + p->size));
		e->base = b;
		sim_enclave = e;
	}
	mr_ecreate(&e->mr, p->ssa_frame_pages, p->size);
	*base = (uint64_t)(uintptr_t)e->base;
	*out = e;
	return 0;
}

static int sim_create(struct scone_enclave **e, const struct scone_secs_params *p, uint64_t *base,
		      char *err, size_t errlen)
{
	return create(e, p, base, 1, err, errlen);
}

static int measure_create(struct scone_enclave **e, const struct scone_secs_params *p,
			  uint64_t *base, char *err, size_t errlen)
{
	return create(e, p, base, 0, err, errlen);
}

static int prot_of(uint64_t secinfo)
{
	if ((secinfo >> 8) == 1)
		return PROT_READ | PROT_WRITE;   /* a TCS maps RW (sgx-spec.md §7 mmap) */
	return (secinfo & 1 ? PROT_READ : 0) | (secinfo & 2 ? PROT_WRITE : 0) |
	       (secinfo & 4 ? PROT_EXEC : 0);
}

static int sim_add(struct scone_enclave *e, uint64_t offset, const void *src, uint32_t count,
		   uint64_t secinfo, int measure, char *err, size_t errlen)
{
	uint64_t bytes = (uint64_t)count * PAGE;
	if (e->initialized || offset % PAGE || offset >= e->size || bytes > e->size - offset) {
		snprintf(err, errlen, "EADD of %u pages at 0x%llx: outside the enclave or after EINIT",
			 count, (unsigned long long)offset);
		return -EINVAL;
	}
	int zero = is_zero_src(src, bytes);
	int tcs = (secinfo >> 8) == 1;
	if (e->base) {
		uint8_t *dst = e->base + offset;
		/* Zero pages stay untouched: fresh anonymous memory already is zero. */
		for (uint32_t i = 0; i < count && !zero; i++) {
			if (tcs)
				mr_tcs_as_stored(dst + i * PAGE, (const uint8_t *)src + i * PAGE);
			else
				memcpy(dst + i * PAGE, (const uint8_t *)src + i * PAGE, PAGE);
		}
		if (e->nprots == e->cap) {
			size_t cap = e->cap ? 2 * e->cap : 64;
			struct prot_run *p = realloc(e->prots, cap * sizeof *p);
			if (!p) {
				snprintf(err, errlen, "out of memory");
				return -ENOMEM;
			}
			e->prots = p;
			e->cap = cap;
		}
		e->prots[e->nprots++] = (struct prot_run){ offset, bytes, prot_of(secinfo) };
	}
	/* The bytes as stored: TCS pages were fixed up by the copy above. */
	if (!measure)
		mr_add_pages(&e->mr, offset, count, secinfo, NULL, 0, e->rider);
	else if (zero)
		mr_add_pages(&e->mr, offset, count, secinfo, zero_page, 0, e->rider);
	else if (e->base)
		mr_add_pages(&e->mr, offset, count, secinfo, e->base + offset, PAGE, e->rider);
	else if (!tcs)
		mr_add_pages(&e->mr, offset, count, secinfo, src, PAGE, e->rider);
	else
		for (uint32_t i = 0; i < count; i++) {
			uint8_t stored[PAGE];
			mr_tcs_as_stored(stored, (const uint8_t *)src + i * PAGE);
			mr_add_pages(&e->mr, offset + i * PAGE, 1, secinfo, stored, PAGE, e->rider);
		}
	return 0;
}

int scone_sim_ride(const struct scone_backend *b, struct scone_enclave *e, struct sha256_rider *r)
{
	if (b != &scone_backend_sim && b != &scone_backend_measure)
		return 0;
	e->rider = r;
	return 1;
}

static int by_offset(const void *a, const void *b)
{
	const struct prot_run *x = a, *y = b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Final permissions, as EINIT leaves them: every page never added (guard
 * pages, the free end of SIZE) inaccessible, added runs with their SECINFO
 * permissions; neighbours with the same permissions in one call. */
static int seal(struct scone_enclave *e)
{
	qsort(e->prots, e->nprots, sizeof *e->prots, by_offset);
	uint64_t at = 0;
	for (size_t i = 0; i <= e->nprots;) {
		uint64_t start = i < e->nprots ? e->prots[i].offset : e->size;
		if (start > at && mprotect(e->base + at, start - at, PROT_NONE))
			return -1;
		if (i == e->nprots)
			break;
		int prot = e->prots[i].prot;
		uint64_t end = start + e->prots[i].bytes;
		while (++i < e->nprots && e->prots[i].offset == end && e->prots[i].prot == prot)
			end += e->prots[i].bytes;
		if (prot != (PROT_READ | PROT_WRITE) && mprotect(e->base + start, end - start, prot))
			return -1;
		at = end;
	}
	return 0;
}

static int sim_init(struct scone_enclave *e, const uint8_t sigstruct[1808], char *err, size_t errlen)
{
	char why[512] = "";
	uint8_t mrsigner[32];
	mr_einit_final(&e->mr, e->mrenclave);
	e->initialized = 1;
	int code = sim_einit_check(sigstruct, e->mrenclave, e->secs.attributes, e->secs.xfrm,
				   e->secs.miscselect, mrsigner, why, sizeof why);
	if (code) {
		snprintf(err, errlen, "EINIT refused the enclave (%s): %s", sgx_einit_code_name(code), why);
		return -EPERM;
	}
	if (e->base)
		scone_simquote_init(sigstruct, e->mrenclave, e->secs.attributes, e->secs.xfrm,
				    e->secs.miscselect, mrsigner);
	if (e->base && seal(e)) {
		snprintf(err, errlen, "setting enclave page permissions: %m");
		return -errno;
	}
	return 0;
}

static int measure_init(struct scone_enclave *e, const uint8_t sigstruct[1808], char *err, size_t errlen)
{
	(void)sigstruct, (void)err, (void)errlen;
	mr_einit_final(&e->mr, e->mrenclave);
	e->initialized = 1;
	return 0;
}

static int sim_enter(struct scone_enclave *e, uint64_t tcs, uint64_t op, uint64_t arg,
		     uint64_t *reason, uint64_t *value)
{
	if (!e->base || !e->initialized || tcs % PAGE || tcs >= e->size)
		return -EINVAL;
	const uint8_t *t = e->base + tcs;
	uint64_t oentry, ofs, ogs;
	memcpy(&oentry, t + 32, 8);
	memcpy(&ofs, t + 48, 8);
	memcpy(&ogs, t + 56, 8);
	struct scone_sim_entry c = {
		.tcs = (uint64_t)(uintptr_t)t,
		.entry = (uint64_t)(uintptr_t)e->base + oentry,
		.fs = (uint64_t)(uintptr_t)e->base + ofs,
		.gs = (uint64_t)(uintptr_t)e->base + ogs,
		.op = op,
		.arg = arg,
	};
	scone_sim_eenter(&c);
	*reason = c.reason;
	*value = c.value;
	return 0;
}

/* greg_t index of each GPRSGX register, in GPRSGX order (rax..r15). */
static const int gpr_of[16] = {
	REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
	REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

int scone_sim_aex(void *ucv, unsigned vector, uint64_t maddr, uint32_t errcd)
{
	struct scone_enclave *e = sim_enclave;
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	if (!e || !e->initialized)
		return 0;
	uint64_t base = (uint64_t)(uintptr_t)e->base, rip = (uint64_t)g[REG_RIP], gs;
	__asm__ __volatile__("rdgsbase %0" : "=r"(gs));
	/* Enclave code runs with GS on its TCS's thread page (TCS.OGSBASE). */
	if (rip - base >= e->size || gs - base >= e->size || gs % PAGE)
		return 0;
	const struct scone_thread *th = (const void *)(uintptr_t)gs;
	if (th->tcs % PAGE || th->tcs >= e->size)
		return 0;
	uint8_t *tcs = e->base + th->tcs;
	uint64_t ossa;
	uint32_t cssa, nssa;
	memcpy(&ossa, tcs + 16, 8);
	memcpy(&cssa, tcs + 24, 4);
	memcpy(&nssa, tcs + 28, 4);
	uint64_t frame_bytes = (uint64_t)e->secs.ssa_frame_pages * PAGE;
	/* EENTER after this AEX needs CSSA + 1 < NSSA: a fault in the
	 * exception entry itself has no frame left. */
	if (cssa + 1 >= nssa || ossa % PAGE || ossa + (uint64_t)nssa * frame_bytes > e->size)
		return 0;
	uint8_t *frame = e->base + ossa + cssa * frame_bytes;
	struct scone_gprsgx *gpr = (void *)(frame + frame_bytes - SCONE_GPRSGX_SIZE);
	struct scone_exinfo *ex = (void *)((uint8_t *)gpr - sizeof *ex);
	uint64_t *r = &gpr->rax;
	for (int i = 0; i < 16; i++)
		r[i] = (uint64_t)g[gpr_of[i]];
	gpr->rflags = (uint64_t)g[REG_EFL];
	gpr->rip = rip;
	/* The CPU reports #PF and #GP in EXITINFO, with the MISC region's
	 * EXINFO (address, error code), only when SECS.MISCSELECT.EXINFO is
	 * set; SIM plays a CPU that supports it (CPUID.(12H,0):EBX[0] = 1), so
	 * the signer's request decides. Without it the AEX still happens and
	 * the enclave sees an exit it cannot handle. */
	int exinfo = vector == SCONE_VEC_PF || vector == SCONE_VEC_GP;
	int report = !exinfo || (e->secs.miscselect & SCONE_MISCSELECT_EXINFO);
	gpr->exitinfo = report ? SCONE_EXITINFO_VALID | SCONE_EXITINFO_HW | (vector & 0xff) : 0;
	__asm__ __volatile__("rdfsbase %0" : "=r"(gpr->fsbase));
	gpr->gsbase = gs;
	if (exinfo && report) {
		ex->maddr = vector == SCONE_VEC_PF ? maddr : 0;
		ex->errcd = errcd;
		ex->reserved = 0;
	}
	cssa++;
	memcpy(tcs + 24, &cssa, 4);
	uint64_t oentry, ofs;
	memcpy(&oentry, tcs + 32, 8);
	memcpy(&ofs, tcs + 48, 8);
	struct scone_sim_entry c = {
		.tcs = (uint64_t)(uintptr_t)tcs,
		.entry = base + oentry,
		.fs = base + ofs,
		.gs = gs,
		.cssa = cssa,
	};
	scone_sim_eenter(&c);
	/* Back on the interrupted context's FS/GS (the entry restored what it
	 * found: this handler runs with the enclave thread's). ERESUME: */
	cssa--;
	memcpy(tcs + 24, &cssa, 4);
	if (c.reason != SCONE_EXIT_ERESUME)
		return 0;
	for (int i = 0; i < 16; i++)
		g[gpr_of[i]] = (greg_t)r[i];
	/* RFLAGS as ERESUME restores them: the arithmetic flags, DF, TF, AC
	 * (the kernel's sigreturn keeps the rest). */
	g[REG_EFL] = (greg_t)gpr->rflags;
	g[REG_RIP] = (greg_t)gpr->rip;
	return 1;
}

static int sim_mrenclave(struct scone_enclave *e, uint8_t out[32])
{
	if (!e->initialized) {
		struct sha256_ctx copy = e->mr;
		mr_einit_final(&copy, out);
		return 0;
	}
	memcpy(out, e->mrenclave, 32);
	return 0;
}

static void sim_destroy(struct scone_enclave *e)
{
	if (!e)
		return;
	if (e->base)
		munmap(e->base, e->size);
	free(e->prots);
	free(e);
}

static int always(char *err, size_t errlen)
{
	(void)err, (void)errlen;
	return 1;
}

const struct scone_backend scone_backend_sim = {
	.name = "SIM",
	.available = sim_available,
	.create = sim_create,
	.add = sim_add,
	.init = sim_init,
	.enter = sim_enter,
	.mrenclave = sim_mrenclave,
	.destroy = sim_destroy,
};

const struct scone_backend scone_backend_measure = {
	.name = "measure",
	.available = always,
	.create = measure_create,
	.add = sim_add,
	.init = measure_init,
	.enter = sim_enter,
	.mrenclave = sim_mrenclave,
	.destroy = sim_destroy,
};
