/* Descriptor moves on the standard streams (FORMAT.md "Descriptors"): a dup
 * of stdout is stdout, 2>&1 done by the program, a file put on fd 1 with
 * dup2, close of a copy. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static void say(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		_exit(20 + fd);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	say(1, "a\n");
	say(2, "to stderr\n");
	int d = dup(1);
	say(d, "b\n");
	int e = fcntl(1, F_DUPFD_CLOEXEC, 10);
	say(e, "b2\n");
	close(e);
	dup2(1, 2);                         /* 2>&1 */
	say(2, "c\n");
	int f = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(f, 1);                         /* >file */
	close(f);
	say(1, "into the file\n");
	say(d, "d\n");
	close(d);
	say(2, "e\n");
	return 0;
}
