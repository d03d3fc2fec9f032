/* Raw system calls: inline assembly with a constant number, syscall() and clone(). */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static char stack[8192];

static int child(void *arg) { (void)arg; return 0; }

static long raw_fork(void)
{
	long r;
	__asm__ volatile ("mov $57, %%eax\n\tsyscall" : "=a"(r) : : "rcx", "r11", "memory"); /* EXPECT: fork */
	return r;
}

static long raw_ptrace(void)
{
	long r;
	__asm__ volatile ("movl $101, %%eax\n\txor %%edi, %%edi\n\tsyscall" : "=a"(r) : : "rdi", "rcx", "r11", "memory"); /* EXPECT: ptrace */
	return r;
}

static long raw_clone_process(void)
{
	long r;
	__asm__ volatile ("mov $17, %%edi\n\txor %%esi, %%esi\n\tmov $56, %%eax\n\tsyscall" : "=a"(r) : : "rdi", "rsi", "rcx", "r11", "memory"); /* EXPECT: clone */
	return r;
}

int main(int argc, char **argv)
{
	(void)argv;
	if (argc > 2) raw_fork();
	if (argc > 3) raw_ptrace();
	if (argc > 4) raw_clone_process();
	if (argc > 5) syscall(SYS_fork); /* EXPECT: fork */
	if (argc > 6) syscall(SYS_execve, "/bin/true", 0, 0); /* EXPECT: execve */
	if (argc > 7) clone(child, stack + sizeof stack, SIGCHLD, 0); /* EXPECT: clone */
	if (argc > 8) syscall(SYS_clone, SIGCHLD, 0); /* EXPECT: clone */
	if (argc > 9) syscall(SYS_clone3, 0, 0); /* EXPECT: clone3 */
	printf("%ld\n", syscall(SYS_getpid));
	return 0;
}
