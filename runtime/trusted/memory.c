/*
 * brk, mmap/munmap/mremap/mprotect/madvise, served inside the enclave from
 * the preallocated heap (DESIGN.md §5 "internal"). A file mapping is an
 * enclave copy of the file range that filemap.c fills and keeps coherent.
 * One lock serialises the heap; it is never held across a system call.
 */
#include "heap.h"
#include "client.h"
#include "filemap.h"
#include "spin.h"

#define E(x) (-(long)(x))
#define EBADF 9
#define ENOMEM 12
#define EACCES 13
#define EINVAL 22
#define PROT_EXEC 4
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_FIXED_NOREPLACE 0x100000
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#define MADV_DONTNEED 4

static struct scone_heap heap;
static int heap_lock;
static int warned_oom;

/* Bytes of the signed heap a run needs: pages in use at the peak, plus the
 * page bitmap at the heap's bottom. */
static uint64_t peak_bytes(void)
{
	return (uint64_t)heap.peak * HEAP_PAGE + (heap.start - (uintptr_t)heap.map);
}

static void lock(void)
{
	scone_spin_lock(&heap_lock);
}

static void unlock(void)
{
	uint64_t peak = peak_bytes();
	scone_spin_unlock(&heap_lock);
	if (peak > __scone_hwm_heap_peak())
		__scone_hwm_heap(peak);
}

static size_t pages_of(unsigned long len)
{
	return (len + HEAP_PAGE - 1) / HEAP_PAGE;
}

/* "64M", "1G": a power of two of at least 1 MiB, as --heap takes it. */
static void size_word(char *out, uint64_t v)
{
	char u = 'M';
	v >>= 20;
	if (v >= 1024)
		v >>= 10, u = 'G';
	char d[24];
	int n = 0;
	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*out++ = d[--n];
	*out++ = u;
	*out = 0;
}

/* Once per run: what was in use, what was asked, and a heap that would have
 * held both with a quarter to spare, as a power of two from 1 MiB up. */
static void out_of_heap(unsigned long len)
{
	uint64_t in_use = heap.used * HEAP_PAGE + (heap.start - (uintptr_t)heap.map);
	__scone_hwm_refused(len);
	if (__atomic_exchange_n(&warned_oom, 1, __ATOMIC_RELAXED))
		return;
	uint64_t want = (in_use + len) + (in_use + len) / 4, s = 1ull << 20;
	while (s < want && s < (1ull << 46))
		s <<= 1;
	char used_s[40], peak_s[40], len_s[40], heap_s[40], sug[32];
	__scone_hwm_mib(used_s, in_use);
	__scone_hwm_mib(peak_s, peak_bytes());
	__scone_hwm_mib(len_s, len);
	__scone_hwm_mib(heap_s, __scone_rt.cfg->heap_size);
	size_word(sug, s);
	__scone_log(SCONE_LOG_WARN,
		    "heap exhausted: %s of the %s heap in use (peak %s), a request of %s refused;"
		    " sign with --heap %s or more (scone-sign sign --heap %s %s)",
		    used_s, heap_s, peak_s, len_s, sug, sug, __scone_hwm_prog());
}

void __scone_memory_init(uintptr_t start, size_t size)
{
	if (__scone_heap_init(&heap, start, size))
		__scone_abort("scone: the enclave heap is too small to start; sign with a larger --heap");
}

long __scone_sys_brk(unsigned long addr)
{
	lock();
	uintptr_t r = __scone_heap_brk(&heap, addr);
	unlock();
	return (long)r;
}

long __scone_sys_mmap(unsigned long addr, unsigned long len, long prot, long flags,
		      long fd, long off)
{
	if (!len || (off & (HEAP_PAGE - 1)))
		return E(EINVAL);
	if (len > heap.pages * HEAP_PAGE) {
		out_of_heap(len);
		return E(ENOMEM);
	}
	if (prot & PROT_EXEC)
		return E(EACCES);   /* SGX1: the heap's EPCM permissions are RW */
	int anon = flags & MAP_ANONYMOUS;
	if (!anon && fd < 0)
		return E(EBADF);
	size_t n = pages_of(len);
	uintptr_t p;
	if (flags & MAP_FIXED)
		__scone_fmap_unmap(addr, n * HEAP_PAGE);   /* what it replaces is unmapped first */
	lock();
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		p = __scone_heap_claim(&heap, addr, n) ? 0 : addr;
		unlock();
		if (!p)
			return E(flags & MAP_FIXED ? EINVAL : ENOMEM);
	} else {
		p = __scone_heap_alloc(&heap, n);
		unlock();
		if (!p) {
			out_of_heap(len);
			return E(ENOMEM);
		}
	}
	if (!anon) {
		long r = __scone_fmap_add(p, len, prot, flags, fd, off);
		if (r < 0) {
			lock();
			__scone_heap_free(&heap, p, n);
			unlock();
			return r;
		}
	}
	return (long)p;
}

long __scone_sys_munmap(unsigned long addr, unsigned long len)
{
	if (!len || (addr & (HEAP_PAGE - 1)))
		return E(EINVAL);
	__scone_fmap_unmap(addr, pages_of(len) * HEAP_PAGE);
	lock();
	int r = __scone_heap_free(&heap, addr, pages_of(len));
	unlock();
	return r ? E(EINVAL) : 0;
}

long __scone_sys_mremap(unsigned long old, unsigned long oldlen, unsigned long newlen,
			long flags, unsigned long new_addr)
{
	(void)new_addr;
	if ((old & (HEAP_PAGE - 1)) || !newlen || (flags & MREMAP_FIXED) || (flags & ~3l))
		return E(EINVAL);
	size_t o = pages_of(oldlen), n = pages_of(newlen);
	int file = __scone_fmap_lookup(old, o * HEAP_PAGE);
	if (file < 0) {
		__scone_log(SCONE_LOG_WARN, "mremap of part of a file mapping is not supported in the enclave; unmap and map the range again");
		return E(EINVAL);
	}
	if (file && n < o)
		__scone_fmap_unmap(old + n * HEAP_PAGE, (o - n) * HEAP_PAGE);
	long r;
	lock();
	if (!__scone_heap_contains(&heap, old, o * HEAP_PAGE)) {
		r = E(EINVAL);
	} else if (n <= o) {
		__scone_heap_free(&heap, old + n * HEAP_PAGE, o - n);
		r = (long)old;
	} else if (!__scone_heap_grow(&heap, old, o, n - o)) {
		r = (long)old;
	} else if (!(flags & MREMAP_MAYMOVE)) {
		r = E(ENOMEM);
	} else {
		uintptr_t p = __scone_heap_alloc(&heap, n);
		if (p) {
			__scone_memcpy((void *)p, (void *)old, o * HEAP_PAGE);
			__scone_heap_free(&heap, old, o);
			r = (long)p;
		} else {
			r = E(ENOMEM);
		}
	}
	unlock();
	if (r == E(ENOMEM) && (flags & MREMAP_MAYMOVE))
		out_of_heap(newlen);
	if (file && n > o && r >= 0)
		__scone_fmap_moved(old, o * HEAP_PAGE, (uintptr_t)r, n * HEAP_PAGE);
	return r;
}

long __scone_sys_mprotect(unsigned long addr, unsigned long len, long prot)
{
	if (addr & (HEAP_PAGE - 1))
		return E(EINVAL);
	if (!__scone_heap_contains(&heap, addr, pages_of(len) * HEAP_PAGE))
		return E(ENOMEM);
	/* EPCM permissions are fixed at EADD (SGX1): RW stays RW; asking for
	 * less is accepted, asking for exec cannot be granted. */
	return (prot & PROT_EXEC) ? E(EACCES) : 0;
}

long __scone_sys_madvise(unsigned long addr, unsigned long len, long advice)
{
	if (addr & (HEAP_PAGE - 1))
		return E(EINVAL);
	if (!__scone_heap_contains(&heap, addr, pages_of(len) * HEAP_PAGE))
		return E(ENOMEM);
	/* DONTNEED promises zero pages on the next touch; the rest are hints. */
	if (advice == MADV_DONTNEED)
		__scone_memset((void *)addr, 0, pages_of(len) * HEAP_PAGE);
	return 0;
}

/* Linux's struct sysinfo on x86-64 (112 bytes). */
struct k_sysinfo {
	long uptime;
	unsigned long loads[3];
	unsigned long totalram, freeram, sharedram, bufferram, totalswap, freeswap;
	unsigned short procs, pad;
	unsigned long totalhigh, freehigh;
	unsigned mem_unit;
	char f[4];
};
_Static_assert(sizeof(struct k_sysinfo) == 112, "struct sysinfo");

/*
 * The machine's memory, as the enclave sees it: the signed heap is all of
 * it, and what the allocator has not handed out is free, as container
 * runtimes report a cgroup's limit. Programs that size themselves from the
 * host's RAM (xz, sort, databases' caches) would otherwise ask for more than
 * the enclave can ever map. musl's sysconf(_SC_PHYS_PAGES) and
 * _SC_AVPHYS_PAGES come from here too. No swap; the load averages are not
 * the enclave's business (0); uptime from the enclave's monotonic clock.
 */
long __scone_sys_sysinfo(void *out)
{
	struct k_sysinfo si;
	__scone_memset(&si, 0, sizeof si);
	uint64_t total = __scone_rt.cfg->heap_size;
	lock();
	uint64_t used = heap.used * HEAP_PAGE + (heap.start - (uintptr_t)heap.map);
	unlock();
	si.uptime = (long)(__scone_clock_now(1 /* CLOCK_MONOTONIC */) / 1000000000u);
	si.totalram = total;
	si.freeram = used < total ? total - used : 0;
	si.procs = 1;
	si.mem_unit = 1;
	__scone_memcpy(out, &si, sizeof si);
	return 0;
}
