/* Choosing SECS.ATTRIBUTES.XFRM for this machine (sgx-spec.md §3, §6). */
#ifndef SCONE_HW_XFRM_H
#define SCONE_HW_XFRM_H

#include <stddef.h>
#include <stdint.h>

/*
 * sgx-spec.md §3 "XFRM" and §6 EINIT mask check: the bits under sig_mask
 * must equal sig_xfrm; every free bit the OS enables (xcr0) and SGX allows
 * (sgx_allowed, CPUID.(12h,1):EDX:ECX) is turned on, so the enclave may use
 * what the host uses, dropping a feature group (AVX-512, AMX, MPX) that the
 * mask would leave half set. Returns 0 and *xfrm, or -1 with a sentence in err.
 */
int scone_xfrm_choose(uint64_t xcr0, uint64_t sgx_allowed, uint64_t sig_xfrm,
		      uint64_t sig_mask, uint64_t *xfrm, char *err, size_t errlen);
/* The same with XCR0 and CPUID read from this CPU. */
int scone_xfrm_for_cpu(uint64_t sig_xfrm, uint64_t sig_mask, uint64_t *xfrm,
		       char *err, size_t errlen);
/*
 * The same for a SIGSTRUCT: its XFRM (offset 936) and XFRM mask (952),
 * sgx-spec.md §6. The loader's one call for SECS.ATTRIBUTES.XFRM in HW mode.
 */
int scone_xfrm_for_sigstruct(const uint8_t sigstruct[1808], uint64_t *xfrm,
			     char *err, size_t errlen);
/*
 * sgx-spec.md §3 ECREATE / §5: bytes of the (non-compacted) XSAVE area for
 * xfrm, from CPUID leaf 0Dh; the SSA frame must hold it plus MISC and GPRSGX.
 */
uint32_t scone_xsave_size(uint64_t xfrm);
/*
 * SECS.MISCSELECT (sgx-spec.md §3, §6; SDM Vol. 3D, ECREATE and EINIT): the
 * bits under sig_mask as signed, each free bit of sig_misc the CPU supports
 * (supported = CPUID.(12H,0):EBX). ECREATE refuses an unsupported bit, so a
 * signed-and-masked one the CPU lacks is an error. Returns 0 and *misc, or
 * -1 with a sentence in err.
 */
int scone_miscselect_choose(uint32_t sig_misc, uint32_t sig_mask, uint32_t supported,
			    uint32_t *misc, char *err, size_t errlen);
/* CPUID.(12H,0):EBX of this CPU, 0 without the SGX leaf. */
uint32_t scone_miscselect_supported(void);

#endif
