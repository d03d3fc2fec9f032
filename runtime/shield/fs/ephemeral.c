/*
 * Ephemeral regions (ephemeral.h): an in-enclave file system of regular
 * files and directories. Nodes and open file descriptions live in tables
 * taken from the enclave heap on first use; file data in heap pages that
 * grow by copying. One spinlock guards the tables; it is never held across
 * a call to the host (lthreads park there) nor a clock read.
 *
 * A descriptor is a host placeholder (/dev/null opened, dup'ed or closed
 * through the client, so numbers never collide with the host's and poll or
 * select see an always-ready file, as for a regular file) plus our entry in
 * files[fd]; the per-fd flag of shield.h says the descriptor is ours.
 */
#include "ephemeral.h"
#include "shield.h"
#include "spin.h"

#define EPERM 1
#define ENOENT 2
#define EBADF 9
#define ENOMEM 12
#define EEXIST 17
#define EXDEV 18
#define ENOTDIR 20
#define EISDIR 21
#define EINVAL 22
#define EMFILE 24
#define ENOTTY 25
#define EFBIG 27
#define ENOSPC 28
#define ESPIPE 29
#define ENOTEMPTY 39
#define ENODEV 19
#define EBUSY 16

#define O_ACCMODE 03
#define O_RDONLY 0
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_EXCL 0200
#define O_NOCTTY 0400
#define O_TRUNC 01000
#define O_APPEND 02000
#define O_NONBLOCK 04000
#define O_DIRECTORY 0200000
#define O_NOFOLLOW 0400000
#define O_CLOEXEC 02000000
#define O_PATH 010000000
#define O_TMPFILE 020200000
#define AT_REMOVEDIR 0x200
#define AT_FDCWD (-100)
#define S_IFREG 0100000
#define S_IFDIR 0040000
#define RENAME_NOREPLACE 1

#define MAX_NODES 4096
#define PAGE 4096ul
#define DEV_ID 0x5c0e                  /* st_dev of every ephemeral file */

struct node {
	char *path;                    /* heap, folded absolute path; NULL: slot free */
	uint32_t plen;
	uint8_t dir, unlinked;
	uint32_t mode;                 /* permission bits */
	uint64_t ino;
	char *data;                    /* heap pages */
	size_t size, cap;
	int opens;                     /* open file descriptions */
	uint64_t atime, mtime, ctime;  /* ns */
};

struct ofile {                         /* an open file description */
	struct node *n;
	uint64_t off;
	long flags;
	int refs;                      /* descriptors that share it */
};

static struct node *nodes;
static struct ofile **files;           /* [SCONE_SHIELD_FDS] */
static int lk;
static uint64_t next_ino = 2;
static long uid = -1, gid = -1, umask_bits = -1;

static void *heap_alloc(size_t n)
{
	long p = __scone_sys_mmap(0, (n + PAGE - 1) & ~(PAGE - 1), 3, 0x22, -1, 0);
	return p < 0 ? 0 : (void *)p;
}

static void heap_free(void *p, size_t n)
{
	if (p)
		__scone_sys_munmap((unsigned long)p, (n + PAGE - 1) & ~(PAGE - 1));
}

static long host(long nr, long a0, long a1, long a2, long a3)
{
	long a[6] = { a0, a1, a2, a3, 0, 0 };
	return __scone_shield_host(nr, a);
}

static int tables(void)
{
	if (nodes)
		return 1;
	nodes = heap_alloc(MAX_NODES * sizeof *nodes);
	files = heap_alloc(SCONE_SHIELD_FDS * sizeof *files);
	return nodes && files;
}

/* Host facts the stat family reports, asked once outside the lock. */
static void ask_host(void)
{
	if (uid < 0)
		uid = host(102, 0, 0, 0, 0);
	if (gid < 0)
		gid = host(104, 0, 0, 0, 0);
	if (umask_bits < 0) {
		long m = host(95, 022, 0, 0, 0);      /* umask: read it by setting it back */
		host(95, m, 0, 0, 0);
		umask_bits = m & 0777;
	}
}

static struct node *find(const char *p)
{
	size_t l = __scone_strlen(p);
	for (int i = 0; i < MAX_NODES; i++)
		if (nodes[i].path && !nodes[i].unlinked && nodes[i].plen == l &&
		    !__scone_strncmp(nodes[i].path, p, l))
			return &nodes[i];
	return 0;
}

/* The parent directory of p must exist: 0, -ENOENT or -ENOTDIR. */
static long parent_ok(const char *p)
{
	size_t l = __scone_strlen(p);
	while (l > 0 && p[l - 1] != '/')
		l--;
	if (l <= 1)
		return -ENOENT;     /* a region root's parent is not ours */
	char buf[SCONE_PATH_MAX];
	__scone_memcpy(buf, p, l - 1);
	buf[l - 1] = 0;
	struct node *d = find(buf);
	if (!d)
		return -ENOENT;
	return d->dir ? 0 : -ENOTDIR;
}

static struct node *make(const char *p, int dir, uint32_t mode, uint64_t now)
{
	size_t l = __scone_strlen(p);
	for (int i = 0; i < MAX_NODES; i++) {
		struct node *n = &nodes[i];
		if (n->path)
			continue;
		char *s = heap_alloc(l + 1);
		if (!s)
			return 0;
		__scone_memcpy(s, p, l + 1);
		*n = (struct node){ .path = s, .plen = (uint32_t)l, .dir = (uint8_t)dir,
				    .mode = mode & 07777, .ino = next_ino++,
				    .atime = now, .mtime = now, .ctime = now };
		return n;
	}
	return 0;
}

static void drop(struct node *n)
{
	heap_free(n->path, n->plen + 1);
	heap_free(n->data, n->cap);
	__scone_memset(n, 0, sizeof *n);
}

static void release(struct node *n)
{
	if (n->unlinked && n->opens == 0)
		drop(n);
}

void __scone_eph_root(const char *prefix, size_t len)
{
	if (!tables())
		__scone_abort("scone: no heap left for the ephemeral file system; sign with a larger --heap");
	char p[SCONE_PATH_MAX];
	__scone_memcpy(p, prefix, len);
	p[len] = 0;
	if (!find(p) && !make(p, 1, 01777, __scone_clock_now(0)))
		__scone_abort("scone: no room for an ephemeral region's root");
}

static long grow(struct node *n, size_t need)
{
	if (need <= n->cap)
		return 0;
	if (need > (1ul << 40))
		return -EFBIG;
	size_t cap = n->cap ? n->cap : PAGE;
	while (cap < need)
		cap *= 2;
	char *d = heap_alloc(cap);
	if (!d)
		return -ENOSPC;
	if (n->size)
		__scone_memcpy(d, n->data, n->size);
	heap_free(n->data, n->cap);
	n->data = d;
	n->cap = cap;
	return 0;
}

static long set_size(struct node *n, uint64_t len, uint64_t now)
{
	if (len > n->size) {
		long r = grow(n, len);
		if (r)
			return r;
		__scone_memset(n->data + n->size, 0, len - n->size);
	}
	n->size = len;
	n->mtime = n->ctime = now;
	return 0;
}

/* ---- the stat family ---- */

struct kstat {
	uint64_t dev, ino, nlink;
	uint32_t mode, uid, gid, pad;
	uint64_t rdev;
	int64_t size, blksize, blocks;
	int64_t atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns;
	int64_t reserved[3];
};
_Static_assert(sizeof(struct kstat) == 144, "x86_64 struct stat");

static uint32_t full_mode(const struct node *n)
{
	return (n->dir ? S_IFDIR : S_IFREG) | n->mode;
}

static void fill_stat(const struct node *n, void *out)
{
	struct kstat st = {
		.dev = DEV_ID, .ino = n->ino, .nlink = n->dir ? 2 : (n->unlinked ? 0 : 1),
		.mode = full_mode(n), .uid = (uint32_t)uid, .gid = (uint32_t)gid,
		.size = n->dir ? 4096 : (int64_t)n->size, .blksize = 4096,
		.blocks = n->dir ? 8 : (int64_t)((n->size + 4095) / 4096 * 8),
		.atime = (int64_t)(n->atime / 1000000000), .atime_ns = (int64_t)(n->atime % 1000000000),
		.mtime = (int64_t)(n->mtime / 1000000000), .mtime_ns = (int64_t)(n->mtime % 1000000000),
		.ctime = (int64_t)(n->ctime / 1000000000), .ctime_ns = (int64_t)(n->ctime % 1000000000),
	};
	__scone_memcpy(out, &st, sizeof st);
}

static void put_ts(unsigned char *p, uint64_t ns)
{
	int64_t s = (int64_t)(ns / 1000000000);
	uint32_t n = (uint32_t)(ns % 1000000000);
	__scone_memcpy(p, &s, 8);
	__scone_memcpy(p + 8, &n, 4);
}

static void fill_statx(const struct node *n, void *out)
{
	unsigned char b[256];
	__scone_memset(b, 0, sizeof b);
	struct kstat st;
	fill_stat(n, &st);
	uint32_t mask = 0x7ff & ~0x800u;   /* STATX_BASIC_STATS */
	uint32_t blksize = 4096, nlink = (uint32_t)st.nlink;
	uint16_t mode = (uint16_t)st.mode;
	__scone_memcpy(b + 0, &mask, 4);
	__scone_memcpy(b + 4, &blksize, 4);
	__scone_memcpy(b + 16, &nlink, 4);
	__scone_memcpy(b + 20, &st.uid, 4);
	__scone_memcpy(b + 24, &st.gid, 4);
	__scone_memcpy(b + 28, &mode, 2);
	__scone_memcpy(b + 32, &st.ino, 8);
	__scone_memcpy(b + 40, &st.size, 8);
	__scone_memcpy(b + 48, &st.blocks, 8);
	put_ts(b + 64, n->atime);
	put_ts(b + 96, n->ctime);
	put_ts(b + 112, n->mtime);
	uint32_t major = DEV_ID >> 8, minor = DEV_ID & 0xff;
	__scone_memcpy(b + 136, &major, 4);
	__scone_memcpy(b + 140, &minor, 4);
	__scone_memcpy(out, b, sizeof b);
}

/* ---- open ---- */

static int set_fd(long fd, struct ofile *f)
{
	if (fd < 0 || fd >= SCONE_SHIELD_FDS)
		return 0;
	files[fd] = f;
	__atomic_store_n(&__scone_shield_fdflag[fd], f ? 1 : 0, __ATOMIC_RELEASE);
	return 1;
}

/* Forget descriptor fd (lock held); the description goes with its last one. */
static void unset_fd(long fd)
{
	struct ofile *f = files[fd];
	set_fd(fd, 0);
	if (f && --f->refs == 0) {
		f->n->opens--;
		release(f->n);
		heap_free(f, sizeof *f);
	}
}

static long placeholder(long flags)
{
	static const char devnull[] = "/dev/null";
	return host(257, AT_FDCWD, (long)devnull, O_RDWR | (flags & O_CLOEXEC), 0);
}

long __scone_eph_open(const char *p, long flags, long mode)
{
	if ((flags & O_TMPFILE) == O_TMPFILE)
		return -EINVAL;   /* not supported (would need an unnamed node) */
	ask_host();
	uint64_t now = __scone_clock_now(0);
	struct ofile *f = heap_alloc(sizeof *f);
	if (!f)
		return -ENOMEM;
	long fd = placeholder(flags);
	if (fd < 0) {
		heap_free(f, sizeof *f);
		return fd;
	}
	long r = 0;
	int acc = flags & O_ACCMODE;
	scone_spin_lock(&lk);
	struct node *n = find(p);
	if (n && (flags & O_CREAT) && (flags & O_EXCL))
		r = -EEXIST;
	else if (!n && !(flags & O_CREAT))
		r = -ENOENT;
	else if (!n && (r = parent_ok(p)) == 0) {
		if (p[__scone_strlen(p) - 1] == '/' || (flags & O_DIRECTORY))
			r = -EISDIR;
		else if (!(n = make(p, 0, (uint32_t)mode & ~(uint32_t)umask_bits, now)))
			r = -ENOSPC;
	}
	if (!r && n->dir && (acc != O_RDONLY || (flags & O_TRUNC)))
		r = -EISDIR;
	if (!r && !n->dir && (flags & O_DIRECTORY))
		r = -ENOTDIR;
	if (!r && fd >= SCONE_SHIELD_FDS)
		r = -EMFILE;
	if (!r && (flags & O_TRUNC) && acc != O_RDONLY && n->size)
		set_size(n, 0, now);
	if (!r) {
		*f = (struct ofile){ .n = n, .off = 0, .flags = flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY | O_CLOEXEC), .refs = 1 };
		n->opens++;
		set_fd(fd, f);
	}
	scone_spin_unlock(&lk);
	if (r) {
		heap_free(f, sizeof *f);
		host(3, fd, 0, 0, 0);
		return r;
	}
	return fd;
}

/* ---- directories ---- */

static int is_child(const struct node *d, const struct node *c)
{
	if (c == d || !c->path || c->unlinked || c->plen <= d->plen + 1)
		return 0;
	if (__scone_strncmp(c->path, d->path, d->plen) || c->path[d->plen] != '/')
		return 0;
	for (uint32_t i = d->plen + 1; i < c->plen; i++)
		if (c->path[i] == '/')
			return 0;
	return 1;
}

static int has_children(const struct node *d)
{
	for (int i = 0; i < MAX_NODES; i++)
		if (is_child(d, &nodes[i]))
			return 1;
	return 0;
}

struct dirent64_hdr {
	uint64_t ino;
	int64_t off;
	uint16_t reclen;
	uint8_t type;
} __attribute__((packed));

static long getdents(struct ofile *f, char *buf, size_t len)
{
	size_t used = 0;
	uint64_t idx = 0;
	struct node *d = f->n;
	if (!d->dir)
		return -ENOTDIR;
	for (int i = -2; i < MAX_NODES; i++) {
		const char *name;
		size_t nl;
		uint64_t ino;
		uint8_t type = 4;   /* DT_DIR */
		if (i == -2) {
			name = ".", nl = 1, ino = d->ino;
		} else if (i == -1) {
			name = "..", nl = 2, ino = 1;
		} else {
			struct node *c = &nodes[i];
			if (!is_child(d, c))
				continue;
			name = c->path + d->plen + 1;
			nl = c->plen - d->plen - 1;
			ino = c->ino;
			type = c->dir ? 4 : 8;
		}
		idx++;
		if (idx <= f->off)
			continue;
		size_t rec = (sizeof(struct dirent64_hdr) + nl + 1 + 7) & ~7ul;
		if (used + rec > len)
			return used ? (long)used : -EINVAL;
		struct dirent64_hdr h = { ino, (int64_t)idx, (uint16_t)rec, type };
		__scone_memset(buf + used, 0, rec);
		__scone_memcpy(buf + used, &h, sizeof h);
		__scone_memcpy(buf + used + sizeof h, name, nl);
		used += rec;
		f->off = idx;
	}
	return (long)used;
}

/* ---- path calls ---- */

long __scone_eph_path_call(long nr, const long a[6], const char *p)
{
	ask_host();
	uint64_t now = __scone_clock_now(0);
	long r = 0;
	scone_spin_lock(&lk);
	struct node *n = find(p);
	switch (nr) {
	case 4: case 6:                                        /* stat, lstat */
		if (!n) r = -ENOENT; else fill_stat(n, (void *)a[1]);
		break;
	case 262:                                              /* newfstatat */
		if (!n) r = -ENOENT; else fill_stat(n, (void *)a[2]);
		break;
	case 332:                                              /* statx */
		if (!n) r = -ENOENT; else fill_statx(n, (void *)a[4]);
		break;
	case 21: case 269: case 439:                           /* access family */
		if (!n) r = -ENOENT;
		break;
	case 76:                                               /* truncate */
		if (!n) r = -ENOENT;
		else if (n->dir) r = -EISDIR;
		else if (a[1] < 0) r = -EINVAL;
		else r = set_size(n, (uint64_t)a[1], now);
		break;
	case 83: case 258: {                                   /* mkdir */
		long mode = nr == 83 ? a[1] : a[2];
		if (n) r = -EEXIST;
		else if (!(r = parent_ok(p)) && !make(p, 1, (uint32_t)mode & ~(uint32_t)umask_bits, now))
			r = -ENOSPC;
		break;
	}
	case 263:                                              /* unlinkat */
		if (a[2] & AT_REMOVEDIR)
			goto rmdir;
		/* fallthrough */
	case 87:                                               /* unlink */
		if (!n) r = -ENOENT;
		else if (n->dir) r = nr == 87 ? -EISDIR : -EISDIR;
		else {
			n->unlinked = 1;
			release(n);
		}
		break;
	case 84:                                               /* rmdir */
	rmdir:
		if (!n) r = -ENOENT;
		else if (!n->dir) r = -ENOTDIR;
		else if (parent_ok(p)) r = -EBUSY;            /* a region's root */
		else if (has_children(n)) r = -ENOTEMPTY;
		else {
			n->unlinked = 1;
			release(n);
		}
		break;
	case 90: case 268:                                     /* chmod, fchmodat */
		if (!n) r = -ENOENT;
		else {
			n->mode = (uint32_t)(nr == 90 ? a[1] : a[2]) & 07777;
			n->ctime = now;
		}
		break;
	case 280:                                              /* utimensat: now */
		if (!n) r = -ENOENT;
		else n->atime = n->mtime = now;
		break;
	case 89: case 267:                                     /* readlink: no links here */
		r = n ? -EINVAL : -ENOENT;
		break;
	case 92: case 94: case 260:                            /* chown family */
		r = n ? 0 : -ENOENT;
		break;
	default:
		r = -EPERM;
	}
	scone_spin_unlock(&lk);
	return r;
}

long __scone_eph_rename(long nr, const char *from, const char *to, long flags)
{
	(void)nr;
	uint64_t now = __scone_clock_now(0);
	if (flags & ~(long)RENAME_NOREPLACE)
		return -EINVAL;
	long r = 0;
	scone_spin_lock(&lk);
	struct node *s = find(from), *d = find(to);
	size_t fl = __scone_strlen(from), tl = __scone_strlen(to);
	if (!s)
		r = -ENOENT;
	else if (s == d)
		r = 0;
	else if ((r = parent_ok(to)) || parent_ok(from))
		r = r ? r : -EBUSY;
	else if (d && (flags & RENAME_NOREPLACE))
		r = -EEXIST;
	else if (s->dir && tl > fl && !__scone_strncmp(to, from, fl) && to[fl] == '/')
		r = -EINVAL;                                   /* into itself */
	else if (d && d->dir && !s->dir)
		r = -EISDIR;
	else if (d && !d->dir && s->dir)
		r = -ENOTDIR;
	else if (d && d->dir && has_children(d))
		r = -ENOTEMPTY;
	else {
		if (d) {
			d->unlinked = 1;
			release(d);
		}
		/* The node and, for a directory, everything under it move. */
		for (int i = 0; i < MAX_NODES && !r; i++) {
			struct node *n = &nodes[i];
			if (!n->path || n->unlinked)
				continue;
			int self = n == s;
			if (!self && !(s->dir && n->plen > fl && !__scone_strncmp(n->path, from, fl) && n->path[fl] == '/'))
				continue;
			size_t nl = tl + (n->plen - fl);
			if (nl + 1 > SCONE_PATH_MAX) {
				r = -36;
				break;
			}
			char *np = heap_alloc(nl + 1);
			if (!np) {
				r = -ENOMEM;
				break;
			}
			__scone_memcpy(np, to, tl);
			__scone_memcpy(np + tl, n->path + fl, n->plen - fl + 1);
			heap_free(n->path, n->plen + 1);
			n->path = np;
			n->plen = (uint32_t)nl;
			if (self)
				n->ctime = now;
		}
	}
	scone_spin_unlock(&lk);
	return r;
}

/* ---- descriptor calls ---- */

struct iov { char *base; size_t len; };

static long rw(struct ofile *f, int write, char *buf, size_t len, int64_t at, uint64_t now)
{
	struct node *n = f->n;
	int acc = f->flags & O_ACCMODE;
	if (write ? acc == O_RDONLY : acc == O_WRONLY)
		return -EBADF;
	if (n->dir)
		return -EISDIR;
	uint64_t off = at >= 0 ? (uint64_t)at : f->off;
	if (write) {
		if (at < 0 && (f->flags & O_APPEND))
			off = n->size;
		if (!len)
			return 0;
		if (off + len > n->size) {
			long r = grow(n, off + len);
			if (r)
				return r;
			if (off > n->size)
				__scone_memset(n->data + n->size, 0, off - n->size);
			n->size = off + len;
		}
		__scone_memcpy(n->data + off, buf, len);
		n->mtime = n->ctime = now;
	} else {
		if (off >= n->size)
			len = 0;
		else if (len > n->size - off)
			len = n->size - off;
		if (len)
			__scone_memcpy(buf, n->data + off, len);
	}
	if (at < 0)
		f->off = off + len;
	return (long)len;
}

static long rwv(struct ofile *f, int write, const struct iov *v, long cnt, int64_t at, uint64_t now)
{
	if (cnt < 0 || cnt > 1024)
		return -EINVAL;
	long total = 0;
	for (long i = 0; i < cnt; i++) {
		if (!v[i].len)
			continue;
		long r = rw(f, write, v[i].base, v[i].len, at < 0 ? -1 : at + total, now);
		if (r < 0)
			return total ? total : r;
		total += r;
		if ((size_t)r < v[i].len)
			break;
	}
	return total;
}

static long dup_to(long newfd, struct ofile *f)
{
	if (newfd < 0)
		return newfd;
	if (newfd >= SCONE_SHIELD_FDS) {
		host(3, newfd, 0, 0, 0);
		return -EMFILE;
	}
	scone_spin_lock(&lk);
	if (files[newfd])
		unset_fd(newfd);
	f->refs++;
	set_fd(newfd, f);
	scone_spin_unlock(&lk);
	return newfd;
}

long __scone_eph_fd_call(long nr, const long a[6])
{
	long fd = a[0];
	uint64_t now = __scone_clock_now(0);
	long r;
	/* Calls that reach the host's placeholder first, outside the lock. */
	switch (nr) {
	case 3:                                                /* close */
		r = __scone_shield_host(3, a);
		scone_spin_lock(&lk);
		if (files[fd])
			unset_fd(fd);
		scone_spin_unlock(&lk);
		return r;
	case 32:                                               /* dup */
		return dup_to(__scone_shield_host(32, a), files[fd]);
	case 33: case 292:                                     /* dup2, dup3 */
		if (a[0] == a[1])
			return nr == 33 ? fd : -EINVAL;
		return dup_to(__scone_shield_host(nr, a), files[fd]);
	case 72:                                               /* fcntl */
		switch (a[1]) {
		case 0: case 1030:                             /* F_DUPFD, F_DUPFD_CLOEXEC */
			return dup_to(__scone_shield_host(72, a), files[fd]);
		case 1: case 2:                                /* F_GETFD, F_SETFD: the placeholder's */
			return __scone_shield_host(72, a);
		}
		break;
	}
	r = 0;
	scone_spin_lock(&lk);
	struct ofile *f = files[fd];
	if (!f) {
		scone_spin_unlock(&lk);
		return -EBADF;
	}
	struct node *n = f->n;
	switch (nr) {
	case 0: r = rw(f, 0, (char *)a[1], (size_t)a[2], -1, now); break;
	case 1: r = rw(f, 1, (char *)a[1], (size_t)a[2], -1, now); break;
	case 17: r = a[3] < 0 ? -EINVAL : rw(f, 0, (char *)a[1], (size_t)a[2], a[3], now); break;
	case 18: r = a[3] < 0 ? -EINVAL : rw(f, 1, (char *)a[1], (size_t)a[2], a[3], now); break;
	case 19: r = rwv(f, 0, (const struct iov *)a[1], a[2], -1, now); break;
	case 20: r = rwv(f, 1, (const struct iov *)a[1], a[2], -1, now); break;
	case 295: case 327:
		r = a[3] < -1 ? -EINVAL : rwv(f, 0, (const struct iov *)a[1], a[2], a[3], now);
		break;
	case 296: case 328:
		r = a[3] < -1 ? -EINVAL : rwv(f, 1, (const struct iov *)a[1], a[2], a[3], now);
		break;
	case 5: fill_stat(n, (void *)a[1]); break;            /* fstat */
	case 262: fill_stat(n, (void *)a[2]); break;          /* fstatat(fd, "", AT_EMPTY_PATH) */
	case 332: fill_statx(n, (void *)a[4]); break;
	case 8: {                                              /* lseek */
		int64_t base;
		switch (a[2]) {
		case 0: base = 0; break;
		case 1: base = (int64_t)f->off; break;
		case 2: base = (int64_t)n->size; break;
		case 3: base = a[1] < (int64_t)n->size ? 0 : -1; break;     /* SEEK_DATA */
		case 4: base = a[1] <= (int64_t)n->size ? (int64_t)n->size - a[1] : -1; break; /* SEEK_HOLE */
		default: base = -1;
		}
		if (base < 0 && a[2] >= 3) { r = -6; break; }   /* ENXIO */
		if (base < 0 || base + a[1] < 0) { r = -EINVAL; break; }
		if (n->dir && a[2] == 0 && a[1] == 0) { f->off = 0; r = 0; break; }
		f->off = (uint64_t)(base + a[1]);
		r = (long)f->off;
		break;
	}
	case 77:                                               /* ftruncate */
		if (n->dir || (f->flags & O_ACCMODE) == O_RDONLY || a[1] < 0) r = -EINVAL;
		else r = set_size(n, (uint64_t)a[1], now);
		break;
	case 74: case 75: case 277: case 306: case 221: case 187: case 73:
		break;                                         /* fsync, fdatasync, sync_file_range, syncfs, fadvise, readahead, flock */
	case 285:                                              /* fallocate */
		if (a[1] != 0) r = -95;                       /* EOPNOTSUPP */
		else if (a[2] < 0 || a[3] <= 0) r = -EINVAL;
		else if ((uint64_t)(a[2] + a[3]) > n->size) r = set_size(n, (uint64_t)(a[2] + a[3]), now);
		break;
	case 217: r = getdents(f, (char *)a[1], (size_t)a[2]); break;
	case 78: r = -EINVAL; break;                          /* getdents (old): musl uses 217 */
	case 91: n->mode = (uint32_t)a[1] & 07777; n->ctime = now; break;   /* fchmod */
	case 93: break;                                        /* fchown */
	case 280: n->atime = n->mtime = now; break;           /* futimens */
	case 16: r = -ENOTTY; break;                          /* ioctl */
	case 138: {                                            /* fstatfs */
		unsigned char b[120];
		__scone_memset(b, 0, sizeof b);
		uint64_t type = 0x01021994, bsize = 4096;          /* TMPFS_MAGIC */
		__scone_memcpy(b, &type, 8);
		__scone_memcpy(b + 8, &bsize, 8);
		__scone_memcpy((void *)a[1], b, sizeof b);
		break;
	}
	case 72:                                               /* fcntl */
		switch (a[1]) {
		case 3: r = f->flags; break;                   /* F_GETFL */
		case 4:                                        /* F_SETFL */
			f->flags = (f->flags & ~(long)(O_APPEND | O_NONBLOCK)) | (a[2] & (O_APPEND | O_NONBLOCK));
			break;
		case 5: case 36:                               /* F_GETLK, F_OFD_GETLK: unlocked */
			*(short *)a[2] = 2;                    /* F_UNLCK */
			break;
		case 6: case 7: case 37: case 38:              /* locks: one process */
			break;
		default: r = -EINVAL;
		}
		break;
	case 81: r = -13; break;                              /* fchdir: the host has no such directory */
	default:
		r = -EINVAL;
	}
	scone_spin_unlock(&lk);
	return r;
}

long __scone_eph_dup_onto(long nr, const long a[6])
{
	long r = __scone_shield_host(nr, a);
	if (r >= 0) {
		scone_spin_lock(&lk);
		if (files[a[1]])
			unset_fd(a[1]);
		scone_spin_unlock(&lk);
	}
	return r;
}

long __scone_eph_close_range(const long a[6])
{
	long r = __scone_shield_host(436, a);
	if (r < 0 || (a[2] & 4))                               /* CLOSE_RANGE_CLOEXEC: nothing closes */
		return r;
	scone_spin_lock(&lk);
	for (unsigned long fd = (unsigned long)a[0]; fd <= (unsigned long)a[1] && fd < SCONE_SHIELD_FDS; fd++)
		if (files[fd])
			unset_fd((long)fd);
	scone_spin_unlock(&lk);
	return r;
}

long __scone_eph_mmap(const long a[6])
{
	unsigned long len = (unsigned long)a[1];
	long prot = a[2], flags = a[3], fd = a[4], off = a[5];
	if (off & (long)(PAGE - 1))
		return -EINVAL;
	if ((flags & 3) != 2 && (prot & 2))
		return -ENODEV;    /* a writable shared mapping of an enclave-only file */
	long p = __scone_sys_mmap(a[0], len, prot | 2 | 1, (flags & ~3l) | 2 | 0x20, -1, 0);
	if (p < 0)
		return p;
	scone_spin_lock(&lk);
	struct ofile *f = files[fd];
	long r = 0;
	if (!f || (f->flags & O_ACCMODE) == O_WRONLY)
		r = f ? -13 : -EBADF;
	else if (f->n->dir)
		r = -ENODEV;
	else if ((uint64_t)off < f->n->size) {
		size_t n = f->n->size - (uint64_t)off;
		__scone_memcpy((void *)p, f->n->data + off, n < len ? n : len);
	}
	scone_spin_unlock(&lk);
	if (r) {
		__scone_sys_munmap((unsigned long)p, len);
		return r;
	}
	if (!(prot & 2))
		__scone_sys_mprotect((unsigned long)p, len, prot);
	return p;
}

long __scone_eph_fd_path(long fd, char *out, size_t *n)
{
	long r = 0;
	scone_spin_lock(&lk);
	struct ofile *f = files[fd];
	if (!f)
		r = -EBADF;
	else if (!f->n->dir)
		r = -ENOTDIR;
	else {
		__scone_memcpy(out, f->n->path, f->n->plen + 1);
		*n = f->n->plen;
	}
	scone_spin_unlock(&lk);
	return r;
}
