/*
 * EINIT's signature check as the CPU does it: no division, only the two
 * quotients the signer supplies, checked by multiplication (sgx-spec.md §6).
 */
#include <string.h>

#include "bn3072.h"
#include "einit_sig.h"
#include "sha256.h"
#include "sigstruct.h"

/* DER DigestInfo prefix for SHA-256 (RFC 8017 §9.2, note 1). */
static const uint8_t sha256_digest_info[19] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
};

/* EM = 00 01 FF..FF 00 || DigestInfo || H, as a little-endian number. */
static void encoded_message(uint64_t em[BN_LIMBS], const uint8_t *sig)
{
	uint8_t be[BN_BYTES], le[BN_BYTES];
	struct sha256_ctx ctx;
	size_t ps = BN_BYTES - 3 - sizeof(sha256_digest_info) - 32;

	be[0] = 0x00;
	be[1] = 0x01;
	memset(be + 2, 0xff, ps);
	be[2 + ps] = 0x00;
	memcpy(be + 3 + ps, sha256_digest_info, sizeof(sha256_digest_info));
	sha256_init(&ctx);
	sha256_update(&ctx, sig, SIG_SIGNED1_LEN);
	sha256_update(&ctx, sig + SIG_SIGNED2_OFF, SIG_SIGNED2_LEN);
	sha256_final(&ctx, be + BN_BYTES - 32);
	for (size_t i = 0; i < BN_BYTES; i++)
		le[i] = be[BN_BYTES - 1 - i];
	bn_from_le(em, le);
}

/* r = x*y - q*n; 1 if that lies in [0, n), else 0. */
static int remainder_ok(uint64_t r[BN_LIMBS], const uint64_t x[BN_LIMBS],
			const uint64_t y[BN_LIMBS], const uint64_t q[BN_LIMBS],
			const uint64_t n[BN_LIMBS])
{
	uint64_t xy[2 * BN_LIMBS], qn[2 * BN_LIMBS], d[2 * BN_LIMBS];

	bn_mul(xy, x, y);
	bn_mul(qn, q, n);
	if (bn_sub_wide(d, xy, qn))
		return 0;
	if (!bn_is_zero(d + BN_LIMBS, BN_LIMBS) || bn_cmp(d, n, BN_LIMBS) >= 0)
		return 0;
	memcpy(r, d, BN_LIMBS * sizeof(uint64_t));
	return 1;
}

enum einit_sig_result einit_verify_signature(const uint8_t sigstruct[1808])
{
	uint64_t n[BN_LIMBS], s[BN_LIMBS], q1[BN_LIMBS], q2[BN_LIMBS];
	uint64_t r1[BN_LIMBS], r2[BN_LIMBS], em[BN_LIMBS];

	bn_from_le(n, sigstruct + SIG_MODULUS);
	bn_from_le(s, sigstruct + SIG_SIGNATURE);
	bn_from_le(q1, sigstruct + SIG_Q1);
	bn_from_le(q2, sigstruct + SIG_Q2);
	if (!remainder_ok(r1, s, s, q1, n))
		return EINIT_SIG_BAD_Q1;
	if (!remainder_ok(r2, r1, s, q2, n))
		return EINIT_SIG_BAD_Q2;
	encoded_message(em, sigstruct);
	return bn_cmp(r2, em, BN_LIMBS) == 0 ? EINIT_SIG_OK : EINIT_SIG_BAD_MESSAGE;
}
