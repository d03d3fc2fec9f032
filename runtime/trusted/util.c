/*
 * Byte helpers with no libc dependency: they run before relocation and TLS,
 * and with -mgeneral-regs-only they never touch vector registers (the hook
 * ABI promises the caller its XMM state).
 */
#include "internal.h"

void __scone_memcpy(void *d, const void *s, size_t n)
{
	__asm__ __volatile__("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

void __scone_memset(void *d, int c, size_t n)
{
	__asm__ __volatile__("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
}

size_t __scone_strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int __scone_strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}
