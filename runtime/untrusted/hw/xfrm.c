/* XFRM selection and XSAVE sizes from XCR0 and CPUID (sgx-spec.md §3, §5). */
#include <cpuid.h>
#include <stdio.h>

#include "xfrm.h"

#define XFRM_LEGACY 0x3ull         /* x87 and SSE: mandatory */

/* Components that XCR0 (and so XFRM) must enable all together or not at all. */
static const uint64_t groups[] = {
	0x18ull,                   /* MPX: BNDREGS, BNDCSR */
	0xe0ull,                   /* AVX-512: opmask, ZMM_Hi256, Hi16_ZMM */
	0x60000ull,                /* AMX: XTILECFG, XTILEDATA */
};

int scone_xfrm_choose(uint64_t xcr0, uint64_t sgx_allowed, uint64_t sig_xfrm,
		      uint64_t sig_mask, uint64_t *xfrm, char *err, size_t errlen)
{
	uint64_t usable = xcr0 & sgx_allowed;
	uint64_t fixed = sig_xfrm & sig_mask;
	uint64_t x = fixed | (usable & ~sig_mask);

	if (fixed & ~usable) {
		snprintf(err, errlen,
			 "the enclave was signed requiring XFRM bits 0x%llx that this machine does not enable "
			 "(XCR0 0x%llx, SGX allows 0x%llx): re-sign it with an XFRM mask that leaves them free",
			 (unsigned long long)(fixed & ~usable), (unsigned long long)xcr0,
			 (unsigned long long)sgx_allowed);
		return -1;
	}
	if ((sig_mask & XFRM_LEGACY) && (sig_xfrm & XFRM_LEGACY) != XFRM_LEGACY) {
		snprintf(err, errlen,
			 "the SIGSTRUCT requires XFRM 0x%llx with x87 or SSE off, which SGX never allows: re-sign the enclave",
			 (unsigned long long)sig_xfrm);
		return -1;
	}
	x |= XFRM_LEGACY;
	/* AVX needs SSE (always on); a group split by the mask is dropped where free. */
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		uint64_t g = groups[i];

		if ((x & g) && (x & g) != g) {
			if (fixed & g & sig_xfrm) {
				snprintf(err, errlen,
					 "the SIGSTRUCT fixes XFRM bits 0x%llx of feature group 0x%llx only partly, "
					 "which XSAVE cannot enable: re-sign the enclave",
					 (unsigned long long)(fixed & g), (unsigned long long)g);
				return -1;
			}
			x &= ~g;
		}
	}
	*xfrm = x;
	return 0;
}

static uint64_t read_xcr0(void)
{
	unsigned int a, b, c, d, lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))   /* OSXSAVE */
		return XFRM_LEGACY;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

static uint64_t sgx_allowed_xfrm(void)
{
	unsigned int a, b, c, d;

	/* CPUID.(12h,1): ECX = XFRM bits 31:0 allowed, EDX = bits 63:32 */
	if (__get_cpuid_max(0, NULL) < 0x12 || !__get_cpuid_count(0x12, 1, &a, &b, &c, &d) || !(c | d))
		return ~0ull;      /* no SGX leaf: only XCR0 limits the choice */
	return (uint64_t)d << 32 | c;
}

int scone_xfrm_for_cpu(uint64_t sig_xfrm, uint64_t sig_mask, uint64_t *xfrm,
		       char *err, size_t errlen)
{
	return scone_xfrm_choose(read_xcr0(), sgx_allowed_xfrm(), sig_xfrm, sig_mask, xfrm, err, errlen);
}

int scone_xfrm_for_sigstruct(const uint8_t sigstruct[1808], uint64_t *xfrm,
			     char *err, size_t errlen)
{
	uint64_t sig_xfrm = 0, sig_mask = 0;

	for (int i = 7; i >= 0; i--) {
		sig_xfrm = sig_xfrm << 8 | sigstruct[936 + i];
		sig_mask = sig_mask << 8 | sigstruct[952 + i];
	}
	return scone_xfrm_for_cpu(sig_xfrm, sig_mask, xfrm, err, errlen);
}

uint32_t scone_xsave_size(uint64_t xfrm)
{
	uint32_t size = 512 + 64;  /* legacy region and XSAVE header */

	for (unsigned int i = 2; i < 63; i++) {
		unsigned int a, b, c, d;

		if (!(xfrm >> i & 1) || !__get_cpuid_count(0xd, i, &a, &b, &c, &d) || !a)
			continue;
		if (b + a > size)
			size = b + a;
	}
	return size;
}

int scone_miscselect_choose(uint32_t sig_misc, uint32_t sig_mask, uint32_t supported,
			    uint32_t *misc, char *err, size_t errlen)
{
	uint32_t must = sig_misc & sig_mask;

	if (must & ~supported) {
		snprintf(err, errlen, "the enclave is signed with MISCSELECT 0x%x under mask 0x%x, but this CPU "
			 "supports only 0x%x (CPUID.(12H,0):EBX): it cannot run here", sig_misc, sig_mask, supported);
		return -1;
	}
	*misc = must | (sig_misc & ~sig_mask & supported);
	return 0;
}

uint32_t scone_miscselect_supported(void)
{
	unsigned int a, b, c, d;

	if (__get_cpuid_max(0, NULL) < 0x12 || !__get_cpuid_count(0x12, 0, &a, &b, &c, &d))
		return 0;
	return b;
}
