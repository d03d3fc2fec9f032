/*
 * Just enough fixed-size arithmetic for EINIT's division-free RSA check
 * (sgx-spec.md §6, "Q1, Q2"): 3072-bit numbers as 48 little-endian 64-bit
 * limbs, products as 96. Every loop runs a fixed number of times.
 */
#ifndef SCONE_SGXCRYPTO_BN3072_H
#define SCONE_SGXCRYPTO_BN3072_H

#include <stdint.h>

#define BN_LIMBS 48                /* 3072 bits */
#define BN_BYTES (BN_LIMBS * 8)    /* 384 */

/* A 384-byte little-endian field of SIGSTRUCT, as limbs. */
void bn_from_le(uint64_t r[BN_LIMBS], const uint8_t b[BN_BYTES]);
void bn_to_le(uint8_t b[BN_BYTES], const uint64_t a[BN_LIMBS]);
/* r = a * b (schoolbook; r has 2 * BN_LIMBS limbs). */
void bn_mul(uint64_t r[2 * BN_LIMBS], const uint64_t a[BN_LIMBS], const uint64_t b[BN_LIMBS]);
/* r = a - b over 2 * BN_LIMBS limbs; returns the final borrow (1 if a < b). */
uint64_t bn_sub_wide(uint64_t r[2 * BN_LIMBS], const uint64_t a[2 * BN_LIMBS],
		     const uint64_t b[2 * BN_LIMBS]);
/* -1, 0 or 1 as a <, =, > b over n limbs. */
int bn_cmp(const uint64_t *a, const uint64_t *b, int n);
/* 1 if all n limbs are zero. */
int bn_is_zero(const uint64_t *a, int n);

#endif
