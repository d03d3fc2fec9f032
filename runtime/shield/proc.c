/*
 * /proc/meminfo inside the enclave: the enclave's memory, as container
 * runtimes (lxcfs) report a cgroup's limit. The signed heap is the
 * machine's memory, and what the allocator has not handed out is free:
 * the figures sysinfo reports (memory.c), so both ways of asking agree.
 *
 * Fields, in Linux's order and format ("%-16s%8lu kB"):
 *   MemTotal            the signed heap
 *   MemFree, MemAvailable   the heap not handed out
 *   Active, Active(anon), AnonPages, Committed_AS   derived: total - free
 *   CommitLimit         total (no swap, no overcommit beyond the heap)
 *   Hugepagesize        2048 kB, as x86-64 Linux always says
 *   every other field   0 (no page cache, swap, slab or huge pages inside)
 *
 * Served like a procfs file: open of a path that folds to "/proc/meminfo"
 * (absolute, relative, /proc/self/../meminfo; symbolic links elsewhere are
 * the host's business) generates the text; read, pread, readv and lseek
 * (SEEK_SET, SEEK_CUR) move through it, a read from offset 0 generates it
 * again (seq_file); fstat says a regular file of size 0, mode 0444; mmap
 * fails with EIO and writes with EBADF, as on Linux; opening it for writing
 * is refused (EACCES; root's override is not the enclave's). The
 * descriptor is a host placeholder (/dev/null, read-only, opened through the
 * client) so its number never collides with the host's, and poll, fcntl's
 * flags and fchdir answer as for a regular file. Each open description is
 * one heap page; the table below maps descriptors to them.
 */
#include "shield.h"
#include "spin.h"

#define EBADF 9
#define EACCES 13
#define EEXIST 17
#define ENOTDIR 20
#define EINVAL 22
#define EMFILE 24
#define EIO 5
#define O_ACCMODE 03
#define O_CREAT 0100
#define O_EXCL 0200
#define O_NONBLOCK 04000
#define O_LARGEFILE 0100000
#define O_DIRECTORY 0200000
#define O_CLOEXEC 02000000
#define O_PATH 010000000
#define AT_FDCWD (-100)
#define AT_EMPTY_PATH 0x1000

#define SLOTS 32

struct desc {
	uint32_t refs, len;
	uint64_t off;
	char text[4096 - 16];
};

static struct {
	long fd;
	struct desc *d;
} slot[SLOTS];
int __scone_proc_fds;    /* descriptors in slot[]; 0 = no cost on other calls */
static int lk;

/* Name, then the kind of value: '0' zero, '1' total, '2' free, '3' used,
 * '4' a count of huge pages (no unit), '5' the huge page size. */
static const char fields[] =
	"MemTotal:1MemFree:2MemAvailable:2Buffers:0Cached:0SwapCached:0Active:3Inactive:0"
	"Active(anon):3Inactive(anon):0Active(file):0Inactive(file):0Unevictable:0Mlocked:0"
	"SwapTotal:0SwapFree:0Dirty:0Writeback:0AnonPages:3Mapped:0Shmem:0KReclaimable:0"
	"Slab:0SReclaimable:0SUnreclaim:0KernelStack:0PageTables:0NFS_Unstable:0Bounce:0"
	"WritebackTmp:0CommitLimit:1Committed_AS:3VmallocTotal:0VmallocUsed:0VmallocChunk:0"
	"Percpu:0HugePages_Total:4HugePages_Free:4HugePages_Rsvd:4HugePages_Surp:4"
	"Hugepagesize:5Hugetlb:0";

struct k_sysinfo_head {       /* the part of struct sysinfo read here */
	long uptime;
	unsigned long loads[3], totalram, freeram;
	char rest[112 - 48];
};

static uint32_t generate(char *out)
{
	struct k_sysinfo_head si;
	__scone_sys_sysinfo(&si);
	uint64_t v[6] = { 0, si.totalram >> 10, si.freeram >> 10, (si.totalram - si.freeram) >> 10, 0, 2048 };
	char *o = out;
	for (const char *f = fields; *f; f++) {
		char *line = o;
		while (*f < '0' || *f > '9')
			*o++ = *f++;
		while (o - line < 16)
			*o++ = ' ';
		char d[24];
		int n = 0;
		uint64_t x = v[*f - '0'];
		do d[n++] = (char)('0' + x % 10); while ((x /= 10));
		for (int pad = n; pad < 8; pad++)
			*o++ = ' ';
		while (n)
			*o++ = d[--n];
		if (*f != '4') {
			__scone_memcpy(o, " kB", 3);
			o += 3;
		}
		*o++ = '\n';
	}
	return (uint32_t)(o - out);
}

static int is_meminfo(long dirfd, const char *path)
{
	static const char want[] = "/proc/meminfo";
	if (!path)
		return 0;
	size_t n = __scone_strlen(path);
	/* Only names whose last part is "meminfo" pay for resolving. */
	if (n < 7 || __scone_strncmp(path + n - 7, want + 6, 7) || (n > 7 && path[n - 8] != '/'))
		return 0;
	if (n == sizeof want - 1 && !__scone_strncmp(path, want, n))
		return 1;
	char p[SCONE_PATH_MAX];
	return __scone_shield_abspath(dirfd, path, p) == 0 && !__scone_strncmp(p, want, sizeof want);
}

static struct desc **find(long fd)
{
	for (int i = 0; i < SLOTS; i++)
		if (slot[i].d && slot[i].fd == fd)
			return &slot[i].d;
	return 0;
}

static void drop(long fd)        /* lock held */
{
	struct desc **s = find(fd);
	if (!s)
		return;
	struct desc *d = *s;
	*s = 0;
	__scone_proc_fds--;
	if (--d->refs == 0)
		__scone_sys_munmap((unsigned long)d, sizeof *d);
}

static long add(long fd, struct desc *d)     /* lock held */
{
	drop(fd);
	for (int i = 0; i < SLOTS; i++)
		if (!slot[i].d) {
			slot[i].fd = fd;
			slot[i].d = d;
			d->refs++;
			__scone_proc_fds++;
			return fd;
		}
	return -EMFILE;
}

static long host(long nr, long a0, long a1, long a2, long a3)
{
	long a[6] = { a0, a1, a2, a3 };
	return __scone_shield_host(nr, a);
}

static long open_meminfo(long flags)
{
	if (flags & O_DIRECTORY)
		return -ENOTDIR;
	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
		return -EEXIST;
	if (flags & O_ACCMODE)
		return -EACCES;
	long m = __scone_sys_mmap(0, sizeof(struct desc), 3, 0x22, -1, 0);
	if (m < 0)
		return m;
	struct desc *d = (struct desc *)m;
	d->len = generate(d->text);
	static const char devnull[] = "/dev/null";
	long fd = host(257, AT_FDCWD, (long)devnull, flags & (O_CLOEXEC | O_NONBLOCK | O_LARGEFILE), 0);
	long r = fd;
	if (fd >= 0) {
		scone_spin_lock(&lk);
		r = (unsigned long)fd > 0x7fffffff || find(fd) ? -EIO : add(fd, d);   /* a host that reuses a live number lies */
		scone_spin_unlock(&lk);
		if (r < 0)
			host(3, fd, 0, 0, 0);
	}
	if (r < 0)
		__scone_sys_munmap((unsigned long)m, sizeof *d);
	return r;
}

/* Up to len bytes at *off into buf (lock held). */
static long copy_out(struct desc *d, uint64_t *off, char *buf, unsigned long len)
{
	if (*off == 0)
		d->len = generate(d->text);
	if (*off >= d->len)
		return 0;
	unsigned long n = d->len - *off < len ? d->len - *off : len;
	__scone_memcpy(buf, d->text + *off, n);
	*off += n;
	return (long)n;
}

struct iov {
	char *base;
	unsigned long len;
};

static long fd_call(long nr, const long a[6], struct desc *d)
{
	uint64_t at = (uint64_t)a[3];
	uint64_t *off = nr == 0 || nr == 19 || ((nr == 295 || nr == 327) && a[3] == -1) ? &d->off : &at;
	switch (nr) {
	case 17: case 295: case 327:                     /* pread64, preadv, preadv2 */
		if (a[3] < (nr == 327 ? -1 : 0))
			return -EINVAL;
		/* fall through */
	case 0: case 19: {                               /* read, readv */
		if (nr == 0 || nr == 17)
			return copy_out(d, off, (char *)a[1], (unsigned long)a[2]);
		const struct iov *v = (const struct iov *)a[1];
		if (a[2] < 0 || a[2] > 1024)
			return -EINVAL;
		long total = 0;
		for (long i = 0; i < a[2]; i++) {
			long r = copy_out(d, off, v[i].base, v[i].len);
			total += r;
			if ((unsigned long)r < v[i].len)
				break;
		}
		return total;
	}
	case 1: case 18: case 20: case 296: case 328:    /* writes: opened read-only */
		return -EBADF;
	case 8:                                          /* lseek: seq_lseek */
		if ((a[2] != 0 && a[2] != 1) || (a[2] == 1 ? (int64_t)d->off + a[1] : a[1]) < 0)
			return -EINVAL;
		d->off = a[2] == 1 ? d->off + (uint64_t)a[1] : (uint64_t)a[1];
		return (long)d->off;
	case 5: case 262: {                              /* fstat, fstatat(fd, "", AT_EMPTY_PATH) */
		unsigned long st[18] = { 0 };            /* Linux's x86-64 struct stat */
		st[1] = 1;                               /* st_ino */
		st[2] = 1;                               /* st_nlink */
		st[3] = 0100444;                         /* st_mode (uid, gid 0) */
		st[7] = 1024;                            /* st_blksize */
		__scone_memcpy((void *)a[nr == 5 ? 1 : 2], st, sizeof st);
		return 0;
	}
	case 332: {                                      /* statx(fd, "", AT_EMPTY_PATH) */
		unsigned char sx[256];
		uint32_t mask = 0x7ff, blksize = 1024, nlink = 1;
		uint16_t mode = 0100444;
		uint64_t ino = 1;
		__scone_memset(sx, 0, sizeof sx);
		__scone_memcpy(sx, &mask, 4);
		__scone_memcpy(sx + 4, &blksize, 4);
		__scone_memcpy(sx + 16, &nlink, 4);
		__scone_memcpy(sx + 28, &mode, 2);
		__scone_memcpy(sx + 32, &ino, 8);
		__scone_memcpy((void *)a[4], sx, sizeof sx);
		return 0;
	}
	}
	return -EIO;   /* not reached: see owns() */
}

/* The calls on our descriptor served here; the rest go to the placeholder. */
static int served(long nr, const long a[6])
{
	switch (nr) {
	case 0: case 1: case 5: case 8: case 17: case 18: case 19: case 20:
	case 295: case 296: case 327: case 328:
		return 1;
	case 262: case 332:
		return a[1] && !*(const char *)a[1] && (a[nr == 262 ? 3 : 2] & AT_EMPTY_PATH);
	}
	return 0;
}

long __scone_proc_call(long nr, const long a[6], int *handled)
{
	*handled = 0;
	if (nr == 2 || nr == 257) {
		long dirfd = nr == 2 ? AT_FDCWD : a[0];
		const long *b = nr == 2 ? a : a + 1;
		if ((b[1] & O_PATH) || !is_meminfo(dirfd, (const char *)b[0]))
			return 0;
		*handled = 1;
		return open_meminfo(b[1]);
	}
	if (!__atomic_load_n(&__scone_proc_fds, __ATOMIC_RELAXED))
		return 0;
	long r = 0;
	switch (nr) {
	case 3:                                          /* close */
	case 32: case 33: case 292:                      /* dup, dup2, dup3 */
	case 72:                                         /* fcntl(F_DUPFD, F_DUPFD_CLOEXEC) */
		if (nr == 72 && a[1] != 0 && a[1] != 1030)
			break;
		scone_spin_lock(&lk);
		struct desc **s = find(a[0]);
		struct desc *d = s ? *s : 0;
		if (!d && (nr == 3 || nr == 32 || nr == 72 || !find(a[1]) ||
			   (__scone_shield_on && __scone_shield_owns_fd(a[0])))) {
			if (!d && (nr == 33 || nr == 292) && a[0] != a[1])
				drop(a[1]);              /* an ephemeral file's dup2 onto ours: its shield's */
			scone_spin_unlock(&lk);
			return 0;
		}
		if (d)
			d->refs++;                       /* held across the host call */
		scone_spin_unlock(&lk);
		*handled = 1;
		r = __scone_shield_host(nr, a);
		scone_spin_lock(&lk);
		if (nr == 3)
			drop(a[0]);                      /* Linux releases it even on error */
		else if (r >= 0 && r != a[0]) {
			if (d) {
				long k = add(r, d);
				if (k < 0) {
					scone_spin_unlock(&lk);
					host(3, r, 0, 0, 0);
					scone_spin_lock(&lk);
					r = k;
				}
			} else {
				drop(r);                 /* someone else's dup2 onto ours */
			}
		}
		if (d && --d->refs == 0)
			__scone_sys_munmap((unsigned long)d, sizeof *d);
		scone_spin_unlock(&lk);
		return r;
	case 436:                                        /* close_range: ours go too */
		if ((unsigned long)a[0] <= (unsigned long)a[1] && !(a[2] & 4)) {
			scone_spin_lock(&lk);
			for (int i = 0; i < SLOTS; i++)
				if (slot[i].d && (unsigned long)slot[i].fd >= (unsigned long)a[0] &&
				    (unsigned long)slot[i].fd <= (unsigned long)a[1])
					drop(slot[i].fd);
			scone_spin_unlock(&lk);
		}
		return 0;                                /* then the host's, and the shields' */
	case 40: case 275: case 326:                     /* sendfile, splice, copy_file_range */
		if (!__scone_proc_owns(nr == 40 ? a[1] : a[0]))
			return 0;
		*handled = 1;
		return -EINVAL;                          /* callers fall back to read */
	}
	if (!served(nr, a))
		return 0;
	scone_spin_lock(&lk);
	struct desc **s = find(a[0]);
	if (s) {
		*handled = 1;
		r = fd_call(nr, a, *s);
	}
	scone_spin_unlock(&lk);
	return *handled ? r : 0;
}

int __scone_proc_owns(long fd)
{
	if (!__atomic_load_n(&__scone_proc_fds, __ATOMIC_RELAXED))
		return 0;
	scone_spin_lock(&lk);
	int r = find(fd) != 0;
	scone_spin_unlock(&lk);
	return r;
}
