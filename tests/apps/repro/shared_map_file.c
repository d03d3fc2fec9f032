/*
 * A writable MAP_SHARED mapping of a regular file, as SQLite's WAL index
 * (-shm) uses it: stores through the map, pread/pwrite on the descriptor,
 * msync, munmap and mapping again, ftruncate under the map, and stores that
 * only exit writes back. Prints what it reads; the test compares with the
 * same program run natively. Usage: shared_map_file FILE
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096

static void show(const char *what, const char *p, size_t n)
{
	printf("%s: %.*s\n", what, (int)n, p);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
	char page[2 * PG], buf[16];
	memset(page, '.', sizeof page);
	if (fd < 0 || pwrite(fd, page, sizeof page, 0) != sizeof page)
		return perror("set-up"), 1;

	char *p = mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return perror("mmap MAP_SHARED PROT_WRITE"), 1;
	memcpy(p + 100, "hello", 5);
	pread(fd, buf, 5, 100);
	show("pread after a store through the map", buf, 5);
	pwrite(fd, "WORLD", 5, 200);
	show("map after pwrite", p + 200, 5);
	lseek(fd, 300, SEEK_SET);
	write(fd, "write", 5);
	show("map after write", p + 300, 5);
	lseek(fd, 98, SEEK_SET);
	read(fd, buf, 9);
	show("read across the store", buf, 9);
	printf("msync: %d\n", msync(p, 2 * PG, MS_SYNC));

	int other = open(argv[1], O_RDONLY);
	pread(other, buf, 5, 100);
	show("another descriptor after msync", buf, 5);
	close(other);

	printf("munmap: %d\n", munmap(p, 2 * PG));
	p = mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	show("mapped again", p + 100, 5);
	show("mapped again", p + 200, 5);

	/* Cut to one page and grow back: the second page reads as zeros. */
	p[PG + 10] = 'x';
	ftruncate(fd, PG);
	ftruncate(fd, 2 * PG);
	printf("after ftruncate: %d %c\n", p[PG + 10], p[10]);

	/* Closed descriptor, live mapping: stores still reach the file. */
	close(fd);
	memcpy(p + 400, "kept!", 5);
	memcpy(p + PG + 500, "at exit", 7);
	printf("munmap of the first page: %d\n", munmap(p, PG));
	fflush(stdout);
	return 0;   /* the second page is written back by exit */
}
