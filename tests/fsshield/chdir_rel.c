/* Relative names after chdir and fchdir inside argv[1]: each line names a
 * file by a relative path and gives what stat and a read see there. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void put(const char *name, const char *text)
{
	int fd = open(name, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd))
		printf("write %s failed\n", name);
}

static void show(const char *where, const char *name)
{
	struct stat st;
	char buf[64] = {0};
	int fd = open(name, O_RDONLY);
	long n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	if (fd >= 0)
		close(fd);
	printf("%s %s: stat %d size %ld read %ld [%s] access %d\n", where, name, stat(name, &st),
	       stat(name, &st) ? -1L : (long)st.st_size, n, n > 0 ? buf : "", access(name, F_OK));
}

int main(int argc, char **argv)
{
	if (argc < 2 || chdir(argv[1]) || mkdir("d", 0700) || mkdir("d/e", 0700))
		return 1;
	put("top.txt", "top\n");
	if (chdir("d"))
		return 2;
	put("x.txt", "in d\n");
	show("d", "x.txt");
	show("d", "../top.txt");
	if (chdir("e"))
		return 3;
	put("y.txt", "in d/e\n");
	show("d/e", "y.txt");
	show("d/e", "../x.txt");
	if (chdir("../.."))
		return 4;
	show(".", "d/x.txt");
	show(".", "d/e/y.txt");
	show(".", "x.txt");
	int dfd = open("d/e", O_RDONLY | O_DIRECTORY);
	if (dfd < 0 || fchdir(dfd))
		return 5;
	close(dfd);
	show("fchdir d/e", "y.txt");
	put("z.txt", "after fchdir\n");
	if (chdir(argv[1]))
		return 6;
	show(".", "d/e/z.txt");
	show(".", "z.txt");
	return 0;
}
