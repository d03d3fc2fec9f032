/* The enclave heap allocator on the host: expected addresses worked out by
 * hand from the rules in heap.h (bitmap first, brk up, mappings top down). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"

#define P 4096ul
#define CHECK(c) do { if (!(c)) { printf("FAIL line %d: %s\n", __LINE__, #c); return 1; } } while (0)

static int all(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

int main(void)
{
	/* 64 pages of "host" garbage: heap pages are not measured. */
	unsigned char *region = aligned_alloc(P, 64 * P);
	memset(region, 0xee, 64 * P);
	struct scone_heap h;
	CHECK(__scone_heap_init(&h, (uintptr_t)region, 64 * P) == 0);
	uintptr_t start = (uintptr_t)region + P;      /* one bitmap page */
	CHECK(h.start == start && h.pages == 63);
	CHECK(all(region, P, 0));                      /* bitmap zeroed */
	CHECK(all(region + P, 63 * P, 0xee));          /* nothing else touched */

	uintptr_t a = __scone_heap_alloc(&h, 1);
	CHECK(a == start + 62 * P);                    /* the top page */
	CHECK(all((unsigned char *)a, P, 0));          /* zeroed when handed out */
	uintptr_t b = __scone_heap_alloc(&h, 2);
	CHECK(b == start + 60 * P);
	CHECK(all((unsigned char *)start, 60 * P, 0xee));

	CHECK(__scone_heap_brk(&h, 0) == start);         /* query */
	CHECK(__scone_heap_brk(&h, start + 5000) == start + 5000);
	CHECK(all((unsigned char *)start, 2 * P, 0));  /* two pages, zeroed */
	CHECK(h.used == 5);

	/* Pages 2..59 are free (58) between brk (0, 1) and b (60, 61): 59 cannot fit. */
	CHECK(__scone_heap_alloc(&h, 59) == 0);
	uintptr_t c = __scone_heap_alloc(&h, 58);
	CHECK(c == start + 2 * P);
	CHECK(__scone_heap_brk(&h, start + 3 * P) == start + 5000);   /* blocked by c */
	CHECK(__scone_heap_free(&h, c, 58) == 0);

	CHECK(__scone_heap_free(&h, a, 1) == 0);
	CHECK(__scone_heap_alloc(&h, 1) == a);           /* the freed top again */
	CHECK(__scone_heap_grow(&h, b, 2, 1) == -1);     /* a sits right after b */
	CHECK(__scone_heap_free(&h, a, 1) == 0);
	memset((void *)b, 0x11, 2 * P);
	CHECK(__scone_heap_grow(&h, b, 2, 1) == 0);      /* now it may grow in place */
	CHECK(all((unsigned char *)b, 2 * P, 0x11) && all((unsigned char *)b + 2 * P, P, 0));

	CHECK(__scone_heap_claim(&h, start + 10 * P, 2) == 0);
	CHECK(__scone_heap_claim(&h, start + 62 * P, 2) == -1);      /* past the end */
	CHECK(__scone_heap_claim(&h, start + 1, 1) == -1);           /* unaligned */
	CHECK(__scone_heap_free(&h, (uintptr_t)region, 1) == -1);    /* the bitmap */
	CHECK(__scone_heap_contains(&h, start, 63 * P) && !__scone_heap_contains(&h, start, 64 * P));

	CHECK(__scone_heap_brk(&h, start) == start);     /* shrink to nothing */
	CHECK(h.used == 3 + 2);                        /* b (3 pages) and the claim */

	struct scone_heap tiny;
	CHECK(__scone_heap_init(&tiny, (uintptr_t)region, P) == -1);  /* bitmap only */
	printf("heap ok\n");
	return 0;
}
