/* Prints SHA-256 of stdin once per block function: "<impl> <hex digest>". */
#include <stdio.h>

#include "sha256.h"

int main(void)
{
	static unsigned char data[1 << 21];
	size_t n = fread(data, 1, sizeof(data), stdin);

	for (int impl = SHA256_IMPL_PORTABLE; impl <= SHA256_IMPL_SHANI; impl++) {
		struct sha256_ctx ctx;
		unsigned char out[32];

		if (sha256_select(impl))
			continue;
		sha256_init(&ctx);
		sha256_update(&ctx, data, n);
		sha256_final(&ctx, out);
		printf("%s ", sha256_impl_name());
		for (int i = 0; i < 32; i++)
			printf("%02x", out[i]);
		printf("\n");
	}
	return 0;
}
