/*
 * The enclave heap: a page allocator over the heap region of the config page
 * (enclave_abi.h memory map). One bit per page; brk grows up from the
 * bottom, mappings are placed from the top down. Pure over its arguments
 * (no system calls), so a host program can test it.
 */
#ifndef SCONE_TRUSTED_HEAP_H
#define SCONE_TRUSTED_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define HEAP_PAGE 4096ul

struct scone_heap {
	uintptr_t start;           /* first allocatable page */
	size_t pages;              /* allocatable pages */
	uint64_t *map;             /* bit i: page i in use */
	uintptr_t brk_cur;         /* current break; brk base is start */
	size_t used;               /* pages in use */
	size_t peak;               /* most pages in use at once */
};

/*
 * Take [region, region + size) (page-aligned). The bitmap lives in the first
 * pages of the region and is zeroed; nothing else is touched, so heap pages
 * that are never handed out stay untouched. Returns 0, or -1 if the region
 * is too small to hold its own bitmap and one page.
 */
int __scone_heap_init(struct scone_heap *h, uintptr_t region, size_t size)
	__attribute__((visibility("hidden")));
/* n pages, highest free run first; zeroed. 0 when no run is free. */
uintptr_t __scone_heap_alloc(struct scone_heap *h, size_t n)
	__attribute__((visibility("hidden")));
/* Mark [addr, addr + n pages) in use and zero it (MAP_FIXED); -1 if outside. */
int __scone_heap_claim(struct scone_heap *h, uintptr_t addr, size_t n)
	__attribute__((visibility("hidden")));
/* Release [addr, addr + n pages); -1 if outside the heap. */
int __scone_heap_free(struct scone_heap *h, uintptr_t addr, size_t n)
	__attribute__((visibility("hidden")));
/* Grow in place by n pages after [addr, addr + old pages): 0, or -1 if taken. */
int __scone_heap_grow(struct scone_heap *h, uintptr_t addr, size_t old, size_t n)
	__attribute__((visibility("hidden")));
/* Linux brk(2): the new break, or the old one when it cannot move. */
uintptr_t __scone_heap_brk(struct scone_heap *h, uintptr_t want)
	__attribute__((visibility("hidden")));
/* 1 if [addr, addr + len) lies inside the allocatable heap. */
int __scone_heap_contains(const struct scone_heap *h, uintptr_t addr, size_t len)
	__attribute__((visibility("hidden")));

#endif
