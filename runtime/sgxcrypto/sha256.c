/* FIPS 180-4 SHA-256: buffering, padding and the run-time choice of block function. */
#include <string.h>

#include "sha256.h"
#include "sha256_blocks.h"

/*
 * Resolved on first use; a race between two first users only stores the same
 * pointer twice, so relaxed atomics suffice.
 */
static sha256_blocks_fn *blocks_fn;

static sha256_blocks_fn *blocks(void)
{
	sha256_blocks_fn *f = __atomic_load_n(&blocks_fn, __ATOMIC_RELAXED);

	if (!f) {
		f = sha256_cpu_has_shani() ? sha256_blocks_shani : sha256_blocks_portable;
		__atomic_store_n(&blocks_fn, f, __ATOMIC_RELAXED);
	}
	return f;
}

int sha256_select(enum sha256_impl impl)
{
	sha256_blocks_fn *f;

	switch (impl) {
	case SHA256_IMPL_AUTO:
		f = sha256_cpu_has_shani() ? sha256_blocks_shani : sha256_blocks_portable;
		break;
	case SHA256_IMPL_PORTABLE:
		f = sha256_blocks_portable;
		break;
	case SHA256_IMPL_SHANI:
		if (!sha256_cpu_has_shani())
			return -1;
		f = sha256_blocks_shani;
		break;
	default:
		return -1;
	}
	__atomic_store_n(&blocks_fn, f, __ATOMIC_RELAXED);
	return 0;
}

const char *sha256_impl_name(void)
{
	return blocks() == sha256_blocks_shani ? "sha-ni" : "portable";
}

void sha256_init(struct sha256_ctx *ctx)
{
	static const uint32_t h0[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(ctx->h, h0, sizeof(h0));
	ctx->nbytes = 0;
}

void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t have = ctx->nbytes % SHA256_BLOCK_SIZE;
	sha256_blocks_fn *f = blocks();

	if (!len)                  /* data may be NULL then */
		return;
	ctx->nbytes += len;
	if (have) {
		size_t take = SHA256_BLOCK_SIZE - have;

		if (len < take) {
			memcpy(ctx->buf + have, p, len);
			return;
		}
		memcpy(ctx->buf + have, p, take);
		f(ctx->h, ctx->buf, 1);
		p += take;
		len -= take;
	}
	if (len >= SHA256_BLOCK_SIZE) {
		f(ctx->h, p, len / SHA256_BLOCK_SIZE);
		p += len & ~(size_t)(SHA256_BLOCK_SIZE - 1);
		len %= SHA256_BLOCK_SIZE;
	}
	memcpy(ctx->buf, p, len);
}

void sha256_final(struct sha256_ctx *ctx, uint8_t out[SHA256_DIGEST_SIZE])
{
	uint64_t bits = ctx->nbytes * 8;
	size_t have = ctx->nbytes % SHA256_BLOCK_SIZE;
	sha256_blocks_fn *f = blocks();

	ctx->buf[have++] = 0x80;
	if (have > SHA256_BLOCK_SIZE - 8) {
		memset(ctx->buf + have, 0, SHA256_BLOCK_SIZE - have);
		f(ctx->h, ctx->buf, 1);
		have = 0;
	}
	memset(ctx->buf + have, 0, SHA256_BLOCK_SIZE - 8 - have);
	for (int i = 0; i < 8; i++)
		ctx->buf[SHA256_BLOCK_SIZE - 1 - i] = (uint8_t)(bits >> (8 * i));
	f(ctx->h, ctx->buf, 1);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(ctx->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(ctx->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(ctx->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)ctx->h[i];
	}
}

void sha256_rider_init(struct sha256_rider *r, const void *data, size_t len)
{
	sha256_init(&r->ctx);
	r->p = data;
	r->left = len;
}

void sha256_rider_final(struct sha256_rider *r, uint8_t out[SHA256_DIGEST_SIZE])
{
	sha256_update(&r->ctx, r->p, r->left);
	r->p += r->left;
	r->left = 0;
	sha256_final(&r->ctx, out);
}

void sha256_update_blocks(struct sha256_ctx *ctx, const void *data, size_t nblocks,
			  struct sha256_rider *r)
{
	const uint8_t *p = data;
	sha256_blocks_fn *f = blocks();

	if (ctx->nbytes % SHA256_BLOCK_SIZE) {      /* not on a block boundary: no shortcut */
		sha256_update(ctx, data, nblocks * SHA256_BLOCK_SIZE);
		return;
	}
	ctx->nbytes += nblocks * SHA256_BLOCK_SIZE;
	/* Riders start at their message's beginning and move in whole blocks,
	 * so their buffers stay empty. */
	size_t both = r ? r->left / SHA256_BLOCK_SIZE : 0;
	if (both > nblocks)
		both = nblocks;
	if (both) {
		if (f == sha256_blocks_shani) {
			sha256_blocks_shani_x2(ctx->h, p, r->ctx.h, r->p, both);
		} else {
			f(ctx->h, p, both);
			f(r->ctx.h, r->p, both);
		}
		r->ctx.nbytes += both * SHA256_BLOCK_SIZE;
		r->p += both * SHA256_BLOCK_SIZE;
		r->left -= both * SHA256_BLOCK_SIZE;
		p += both * SHA256_BLOCK_SIZE;
		nblocks -= both;
	}
	if (nblocks)
		f(ctx->h, p, nblocks);
}

void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_SIZE])
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, data, len);
	sha256_final(&ctx, out);
}
