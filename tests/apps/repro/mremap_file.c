/*
 * mremap growing a file mapping, as SQLite's unix VFS does when the file it
 * maps grows (unixRemapfile; the sorter with SQLITE_TESTCTRL_SORTER_MMAP):
 * the grown part shows the file's bytes there, not zeros.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
	char page[PG];
	for (int i = 0; i < 3; i++) {
		memset(page, 'A' + i, PG);
		if (pwrite(fd, page, PG, (off_t)i * PG) != PG)
			return perror("set-up"), 1;
	}
	char *p = mmap(0, PG + 100, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return perror("mmap"), 1;
	/* Something right after it, so that growing has to move the mapping. */
	char *q = mmap(p + 2 * PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *r = mremap(p, PG + 100, 3 * PG, MREMAP_MAYMOVE);
	if (r == MAP_FAILED)
		return perror("mremap"), 1;
	printf("%c %c %c\n", r[10], r[PG + 10], r[2 * PG + 10]);
	r = mremap(r, 3 * PG, PG, 0);
	printf("shrunk: %c\n", r[10]);
	munmap(q, PG);
	return 0;
}
