/* Allocate until the enclave heap runs out: malloc must fail with ENOMEM. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	size_t total = 0;
	for (;;) {
		void *p = malloc(256 << 10);
		if (!p) {
			printf("out of memory after %zu KiB: %s\n", total >> 10,
			       errno == ENOMEM ? "ENOMEM" : strerror(errno));
			return errno == ENOMEM ? 0 : 1;
		}
		total += 256 << 10;
		if (total > (1u << 30))
			return 2;
	}
}
