/* What a program learns from /proc/meminfo, and whether the file behaves
 * as procfs's does: read in small pieces, through stdio, lseek, pread,
 * dup, fstat, relative paths, and the calls that must fail. Prints
 * "key value" lines; tests/sizing/test_meminfo.py compares them with the
 * signed parameters (enclave) or the host's file (native). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char whole[8192];
static int err;

/* The call's result with errno captured after it (printf's arguments have
 * no order). */
#define E(call) (errno = 0, r = (long)(call), err = errno, r)

static long field(const char *text, const char *name)
{
	const char *p = strstr(text, name);
	return p ? atol(p + strlen(name) + 1) : -1;
}

static long total_of(int fd)
{
	char b[8192];
	ssize_t n = 0, r;
	if (fd < 0)
		return -errno;
	while ((r = read(fd, b + n, sizeof b - 1 - n)) > 0)
		n += r;
	b[n] = 0;
	close(fd);
	return field(b, "MemTotal");
}

int main(void)
{
	int fd = open("/proc/meminfo", O_RDONLY);
	ssize_t n = 0;
	long r;
	while ((r = read(fd, whole + n, 7)) > 0)          /* 7 bytes at a time */
		n += r;
	whole[n] = 0;
	fputs(whole, stdout);
	puts("---");
	printf("read_end %zd\n", read(fd, whole + n, 100));

	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long stdio_total = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "MemTotal: %ld kB", &stdio_total) == 1)
			break;
	printf("stdio_total %ld\n", stdio_total);
	if (f)
		fclose(f);

	struct stat st;
	r = fstat(fd, &st);
	printf("fstat %ld %o %lld %ld\n", r, st.st_mode, (long long)st.st_size, (long)st.st_blksize);

	char b[64];
	printf("lseek_set %ld\n", (long)lseek(fd, 10, SEEK_SET));
	r = read(fd, b, 5);
	printf("after_lseek %d\n", r == 5 && !memcmp(b, whole + 10, 5));
	printf("lseek_cur %ld\n", (long)lseek(fd, 3, SEEK_CUR));
	E(lseek(fd, 0, SEEK_END));
	printf("lseek_end %ld %d\n", r, err);
	E(lseek(fd, -1, SEEK_SET));
	printf("lseek_neg %ld %d\n", r, err);
	r = pread(fd, b, 8, 0);
	printf("pread %d\n", r == 8 && !memcmp(b, whole, 8));
	r = pread(fd, b, 8, 20);
	printf("pread20 %d\n", r == 8 && !memcmp(b, whole + 20, 8));

	lseek(fd, 0, SEEK_SET);
	int d = dup(fd);
	r = read(d, b, 4);
	r += read(fd, b + 4, 4);
	printf("dup_shares_offset %d\n", d != fd && r == 8 && !memcmp(b, whole, 8));
	close(d);
	int d2 = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	printf("dupfd %d\n", d2 >= 100 && pread(d2, b, 8, 0) == 8 && !memcmp(b, whole, 8));
	close(d2);

	E(write(fd, "x", 1));
	printf("write %ld %d\n", r, err);
	E(mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED);
	printf("mmap_failed %ld %d\n", r, err);
	E(open("/proc/meminfo", O_RDONLY | O_DIRECTORY));
	printf("o_directory %ld %d\n", r, err);
	E(open("/proc/meminfo", O_RDONLY | O_CREAT | O_EXCL, 0644));
	printf("o_excl %ld %d\n", r, err);
	E(open("/proc/meminfo", O_WRONLY));
	printf("o_wronly %d %d\n", r >= 0, err);

	/* Freshness as procps reads it: lseek to 0 on the same descriptor. */
	long before = field(whole, "MemFree");
	char *big = malloc(16 << 20);
	memset(big, 1, 16 << 20);
	__asm__ __volatile__("" : : "r"(big) : "memory");   /* kept: the pages are touched */
	lseek(fd, 0, SEEK_SET);
	n = 0;
	while ((r = read(fd, whole + n, sizeof whole - 1 - n)) > 0)
		n += r;
	whole[n] = 0;
	printf("memfree_drop_kb %ld\n", before - field(whole, "MemFree"));
	printf("memfree_after_kb %ld\n", field(whole, "MemFree"));
	printf("close %d\n", close(fd));
	free(big);

	printf("sysconf_kb %ld\n", sysconf(_SC_PHYS_PAGES) * (sysconf(_SC_PAGESIZE) / 1024));
	printf("self_dotdot %ld\n", total_of(open("/proc/self/../meminfo", O_RDONLY)));
	printf("slashes %ld\n", total_of(open("//proc/./meminfo", O_RDONLY)));
	int proc = open("/proc", O_RDONLY | O_DIRECTORY);
	printf("openat_dir %ld\n", total_of(openat(proc, "meminfo", O_RDONLY)));
	close(proc);
	if (chdir("/proc/self") == 0)
		printf("relative %ld\n", total_of(open("../meminfo", O_RDONLY)));
	if (chdir("/proc") == 0)
		printf("relative2 %ld\n", total_of(open("meminfo", O_RDONLY)));
	return 0;
}
