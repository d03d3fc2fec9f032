/*
 * SHA-256 (FIPS 180-4) for the starter: the loader measures every enclave
 * page with it, so it picks the SHA-NI instructions at run time when the CPU
 * has them and falls back to portable C otherwise.
 */
#ifndef SCONE_SGXCRYPTO_SHA256_H
#define SCONE_SGXCRYPTO_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32u
#define SHA256_BLOCK_SIZE 64u

struct sha256_ctx {
	uint32_t h[8];
	uint64_t nbytes;           /* total bytes fed so far */
	uint8_t buf[SHA256_BLOCK_SIZE];
};

/* FIPS 180-4 §5.3.3: initial hash value H(0). */
void sha256_init(struct sha256_ctx *ctx);
/* FIPS 180-4 §6.2.2: hash len more bytes of the message. */
void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len);
/* FIPS 180-4 §5.1.1 padding, then the digest (big-endian words, as usual). */
void sha256_final(struct sha256_ctx *ctx, uint8_t out[SHA256_DIGEST_SIZE]);
/* One-shot convenience over the three calls above. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_SIZE]);

/*
 * A second message hashed alongside whole blocks of another
 * (sha256_update_blocks): with SHA-NI the two chains take the time of about
 * one. The rider's bytes must stay readable until sha256_rider_final.
 */
struct sha256_rider {
	struct sha256_ctx ctx;
	const uint8_t *p;          /* next byte not hashed yet */
	size_t left;               /* bytes not hashed yet */
};

void sha256_rider_init(struct sha256_rider *r, const void *data, size_t len);
/* Hashes what the rides left over, then the digest of the whole message. */
void sha256_rider_final(struct sha256_rider *r, uint8_t out[SHA256_DIGEST_SIZE]);
/*
 * sha256_update of nblocks whole blocks, hashing up to as many blocks of r
 * (NULL: none) in the same pass.
 */
void sha256_update_blocks(struct sha256_ctx *ctx, const void *data, size_t nblocks,
			  struct sha256_rider *r);

enum sha256_impl {
	SHA256_IMPL_AUTO = 0,      /* SHA-NI when CPUID says so, else portable */
	SHA256_IMPL_PORTABLE = 1,
	SHA256_IMPL_SHANI = 2,
};

/*
 * Choose the block function (tests and benchmarks compare both). Returns 0,
 * or -1 if the CPU lacks what impl needs (the choice is then unchanged).
 */
int sha256_select(enum sha256_impl impl);
/* "sha-ni" or "portable": the block function now in use. */
const char *sha256_impl_name(void);

#endif
