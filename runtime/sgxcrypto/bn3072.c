/* Fixed-size multiply, subtract and compare for the EINIT signature check. */
#include "bn3072.h"
#include "le.h"

void bn_from_le(uint64_t r[BN_LIMBS], const uint8_t b[BN_BYTES])
{
	for (int i = 0; i < BN_LIMBS; i++)
		r[i] = get_le64(b + 8 * i);
}

void bn_to_le(uint8_t b[BN_BYTES], const uint64_t a[BN_LIMBS])
{
	for (int i = 0; i < BN_LIMBS; i++)
		put_le64(b + 8 * i, a[i]);
}

void bn_mul(uint64_t r[2 * BN_LIMBS], const uint64_t a[BN_LIMBS], const uint64_t b[BN_LIMBS])
{
	for (int i = 0; i < 2 * BN_LIMBS; i++)
		r[i] = 0;
	for (int i = 0; i < BN_LIMBS; i++) {
		uint64_t carry = 0;

		for (int j = 0; j < BN_LIMBS; j++) {
			/* a*b + r + carry < 2^128: (2^64-1)^2 + 2(2^64-1) = 2^128 - 1 */
			unsigned __int128 t = (unsigned __int128)a[i] * b[j] + r[i + j] + carry;

			r[i + j] = (uint64_t)t;
			carry = (uint64_t)(t >> 64);
		}
		r[i + BN_LIMBS] = carry;
	}
}

uint64_t bn_sub_wide(uint64_t r[2 * BN_LIMBS], const uint64_t a[2 * BN_LIMBS],
		     const uint64_t b[2 * BN_LIMBS])
{
	uint64_t borrow = 0;

	for (int i = 0; i < 2 * BN_LIMBS; i++) {
		unsigned __int128 t = (unsigned __int128)a[i] - b[i] - borrow;

		r[i] = (uint64_t)t;
		borrow = (uint64_t)(t >> 64) & 1;
	}
	return borrow;
}

int bn_cmp(const uint64_t *a, const uint64_t *b, int n)
{
	int res = 0;

	/* scan all limbs from the top; the first difference decides */
	for (int i = n - 1; i >= 0; i--)
		if (!res && a[i] != b[i])
			res = a[i] < b[i] ? -1 : 1;
	return res;
}

int bn_is_zero(const uint64_t *a, int n)
{
	uint64_t acc = 0;

	for (int i = 0; i < n; i++)
		acc |= a[i];
	return acc == 0;
}
