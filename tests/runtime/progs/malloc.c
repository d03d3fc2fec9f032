/* Heavy malloc use inside the enclave: small and large blocks, calloc
 * zeroing, realloc growth that must keep the contents (mremap path). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what)
{
	printf("FAIL %s\n", what);
	return 1;
}

int main(void)
{
	enum { N = 20000 };
	static char *small[N];
	for (int i = 0; i < N; i++) {
		small[i] = malloc(1 + i % 200);
		if (!small[i])
			return fail("small malloc");
		memset(small[i], i & 0xff, 1 + i % 200);
	}
	for (int i = 0; i < N; i++) {
		for (int k = 0; k < 1 + i % 200; k++)
			if ((unsigned char)small[i][k] != (i & 0xff))
				return fail("small contents");
		if (i % 2)
			free(small[i]);
	}
	for (int r = 0; r < 8; r++) {
		size_t n = (size_t)(1 + r) << 20;
		unsigned char *big = malloc(n);
		if (!big)
			return fail("large malloc");
		memset(big, 0xab, n);
		unsigned char *z = calloc(n, 1);
		if (!z)
			return fail("calloc");
		for (size_t k = 0; k < n; k += 97)
			if (z[k])
				return fail("calloc not zero");
		free(big);
		free(z);
	}
	size_t len = 4096;
	unsigned char *p = malloc(len);
	for (size_t k = 0; k < len; k++)
		p[k] = (unsigned char)(k * 7);
	while (len < (16u << 20)) {
		size_t next = len * 2;
		p = realloc(p, next);
		if (!p)
			return fail("realloc");
		for (size_t k = 0; k < 4096; k += 13)
			if (p[k] != (unsigned char)(k * 7))
				return fail("realloc lost data");
		memset(p + len, 0x5a, next - len);
		len = next;
	}
	if (p[len - 1] != 0x5a)
		return fail("realloc tail");
	p = realloc(p, 8192);
	if (!p || p[4095] != (unsigned char)(4095 * 7))
		return fail("realloc shrink");
	free(p);
	printf("malloc ok\n");
	return 0;
}
