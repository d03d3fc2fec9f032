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

static void eadd_record(uint8_t r[MR_RECORD_SIZE], uint64_t offset, uint64_t secinfo_flags)
{
	memset(r, 0, MR_RECORD_SIZE);
	memcpy(r, "EADD", 4);
	if (((secinfo_flags >> 8) & 0xff) == MR_PT_TCS)
		secinfo_flags &= ~(MR_SECINFO_R | MR_SECINFO_W | MR_SECINFO_X);
	put_le64(r + 8, offset);
	put_le64(r + 16, secinfo_flags);
}

static void eextend_record(uint8_t r[MR_RECORD_SIZE], uint64_t offset)
{
	memset(r, 0, MR_RECORD_SIZE);
	memcpy(r, "EEXTEND", 7);
	put_le64(r + 8, offset);
}

void mr_eadd(struct sha256_ctx *ctx, uint64_t offset, uint64_t secinfo_flags)
{
	uint8_t r[MR_RECORD_SIZE];

	eadd_record(r, offset, secinfo_flags);
	sha256_update(ctx, r, sizeof(r));
}

void mr_eextend(struct sha256_ctx *ctx, uint64_t offset, const uint8_t chunk[MR_CHUNK_SIZE])
{
	uint8_t r[MR_RECORD_SIZE];

	eextend_record(r, offset);
	sha256_update(ctx, r, sizeof(r));
	sha256_update(ctx, chunk, MR_CHUNK_SIZE);
}

/* The 16 EEXTENDs of a page, records and bytes interleaved, into w. */
static void eextend_stream(uint8_t *w, uint64_t offset, const uint8_t *page)
{
	for (uint64_t k = 0; k < MR_PAGE_SIZE; k += MR_CHUNK_SIZE) {
		eextend_record(w, offset + k);
		memcpy(w + MR_RECORD_SIZE, page + k, MR_CHUNK_SIZE);
		w += MR_RECORD_SIZE + MR_CHUNK_SIZE;
	}
}

#define EXTEND_BYTES ((MR_PAGE_SIZE / MR_CHUNK_SIZE) * (MR_RECORD_SIZE + MR_CHUNK_SIZE))

void mr_eextend_page(struct sha256_ctx *ctx, uint64_t offset, const uint8_t page[MR_PAGE_SIZE])
{
	_Alignas(64) uint8_t buf[EXTEND_BYTES];

	eextend_stream(buf, offset, page);
	sha256_update(ctx, buf, sizeof(buf));
}

/* Records per batch of unmeasured pages: one call into the block function each. */
#define EADD_BATCH 64u
/* One measured page: its EADD, then its EEXTENDs. */
#define MEASURED_BYTES (MR_RECORD_SIZE + EXTEND_BYTES)

void mr_add_pages(struct sha256_ctx *ctx, uint64_t offset, uint32_t count, uint64_t secinfo_flags,
		  const uint8_t *page, size_t stride, struct sha256_rider *rider)
{
	_Alignas(64) uint8_t buf[EADD_BATCH * MR_RECORD_SIZE > MEASURED_BYTES
				 ? EADD_BATCH * MR_RECORD_SIZE : MEASURED_BYTES];

	if (!page) {
		/* Records differ only in their offset: write the rest once. */
		for (uint32_t i = 0; i < EADD_BATCH && i < count; i++)
			eadd_record(buf + i * MR_RECORD_SIZE, 0, secinfo_flags);
		for (uint32_t done = 0; done < count;) {
			uint32_t n = count - done < EADD_BATCH ? count - done : EADD_BATCH;

			for (uint32_t i = 0; i < n; i++)
				put_le64(buf + i * MR_RECORD_SIZE + 8, offset + (uint64_t)(done + i) * MR_PAGE_SIZE);
			sha256_update_blocks(ctx, buf, n, rider);
			done += n;
		}
		return;
	}
	for (uint32_t i = 0; i < count; i++, page += stride) {
		uint64_t at = offset + (uint64_t)i * MR_PAGE_SIZE;

		eadd_record(buf, at, secinfo_flags);
		eextend_stream(buf + MR_RECORD_SIZE, at, page);
		sha256_update_blocks(ctx, buf, MEASURED_BYTES / SHA256_BLOCK_SIZE, rider);
	}
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
