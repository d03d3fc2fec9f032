/* The block functions behind sha256.c: internal to libsgxcrypto. */
#ifndef SCONE_SGXCRYPTO_SHA256_BLOCKS_H
#define SCONE_SGXCRYPTO_SHA256_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

typedef void sha256_blocks_fn(uint32_t h[8], const uint8_t *p, size_t nblocks);

extern const uint32_t sha256_k[64];
sha256_blocks_fn sha256_blocks_portable;
sha256_blocks_fn sha256_blocks_shani;
int sha256_cpu_has_shani(void);

#endif
