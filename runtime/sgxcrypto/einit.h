/*
 * EINIT's checks of a SIGSTRUCT against the enclave that was built, played
 * in software (SIM mode, and the HW loader's pre-check so that users get a
 * sentence instead of the kernel's bare -EPERM). sgx-spec.md §6.
 */
#ifndef SCONE_SGXCRYPTO_EINIT_H
#define SCONE_SGXCRYPTO_EINIT_H

#include <stddef.h>
#include <stdint.h>

/* EINIT status codes (Intel SDM vol. 3D, ENCLS[EINIT], RAX on error). */
#define SGX_INVALID_SIG_STRUCT 1
#define SGX_INVALID_ATTRIBUTE 2
#define SGX_INVALID_MEASUREMENT 4
#define SGX_INVALID_SIGNATURE 8

/*
 * sgx-spec.md §6 "EINIT checks, in order": the constant fields, VENDOR and
 * reserved bytes (SGX_INVALID_SIG_STRUCT), the RSA signature through Q1/Q2
 * without division (SGX_INVALID_SIGNATURE), ISVFAMILYID without KSS
 * (SGX_INVALID_SIG_STRUCT), ENCLAVEHASH against mrenclave
 * (SGX_INVALID_MEASUREMENT), ATTRIBUTES/XFRM, MISCSELECT and CET attributes
 * under their masks (SGX_INVALID_ATTRIBUTE). SECS CET attributes are taken
 * as 0: scone never sets them.
 *
 * Returns 0 when EINIT would succeed, else the first failing code, with one
 * sentence in why (what differs, and the likely cause). mrsigner_out, when
 * not NULL, always receives SHA-256 of the little-endian MODULUS.
 */
int sim_einit_check(const uint8_t sigstruct[1808], const uint8_t mrenclave[32],
		    uint64_t secs_attributes, uint64_t secs_xfrm,
		    uint32_t secs_miscselect, uint8_t mrsigner_out[32],
		    char *why, size_t whylen);

/* "SGX_INVALID_SIGNATURE" etc. for a code returned above ("SGX_SUCCESS" for 0). */
const char *sgx_einit_code_name(int code);

#endif
