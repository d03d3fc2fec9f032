/* The MRENCLAVE update records of sgx-spec.md §1, byte for byte. */
#include <string.h>

#include "le.h"
#include "measure.h"

void mr_ecreate(struct sha256_ctx *ctx, uint32_t ssaframesize, uint64_t size)
{
	uint8_t r[MR_RECORD_SIZE] = "ECREATE";

	put_le32(r + 8, ssaframesize);
	put_le64(r + 12, size);
	sha256_init(ctx);
	sha256_update(ctx, r, sizeof(r));
}

void mr_eadd(struct sha256_ctx *ctx, uint64_t offset, uint64_t secinfo_flags)
{
	uint8_t r[MR_RECORD_SIZE] = "EADD";

	if (((secinfo_flags >> 8) & 0xff) == MR_PT_TCS)
		secinfo_flags &= ~(MR_SECINFO_R | MR_SECINFO_W | MR_SECINFO_X);
	put_le64(r + 8, offset);
	put_le64(r + 16, secinfo_flags);
	sha256_update(ctx, r, sizeof(r));
}

void mr_eextend(struct sha256_ctx *ctx, uint64_t offset, const uint8_t chunk[MR_CHUNK_SIZE])
{
	uint8_t r[MR_RECORD_SIZE] = "EEXTEND";

	put_le64(r + 8, offset);
	sha256_update(ctx, r, sizeof(r));
	sha256_update(ctx, chunk, MR_CHUNK_SIZE);
}

void mr_eextend_page(struct sha256_ctx *ctx, uint64_t offset, const uint8_t page[MR_PAGE_SIZE])
{
	for (uint64_t k = 0; k < MR_PAGE_SIZE / MR_CHUNK_SIZE; k++)
		mr_eextend(ctx, offset + k * MR_CHUNK_SIZE, page + k * MR_CHUNK_SIZE);
}

void mr_einit_final(struct sha256_ctx *ctx, uint8_t mrenclave[32])
{
	sha256_final(ctx, mrenclave);
}

void mr_tcs_as_stored(uint8_t out[MR_PAGE_SIZE], const uint8_t tcs[MR_PAGE_SIZE])
{
	if (out != tcs)
		memcpy(out, tcs, MR_PAGE_SIZE);
	memset(out + 0, 0, 8);     /* STATE */
	out[8] &= (uint8_t)~1u;    /* FLAGS.DBGOPTIN */
	memset(out + 24, 0, 4);    /* CSSA */
	memset(out + 40, 0, 8);    /* AEP */
}
