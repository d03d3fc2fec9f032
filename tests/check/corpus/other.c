/* Other calls the table refuses, through their libc wrappers. */
#include <stdio.h>
#include <sys/io.h>
#include <sys/shm.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	(void)argv;
	if (argc > 2) iopl(3); /* EXPECT: iopl */
	if (argc > 3) ioperm(0x80, 1, 1); /* EXPECT: ioperm */
	if (argc > 4) shmat(0, 0, 0); /* EXPECT: shmat */
	puts("other");
	return 0;
}
