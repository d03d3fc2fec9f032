/*
 * MRENCLAVE the way the CPU builds it (sgx-spec.md §1): ECREATE starts a
 * SHA-256 and hashes one 64-byte record, each EADD one record, each EEXTEND a
 * record plus 256 bytes of the page; EINIT finishes the hash. The context is
 * a plain SHA-256 context, so MRENCLAVE = sha256_final(ctx).
 */
#ifndef SCONE_SGXCRYPTO_MEASURE_H
#define SCONE_SGXCRYPTO_MEASURE_H

#include <stdint.h>

#include "sha256.h"

#define MR_RECORD_SIZE 64u
#define MR_CHUNK_SIZE 256u
#define MR_PAGE_SIZE 4096u
#define MR_SECINFO_R 0x1ull
#define MR_SECINFO_W 0x2ull
#define MR_SECINFO_X 0x4ull
#define MR_PT_TCS 1u
#define MR_PT_REG 2u

/* §1.1: SHA256INITIALIZE, then "ECREATE\0" | SSAFRAMESIZE u32 @8 | SIZE u64 @12 (unaligned). */
void mr_ecreate(struct sha256_ctx *ctx, uint32_t ssaframesize, uint64_t size);
/*
 * §1.2: "EADD\0\0\0\0" | page offset u64 @8 | SECINFO.FLAGS u64 @16. For a
 * PT_TCS page the CPU clears R/W/X before hashing, and so does this.
 */
void mr_eadd(struct sha256_ctx *ctx, uint64_t offset, uint64_t secinfo_flags);
/* §1.3: one EEXTEND: "EEXTEND\0" | chunk offset u64 @8, then the 256 bytes. */
void mr_eextend(struct sha256_ctx *ctx, uint64_t offset, const uint8_t chunk[MR_CHUNK_SIZE]);
/* §1.3: the 16 EEXTENDs of a page at offset, in ascending order. */
void mr_eextend_page(struct sha256_ctx *ctx, uint64_t offset, const uint8_t page[MR_PAGE_SIZE]);
/* §1 EINIT: SHA256FINAL; the digest is MRENCLAVE. */
/*
 * EADD of count consecutive pages from offset, each followed, when page is
 * not NULL, by the 16 EEXTENDs of its bytes as stored (stride 0: the same
 * page every time, e.g. zeros; MR_PAGE_SIZE: consecutive pages). The same
 * records as mr_eadd and mr_eextend_page, hashed in large batches, with
 * rider (may be NULL) hashed alongside.
 */
void mr_add_pages(struct sha256_ctx *ctx, uint64_t offset, uint32_t count, uint64_t secinfo_flags,
		  const uint8_t *page, size_t stride, struct sha256_rider *rider);
void mr_einit_final(struct sha256_ctx *ctx, uint8_t mrenclave[32]);
/*
 * §1.2 / §8.6: the TCS as EADD stores it in the EPC (STATE, CSSA, AEP and
 * FLAGS.DBGOPTIN forced to 0); EEXTEND of a TCS hashes these bytes.
 */
void mr_tcs_as_stored(uint8_t out[MR_PAGE_SIZE], const uint8_t tcs[MR_PAGE_SIZE]);

#endif
