/*
 * brk, mmap/munmap/mremap/mprotect/madvise, served inside the enclave from
 * the preallocated heap (DESIGN.md §5 "internal"). A file mapping is an
 * enclave copy of the file range that filemap.c fills and keeps coherent.
 * One lock serialises the heap; it is never held across a system call.
 */
#include "heap.h"
#include "../sched/scone_sched.h"
#include "client.h"
#include "filemap.h"
#include "spin.h"

#define E(x) (-(long)(x))
#define EBADF 9
#define ENOMEM 12
#define EACCES 13
#define EINVAL 22
#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define PROT_SEM 8
#define PROT_GROWSDOWN 0x01000000l
#define PROT_GROWSUP 0x02000000l
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_FIXED_NOREPLACE 0x100000
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#define MADV_DONTNEED 4

static struct scone_heap heap;
static int heap_lock;
static int warned_oom;

/*
 * The program's protections (mprotect), the enclave's own record: one byte
 * per heap page, PROG | the protection for a page the program mapped
 * (mmap, brk, mremap), 0 for a free page or one of the runtime's own.
 * restricted counts the program's pages that are not RW; while it is 0 no
 * check below costs more than one load. Every change that reaches the host
 * happens under prot_busy, a token whose holder may wait for the host (the
 * heap's spin lock never is), so the host is asked in the record's order.
 */
#define PROG 0x80
#define RW (PROT_READ | PROT_WRITE)
static uint8_t *prot_map;
static long restricted;
static int prot_busy;
static int warned_host;

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
	prot_map = (uint8_t *)__scone_heap_alloc(&heap, pages_of(heap.pages));
	if (!prot_map)
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

/* ---- the program's mappings and their protections ---- */

static uint8_t *rec(uintptr_t a)
{
	return &prot_map[(a - heap.start) / HEAP_PAGE];
}

static void busy_enter(void)
{
	while (__atomic_exchange_n(&prot_busy, 1, __ATOMIC_ACQUIRE)) {
		if (__scone_on_lthread())
			__scone_sched_yield();
		else
			__asm__ __volatile__("pause");
	}
}

static void busy_leave(void)
{
	__atomic_store_n(&prot_busy, 0, __ATOMIC_RELEASE);
}

/*
 * The host's mprotect of enclave pages: on hardware the page tables, which
 * the Linux SGX driver lets the host restrict up to the EPCM permissions
 * fixed at EADD (sgx_vma_mprotect -> sgx_encl_may_map, EACCES beyond them);
 * in SIM the same call on this process's memory. Only heap pages the
 * program mapped are ever named here, never the runtime's own. The host's
 * answer changes nothing inside: it controls the page tables whatever it
 * says (a hostile host can make any enclave page fault at any time, or
 * ignore a restriction), so the program's result comes from the record.
 */
static const struct scone_sys_desc host_mprotect = {
	SCONE_SYS_CLASS_EXTERNAL, 3, SCONE_RET_ZERO, SCONE_SYS_NOARG,
	{ { SCONE_ARG_INT, 255, 0 }, { SCONE_ARG_INT, 255, 0 }, { SCONE_ARG_INT, 255, 0 } },
};

static void host_prot(uintptr_t a, size_t n, int prot)
{
	long args[6] = { (long)a, (long)(n * HEAP_PAGE), prot, 0, 0, 0 };
	long r = __scone_external_desc(10, &host_mprotect, args);
	if (r && !__atomic_exchange_n(&warned_host, 1, __ATOMIC_RELAXED))
		__scone_log(SCONE_LOG_WARN, "the host refused mprotect(%p, %lu, %d) of enclave pages: error %ld;"
			    " the program's protections may not be enforced", (void *)a,
			    (unsigned long)(n * HEAP_PAGE), prot, -r);
}

static int closed(uint8_t r)
{
	return (r & PROG) && (r & 7) != RW;
}

/* Set [a, a + n pages) (the program's) to PROG | prot in the record,
 * asking the host for each run whose protection changes. Under busy. */
static void set_prot(uintptr_t a, size_t n, int prot)
{
	size_t i = 0;
	while (i < n) {
		if (*rec(a + i * HEAP_PAGE) == (PROG | prot)) {
			i++;
			continue;
		}
		size_t j = i;
		long delta = 0;
		for (; j < n && *rec(a + j * HEAP_PAGE) != (PROG | prot); j++) {
			uint8_t *q = rec(a + j * HEAP_PAGE);
			delta += (prot != RW) - closed(*q);
			*q = (uint8_t)(PROG | prot);
		}
		__atomic_fetch_add(&restricted, delta, __ATOMIC_RELAXED);
		host_prot(a + i * HEAP_PAGE, j - i, prot);
		i = j;
	}
}

/* The pages of [a, a + n pages) the program closed are made RW again
 * before they leave it (munmap, MAP_FIXED over them, mremap, brk, exit of
 * a thread), so that the runtime, which zeroes pages when it hands them
 * out, never meets one the program closed. Under busy. */
static void open_up(uintptr_t a, size_t n)
{
	if (!__atomic_load_n(&restricted, __ATOMIC_RELAXED) || !__scone_heap_contains(&heap, a, n * HEAP_PAGE))
		return;
	for (size_t i = 0; i < n; i++) {
		if (!closed(*rec(a + i * HEAP_PAGE)))
			continue;
		size_t j = i;
		while (j < n && closed(*rec(a + j * HEAP_PAGE)))
			j++;
		set_prot(a + i * HEAP_PAGE, j - i, RW);
		i = j;
	}
}

static void mark(uintptr_t a, size_t n, uint8_t v)
{
	if (!__scone_heap_contains(&heap, a, n * HEAP_PAGE))
		return;
	for (size_t i = 0; i < n; i++)
		*rec(a + i * HEAP_PAGE) = v;
}

/*
 * May the runtime read (write = 0) or write [a, a + n) for the program? 0
 * if not: a page of the range is one the program made inaccessible (or
 * read-only, for a write). Linux answers EFAULT there; the marshaller does.
 */
int __scone_mem_usable(uintptr_t a, size_t n, int write)
{
	if (!__atomic_load_n(&restricted, __ATOMIC_RELAXED) || !n || !__scone_heap_contains(&heap, a & ~(HEAP_PAGE - 1), 1))
		return 1;
	uintptr_t end = a + n < a ? ~0ul : a + n;
	for (uintptr_t p = a & ~(HEAP_PAGE - 1); p < end && __scone_heap_contains(&heap, p, HEAP_PAGE); p += HEAP_PAGE) {
		uint8_t r = *rec(p);
		if ((r & PROG) && (!(r & PROT_READ) || (write && !(r & PROT_WRITE))))
			return 0;
	}
	return 1;
}

/* A page fault at a: 1 if a is in a page the program mapped (SEGV_ACCERR,
 * as Linux says for a mapping whose protection forbade the access), 0 if
 * not. Read lock-free: the exception entry takes no lock. */
int __scone_mem_mapped(uintptr_t a)
{
	return prot_map && __scone_heap_contains(&heap, a & ~(HEAP_PAGE - 1), HEAP_PAGE) &&
	       (__atomic_load_n(rec(a), __ATOMIC_RELAXED) & PROG);
}

long __scone_prog_mmap(const long a[6], long (*map)(const long a[6]))
{
	unsigned long len = (unsigned long)a[1];
	/* Not held across map(): a shield's mmap may call back in here. */
	if ((a[3] & MAP_FIXED) && !(a[0] & (HEAP_PAGE - 1))) {
		busy_enter();
		open_up((uintptr_t)a[0], pages_of(len));
		busy_leave();
	}
	long r = map(a);
	if (r >= 0) {
		busy_enter();
		mark((uintptr_t)r, pages_of(len), PROG | RW);
		busy_leave();
	}
	return r;
}

/* munmap(2) of what the program mapped. The runtime's own pages are not
 * the program's mappings: as for an address where nothing is mapped,
 * Linux does nothing there and says 0. */
long __scone_prog_munmap(unsigned long addr, unsigned long len)
{
	if (!len || (addr & (HEAP_PAGE - 1)))
		return E(EINVAL);
	size_t n = pages_of(len);
	if (!__scone_heap_contains(&heap, addr, n * HEAP_PAGE))
		return __scone_sys_munmap(addr, len);
	busy_enter();
	open_up(addr, n);
	long r = 0;
	for (size_t i = 0; i < n && !r; i++) {
		if (!(*rec(addr + i * HEAP_PAGE) & PROG))
			continue;
		size_t j = i;
		while (j < n && (*rec(addr + j * HEAP_PAGE) & PROG))
			j++;
		mark(addr + i * HEAP_PAGE, j - i, 0);
		r = __scone_sys_munmap(addr + i * HEAP_PAGE, (j - i) * HEAP_PAGE);
		i = j;
	}
	busy_leave();
	return r;
}

long __scone_prog_brk(unsigned long addr)
{
	busy_enter();
	uintptr_t old = heap.brk_cur;
	uintptr_t lo = (addr + HEAP_PAGE - 1) & ~(HEAP_PAGE - 1), hi = (old + HEAP_PAGE - 1) & ~(HEAP_PAGE - 1);
	if (addr >= heap.start && lo < hi)
		open_up(lo, (hi - lo) / HEAP_PAGE);
	long r = __scone_sys_brk(addr);
	uintptr_t top = ((uintptr_t)r + HEAP_PAGE - 1) & ~(HEAP_PAGE - 1);
	if (top > hi)
		mark(hi, (top - hi) / HEAP_PAGE, PROG | RW);
	else if (top < hi)
		mark(top, (hi - top) / HEAP_PAGE, 0);
	busy_leave();
	return r;
}

/* mremap(2): what moves or shrinks comes back RW (Linux would keep the
 * protection; a program that wants it closed again says so). */
long __scone_prog_mremap(unsigned long old, unsigned long oldlen, unsigned long newlen,
			 long flags, unsigned long new_addr)
{
	busy_enter();
	if (!(old & (HEAP_PAGE - 1)))
		open_up(old, pages_of(oldlen));
	long r = __scone_sys_mremap(old, oldlen, newlen, flags, new_addr);
	if (r >= 0) {
		mark(old, pages_of(oldlen), 0);
		mark((uintptr_t)r, pages_of(newlen), PROG | RW);
	}
	busy_leave();
	return r;
}

/* A thread's exit unmaps its own stack (SCONE_NR_unmapself). */
void __scone_prog_unmapself(unsigned long addr, unsigned long len)
{
	busy_enter();
	if (!(addr & (HEAP_PAGE - 1)))
		open_up(addr, pages_of(len)), mark(addr, pages_of(len), 0);
	busy_leave();
	__scone_sys_munmap(addr, len);
}

/*
 * mprotect(2) of the program's heap pages, with Linux's checks in Linux's
 * order (mm/mprotect.c do_mprotect_pkey) and its partial effect: the pages
 * up to the first hole are changed, then ENOMEM. The enclave's image and
 * the runtime's own pages are not the program's mappings: ENOMEM, as for
 * any address nothing is mapped at. PROT_EXEC is refused with EACCES, as
 * the SGX driver refuses it (sgx_encl_may_map): heap pages were added RW,
 * and on SGX1 EPCM permissions never grow after EADD. Pages of a file
 * mapping keep RW (the runtime writes them when the file changes): their
 * mprotect is answered, not enforced.
 */
long __scone_sys_mprotect(unsigned long addr, unsigned long len, long prot)
{
	long grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
	prot &= ~grows;
	if (grows == (PROT_GROWSDOWN | PROT_GROWSUP))
		return E(EINVAL);
	if (addr & (HEAP_PAGE - 1))
		return E(EINVAL);
	if (!len)
		return 0;
	len = (len + HEAP_PAGE - 1) & ~(HEAP_PAGE - 1);
	unsigned long end = addr + len;
	if (end <= addr)
		return E(ENOMEM);
	if (prot & ~(long)(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM))
		return E(EINVAL);
	busy_enter();
	/* Linux's find_vma: the first mapping that ends above addr (GROWSDOWN
	 * asks whether one starts below end). */
	uintptr_t first = addr;
	if (grows & PROT_GROWSDOWN)
		while (first < end && !__scone_mem_mapped(first) &&
		       (first < heap.start || __scone_heap_contains(&heap, first, HEAP_PAGE)))
			first = first < heap.start ? heap.start : first + HEAP_PAGE;
	long r;
	if (!__scone_mem_mapped(addr) && !((grows & PROT_GROWSDOWN) && first < end && __scone_mem_mapped(first)))
		r = E(ENOMEM);
	else if (grows)
		r = E(EINVAL);              /* no mapping in the enclave grows */
	else if (prot & PROT_EXEC)
		r = E(EACCES);
	else {
		size_t n = 0;
		while (addr + n * HEAP_PAGE < end && __scone_mem_mapped(addr + n * HEAP_PAGE))
			n++;
		int p = (int)(prot & RW);
		if (p == PROT_WRITE)
			p = RW;                     /* x86 has no write-only page */
		if (__scone_fmap_lookup(addr, n * HEAP_PAGE))
			p = RW;
		set_prot(addr, n, p);
		r = addr + n * HEAP_PAGE < end ? E(ENOMEM) : 0;
	}
	busy_leave();
	return r;
}

long __scone_sys_madvise(unsigned long addr, unsigned long len, long advice)
{
	if (addr & (HEAP_PAGE - 1))
		return E(EINVAL);
	if (!__scone_heap_contains(&heap, addr, pages_of(len) * HEAP_PAGE))
		return E(ENOMEM);
	/* DONTNEED promises zero pages on the next touch, whatever their
	 * protection; the rest are hints. */
	if (advice != MADV_DONTNEED)
		return 0;
	if (!__atomic_load_n(&restricted, __ATOMIC_RELAXED)) {
		__scone_memset((void *)addr, 0, pages_of(len) * HEAP_PAGE);
		return 0;
	}
	busy_enter();
	for (size_t i = 0; i < pages_of(len); i++) {
		uintptr_t p = addr + i * HEAP_PAGE;
		uint8_t r = *rec(p);
		if (closed(r))
			set_prot(p, 1, RW);
		__scone_memset((void *)p, 0, HEAP_PAGE);
		if (closed(r))
			set_prot(p, 1, r & 7);
	}
	busy_leave();
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
