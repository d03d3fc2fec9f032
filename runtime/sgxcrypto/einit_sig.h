/* The RSA part of EINIT (internal to libsgxcrypto). */
#ifndef SCONE_SGXCRYPTO_EINIT_SIG_H
#define SCONE_SGXCRYPTO_EINIT_SIG_H

#include <stdint.h>

enum einit_sig_result {
	EINIT_SIG_OK = 0,
	EINIT_SIG_BAD_Q1,          /* S^2 - Q1*N is not in [0, N) */
	EINIT_SIG_BAD_Q2,          /* R1*S - Q2*N is not in [0, N) */
	EINIT_SIG_BAD_MESSAGE,     /* S^3 mod N is not the PKCS#1 v1.5 encoding */
};

/*
 * sgx-spec.md §6 "Q1, Q2": S^2 = Q1*N + R1 and R1*S = Q2*N + R2 with
 * R1, R2 < N, and R2 = EMSA-PKCS1-v1_5(SHA-256(signed bytes)).
 */
enum einit_sig_result einit_verify_signature(const uint8_t sigstruct[1808]);

#endif
