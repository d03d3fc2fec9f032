/*
 * File mappings of files in directory argv[1]: MAP_PRIVATE read-only and
 * writable, MAP_SHARED writable (coherent with read/write on the same
 * file, written back on msync, munmap and exit), the access checks. The
 * output names results and contents only, so a native run on a plain
 * directory prints the same bytes. argv[2] "check": print m.txt's digest
 * and the bytes the previous run left mapped at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char D[512];
static char *P(const char *name)
{
	static char b[2][600];
	static int i;
	char *s = b[i++ % 2];
	snprintf(s, 600, "%s/%s", D, name);
	return s;
}

static unsigned long sum(const unsigned char *p, size_t n)
{
	unsigned long h = 5381;
	for (size_t i = 0; i < n; i++)
		h = h * 33 + p[i];
	return h;
}

static void file_sum(const char *what)
{
	static unsigned char buf[40000];
	int fd = open(P("m.txt"), O_RDONLY);
	long n = read(fd, buf, sizeof buf);
	close(fd);
	printf("%s: size %ld sum %lu [%.6s] [%.7s] [%.4s] [%.6s]\n", what, n, sum(buf, n > 0 ? n : 0),
	       buf + 5000, buf + 100, buf + 12282, buf + 12290);
}

#define SHOW(what, expr) do { errno = 0; long r_ = (long)(expr); \
	printf("%-24s %ld %s\n", what, r_, r_ < 0 ? strerror(errno) : ""); } while (0)

int main(int argc, char **argv)
{
	snprintf(D, sizeof D, "%s", argv[1]);
	if (argc > 2) {
		file_sum("after exit");
		return 0;
	}
	static unsigned char buf[20000];
	for (int i = 0; i < 20000; i++)
		buf[i] = 'a' + i % 26;
	int fd = open(P("m.txt"), O_CREAT | O_RDWR | O_TRUNC, 0644);
	SHOW("write", write(fd, buf, 13000));
	close(fd);
	file_sum("written");

	/* MAP_PRIVATE, read-only */
	fd = open(P("m.txt"), O_RDONLY);
	unsigned char *m = mmap(0, 13000, PROT_READ, MAP_PRIVATE, fd, 0);
	printf("private ro %s sum %lu [%.5s]\n", m == MAP_FAILED ? strerror(errno) : "ok",
	       m == MAP_FAILED ? 0 : sum(m, 13000), m == MAP_FAILED ? "" : (char *)m + 12995);
	SHOW("tail beyond the end", m == MAP_FAILED ? -1 : m[13000 + 100]);
	SHOW("munmap", munmap(m, 13000));
	/* MAP_SHARED writable on a read-only descriptor, any mapping of a write-only one */
	m = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	printf("shared rw on rdonly %s\n", m == MAP_FAILED ? strerror(errno) : "ok");
	close(fd);
	fd = open(P("m.txt"), O_WRONLY);
	m = mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	printf("private on wronly %s\n", m == MAP_FAILED ? strerror(errno) : "ok");
	close(fd);

	/* MAP_PRIVATE, writable: the stores stay in the copy */
	fd = open(P("m.txt"), O_RDWR);
	m = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 4096);
	memcpy(m + 10, "PRIVATE", 7);
	unsigned char b[8] = { 0 };
	SHOW("pread after private store", pread(fd, b, 7, 4106));
	printf("file has [%.7s] map has [%.7s]\n", b, m + 10);
	SHOW("munmap private", munmap(m, 8192));
	file_sum("after private");

	/* MAP_SHARED, writable: one view with read/write, written back */
	m = mmap(0, 16384, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	printf("shared rw %s\n", m == MAP_FAILED ? strerror(errno) : "ok");
	memcpy(m + 5000, "SHARED", 6);
	SHOW("pread sees the store", pread(fd, b, 6, 5000));
	printf("pread [%.6s]\n", b);
	SHOW("pwrite", pwrite(fd, "FDWRITE", 7, 100));
	printf("map sees the write [%.7s]\n", m + 100);
	SHOW("lseek", lseek(fd, 200, SEEK_SET));
	SHOW("write", write(fd, "xyz", 3));
	printf("map sees it [%.3s]\n", m + 200);
	SHOW("msync", msync(m, 16384, MS_SYNC));
	file_sum("after msync");
	SHOW("close fd", close(fd));
	memcpy(m + 12290, "LATEST", 6);                  /* within the file's size */
	memcpy(m + 14000, "BEYOND", 6);                  /* past it: never written back */
	SHOW("munmap shared", munmap(m, 16384));
	file_sum("after munmap");
	struct stat s;
	stat(P("m.txt"), &s);
	printf("size %lld\n", (long long)s.st_size);

	/* a shared mapping alive at exit */
	fd = open(P("m.txt"), O_RDWR);
	m = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 8192);
	close(fd);
	memcpy(m + 4090, "EXIT", 4);                     /* file offset 12282 */
	printf("exit with a mapping\n");
	return 0;
}
