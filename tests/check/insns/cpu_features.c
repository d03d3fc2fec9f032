/* gcc's CPU detection: __builtin_cpu_supports runs libgcc's
 * __cpu_indicator_init, which executes CPUID (gcc/common/config/i386/
 * cpuinfo.h), and one CPUID of the program's own. */
#include <cpuid.h>
#include <stdio.h>

int main(void)
{
	unsigned a, b, c, d;
	__cpuid(0, a, b, c, d); /* EXPECT: cpuid */
	__builtin_cpu_init();
	printf("%u %d\n", a, __builtin_cpu_supports("avx2"));
	return 0;
}
