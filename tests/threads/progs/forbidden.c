/* Instructions an enclave may not execute: SYSCALL, RDTSC/RDTSCP (SGX1),
 * CPUID. argv[1] picks one; the same lines natively and in the enclave
 * (where they are emulated or, for SYSCALL, refused). */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

__attribute__((noinline)) static long raw_getpid(void)
{
	long r;
	__asm__ __volatile__("syscall" : "=a"(r) : "a"(39L) : "rcx", "r11", "memory");
	return r;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	if (!strcmp(c, "syscall")) {
		printf("getpid agrees %d\n", raw_getpid() == getpid());
	} else if (!strcmp(c, "rdtsc")) {
		unsigned long long a = __rdtsc(), b = __rdtsc();
		printf("rdtsc in order %d\n", b >= a);
	} else if (!strcmp(c, "rdtscp")) {
		unsigned aux;
		unsigned long long a = __rdtscp(&aux), b = __rdtscp(&aux);
		printf("rdtscp in order %d\n", b >= a);
	} else if (!strcmp(c, "tsc-rate")) {
		struct timespec d = { 0, 10000000 };
		unsigned long long a = __rdtsc();
		nanosleep(&d, NULL);
		printf("delta %llu\n", __rdtsc() - a);
	} else if (!strcmp(c, "cpuid")) {
		unsigned a, b, cc, d;
		__cpuid(0, a, b, cc, d);
		printf("highest leaf at least 1: %d\n", a >= 1);
	} else if (!strcmp(c, "leaves")) {
		unsigned a, b, cc, d;
		char v[13];
		__cpuid(0, a, b, cc, d);
		memcpy(v, &b, 4), memcpy(v + 4, &d, 4), memcpy(v + 8, &cc, 4), v[12] = 0;
		printf("vendor %s max %u\n", v, a);
		__cpuid_count(7, 0, a, b, cc, d);
		printf("avx2 %u\n", (b >> 5) & 1);
		__cpuid(1, a, b, cc, d);
		printf("sse2 %u family-model-stepping %#x\n", (d >> 26) & 1, a);
	} else if (!strcmp(c, "builtin")) {
		__builtin_cpu_init();
		printf("sse2 %d avx2 %d\n", !!__builtin_cpu_supports("sse2"), !!__builtin_cpu_supports("avx2"));
	} else if (strcmp(c, "nothing")) {
		return 2;
	}
	return 0;
}
