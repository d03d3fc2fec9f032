/*
 * scone_backend_hw: an enclave on real SGX through the Linux driver
 * (sgx-spec.md §7), in the order the hardware requires: reserve an aligned
 * range and ECREATE, EADD/EEXTEND run by run, EINIT, map the pages, EENTER.
 *
 * There is no SGX hardware on the machine this was written on: the ioctls
 * and ENCLU have not been executed here. Each step mirrors the kernel's
 * selftest loader and the UAPI; the loader measures in C as it adds pages
 * and plays EINIT's checks first, so a bad binary is refused with a
 * sentence rather than the kernel's bare -EPERM.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../sgxcrypto/einit.h"
#include "../../sgxcrypto/measure.h"
#include "../../sgxcrypto/sigstruct.h"
#include "hw.h"
#include "vdso.h"
#include "xfrm.h"

#define PAGE 4096ull
#define GPRSGX_SIZE 184u           /* sgx-spec.md §5 */
#define EXINFO_SIZE 16u
#define BOUNCE_PAGES 256ull        /* 1 MiB per ADD_PAGES when src needs a copy */

static int hw_available(char *err, size_t errlen)
{
	return scone_hw_probe(scone_hw_device_paths, err, errlen);
}

static int is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static void hw_destroy(struct scone_enclave *e)
{
	if (!e)
		return;
	if (e->base)
		munmap((void *)(uintptr_t)e->base, e->secs.size);
	if (e->fd >= 0)
		close(e->fd);
	free(e->runs);
	free(e);
}

/* Map 2*SIZE of the enclave fd and keep the SIZE-aligned middle (the selftest's way). */
static int reserve_range(struct scone_enclave *e, char *err, size_t errlen)
{
	uint64_t size = e->secs.size;
	void *area = mmap(NULL, 2 * size, PROT_NONE, MAP_SHARED, e->fd, 0);
	uintptr_t start, base;

	if (area == MAP_FAILED) {
		snprintf(err, errlen, "cannot reserve %llu MiB of address space for the enclave: %s",
			 (unsigned long long)(2 * size >> 20), strerror(errno));
		return -errno;
	}
	start = (uintptr_t)area;
	base = (start + size - 1) & ~(uintptr_t)(size - 1);
	if (base > start)
		munmap(area, base - start);
	if (base + size < start + 2 * size)
		munmap((void *)(base + size), start + 2 * size - (base + size));
	e->base = base;
	return 0;
}

static int ecreate(struct scone_enclave *e, char *err, size_t errlen)
{
	static _Alignas(4096) uint8_t secs[4096];
	struct scone_sgx_enclave_create arg = { .src = (uint64_t)(uintptr_t)secs };
	const struct scone_secs_params *p = &e->secs;

	/* sgx-spec.md §3: only these fields; the rest (reserved, CONFIGID) zero */
	memset(secs, 0, sizeof(secs));
	memcpy(secs + 0, &p->size, 8);
	memcpy(secs + 8, &e->base, 8);
	memcpy(secs + 16, &p->ssa_frame_pages, 4);
	memcpy(secs + 20, &p->miscselect, 4);
	memcpy(secs + 48, &p->attributes, 8);
	memcpy(secs + 56, &p->xfrm, 8);
	if (ioctl(e->fd, SCONE_SGX_IOC_ENCLAVE_CREATE, &arg) == 0)
		return 0;
	snprintf(err, errlen,
		 "SGX_IOC_ENCLAVE_CREATE failed: %s (SIZE 0x%llx, SSAFRAMESIZE %u, ATTRIBUTES 0x%llx, XFRM 0x%llx, "
		 "MISCSELECT 0x%x)%s", strerror(errno), (unsigned long long)p->size, p->ssa_frame_pages,
		 (unsigned long long)p->attributes, (unsigned long long)p->xfrm, p->miscselect,
		 errno == EIO ? ": ECREATE refused the SECS; the enclave may be larger than this CPU allows" : "");
	return -errno;
}

static int hw_create(struct scone_enclave **out, const struct scone_secs_params *p,
		     uint64_t *base, char *err, size_t errlen)
{
	struct scone_enclave *e;
	uint32_t need;
	int rc;

	*out = NULL;
	if (!is_pow2(p->size) || p->size < 2 * PAGE) {
		snprintf(err, errlen, "enclave SIZE 0x%llx is not a power of two of at least 8192 bytes: re-sign the binary",
			 (unsigned long long)p->size);
		return -EINVAL;
	}
	if (p->attributes & SGX_ATTR_INIT) {
		snprintf(err, errlen, "SECS ATTRIBUTES 0x%llx has INIT set, which ECREATE refuses",
			 (unsigned long long)p->attributes);
		return -EINVAL;
	}
	uint32_t misc;

	/* EXINFO where the CPU has it: the enclave then sees its page faults. */
	if (scone_miscselect_choose(p->miscselect, p->miscmask, scone_miscselect_supported(), &misc, err, errlen))
		return -EINVAL;
	need = scone_xsave_size(p->xfrm) + GPRSGX_SIZE + ((misc & 1) ? EXINFO_SIZE : 0);
	if ((uint64_t)p->ssa_frame_pages * PAGE < need) {
		snprintf(err, errlen,
			 "SSA frames of %u page(s) cannot hold the %u bytes this CPU saves for XFRM 0x%llx: "
			 "re-sign with more SSA frame pages", p->ssa_frame_pages, need, (unsigned long long)p->xfrm);
		return -EINVAL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory for the enclave descriptor");
		return -ENOMEM;
	}
	e->secs = *p;
	e->secs.miscselect = misc;
	e->vdso_enter = (scone_vdso_sgx_enter_fn *)scone_vdso_sym(SCONE_HW_VDSO_ENTER, SCONE_HW_VDSO_VERSION);
	if (!e->vdso_enter) {
		e->fd = -1;
		hw_destroy(e);
		return scone_hw_probe(scone_hw_device_paths, err, errlen) ? -ENOSYS : -ENODEV;
	}
	e->fd = scone_hw_open_device(scone_hw_device_paths, err, errlen);
	if (e->fd < 0) {
		rc = e->fd;
		e->fd = -1;
		hw_destroy(e);
		return rc;
	}
	if ((rc = reserve_range(e, err, errlen)) || (rc = ecreate(e, err, errlen))) {
		hw_destroy(e);
		return rc;
	}
	mr_ecreate(&e->mr, p->ssa_frame_pages, p->size);
	*base = e->base;
	*out = e;
	return 0;
}

static int remember_run(struct scone_enclave *e, uint64_t offset, uint64_t bytes, uint64_t secinfo)
{
	int prot = 0;

	if (e->nruns == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 16;
		struct scone_hw_run *r = realloc(e->runs, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		e->runs = r;
		e->cap = cap;
	}
	/* sgx-spec.md §7 mmap: REG pages map with their SECINFO permissions, TCS pages RW */
	if (((secinfo >> 8) & 0xff) == MR_PT_TCS)
		prot = PROT_READ | PROT_WRITE;
	else
		prot = (secinfo & MR_SECINFO_R ? PROT_READ : 0) | (secinfo & MR_SECINFO_W ? PROT_WRITE : 0) |
		       (secinfo & MR_SECINFO_X ? PROT_EXEC : 0);
	e->runs[e->nruns++] = (struct scone_hw_run){ offset, bytes, prot };
	return 0;
}

/*
 * One ADD_PAGES range, resumed after partial progress and signals; *done
 * counts the bytes the driver took, so a caller can go on from there.
 */
static int add_pages(struct scone_enclave *e, uint64_t offset, const void *src, uint64_t bytes,
		     const uint8_t *secinfo, uint64_t flags, uint64_t *done)
{
	*done = 0;
	while (*done < bytes) {
		struct scone_sgx_enclave_add_pages ap = {
			.src = (uint64_t)(uintptr_t)src + *done,
			.offset = offset + *done,
			.length = bytes - *done,
			.secinfo = (uint64_t)(uintptr_t)secinfo,
			.flags = flags,
			.count = 0,
		};
		int rc = ioctl(e->fd, SCONE_SGX_IOC_ENCLAVE_ADD_PAGES, &ap);

		*done += ap.count;
		/* EINTR covers an interrupted call; the kernel's -ERESTARTSYS
		 * becomes EINTR or a transparent restart in user space. */
		if (rc < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}

/*
 * The driver wants a page-aligned source in a VMA that may be executable
 * (sgx-spec.md §7: noexec gives -EACCES); anything else goes through an
 * anonymous bounce buffer.
 */
static int add_run(struct scone_enclave *e, uint64_t offset, const uint8_t *src, uint64_t bytes,
		   const uint8_t *secinfo, uint64_t flags)
{
	uint64_t done = 0, n;
	uint8_t *bounce;
	int rc = -EACCES;

	if ((uintptr_t)src % PAGE == 0) {
		rc = add_pages(e, offset, src, bytes, secinfo, flags, &done);
		if (rc != -EACCES)
			return rc;
	}
	bounce = mmap(NULL, BOUNCE_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bounce == MAP_FAILED)
		return -errno;
	for (rc = 0; done < bytes && !rc;) {
		uint64_t took;

		n = bytes - done < BOUNCE_PAGES * PAGE ? bytes - done : BOUNCE_PAGES * PAGE;
		memcpy(bounce, src + done, n);
		rc = add_pages(e, offset + done, bounce, n, secinfo, flags, &took);
		done += took;
	}
	munmap(bounce, BOUNCE_PAGES * PAGE);
	return rc;
}

static void measure_pages(struct scone_enclave *e, uint64_t offset, const uint8_t *src,
			  uint32_t count, uint64_t secinfo, int measure)
{
	static uint8_t tcs[MR_PAGE_SIZE];

	for (uint32_t i = 0; i < count; i++) {
		uint64_t off = offset + (uint64_t)i * PAGE;
		const uint8_t *page = src + (uint64_t)i * PAGE;

		mr_eadd(&e->mr, off, secinfo);
		if (!measure)
			continue;
		if (((secinfo >> 8) & 0xff) == MR_PT_TCS) {
			mr_tcs_as_stored(tcs, page);
			page = tcs;
		}
		mr_eextend_page(&e->mr, off, page);
	}
}

static int hw_add(struct scone_enclave *e, uint64_t offset, const void *src, uint32_t count,
		  uint64_t secinfo_flags, int measure, char *err, size_t errlen)
{
	static _Alignas(64) uint8_t secinfo[64];
	uint64_t bytes = (uint64_t)count * PAGE, flags = measure ? SCONE_SGX_PAGE_MEASURE : 0;
	unsigned type = (secinfo_flags >> 8) & 0xff;
	int rc;

	if (e->initialized || !count || offset % PAGE || offset >= e->secs.size || bytes > e->secs.size - offset) {
		snprintf(err, errlen, "cannot add %u page(s) at enclave offset 0x%llx: outside the enclave of 0x%llx bytes%s",
			 count, (unsigned long long)offset, (unsigned long long)e->secs.size,
			 e->initialized ? " or after EINIT" : "");
		return -EINVAL;
	}
	if ((type != MR_PT_REG && type != MR_PT_TCS) || secinfo_flags >> 16 || (secinfo_flags & 0xf8) ||
	    (type == MR_PT_TCS && (secinfo_flags & 7)) ||
	    (type == MR_PT_REG && (secinfo_flags & MR_SECINFO_W) && !(secinfo_flags & MR_SECINFO_R))) {
		snprintf(err, errlen,
			 "SECINFO flags 0x%llx at enclave offset 0x%llx are not a valid EADD SECINFO "
			 "(PT_REG with W only alongside R, or PT_TCS exactly 0x100; no reserved bits): the layout is corrupted",
			 (unsigned long long)secinfo_flags, (unsigned long long)offset);
		return -EINVAL;
	}
	memset(secinfo, 0, sizeof(secinfo));
	memcpy(secinfo, &secinfo_flags, 8);

	rc = add_run(e, offset, src, bytes, secinfo, flags);
	if (rc) {
		snprintf(err, errlen, "SGX_IOC_ENCLAVE_ADD_PAGES failed at enclave offset 0x%llx (%u page(s), SECINFO 0x%llx): %s%s",
			 (unsigned long long)offset, count, (unsigned long long)secinfo_flags, strerror(-rc),
			 rc == -EBUSY ? ": a page was added twice, the layout is corrupted" :
			 rc == -ENOMEM ? ": the EPC and its swap are exhausted" : "");
		return rc;
	}
	measure_pages(e, offset, src, count, secinfo_flags, measure);
	if (remember_run(e, offset, bytes, secinfo_flags)) {
		snprintf(err, errlen, "out of memory recording enclave runs");
		return -ENOMEM;
	}
	return 0;
}

static int map_runs(struct scone_enclave *e, char *err, size_t errlen)
{
	for (size_t i = 0; i < e->nruns; i++) {
		const struct scone_hw_run *r = &e->runs[i];
		void *at = (void *)(uintptr_t)(e->base + r->offset);

		if (mmap(at, r->bytes, r->prot, MAP_SHARED | MAP_FIXED, e->fd, 0) == MAP_FAILED) {
			snprintf(err, errlen, "cannot map enclave pages at offset 0x%llx with protection %d: %s%s",
				 (unsigned long long)r->offset, r->prot, strerror(errno),
				 errno == EPERM || errno == EACCES ? " (is /dev mounted noexec?)" : "");
			return -errno;
		}
	}
	return 0;
}

static int hw_init(struct scone_enclave *e, const uint8_t sigstruct[1808], char *err, size_t errlen)
{
	static _Alignas(4096) uint8_t sig[4096];
	struct scone_sgx_enclave_init arg = { .sigstruct = (uint64_t)(uintptr_t)sig };
	char why[512];
	int code;

	mr_einit_final(&e->mr, e->mrenclave);
	code = sim_einit_check(sigstruct, e->mrenclave, e->secs.attributes, e->secs.xfrm,
			       e->secs.miscselect, NULL, why, sizeof(why));
	if (code) {
		snprintf(err, errlen, "EINIT would fail with %s: %s", sgx_einit_code_name(code), why);
		return -EPERM;
	}
	memcpy(sig, sigstruct, 1808);
	if (ioctl(e->fd, SCONE_SGX_IOC_ENCLAVE_INIT, &arg)) {
		int rc = -errno;

		snprintf(err, errlen, "SGX_IOC_ENCLAVE_INIT failed: %s%s", strerror(-rc),
			 rc == -EACCES ? ": the kernel does not allow these attributes (PROVISIONKEY needs "
					 "SGX_IOC_ENCLAVE_PROVISION, EINITTOKENKEY is privileged)" :
			 rc == -EPERM ? ": EINIT refused the SIGSTRUCT on this CPU" :
			 rc == -EINVAL ? ": the kernel rejected the SIGSTRUCT (vendor or reserved attribute bits)" : "");
		return rc;
	}
	if ((code = map_runs(e, err, errlen)))
		return code;
	e->initialized = 1;
	return 0;
}

static int hw_enter(struct scone_enclave *e, uint64_t tcs, uint64_t op, uint64_t arg,
		    uint64_t *reason, uint64_t *value)
{
	char err[512];
	int rc;

	if (!e->initialized)
		return -EINVAL;
	int signo;

	rc = scone_hw_eenter(e->vdso_enter, e->base + tcs, op, arg, reason, value, &signo, err, sizeof(err));
	/* A fault the enclave did not handle ends the process by its signal, as
	 * natively and as in SIM (faults.c); anything else is said here, since
	 * enter() has no message channel in backend.h. */
	if (rc && signo) {
		signal(signo, SIG_DFL);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, signo);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(signo);
	}
	if (rc)
		fprintf(stderr, "scone: %s\n", err);
	return rc;
}

static int hw_mrenclave(struct scone_enclave *e, uint8_t out[32])
{
	if (!e->initialized)
		return -EINVAL;
	memcpy(out, e->mrenclave, 32);
	return 0;
}

const struct scone_backend scone_backend_hw = {
	.name = "HW",
	.available = hw_available,
	.create = hw_create,
	.add = hw_add,
	.init = hw_init,
	.enter = hw_enter,
	.mrenclave = hw_mrenclave,
	.destroy = hw_destroy,
};
