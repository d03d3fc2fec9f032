/* A system call made with the instruction itself, not through libc. */
#include <stdio.h>

int main(void)
{
	long r;
	__asm__ __volatile__("syscall" : "=a"(r) : "a"(39L) : "rcx", "r11", "memory"); /* EXPECT: syscall */
	printf("%ld\n", r);
	return 0;
}
