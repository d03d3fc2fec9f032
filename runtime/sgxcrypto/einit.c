/* EINIT's SIGSTRUCT checks in the SDM's order (sgx-spec.md §6). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "einit.h"
#include "einit_sig.h"
#include "le.h"
#include "sha256.h"
#include "sigstruct.h"

static const uint8_t header[16] = {
	0x06, 0, 0, 0, 0xe1, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0,
};
static const uint8_t header2[16] = {
	0x01, 0x01, 0, 0, 0x60, 0, 0, 0, 0x60, 0, 0, 0, 0x01, 0, 0, 0,
};

static const struct { unsigned off, len; const char *name; } reserved[] = {
	{ SIG_RESERVED1, 84, "reserved bytes 44..127" },
	{ SIG_RESERVED2, 2, "reserved bytes 910..911" },
	{ SIG_RESERVED3, 16, "reserved bytes 992..1007" },
	{ SIG_RESERVED4, 12, "reserved bytes 1028..1039" },
};

static const char *const flag_names[64] = {
	[0] = "INIT", [1] = "DEBUG", [2] = "MODE64BIT", [4] = "PROVISIONKEY",
	[5] = "EINITTOKENKEY", [6] = "CET", [7] = "KSS", [10] = "AEXNOTIFY",
};

const char *sgx_einit_code_name(int code)
{
	switch (code) {
	case 0: return "SGX_SUCCESS";
	case SGX_INVALID_SIG_STRUCT: return "SGX_INVALID_SIG_STRUCT";
	case SGX_INVALID_ATTRIBUTE: return "SGX_INVALID_ATTRIBUTE";
	case SGX_INVALID_MEASUREMENT: return "SGX_INVALID_MEASUREMENT";
	case SGX_INVALID_SIGNATURE: return "SGX_INVALID_SIGNATURE";
	default: return "SGX_UNKNOWN_ERROR";
	}
}

static int fail(int code, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static void hex(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Names of the FLAGS bits set in diff, e.g. "DEBUG, bit 9". */
static void flag_list(char *out, size_t outlen, uint64_t diff)
{
	size_t used = 0;

	out[0] = 0;
	for (int b = 0; b < 64 && used < outlen; b++) {
		if (!(diff >> b & 1))
			continue;
		int n = flag_names[b]
			? snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", flag_names[b])
			: snprintf(out + used, outlen - used, "%sbit %d", used ? ", " : "", b);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

static int check_structure(const uint8_t *sig, char *why, size_t whylen)
{
	uint32_t vendor = get_le32(sig + SIG_VENDOR);
	uint32_t exponent = get_le32(sig + SIG_EXPONENT);

	if (memcmp(sig + SIG_HEADER, header, 16))
		return fail(SGX_INVALID_SIG_STRUCT, why, whylen,
			    "SIGSTRUCT HEADER (bytes 0..15) is not 06000000 e1000000 00000100 00000000: "
			    "not a SIGSTRUCT, or a corrupted one; re-sign the enclave");
	if (memcmp(sig + SIG_HEADER2, header2, 16))
		return fail(SGX_INVALID_SIG_STRUCT, why, whylen,
			    "SIGSTRUCT HEADER2 (bytes 24..39) is not 01010000 60000000 60000000 01000000: "
			    "the SIGSTRUCT is corrupted; re-sign the enclave");
	if (exponent != 3)
		return fail(SGX_INVALID_SIG_STRUCT, why, whylen,
			    "SIGSTRUCT EXPONENT is %u, SGX requires 3: sign with an RSA-3072 key whose public exponent is 3",
			    exponent);
	if (vendor != 0 && vendor != 0x8086)
		return fail(SGX_INVALID_SIG_STRUCT, why, whylen,
			    "SIGSTRUCT VENDOR is 0x%08x, SGX accepts only 0 or 0x8086: the SIGSTRUCT is corrupted; re-sign the enclave",
			    vendor);
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!all_zero(sig + reserved[i].off, reserved[i].len))
			return fail(SGX_INVALID_SIG_STRUCT, why, whylen,
				    "SIGSTRUCT %s are not zero: the SIGSTRUCT is corrupted; re-sign the enclave",
				    reserved[i].name);
	return 0;
}

static int check_signature(const uint8_t *sig, char *why, size_t whylen)
{
	switch (einit_verify_signature(sig)) {
	case EINIT_SIG_OK:
		return 0;
	case EINIT_SIG_BAD_Q1:
		return fail(SGX_INVALID_SIGNATURE, why, whylen,
			    "SIGSTRUCT signature check failed: SIGNATURE^2 - Q1*MODULUS is not in [0, MODULUS), "
			    "so Q1, SIGNATURE or MODULUS was altered; re-sign the enclave");
	case EINIT_SIG_BAD_Q2:
		return fail(SGX_INVALID_SIGNATURE, why, whylen,
			    "SIGSTRUCT signature check failed: R1*SIGNATURE - Q2*MODULUS is not in [0, MODULUS), "
			    "so Q2, SIGNATURE or MODULUS was altered; re-sign the enclave");
	default:
		return fail(SGX_INVALID_SIGNATURE, why, whylen,
			    "SIGSTRUCT signature does not verify: SIGNATURE^3 mod MODULUS is not the PKCS#1 v1.5 "
			    "SHA-256 encoding of the signed fields, so a signed field (hash, attributes, IDs, date) "
			    "was modified after signing or the key does not match; re-sign the enclave");
	}
}

static int check_attributes(const uint8_t *sig, uint64_t secs_attributes, uint64_t secs_xfrm,
			    uint32_t secs_miscselect, char *why, size_t whylen)
{
	uint64_t flags = get_le64(sig + SIG_ATTRIBUTES), xfrm = get_le64(sig + SIG_ATTRIBUTES + 8);
	uint64_t fmask = get_le64(sig + SIG_ATTRIBUTEMASK), xmask = get_le64(sig + SIG_ATTRIBUTEMASK + 8);
	uint32_t misc = get_le32(sig + SIG_MISCSELECT), mmask = get_le32(sig + SIG_MISCMASK);
	uint8_t cet = sig[SIG_CET_ATTRIBUTES], cmask = sig[SIG_CET_ATTRIBUTES_MASK];
	uint64_t fdiff = (secs_attributes ^ flags) & fmask;
	uint64_t xdiff = (secs_xfrm ^ xfrm) & xmask;
	uint32_t mdiff = (secs_miscselect ^ misc) & mmask;
	char names[256];

	if (fdiff) {
		flag_list(names, sizeof(names), fdiff);
		return fail(SGX_INVALID_ATTRIBUTE, why, whylen,
			    "enclave ATTRIBUTES 0x%llx differ from the signed ATTRIBUTES 0x%llx under ATTRIBUTEMASK 0x%llx "
			    "(%s): load the enclave with the attributes it was signed for, or re-sign it",
			    (unsigned long long)secs_attributes, (unsigned long long)flags,
			    (unsigned long long)fmask, names);
	}
	if (xdiff)
		return fail(SGX_INVALID_ATTRIBUTE, why, whylen,
			    "enclave XFRM 0x%llx differs from the signed XFRM 0x%llx under the XFRM mask 0x%llx "
			    "(bits 0x%llx): this CPU/OS enables other extended states than the signer required; "
			    "re-sign with a mask that leaves them free",
			    (unsigned long long)secs_xfrm, (unsigned long long)xfrm,
			    (unsigned long long)xmask, (unsigned long long)xdiff);
	if (mdiff)
		return fail(SGX_INVALID_ATTRIBUTE, why, whylen,
			    "enclave MISCSELECT 0x%x differs from the signed MISCSELECT 0x%x under MISCMASK 0x%x "
			    "(bits 0x%x): load with the signed MISCSELECT, or re-sign",
			    secs_miscselect, misc, mmask, mdiff);
	if (cet & cmask)
		return fail(SGX_INVALID_ATTRIBUTE, why, whylen,
			    "SIGSTRUCT requires CET_ATTRIBUTES 0x%x under mask 0x%x, but scone enclaves run without CET: "
			    "re-sign with CET_ATTRIBUTES 0", cet, cmask);
	return 0;
}

int sim_einit_check(const uint8_t sigstruct[1808], const uint8_t mrenclave[32],
		    uint64_t secs_attributes, uint64_t secs_xfrm,
		    uint32_t secs_miscselect, uint8_t mrsigner_out[32],
		    char *why, size_t whylen)
{
	int rc;

	if (why && whylen)
		why[0] = 0;
	if (mrsigner_out)
		sha256(sigstruct + SIG_MODULUS, SIG_KEY_BYTES, mrsigner_out);
	if ((rc = check_structure(sigstruct, why, whylen)))
		return rc;
	if ((rc = check_signature(sigstruct, why, whylen)))
		return rc;
	if (!(secs_attributes & SGX_ATTR_KSS) && !all_zero(sigstruct + SIG_ISVFAMILYID, 16))
		return fail(SGX_INVALID_SIG_STRUCT, why, whylen,
			    "SIGSTRUCT ISVFAMILYID is set but the enclave does not have ATTRIBUTES.KSS: "
			    "sign with ISVFAMILYID 0, or enable KSS");
	if (memcmp(sigstruct + SIG_ENCLAVEHASH, mrenclave, 32)) {
		char want[65], got[65];

		hex(want, sigstruct + SIG_ENCLAVEHASH, 32);
		hex(got, mrenclave, 32);
		return fail(SGX_INVALID_MEASUREMENT, why, whylen,
			    "ENCLAVEHASH does not match the measured enclave (expected %s, measured %s): "
			    "the enclave image was modified after signing", want, got);
	}
	/*
	 * The EINITTOKENKEY/launch-key check is omitted: with Flexible Launch
	 * Control, Linux sets IA32_SGXLEPUBKEYHASH to this MRSIGNER before
	 * every EINIT, so it cannot fail (and the kernel refuses EINITTOKENKEY
	 * at CREATE).
	 */
	return check_attributes(sigstruct, secs_attributes, secs_xfrm, secs_miscselect, why, whylen);
}
