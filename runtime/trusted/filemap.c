/*
 * File mappings (filemap.h). The enclave cannot share pages with the host's
 * page cache, so a file mapping is an enclave copy of the file range. Linux
 * gives a process one coherent view of a file through its shared mappings
 * and its read()/write() calls; for this one process the copy keeps that
 * view:
 *  - writes through a descriptor (write, pwrite64) are copied into every
 *    shared copy of the range; reads (read, pread64) see what the writable
 *    copies hold; other calls that move file content (the vectored forms,
 *    ftruncate, fallocate, copy_file_range, sendfile, splice) write the
 *    writable copies back first and re-read every copy afterwards;
 *  - a writable shared copy is written back on msync, munmap, fsync of the
 *    file and exit (without dirty bits, the whole range, clamped to the
 *    file's size, as msync never extends a file);
 *  - two enclave copies of one file range cannot both see each other's
 *    stores (SGX1 cannot map one page at two addresses), so a writable
 *    shared mapping may overlap another shared mapping of the same file
 *    only when it lies within one such mapping, its base: it is then a
 *    shadow, a copy of the base's bytes at mmap time that is never written
 *    back nor read from; the base stays the file's content, and when the
 *    base is unmapped whole, its last bytes are copied into the shadow,
 *    which takes its place. That is what sem_open of an open semaphore
 *    needs (musl maps the file again, finds it open, unmaps the new one),
 *    and a later mapping that outlives an earlier one; stores through a
 *    shadow while its base lives are not seen through the base. Any other
 *    overlap is refused (-ENODEV).
 * A protected file's (the shield's encrypted or authenticated one) copy
 * holds its plaintext: the mapping's own calls on it (fstat, pread, pwrite,
 * the private dup, close) go to the shield, its descriptor calls come here
 * through __scone_fmap_through, and msync of it is a commit of its volume.
 * Other processes see the stores only at those write-back points, and
 * stores they make are never seen: one process per file, as for SQLite's
 * -shm index when no other process opens the database.
 *
 * Each mapped file keeps a private descriptor (a dup placed high), so the
 * mapping outlives the application's descriptor, as it does on Linux;
 * close/dup2/dup3 never touch it. The table lock is a spinlock held only for
 * table work and memcpy, never across a system call (lthreads park there).
 */
#include "filemap.h"
#include "client.h"
#include "spin.h"
#include "../shield/shield.h"

#define EBADF 9
#define ENOMEM 12
#define ENODEV 19
#define PAGE 4096ul
#define MAX_MAPS 1024
#define MAX_FILES 256
#define CACHE_FDS 1024
#define PROT_WRITE 2
#define MAP_TYPE 3
#define MAP_SHARED 1
#define MAP_SHARED_VALIDATE 3
#define F_DUPFD_CLOEXEC 1030
#define SEEK_CUR 1
#define RLIMIT_NOFILE 7

enum { NR_read = 0, NR_write = 1, NR_close = 3, NR_fstat = 5, NR_lseek = 8, NR_pread = 17,
       NR_pwrite = 18, NR_readv = 19, NR_writev = 20, NR_dup2 = 33, NR_sendfile = 40,
       NR_fcntl = 72, NR_fsync = 74, NR_fdatasync = 75, NR_ftruncate = 77, NR_getrlimit = 97,
       NR_splice = 275, NR_sync_file_range = 277, NR_fallocate = 285, NR_dup3 = 292,
       NR_preadv = 295, NR_pwritev = 296, NR_copy_file_range = 326, NR_preadv2 = 327,
       NR_pwritev2 = 328, NR_close_range = 436 };

struct file {
	uint64_t dev, ino;
	long fd;               /* private descriptor */
	int refs;              /* records + calls in progress; 0: slot free */
};

struct map {
	uintptr_t addr;        /* 0: slot free */
	size_t len;            /* whole pages */
	uint64_t off;          /* file offset of addr */
	int file;
	uint8_t shared, writable;
	uint8_t shadow;        /* a copy of a base's bytes, not the file's content */
};

/* What an application descriptor is, while mappings exist (0: not known). */
struct fdinfo {
	uint64_t dev, ino;
	uint8_t state;
};
enum { FD_UNKNOWN, FD_OTHER, FD_REGULAR };

static struct file files[MAX_FILES];
static struct map maps[MAX_MAPS];
static struct fdinfo fdcache[CACHE_FDS];
static int nfiles, nshared;
static int lk;

static void lock(void)
{
	scone_spin_lock(&lk);
}

static void unlock(void)
{
	scone_spin_unlock(&lk);
}

static long sys(long nr, long a0, long a1, long a2, long a3)
{
	const long a[6] = { a0, a1, a2, a3 };
	return __scone_external(nr, a);
}

/* A call on a mapped file's descriptor: a protected file's (encrypted or
 * authenticated, which the shield owns) goes to the shield, so the copy
 * holds and writes back the plaintext; any other to the host. */
static long fsys(long nr, long a0, long a1, long a2, long a3)
{
	const long a[6] = { a0, a1, a2, a3 };
	if (__scone_shield_on && __scone_shield_owns_fd(a0))
		return __scone_shield_fd_call(nr, a);
	return __scone_external(nr, a);
}

int __scone_fmap_active(void)
{
	return __atomic_load_n(&nfiles, __ATOMIC_RELAXED) != 0;
}

struct ident {
	uint64_t dev, ino, size;
	int regular;
};

static long ident_of(long fd, struct ident *id)
{
	unsigned char st[144];   /* struct stat, x86-64 */
	long r = fsys(NR_fstat, fd, (long)st, 0, 0);
	if (r)
		return r;
	uint32_t mode;
	int64_t size;
	__scone_memcpy(&id->dev, st + 0, 8);
	__scone_memcpy(&id->ino, st + 8, 8);
	__scone_memcpy(&mode, st + 24, 4);
	__scone_memcpy(&size, st + 48, 8);
	id->size = size < 0 ? 0 : (uint64_t)size;
	id->regular = (mode & 0170000) == 0100000;
	return 0;
}

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Pages [p, p + len) from the file at off; what lies past the end is zero. */
static long read_range(long fd, uintptr_t p, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		long r = fsys(NR_pread, fd, (long)(p + done), (long)(len - done), (long)(off + done));
		if (r < 0)
			return r;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	__scone_memset((void *)(p + done), 0, len - done);
	return 0;
}

/* The file's part of [p, p + len) at off goes back to it; never past its end. */
static void write_back(long fd, uintptr_t p, size_t len, uint64_t off)
{
	struct ident id;
	if (ident_of(fd, &id) || off >= id.size)
		return;
	if (len > id.size - off)
		len = id.size - off;
	for (size_t done = 0; done < len;) {
		long r = fsys(NR_pwrite, fd, (long)(p + done), (long)(len - done), (long)(off + done));
		if (r <= 0) {
			__scone_log(SCONE_LOG_WARN, "writing a shared file mapping back failed (%ld): %lu bytes at offset %lu are lost",
				    r, (unsigned long)(len - done), (unsigned long)(off + done));
			return;
		}
		done += (size_t)r;
	}
}

/* Under the lock. */
static int file_find(uint64_t dev, uint64_t ino)
{
	for (int i = 0; i < MAX_FILES; i++)
		if (files[i].refs && files[i].dev == dev && files[i].ino == ino)
			return i;
	return -1;
}

static void file_put(int i)
{
	long fd = -1;
	lock();
	if (!--files[i].refs) {
		fd = files[i].fd;
		nfiles--;
	}
	unlock();
	if (fd >= 0)
		fsys(NR_close, fd, 0, 0, 0);   /* a protected file's last one commits it */
}

/* A dup of fd far above the descriptors the application gets (lowest free first). */
static long private_dup(long fd)
{
	uint64_t rl[2];
	long floor = 3;
	if (!sys(NR_getrlimit, RLIMIT_NOFILE, (long)rl, 0, 0)) {
		uint64_t cur = rl[0] > (1u << 20) ? (1u << 20) : rl[0];
		floor = cur > 256 ? (long)cur - 64 : cur > 6 ? (long)cur / 2 : 3;
	}
	long r = fsys(NR_fcntl, fd, F_DUPFD_CLOEXEC, floor, 0);
	return r < 0 ? fsys(NR_fcntl, fd, F_DUPFD_CLOEXEC, 3, 0) : r;
}

/* The file of id, pinned (refs + 1); a new one dups fd. */
static int file_get(long fd, const struct ident *id)
{
	lock();
	int i = file_find(id->dev, id->ino);
	if (i >= 0)
		files[i].refs++;
	unlock();
	if (i >= 0)
		return i;
	long pfd = private_dup(fd);
	if (pfd < 0)
		return (int)pfd;
	int owned = __scone_shield_on && __scone_shield_owns_fd(pfd);
	lock();
	i = file_find(id->dev, id->ino);
	if (i >= 0) {
		files[i].refs++;
	} else {
		for (int k = 0; k < MAX_FILES && i < 0; k++)
			if (!files[k].refs)
				i = k;
		if (i >= 0) {
			if (!nfiles++)   /* descriptors were not followed until now */
				__scone_memset(fdcache, 0, sizeof fdcache);
			files[i] = (struct file){ id->dev, id->ino, pfd, 1 };
			pfd = -1;
		}
	}
	unlock();
	if (pfd >= 0)
		owned ? fsys(NR_close, pfd, 0, 0, 0) : sys(NR_close, pfd, 0, 0, 0);
	return i >= 0 ? i : -ENOMEM;
}

static int is_private(long fd)
{
	int hit = 0;
	lock();
	for (int i = 0; i < MAX_FILES && !hit; i++)
		hit = files[i].refs && files[i].fd == fd;
	unlock();
	return hit;
}

static void forget_fd(long fd)
{
	if (fd >= 0 && fd < CACHE_FDS) {
		lock();
		fdcache[fd].state = FD_UNKNOWN;
		unlock();
	}
}

/* The application moves a descriptor onto one of ours: ours moves first. */
static void relocate(long fd)
{
	lock();
	int i = -1;
	for (int k = 0; k < MAX_FILES && i < 0; k++)
		if (files[k].refs && files[k].fd == fd)
			i = k, files[k].refs++;
	unlock();
	if (i < 0)
		return;
	long nfd = private_dup(fd);
	if (nfd >= 0) {
		lock();
		files[i].fd = nfd;
		unlock();
		fsys(NR_close, fd, 0, 0, 0);
	}
	file_put(i);
}

static void drop_map(int k)
{
	int f = maps[k].file;
	if (maps[k].shared)
		nshared--;
	maps[k].addr = 0;
	unlock();
	file_put(f);
	lock();
}

long __scone_fmap_add(uintptr_t p, size_t len, long prot, long flags, long fd, long off)
{
	struct ident id;
	long r = ident_of(fd, &id);
	if (r)
		return r;
	int shared = (flags & MAP_TYPE) == MAP_SHARED || (flags & MAP_TYPE) == MAP_SHARED_VALIDATE;
	int writable = shared && (prot & PROT_WRITE);
	size_t plen = (len + PAGE - 1) & ~(PAGE - 1);
	if (!id.regular) {
		/* A device's pages are not file content that a copy could stand for. */
		if (writable)
			return -ENODEV;
		return read_range(fd, p, plen, (uint64_t)off);
	}
	int f = file_get(fd, &id);
	if (f < 0)
		return f;
	int k = -1, clash = 0, base = -1, others = 0;
	lock();
	for (int i = 0; i < MAX_MAPS; i++) {
		struct map *m = &maps[i];
		if (!m->addr) {
			if (k < 0)
				k = i;
			continue;
		}
		if (m->file != f || !shared || !m->shared || !overlaps(m->off, m->len, (uint64_t)off, plen))
			continue;
		if (!m->shadow && m->off <= (uint64_t)off && (uint64_t)off + plen <= m->off + m->len && base < 0)
			base = i;
		else if (!m->shadow)
			others = 1;
		if (writable || m->writable)
			clash = 1;
	}
	int shadow = clash && base >= 0 && !others;
	if (shadow)
		clash = 0;
	if (!clash && k >= 0) {
		maps[k] = (struct map){ p, plen, (uint64_t)off, f, (uint8_t)shared, (uint8_t)writable, (uint8_t)shadow };
		nshared += shared;
		if (shadow)
			__scone_memcpy((void *)p, (const void *)(maps[base].addr + ((uint64_t)off - maps[base].off)), plen);
	}
	unlock();
	if (clash || k < 0) {
		file_put(f);
		__scone_log(SCONE_LOG_WARN, clash
			    ? "mmap of fd %d at offset %ld: a writable shared mapping may not overlap another shared mapping of the same file range in the enclave (two copies cannot stay coherent); unmap the first one"
			    : "mmap of fd %d at offset %ld: too many file mappings in the enclave", (int)fd, off);
		return clash ? -ENODEV : -ENOMEM;
	}
	if (shadow)
		return 0;
	r = read_range(fd, p, plen, (uint64_t)off);   /* whole pages, as Linux shows them */
	if (r) {
		lock();
		drop_map(k);
		unlock();
	}
	return r;
}

/* One writable shared record overlapping [a, a + n), pinned; -1 when none is left from k on. */
static int next_dirty(int *k, uintptr_t a, size_t n, uintptr_t *p, size_t *len, uint64_t *off, long *fd)
{
	int f = -1;
	lock();
	for (; *k < MAX_MAPS && f < 0; ++*k) {
		struct map *m = &maps[*k];
		if (!m->addr || !m->writable || m->shadow || !overlaps(m->addr, m->len, a, n))
			continue;
		uintptr_t lo = m->addr > a ? m->addr : a;
		uintptr_t hi = m->addr + m->len < a + n ? m->addr + m->len : a + n;
		*p = lo, *len = hi - lo, *off = m->off + (lo - m->addr);
		f = m->file;
		*fd = files[f].fd;
		files[f].refs++;
	}
	unlock();
	return f;
}

long __scone_fmap_sync(uintptr_t addr, size_t len)
{
	uintptr_t p;
	size_t n;
	uint64_t off;
	long fd;
	int f;
	for (int k = 0; (f = next_dirty(&k, addr, len, &p, &n, &off, &fd)) >= 0;) {
		write_back(fd, p, n, off);
		if (__scone_shield_on && __scone_shield_owns_fd(fd))
			fsys(NR_fsync, fd, 0, 0, 0);   /* a protected file: a commit of its volume */
		file_put(f);
	}
	return 0;
}

void __scone_fmap_flush_all(void)
{
	if (__scone_fmap_active())
		__scone_fmap_sync(0, ~(size_t)0 >> 1);
}

/* Under the lock: base k goes; its shadows get its last bytes and become
 * the file's content in its place. */
static void promote_shadows(int k)
{
	struct map *b = &maps[k];
	if (b->shadow || !b->shared)
		return;
	for (int i = 0; i < MAX_MAPS; i++) {
		struct map *m = &maps[i];
		if (i == k || !m->addr || !m->shadow || m->file != b->file ||
		    m->off < b->off || m->off + m->len > b->off + b->len)
			continue;
		__scone_memcpy((void *)m->addr, (const void *)(b->addr + (m->off - b->off)), m->len);
		m->shadow = 0;
	}
}

void __scone_fmap_unmap(uintptr_t addr, size_t len)
{
	if (!__scone_fmap_active())
		return;
	len = (len + PAGE - 1) & ~(PAGE - 1);
	__scone_fmap_sync(addr, len);
	lock();
	for (int k = 0; k < MAX_MAPS; k++) {
		struct map *m = &maps[k];
		if (!m->addr || !overlaps(m->addr, m->len, addr, len))
			continue;
		uintptr_t end = m->addr + m->len;
		int left = m->addr < addr, right = addr + len < end;
		if (left && right) {
			int s = -1;
			for (int i = 0; i < MAX_MAPS && s < 0; i++)
				if (!maps[i].addr)
					s = i;
			if (s >= 0) {
				maps[s] = *m;
				maps[s].addr = addr + len;
				maps[s].len = end - (addr + len);
				maps[s].off = m->off + (addr + len - m->addr);
				files[m->file].refs++;
				nshared += m->shared;
			}
			m->len = addr - m->addr;
		} else if (left) {
			m->len = addr - m->addr;
		} else if (right) {
			m->off += addr + len - m->addr;
			m->len = end - (addr + len);
			m->addr = addr + len;
		} else {
			promote_shadows(k);
			drop_map(k);
		}
	}
	unlock();
}

int __scone_fmap_lookup(uintptr_t old, size_t oldlen)
{
	if (!__scone_fmap_active())
		return 0;
	oldlen = (oldlen + PAGE - 1) & ~(PAGE - 1);
	int r = 0;
	lock();
	for (int k = 0; k < MAX_MAPS && !r; k++)
		if (maps[k].addr && overlaps(maps[k].addr, maps[k].len, old, oldlen))
			r = maps[k].addr == old && maps[k].len == oldlen ? 1 : -1;
	unlock();
	return r;
}

void __scone_fmap_moved(uintptr_t old, size_t oldlen, uintptr_t now, size_t newlen)
{
	oldlen = (oldlen + PAGE - 1) & ~(PAGE - 1);
	newlen = (newlen + PAGE - 1) & ~(PAGE - 1);
	int f = -1;
	uint64_t off = 0;
	long fd = -1;
	lock();
	for (int k = 0; k < MAX_MAPS && f < 0; k++) {
		struct map *m = &maps[k];
		if (m->addr != old || m->len != oldlen)
			continue;
		m->addr = now;
		m->len = newlen;
		f = m->file;
		off = m->off;
		fd = files[f].fd;
		files[f].refs++;
	}
	unlock();
	if (f < 0)
		return;
	/* The grown part shows the file there, as on Linux. */
	if (newlen > oldlen)
		read_range(fd, now + oldlen, newlen - oldlen, off + oldlen);
	file_put(f);
}

/* The mapped file fd refers to, pinned; -1 when it is none. */
static int file_of_fd(long fd)
{
	struct fdinfo in = { 0, 0, FD_UNKNOWN };
	if (fd >= 0 && fd < CACHE_FDS) {
		lock();
		in = fdcache[fd];
		unlock();
	}
	if (in.state == FD_UNKNOWN) {
		struct ident id;
		if (fd < 0 || ident_of(fd, &id))
			return -1;
		in = (struct fdinfo){ id.dev, id.ino, id.regular ? FD_REGULAR : FD_OTHER };
		if (fd < CACHE_FDS) {
			lock();
			fdcache[fd] = in;
			unlock();
		}
	}
	if (in.state != FD_REGULAR)
		return -1;
	lock();
	int f = file_find(in.dev, in.ino);
	if (f >= 0)
		files[f].refs++;
	unlock();
	return f;
}

/* [off, off + n) of file f moved between buf and the shared copies. */
static void patch(int f, uint64_t off, size_t n, char *buf, int to_maps)
{
	lock();
	for (int k = 0; k < MAX_MAPS; k++) {
		struct map *m = &maps[k];
		if (!m->addr || m->file != f || !m->shared || !overlaps(m->off, m->len, off, n))
			continue;
		if (!to_maps && (!m->writable || m->shadow))
			continue;
		uint64_t lo = m->off > off ? m->off : off;
		uint64_t hi = m->off + m->len < off + n ? m->off + m->len : off + n;
		char *in_map = (char *)(m->addr + (lo - m->off)), *in_buf = buf + (lo - off);
		if (to_maps)
			__scone_memcpy(in_map, in_buf, hi - lo);
		else
			__scone_memcpy(in_buf, in_map, hi - lo);
	}
	unlock();
}

/* Each copy of file f, looked up under the lock, then outside it reloaded
 * from the file (shared copies) or written back to it (writable ones). */
static void each_copy(int f, int back)
{
	for (int k = 0; k < MAX_MAPS; k++) {
		lock();
		struct map m = maps[k];
		long fd = files[f].fd;
		unlock();
		if (!m.addr || m.file != f)
			continue;
		if (back && m.writable && !m.shadow)
			write_back(fd, m.addr, m.len, m.off);
		else if (back)
			continue;
		else if (!back && m.shared)
			read_range(fd, m.addr, m.len, m.off);
	}
}

static void reload(int f)
{
	each_copy(f, 0);
}

static void flush_file(int f)
{
	each_copy(f, 1);
}

typedef long (*call_fn)(long nr, const long a[6]);

static long read_write(long nr, const long a[6], call_fn call)
{
	if (!__atomic_load_n(&nshared, __ATOMIC_RELAXED))
		return call(nr, a);
	int f = file_of_fd(a[0]);
	if (f < 0)
		return call(nr, a);
	long r = call(nr, a);
	if (r > 0) {
		long off = a[3];
		if (nr == NR_read || nr == NR_write) {
			const long q[6] = { a[0], 0, SEEK_CUR };
			long pos = call(NR_lseek, q);
			off = pos < r ? -1 : pos - r;
		}
		if (off >= 0)
			patch(f, (uint64_t)off, (size_t)r, (char *)a[1], nr == NR_write || nr == NR_pwrite);
	}
	file_put(f);
	return r;
}

/* A call that moves file content in ways the copies cannot follow byte by byte. */
static long around(long nr, const long a[6], long fd1, long fd2, int refresh, call_fn call)
{
	if (!__atomic_load_n(&nshared, __ATOMIC_RELAXED))
		return call(nr, a);
	int f1 = file_of_fd(fd1), f2 = fd2 >= 0 ? file_of_fd(fd2) : -1;
	if (f1 >= 0)
		flush_file(f1);
	if (f2 >= 0)
		flush_file(f2);
	long r = call(nr, a);
	if (f1 >= 0) {
		if (refresh)
			reload(f1);
		file_put(f1);
	}
	if (f2 >= 0) {
		if (refresh)
			reload(f2);
		file_put(f2);
	}
	return r;
}

/* close_range over the gaps between our descriptors. */
static long close_range_but_ours(const long a[6])
{
	unsigned long from = (unsigned long)a[0], last = (unsigned long)a[1];
	long ours[MAX_FILES];
	int n = 0;
	lock();
	for (int i = 0; i < MAX_FILES; i++)
		if (files[i].refs && (unsigned long)files[i].fd >= from && (unsigned long)files[i].fd <= last)
			ours[n++] = files[i].fd;
	unlock();
	if (!n || from > last)
		return __scone_external(NR_close_range, a);
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && ours[j - 1] > ours[j]; j--) {
			long t = ours[j];
			ours[j] = ours[j - 1], ours[j - 1] = t;
		}
	long r = 0;
	for (int i = 0; i <= n && !r; i++) {
		unsigned long to = i < n ? (unsigned long)ours[i] - 1 : last;
		if (i < n && (unsigned long)ours[i] == from) {
			from++;
			continue;
		}
		if (from <= to)
			r = sys(NR_close_range, (long)from, (long)to, a[2], 0);
		if (i < n)
			from = (unsigned long)ours[i] + 1;
	}
	return r;
}

static long fmap_call(long nr, const long a[6], call_fn call)
{
	long r;
	switch (nr) {
	case NR_read: case NR_write: case NR_pread: case NR_pwrite:
		return read_write(nr, a, call);
	case NR_readv: case NR_writev: case NR_preadv: case NR_pwritev: case NR_preadv2:
	case NR_pwritev2: case NR_ftruncate: case NR_fallocate:
		return around(nr, a, a[0], -1, 1, call);
	case NR_fsync: case NR_fdatasync: case NR_sync_file_range:
		return around(nr, a, a[0], -1, 0, call);
	case NR_copy_file_range: case NR_splice:
		return around(nr, a, a[0], a[2], 1, call);
	case NR_sendfile:
		return around(nr, a, a[0], a[1], 1, call);
	case NR_close:
		if (is_private(a[0]))
			return -EBADF;   /* the application never had it */
		r = call(nr, a);
		forget_fd(a[0]);
		return r;
	case NR_dup2: case NR_dup3:
		if (a[0] != a[1] && is_private(a[1]))
			relocate(a[1]);
		r = call(nr, a);
		forget_fd(a[1]);
		return r;
	case NR_close_range:
		r = close_range_but_ours(a);
		for (unsigned long fd = (unsigned long)a[0]; fd <= (unsigned long)a[1] && fd < CACHE_FDS; fd++)
			forget_fd((long)fd);
		return r;
	}
	return call(nr, a);
}

long __scone_fmap_external(long nr, const long a[6])
{
	return fmap_call(nr, a, __scone_external);
}

long __scone_fmap_through(long nr, const long a[6])
{
	return fmap_call(nr, a, __scone_shield_fd_call);
}
