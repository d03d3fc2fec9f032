/* rename(argv[1], argv[2]) while argv[1] is open on two descriptors (one
 * close-on-exec), then write through both, fsync, read back through the
 * descriptor and through the new name; prints every step's result. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *what, long r)
{
	printf("%s: %ld %s\n", what, r, r < 0 ? strerror(errno) : "ok");
}

int main(int argc, char **argv)
{
	if (argc < 3) return 2;
	char buf[256];
	int fd = open(argv[1], O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0644);
	show("open", fd);
	show("write", write(fd, "first line\n", 11));
	int fd2 = dup(fd);
	show("rename", rename(argv[1], argv[2]));
	struct stat st;
	show("stat old", stat(argv[1], &st));
	show("write", write(fd, "second line\n", 12));
	show("pwrite dup", pwrite(fd2, "SECOND", 6, 11));
	show("fsync", fsync(fd));
	show("cloexec kept", fcntl(fd, F_GETFD) & FD_CLOEXEC);
	show("dup without", fcntl(fd2, F_GETFD) & FD_CLOEXEC);
	show("fstat size", fstat(fd2, &st) ? -1 : (long)st.st_size);
	show("lseek", lseek(fd, 0, SEEK_SET));
	long n = read(fd, buf, sizeof buf);
	show("read", n);
	printf("[%.*s]\n", (int)(n > 0 ? n : 0), buf);
	show("close", close(fd));
	show("close dup", close(fd2));
	int in = open(argv[2], O_RDONLY);
	show("reopen new", in >= 0 ? 0 : -1);
	n = read(in, buf, sizeof buf);
	printf("[%.*s]\n", (int)(n > 0 ? n : 0), buf);
	close(in);
	return 0;
}
