/*
 * FIPS 180-4 §6.2.2 with the Intel SHA extensions (SHA256RNDS2, SHA256MSG1,
 * SHA256MSG2). Compiled for the generic target: only these functions carry
 * the "sha" target, and sha256.c calls them only after the CPU is known to
 * have SHA-NI, SSSE3 and SSE4.1.
 */
#include <cpuid.h>
#include <immintrin.h>
#if defined(__GLIBC__) && __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
#endif

#include "sha256_blocks.h"

#define SHA_TARGET __attribute__((target("sha,ssse3,sse4.1")))
#define SHA_INLINE SHA_TARGET __attribute__((always_inline)) static inline

int sha256_cpu_has_shani(void)
{
#ifdef CPU_FEATURE_PRESENT
	/* glibc has run CPUID at start-up already; under a hypervisor every
	 * CPUID is a VM exit of microseconds, on the starter's critical path. */
	return CPU_FEATURE_PRESENT(SSSE3) && CPU_FEATURE_PRESENT(SSE4_1) && CPU_FEATURE_PRESENT(SHA);
#else
	unsigned int a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	/* SSSE3 (pshufb) is ECX bit 9, SSE4.1 (pblendw) ECX bit 19. */
	if (!(c & (1u << 9)) || !(c & (1u << 19)))
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b >> 29) & 1;      /* CPUID.(7,0):EBX.SHA */
#endif
}

/* SHA256RNDS2 wants the state as ABEF / CDGH. */
SHA_INLINE void load_state(const uint32_t h[8], __m128i *st0, __m128i *st1)
{
	__m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1);
	__m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B);

	*st0 = _mm_alignr_epi8(tmp, s1, 8);
	*st1 = _mm_blend_epi16(s1, tmp, 0xF0);
}

SHA_INLINE void store_state(uint32_t h[8], __m128i st0, __m128i st1)
{
	__m128i tmp = _mm_shuffle_epi32(st0, 0x1B);

	st1 = _mm_shuffle_epi32(st1, 0xB1);
	_mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(tmp, st1, 0xF0));
	_mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(st1, tmp, 8));
}

SHA_INLINE void load_message(const uint8_t *p, __m128i m[4])
{
	/* pshufb mask turning each big-endian message word into a lane */
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);

	for (int i = 0; i < 4; i++)
		m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
}

/* Rounds 4i..4i+3, and W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16] four at once. */
SHA_INLINE void rounds4(int i, __m128i m[4], __m128i *st0, __m128i *st1)
{
	__m128i msg = _mm_add_epi32(m[i & 3], _mm_loadu_si128((const __m128i *)&sha256_k[4 * i]));

	*st1 = _mm_sha256rnds2_epu32(*st1, *st0, msg);
	*st0 = _mm_sha256rnds2_epu32(*st0, *st1, _mm_shuffle_epi32(msg, 0x0E));
	if (i < 12) {
		__m128i x = _mm_sha256msg1_epu32(m[i & 3], m[(i + 1) & 3]);

		x = _mm_add_epi32(x, _mm_alignr_epi8(m[(i + 3) & 3], m[(i + 2) & 3], 4));
		m[i & 3] = _mm_sha256msg2_epu32(x, m[(i + 3) & 3]);
	}
}

SHA_TARGET void sha256_blocks_shani(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
	__m128i st0, st1;

	load_state(h, &st0, &st1);
	for (; nblocks; nblocks--, p += 64) {
		__m128i abef = st0, cdgh = st1, m[4];

		load_message(p, m);
#pragma GCC unroll 16
		for (int i = 0; i < 16; i++)
			rounds4(i, m, &st0, &st1);
		st0 = _mm_add_epi32(st0, abef);
		st1 = _mm_add_epi32(st1, cdgh);
	}
	store_state(h, st0, st1);
}

/*
 * Two independent messages, one block of each per step. SHA256RNDS2 is
 * latency-bound (each round waits for the last), so the second chain fills
 * the gaps of the first: two digests for little more than the price of one.
 */
SHA_TARGET void sha256_blocks_shani_x2(uint32_t ha[8], const uint8_t *pa,
				       uint32_t hb[8], const uint8_t *pb, size_t nblocks)
{
	__m128i a0, a1, b0, b1;

	load_state(ha, &a0, &a1);
	load_state(hb, &b0, &b1);
	for (; nblocks; nblocks--, pa += 64, pb += 64) {
		__m128i sa0 = a0, sa1 = a1, sb0 = b0, sb1 = b1, ma[4], mb[4];

		load_message(pa, ma);
		load_message(pb, mb);
#pragma GCC unroll 16
		for (int i = 0; i < 16; i++) {
			rounds4(i, ma, &a0, &a1);
			rounds4(i, mb, &b0, &b1);
		}
		a0 = _mm_add_epi32(a0, sa0);
		a1 = _mm_add_epi32(a1, sa1);
		b0 = _mm_add_epi32(b0, sb0);
		b1 = _mm_add_epi32(b1, sb1);
	}
	store_state(ha, a0, a1);
	store_state(hb, b0, b1);
}
