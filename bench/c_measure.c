/*
 * Measurement throughput of the starter's C code: MRENCLAVE over N pages
 * (EADD + 16 EEXTEND records each) against a bare SHA-256 of the same page
 * bytes, for each SHA-256 block function the CPU supports. Prints one line
 * per function: "<impl> <MiB> <sha256 MiB/s> <measure MiB/s> <ratio>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "measure.h"
#include "sha256.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double timed(void (*f)(const uint8_t *, size_t), const uint8_t *p, size_t pages)
{
	double t = now();

	f(p, pages);
	return now() - t;
}

static volatile uint8_t sink;

static void bare(const uint8_t *p, size_t pages)
{
	uint8_t out[32];

	sha256(p, pages * MR_PAGE_SIZE, out);
	sink ^= out[0];
}

static void measured(const uint8_t *p, size_t pages)
{
	struct sha256_ctx ctx;
	uint8_t out[32];

	mr_ecreate(&ctx, 1, 1ull << 40);
	for (size_t i = 0; i < pages; i++) {
		mr_eadd(&ctx, i * MR_PAGE_SIZE, 0x203);
		mr_eextend_page(&ctx, i * MR_PAGE_SIZE, p + i * MR_PAGE_SIZE);
	}
	mr_einit_final(&ctx, out);
	sink ^= out[0];
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;
	size_t pages = mib * 256;
	uint8_t *p = malloc(pages * MR_PAGE_SIZE);

	if (!p)
		return 1;
	srand(1);
	for (size_t i = 0; i < pages * MR_PAGE_SIZE; i++)
		p[i] = (uint8_t)rand();
	for (int impl = SHA256_IMPL_SHANI; impl >= SHA256_IMPL_PORTABLE; impl--) {
		double tb, tm;

		if (sha256_select(impl))
			continue;
		/* interleaved, best of 5: other load on the machine hits both alike */
		tb = tm = 1e30;
		for (int r = 0; r < 5; r++) {
			double b = timed(bare, p, pages), m = timed(measured, p, pages);

			tb = b < tb ? b : tb;
			tm = m < tm ? m : tm;
		}
		printf("%s %zu %.1f %.1f %.3f\n", sha256_impl_name(), mib, mib / tb, mib / tm, tb / tm);
	}
	free(p);
	return 0;
}
