/*
 * FIPS 180-4 §6.2.2 with the Intel SHA extensions (SHA256RNDS2, SHA256MSG1,
 * SHA256MSG2). Compiled for the generic target: only this function carries
 * the "sha" target, and sha256.c calls it only after CPUID says the CPU has
 * SHA-NI, SSSE3 and SSE4.1.
 */
#include <cpuid.h>
#include <immintrin.h>

#include "sha256_blocks.h"

int sha256_cpu_has_shani(void)
{
	unsigned int a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	/* SSSE3 (pshufb) is ECX bit 9, SSE4.1 (pblendw) ECX bit 19. */
	if (!(c & (1u << 9)) || !(c & (1u << 19)))
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b >> 29) & 1;      /* CPUID.(7,0):EBX.SHA */
}

__attribute__((target("sha,ssse3,sse4.1")))
void sha256_blocks_shani(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
	/* pshufb mask turning each big-endian message word into a lane */
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i tmp = _mm_loadu_si128((const __m128i *)&h[0]);
	__m128i st1 = _mm_loadu_si128((const __m128i *)&h[4]);

	/* SHA256RNDS2 wants the state as ABEF / CDGH. */
	tmp = _mm_shuffle_epi32(tmp, 0xB1);
	st1 = _mm_shuffle_epi32(st1, 0x1B);
	__m128i st0 = _mm_alignr_epi8(tmp, st1, 8);
	st1 = _mm_blend_epi16(st1, tmp, 0xF0);

	for (; nblocks; nblocks--, p += 64) {
		__m128i abef = st0, cdgh = st1, m[4];

		for (int i = 0; i < 4; i++)
			m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
#pragma GCC unroll 16
		for (int i = 0; i < 16; i++) {
			__m128i msg = _mm_add_epi32(m[i & 3],
				_mm_loadu_si128((const __m128i *)&sha256_k[4 * i]));
			st1 = _mm_sha256rnds2_epu32(st1, st0, msg);
			st0 = _mm_sha256rnds2_epu32(st0, st1, _mm_shuffle_epi32(msg, 0x0E));
			if (i < 12) {
				/* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], four at once */
				__m128i x = _mm_sha256msg1_epu32(m[i & 3], m[(i + 1) & 3]);
				x = _mm_add_epi32(x, _mm_alignr_epi8(m[(i + 3) & 3], m[(i + 2) & 3], 4));
				m[i & 3] = _mm_sha256msg2_epu32(x, m[(i + 3) & 3]);
			}
		}
		st0 = _mm_add_epi32(st0, abef);
		st1 = _mm_add_epi32(st1, cdgh);
	}

	tmp = _mm_shuffle_epi32(st0, 0x1B);
	st1 = _mm_shuffle_epi32(st1, 0xB1);
	st0 = _mm_blend_epi16(tmp, st1, 0xF0);
	st1 = _mm_alignr_epi8(st1, tmp, 8);
	_mm_storeu_si128((__m128i *)&h[0], st0);
	_mm_storeu_si128((__m128i *)&h[4], st1);
}
