/*
 * Page allocator of the enclave heap (heap.h). Heap pages are EADDed but not
 * EEXTENDed, so their initial content is whatever the host supplied: every
 * page is zeroed here when it is handed out, never earlier (an untouched
 * heap must not become resident).
 */
#include "heap.h"
#include "internal.h"

static int bit(const struct scone_heap *h, size_t i)
{
	return (h->map[i / 64] >> (i % 64)) & 1;
}

static void set_range(struct scone_heap *h, size_t i, size_t n, int v)
{
	for (size_t k = i; k < i + n; k++) {
		uint64_t m = 1ull << (k % 64);
		if (v && !(h->map[k / 64] & m))
			h->used++, h->map[k / 64] |= m;
		else if (!v && (h->map[k / 64] & m))
			h->used--, h->map[k / 64] &= ~m;
	}
	if (h->used > h->peak)
		h->peak = h->used;
}

static int range_free(const struct scone_heap *h, size_t i, size_t n)
{
	if (i > h->pages || n > h->pages - i)
		return 0;
	for (size_t k = i; k < i + n; k++)
		if (bit(h, k))
			return 0;
	return 1;
}

int __scone_heap_init(struct scone_heap *h, uintptr_t region, size_t size)
{
	size_t total = size / HEAP_PAGE;
	size_t map_bytes = (total + 63) / 64 * 8;
	size_t map_pages = (map_bytes + HEAP_PAGE - 1) / HEAP_PAGE;
	if (total <= map_pages)
		return -1;
	h->map = (uint64_t *)region;
	__scone_memset(h->map, 0, map_pages * HEAP_PAGE);
	h->start = region + map_pages * HEAP_PAGE;
	h->pages = total - map_pages;
	h->brk_cur = h->start;
	h->used = 0;
	h->peak = 0;
	return 0;
}

int __scone_heap_contains(const struct scone_heap *h, uintptr_t addr, size_t len)
{
	uintptr_t end = h->start + h->pages * HEAP_PAGE;
	return addr >= h->start && addr <= end && len <= end - addr;
}

uintptr_t __scone_heap_alloc(struct scone_heap *h, size_t n)
{
	if (!n || n > h->pages)
		return 0;
	/* Top down, a whole free word at a time where possible. */
	size_t run = 0;
	for (size_t i = h->pages; i-- > 0;) {
		if (i % 64 == 63 && run == 0 && h->map[i / 64] == ~0ull) {
			i -= 63;
			continue;
		}
		if (bit(h, i)) {
			run = 0;
			continue;
		}
		if (++run == n) {
			set_range(h, i, n, 1);
			uintptr_t p = h->start + i * HEAP_PAGE;
			__scone_memset((void *)p, 0, n * HEAP_PAGE);
			return p;
		}
	}
	return 0;
}

int __scone_heap_claim(struct scone_heap *h, uintptr_t addr, size_t n)
{
	if (addr % HEAP_PAGE || !__scone_heap_contains(h, addr, n * HEAP_PAGE))
		return -1;
	set_range(h, (addr - h->start) / HEAP_PAGE, n, 1);
	__scone_memset((void *)addr, 0, n * HEAP_PAGE);
	return 0;
}

int __scone_heap_free(struct scone_heap *h, uintptr_t addr, size_t n)
{
	if (addr % HEAP_PAGE || !__scone_heap_contains(h, addr, n * HEAP_PAGE))
		return -1;
	set_range(h, (addr - h->start) / HEAP_PAGE, n, 0);
	return 0;
}

int __scone_heap_grow(struct scone_heap *h, uintptr_t addr, size_t old, size_t n)
{
	if (addr % HEAP_PAGE || !__scone_heap_contains(h, addr, old * HEAP_PAGE))
		return -1;
	size_t i = (addr - h->start) / HEAP_PAGE + old;
	if (!range_free(h, i, n))
		return -1;
	set_range(h, i, n, 1);
	__scone_memset((void *)(h->start + i * HEAP_PAGE), 0, n * HEAP_PAGE);
	return 0;
}

uintptr_t __scone_heap_brk(struct scone_heap *h, uintptr_t want)
{
	if (want < h->start || !__scone_heap_contains(h, h->start, want - h->start))
		return h->brk_cur;
	size_t cur = (h->brk_cur - h->start + HEAP_PAGE - 1) / HEAP_PAGE;
	size_t next = (want - h->start + HEAP_PAGE - 1) / HEAP_PAGE;
	if (next > cur) {
		if (!range_free(h, cur, next - cur))
			return h->brk_cur;
		set_range(h, cur, next - cur, 1);
		__scone_memset((void *)(h->start + cur * HEAP_PAGE), 0, (next - cur) * HEAP_PAGE);
	} else if (next < cur) {
		set_range(h, next, cur - next, 0);
	}
	h->brk_cur = want;
	return want;
}
