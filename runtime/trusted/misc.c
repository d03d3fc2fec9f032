/*
 * msync, mincore and prctl in the enclave. Every mapping lives in enclave
 * memory: msync writes the writable shared file copies back (filemap.c),
 * and every page is resident (EPC paging is the kernel's, invisible here).
 */
#include "misc.h"
#include "filemap.h"

#define EINVAL 22
#define ENOMEM 12
#define PR_SET_NAME 15
#define PR_GET_NAME 16
#define PR_SET_DUMPABLE 4
#define PR_GET_DUMPABLE 3

long __scone_sys_msync(unsigned long addr, unsigned long len, long flags)
{
	if (addr % SCONE_PAGE_SIZE || (flags & ~7l) || ((flags & 1) && (flags & 4)))
		return -EINVAL;
	/* MS_ASYNC too: the host has no dirty pages of ours to write later. */
	return __scone_fmap_sync(addr, len);
}

long __scone_sys_mincore(unsigned long addr, unsigned long len, unsigned char *vec)
{
	const struct scone_enclave_config *c = __scone_rt.cfg;
	unsigned long heap = __scone_rt.base + c->heap_offset;
	if (addr % SCONE_PAGE_SIZE)
		return -EINVAL;
	if (addr < heap || len > c->heap_size || addr - heap > c->heap_size - len)
		return -ENOMEM;
	unsigned long pages = (len + SCONE_PAGE_SIZE - 1) / SCONE_PAGE_SIZE;
	__scone_memset(vec, 1, pages);
	return 0;
}

static char name[16] = "scone";
static long dumpable = 1;

long __scone_sys_prctl(long option, long a2, long a3, long a4, long a5)
{
	(void)a3, (void)a4, (void)a5;
	switch (option) {
	case PR_SET_NAME:
		/* One name for the enclave: lthreads have no host thread to name. */
		for (int i = 0; i < 15; i++)
			if (!(name[i] = ((const char *)a2)[i]))
				break;
		name[15] = 0;
		return 0;
	case PR_GET_NAME:
		__scone_memcpy((void *)a2, name, 16);
		return 0;
	case PR_SET_DUMPABLE:
		if (a2 != 0 && a2 != 1)
			return -EINVAL;
		dumpable = a2;
		return 0;
	case PR_GET_DUMPABLE:
		return dumpable;
	default:
		return -EINVAL;
	}
}
