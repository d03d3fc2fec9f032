/* The block functions behind sha256.c: internal to libsgxcrypto. */
#ifndef SCONE_SGXCRYPTO_SHA256_BLOCKS_H
#define SCONE_SGXCRYPTO_SHA256_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

typedef void sha256_blocks_fn(uint32_t h[8], const uint8_t *p, size_t nblocks);

extern const uint32_t sha256_k[64];
sha256_blocks_fn sha256_blocks_portable;
sha256_blocks_fn sha256_blocks_shani;
/* Two independent messages of nblocks blocks each, in one pass. */
void sha256_blocks_shani_x2(uint32_t ha[8], const uint8_t *pa,
			    uint32_t hb[8], const uint8_t *pb, size_t nblocks);
int sha256_cpu_has_shani(void);

#endif
