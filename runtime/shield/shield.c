/*
 * The shield layer's door (shield.h, DESIGN.md §8) and the file-system
 * shield's routing: the measured policy (enclave_abi.h "file-system
 * policy"), path resolution, and which region or descriptor a call is on.
 *
 * Paths are resolved lexically ('.', '..', '//' folded; symbolic links on
 * the host are not followed), relative ones against the working directory
 * the host reports (asked once, again after chdir/fchdir) or against the
 * directory a descriptor names. A path in an ephemeral region is served by
 * fs/ephemeral.c; a path in an encrypted or authenticated region by
 * fs/encrypted.c (refused, EACCES, when the binary lacks it: the shield
 * never lets such a file reach the host unchecked); unprotected regions and paths outside every
 * region go on to the host.
 */
#include "shield.h"
#include "fs/encrypted.h"
#include "fs/ephemeral.h"
#include "console/console.h"
#include "net/net.h"
#include "spin.h"
#include "filemap.h"

#define EFAULT 14
#define EACCES 13
#define ENAMETOOLONG 36
#define EPERM 1
#define EBADF 9
#define AT_FDCWD (-100)
#define AT_EMPTY_PATH 0x1000
#define AT_REMOVEDIR 0x200
#define O_WRONLY 01
#define O_CREAT 0100
#define O_TRUNC 01000

#define MAX_REGIONS 64

int __scone_shield_on;
int __scone_net_on;
int __scone_console_on;
uint8_t *__scone_shield_fdflag;

struct region {
	const char *prefix;        /* in the measured config page */
	uint16_t len;
	uint8_t mode, key;
	const uint8_t *tag;        /* the volume's expected tag (32 bytes, measured) or 0 */
};
static struct region regions[MAX_REGIONS];
static int nregions;
static char cwd[SCONE_PATH_MAX];
static int cwd_ok, cwd_lock;
static unsigned cwd_gen;   /* bumped before and after each host chdir/fchdir */
static int warned[512];

void __scone_shield_init(char **envp, uint64_t sim_seal)
{
	const uint8_t *p = (const uint8_t *)__scone_rt.cfg + SCONE_CONFIG_FS_OFFSET;
	const uint8_t *end = (const uint8_t *)__scone_rt.cfg + SCONE_PAGE_SIZE;
	uint32_t n;
	__scone_memcpy(&n, p, 4);
	p += 4;
	if (n > MAX_REGIONS)
		__scone_abort("scone: the file-system policy has more regions than the runtime takes");
	for (uint32_t i = 0; i < n; i++) {
		uint16_t len;
		if (end - p < 4)
			__scone_abort("scone: the file-system policy is malformed");
		__scone_memcpy(&len, p + 2, 2);
		if (end - p - 4 < len || !len || p[4] != '/' || p[0] > SCONE_FS_MODE_ENCRYPTED ||
		    (p[1] & ~SCONE_FS_TAG_FLAG) > SCONE_FS_KEY_CAS)
			__scone_abort("scone: the file-system policy is malformed");
		regions[i] = (struct region){ (const char *)p + 4, len, p[0], p[1] & 0x7f, 0 };
		p += 4 + len;
		if (p[-4 - len + 1] & SCONE_FS_TAG_FLAG) {    /* the volume's expected tag follows */
			if (end - p < 32 || regions[i].mode < SCONE_FS_MODE_AUTHENTICATED)
				__scone_abort("scone: the file-system policy is malformed");
			regions[i].tag = p;
			p += 32;
		}
	}
	nregions = (int)n;
	/* The network policy follows. A policy that names a shield this
	 * enclave was linked without (re-signed with --fs or --net) stops the
	 * start: its files or sockets would otherwise reach the host as they are. */
	uint32_t nep = 0;
	if (end - p >= 4)
		__scone_memcpy(&nep, p, 4);
	if (nep && !__scone_net_init)
		__scone_abort("scone: the signed policy has network endpoints, but the enclave was linked without the network shield; link it with --scone-net");
	if (__scone_net_init)
		__scone_net_init(p, end);
	int console = !!(__scone_rt.cfg->flags & SCONE_CONFIG_CONSOLE);
	if (console && !__scone_console_init)
		__scone_abort("scone: the signed policy encrypts the console, but the enclave was linked without the console shield; link it with --scone-console");
	if (!nregions && !__scone_net_on && !console)
		return;
	static struct scone_sim_seal seal;
	const struct scone_sim_seal *sealp = 0;
	if (sim_seal) {
		if (!__scone_host_range(sim_seal, sizeof seal))
			__scone_abort("scone: the SIM sealing block is not host memory");
		__scone_memcpy(&seal, (const void *)sim_seal, sizeof seal);
		sealp = &seal;
	}
	long m = __scone_sys_mmap(0, SCONE_SHIELD_FDS, 3, 0x22, -1, 0);
	if (m < 0)
		__scone_abort("scone: no heap left for the shield's descriptor table; sign with a larger --heap");
	__scone_shield_fdflag = (uint8_t *)m;
	if (console)
		__scone_console_init(envp);
	for (int i = 0; i < nregions; i++) {
		static const char *names[] = { "unprotected", "ephemeral", "authenticated", "encrypted" };
		char prefix[SCONE_PAGE_SIZE];
		__scone_memcpy(prefix, regions[i].prefix, regions[i].len);
		prefix[regions[i].len] = 0;
		__scone_log(SCONE_LOG_INFO, "fs shield: region %s %s", prefix, names[regions[i].mode]);
		if (regions[i].mode == SCONE_FS_MODE_EPHEMERAL)
		{
			if (!__scone_eph_root)
				__scone_abort("scone: the signed policy has an ephemeral region, but the enclave was linked without the ephemeral-file shield; link it with --scone-fs=PREFIX:ephemeral");
			__scone_eph_root(prefix, regions[i].len);
		}
		if (regions[i].mode == SCONE_FS_MODE_ENCRYPTED || regions[i].mode == SCONE_FS_MODE_AUTHENTICATED) {
			if (!__scone_enc_region)
				__scone_log(SCONE_LOG_WARN, "fs shield: region %s: this binary was linked without the encrypted-file shield (link with scone-gcc --scone-fs); its files are refused (EACCES)", prefix);
			else if (__scone_enc_region(i, prefix, regions[i].len,
						    regions[i].mode == SCONE_FS_MODE_AUTHENTICATED, regions[i].tag, regions[i].key,
						    !!(__scone_rt.cfg->flags & SCONE_CONFIG_DEBUG), envp, sealp))
				__scone_abort("scone: too many encrypted and authenticated regions (the first 8 of the policy may be)");
		}
	}
	__scone_shield_on = 1;
}

long __scone_shield_host(long nr, const long a[6]);   /* dispatch.c */

static void warn_once(long nr, const char *what)
{
	if (nr >= 0 && nr < 512 && !__atomic_exchange_n(&warned[nr], 1, __ATOMIC_RELAXED))
		__scone_log(SCONE_LOG_WARN, "fs shield: system call %ld on %s is refused", nr, what);
}

/* Append the lexically normalized s to out[*n]; -ENAMETOOLONG. */
static long fold(char *out, size_t *n, const char *s)
{
	while (*s) {
		while (*s == '/')
			s++;
		const char *e = s;
		while (*e && *e != '/')
			e++;
		size_t l = (size_t)(e - s);
		if (l == 0)
			break;
		if (l == 1 && s[0] == '.') {
		} else if (l == 2 && s[0] == '.' && s[1] == '.') {
			while (*n > 0 && out[*n - 1] != '/')
				(*n)--;
			if (*n > 0)
				(*n)--;
		} else {
			if (*n + 1 + l + 1 > SCONE_PATH_MAX)
				return -ENAMETOOLONG;
			out[(*n)++] = '/';
			__scone_memcpy(out + *n, s, l);
			*n += l;
		}
		s = e;
	}
	out[*n] = 0;
	return 0;
}

static long host_cwd(char *out, size_t *n)
{
	scone_spin_lock(&cwd_lock);
	int ok = cwd_ok;
	if (ok)
		__scone_memcpy(out, cwd, SCONE_PATH_MAX);
	scone_spin_unlock(&cwd_lock);
	if (!ok) {
		char buf[SCONE_PATH_MAX];
		long g[6] = { (long)buf, sizeof buf };
		unsigned gen = __atomic_load_n(&cwd_gen, __ATOMIC_ACQUIRE);
		long r = __scone_shield_host(79, g);          /* getcwd */
		if (r < 0)
			return r;
		*n = 0;
		buf[sizeof buf - 1] = 0;
		if (fold(out, n, buf))
			return -ENAMETOOLONG;
		scone_spin_lock(&cwd_lock);
		if (gen == __atomic_load_n(&cwd_gen, __ATOMIC_ACQUIRE)) {   /* no chdir meanwhile */
			__scone_memcpy(cwd, out, SCONE_PATH_MAX);
			cwd_ok = 1;
		}
		scone_spin_unlock(&cwd_lock);
	}
	*n = __scone_strlen(out);
	return 0;
}

/* chdir/fchdir on the host; no working directory seen before it ends
 * stays cached (host_cwd checks the generation around its getcwd). */
static long host_chdir(long nr, const long a[6])
{
	__atomic_add_fetch(&cwd_gen, 1, __ATOMIC_ACQ_REL);
	long r = __scone_shield_host(nr, a);
	__atomic_add_fetch(&cwd_gen, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&cwd_ok, 0, __ATOMIC_RELEASE);
	return r;
}

/* The directory a host descriptor names, as the host says (/proc). */
static long host_fd_path(long fd, char *out, size_t *n)
{
	char proc[32] = "/proc/self/fd/", buf[SCONE_PATH_MAX];
	int i = 14;
	char d[12];
	int k = 0;
	unsigned long v = (unsigned long)fd;
	do d[k++] = (char)('0' + v % 10); while ((v /= 10));
	while (k)
		proc[i++] = d[--k];
	proc[i] = 0;
	long g[6] = { (long)proc, (long)buf, sizeof buf - 1 };
	long r = __scone_shield_host(89, g);                  /* readlink */
	if (r < 0)
		return r;
	buf[r] = 0;
	if (buf[0] != '/')
		return -EBADF;
	*n = 0;
	return fold(out, n, buf);
}

/*
 * Resolve (dirfd, path) into out and say which region holds it: the
 * region's index, -1 for none, or -errno.
 */
static long resolve(long dirfd, const char *path, char *out)
{
	size_t n = 0;
	long r = 0;
	if (!path)
		return -EFAULT;
	out[0] = 0;
	if (path[0] != '/') {
		if (dirfd == AT_FDCWD)
			r = host_cwd(out, &n);
		else if (__scone_shield_on && __scone_shield_owns_fd(dirfd))
			r = __scone_eph_fd_path(dirfd, out, &n);
		else
			r = host_fd_path(dirfd, out, &n);
		if (r < 0)
			return r;
	}
	if (fold(out, &n, path))
		return -ENAMETOOLONG;
	if (n == 0) {
		out[0] = '/';
		out[1] = 0;
		n = 1;
	}
	long best = -1;
	size_t best_len = 0;
	for (int i = 0; i < nregions; i++) {
		size_t l = regions[i].len;
		const char *p = regions[i].prefix;
		int root = l == 1;
		if ((root || (n >= l && !__scone_strncmp(out, p, l) && (out[l] == 0 || out[l] == '/'))) &&
		    (best < 0 || l > best_len)) {
			best = i;
			best_len = l;
		}
	}
	return best;
}

long __scone_shield_abspath(long dirfd, const char *path, char *out)
{
	long r = resolve(dirfd, path, out);
	return r < -1 ? r : 0;
}

/* The region's mode for a resolved region index. */
static int mode_of(long region)
{
	return region < 0 ? SCONE_FS_MODE_UNPROTECTED : regions[region].mode;
}

int __scone_shield_path_mode(const char *path)
{
	char p[SCONE_PATH_MAX];
	if (!__scone_shield_on || !path || path[0] != '/')
		return SCONE_FS_MODE_UNPROTECTED;
	long r = resolve(AT_FDCWD, path, p);
	return r < -1 ? -1 : mode_of(r);
}

/* One path argument: 1 = ephemeral, 2 = encrypted (*region says which),
 * 0 = the host's, <0 refused. */
static long classify_in(long nr, long dirfd, const char *path, char *out, int *region)
{
	long r = resolve(dirfd, path, out);
	if (r < 0 && r != -1)
		return r;
	*region = (int)r;
	switch (mode_of(r)) {
	case SCONE_FS_MODE_EPHEMERAL:
		return 1;
	case SCONE_FS_MODE_UNPROTECTED:
		return 0;
	default:                                   /* encrypted, authenticated */
		if (__scone_enc_open && r < 8)
			return 2;
		warn_once(nr, "a protected region this binary cannot serve");
		return -EACCES;
	}
}

static long classify(long nr, long dirfd, const char *path, char *out)
{
	int region;
	return classify_in(nr, dirfd, path, out, &region);
}

long __scone_shield_fd_call(long nr, const long a[6])
{
	if (__scone_shield_fdflag[a[0]] == 2)
		return __scone_enc_fd_call(nr, a);
	return __scone_eph_fd_call(nr, a);
}

/* A call on a descriptor a shield owns; a protected file's, while file
 * mappings exist, through the file maps (they hold plaintext copies). */
static long fd_call(long nr, const long a[6])
{
	if (__scone_shield_fdflag[a[0]] == 2 && __scone_fmap_active())
		return __scone_fmap_through(nr, a);
	return __scone_shield_fd_call(nr, a);
}

static long one_path(long nr, const long a[6], long dirfd, int pi, int *handled)
{
	char p[SCONE_PATH_MAX];
	const char *path = (const char *)a[pi];
	int region;
	if (dirfd != AT_FDCWD && path && !path[0] && __scone_shield_owns_fd(dirfd)) {
		*handled = 1;     /* AT_EMPTY_PATH-like calls on our descriptor */
		return fd_call(nr, a);
	}
	long c = classify_in(nr, dirfd, path, p, &region);
	if (c == 0) {
		*handled = 0;
		return 0;
	}
	*handled = 1;
	if (c < 0)
		return c;
	if (c == 2)
		return __scone_enc_path_call(region, nr, a, p, handled);
	return __scone_eph_path_call(nr, a, p);
}

static long two_paths(long nr, const long a[6], long d1, int p1, long d2, int p2, int *handled)
{
	char x[SCONE_PATH_MAX], y[SCONE_PATH_MAX];
	int r1, r2;
	long c1 = classify_in(nr, d1, (const char *)a[p1], x, &r1);
	long c2 = classify_in(nr, d2, (const char *)a[p2], y, &r2);
	if (c1 == 0 && c2 == 0) {
		*handled = 0;
		return 0;
	}
	*handled = 1;
	if (c1 < 0)
		return c1;
	if (c2 < 0)
		return c2;
	if (c1 != c2 || r1 != r2)
		return -18;       /* EXDEV: across regions, or in and out of one */
	if (c1 == 2)
		return __scone_enc_rename(r1, x, y, nr == 316 ? a[4] : 0);
	return __scone_eph_rename(nr, x, y, nr == 316 ? a[4] : 0);
}

static long open_call(long dirfd, const char *path, long flags, long mode, int *handled)
{
	char p[SCONE_PATH_MAX];
	int region;
	long c = classify_in(2, dirfd, path, p, &region);
	if (c == 0) {
		*handled = 0;
		return 0;
	}
	*handled = 1;
	if (c < 0)
		return c;
	if (c == 2)
		return __scone_enc_open(region, p, flags, mode, handled);
	return __scone_eph_open(p, flags, mode);
}

/* Calls whose first argument is a descriptor a shield may own. */
static int fd_first(long nr)
{
	switch (nr) {
	case 0: case 1: case 3: case 5: case 8: case 16: case 17: case 18: case 19: case 20:
	case 32: case 33: case 72: case 73: case 74: case 75: case 77: case 78: case 81: case 91:
	case 93: case 138: case 187: case 190: case 193: case 196: case 199: case 217: case 221:
	case 277: case 285: case 292: case 295: case 296: case 306: case 327: case 328:
		return 1;
	}
	return 0;
}

long __scone_shield_call(long nr, const long a[6], int *handled);

/* One call as the program's own would go: through the shields' door (a
 * file shield, or the network shield's TLS socket), else to the host. */
static long as_program(long nr, const long a[6])
{
	int h;
	long r = __scone_shield_call(nr, a, &h);
	return h ? r : __scone_shield_host(nr, a);
}

/* read or write n bytes of fd (at *off, then moved on, when off is given). */
static long xfer(long fd, int write, char *buf, size_t n, int64_t *off)
{
	long c[6] = { fd, (long)buf, (long)n, off ? *off : 0 };
	long r = as_program(off ? (write ? 18 : 17) : (write ? 1 : 0), c);
	if (r > 0 && off)
		*off += r;
	return r;
}

/*
 * sendfile, copy_file_range and splice with a protected or ephemeral file
 * on either side: the bytes go through the enclave, read from one side and
 * written to the other through the shield, never moved by the host (which
 * holds only ciphertext, or nothing). What the calls refuse is refused as
 * Linux does; splice moves at most a pipe's worth (64 KiB) per call.
 */
static long copy_through(long nr, const long a[6])
{
	long in = nr == 40 ? a[1] : a[0], out = nr == 40 ? a[0] : a[2];
	int64_t *off_in = (int64_t *)(nr == 40 ? a[2] : a[1]);
	int64_t *off_out = nr == 40 ? 0 : (int64_t *)a[3];
	size_t len = (size_t)(nr == 40 ? a[3] : a[4]);
	if (nr == 326 && a[5])
		return -22;
	if ((off_in && *off_in < 0) || (off_out && *off_out < 0))
		return nr == 326 ? -75 : -22;            /* as Linux: EOVERFLOW, EINVAL */
	if (nr == 326 && in == out && off_in && off_out &&
	    (uint64_t)*off_in < (uint64_t)*off_out + len && (uint64_t)*off_out < (uint64_t)*off_in + len)
		return -22;                              /* overlapping ranges of one file */
	if (nr == 275 && len > 65536)
		len = 65536;
	if (len > 0x7ffff000)
		len = 0x7ffff000;
	size_t cap = len < 65536 ? (len ? len : 1) : 65536;
	long m = __scone_sys_mmap(0, (cap + 4095) & ~4095ul, 3, 0x22, -1, 0);
	if (m < 0)
		return m;
	char *buf = (char *)m;
	long total = 0, r = 0;
	while ((size_t)total < len) {
		size_t want = len - (size_t)total < cap ? len - (size_t)total : cap;
		r = xfer(in, 0, buf, want, off_in);
		if (r <= 0)
			break;
		long got = r;
		for (long done = 0; done < got;) {
			r = xfer(out, 1, buf + done, (size_t)(got - done), off_out);
			if (r <= 0) {
				/* what was read and not written: back where it came from */
				if (off_in)
					*off_in -= got - done;
				else {
					long c[6] = { in, -(got - done), 1 };
					as_program(8, c);
				}
				got = done;
				break;
			}
			done += r;
		}
		total += got;
		if (r <= 0 || (size_t)got < want)
			break;
	}
	__scone_sys_munmap((unsigned long)m, (cap + 4095) & ~4095ul);
	return total ? total : r;
}

long __scone_shield_call(long nr, const long a[6], int *handled)
{
	*handled = 0;
	if (nr == 80 || nr == 81)                              /* chdir, fchdir */
		__atomic_store_n(&cwd_ok, 0, __ATOMIC_RELAXED);
	if (__scone_proc_fds || nr == 2 || nr == 257) {
		long r = __scone_proc_call(nr, a, handled);
		if (*handled)
			return r;
	}
	if (!__scone_shield_on)
		return 0;
	if (__scone_console_on) {
		long r = __scone_console_call(nr, a, handled);
		if (*handled)
			return r;
	}
	if (__scone_net_on) {
		long r = __scone_net_call(nr, a, handled);
		if (*handled)
			return r;
	}
	switch (nr) {
	/* calls on a path */
	case 2: return open_call(AT_FDCWD, (const char *)a[0], a[1], a[2], handled);
	case 85: return open_call(AT_FDCWD, (const char *)a[0], O_CREAT | O_WRONLY | O_TRUNC, a[1], handled);
	case 257: return open_call(a[0], (const char *)a[1], a[2], a[3], handled);
	case 4: case 6: case 21: case 76: case 83: case 84: case 87: case 89: case 90: case 92:
	case 94: case 133: case 137: case 161: case 188: case 189: case 191: case 192: case 194:
	case 195: case 197: case 198:
		return one_path(nr, a, AT_FDCWD, 0, handled);
	case 80: {                                             /* chdir */
		__atomic_store_n(&cwd_ok, 0, __ATOMIC_RELAXED);
		long r = one_path(nr, a, AT_FDCWD, 0, handled);
		if (*handled) {
			if (r >= 0)
				r = -EACCES;   /* the host has no such directory to stand in */
			return r;
		}
		/* Folding a relative path above cached the directory we leave:
		 * the host changes it here, and the cache is dropped after. */
		*handled = 1;
		return host_chdir(nr, a);
	}
	case 81:                                               /* fchdir */
		*handled = 1;
		if (__scone_shield_owns_fd(a[0]))
			return fd_call(nr, a);             /* an ephemeral directory: refused there */
		return host_chdir(nr, a);
	case 258: case 259: case 260: case 262: case 263: case 267: case 268: case 269: case 332:
	case 439:
		return one_path(nr, a, a[0], 1, handled);
	case 280:                                              /* utimensat */
		if (!a[1]) {
			if (!__scone_shield_owns_fd(a[0]))
				return 0;
			*handled = 1;
			return fd_call(nr, a);
		}
		return one_path(nr, a, a[0], 1, handled);
	case 82: return two_paths(nr, a, AT_FDCWD, 0, AT_FDCWD, 1, handled);
	case 264: case 316: return two_paths(nr, a, a[0], 1, a[2], 3, handled);
	case 86: case 88: case 265: case 266: case 437: {     /* link, symlink, openat2 */
		char x[SCONE_PATH_MAX];
		int pi = nr == 86 || nr == 88 ? 1 : nr == 437 ? 1 : 3;
		long d = nr == 265 ? a[2] : nr == 266 ? a[1] : nr == 437 ? a[0] : AT_FDCWD;
		if (nr == 266)
			pi = 2;
		long c = classify(nr, d, (const char *)a[pi], x);
		if (c == 0 && (nr == 86 || nr == 265)) {
			c = classify(nr, nr == 265 ? a[0] : AT_FDCWD, (const char *)a[nr == 265 ? 1 : 0], x);
		}
		if (c == 0)
			return 0;
		*handled = 1;
		if (c > 0) {
			warn_once(nr, "an ephemeral region");
			return -EPERM;
		}
		return c;
	}
	}
	/* calls on a descriptor: the per-fd flag is the whole cost */
	if (fd_first(nr) && __scone_shield_owns_fd(a[0])) {
		*handled = 1;
		return fd_call(nr, a);
	}
	switch (nr) {
	case 33: case 292:                                     /* dup2/dup3 onto one of ours */
		if (__scone_shield_owns_fd(a[1]) && a[0] != a[1]) {
			if (__scone_shield_fdflag[a[1]] == 2) {
				__scone_enc_release(a[1]);
				break;                         /* then the host's dup2 */
			}
			*handled = 1;
			return __scone_eph_dup_onto(nr, a);
		}
		break;
	case 436:                                              /* close_range */
		if (__scone_enc_release && !(a[2] & 4))
			for (unsigned long fd = (unsigned long)a[0]; fd <= (unsigned long)a[1] && fd < SCONE_SHIELD_FDS; fd++)
				if (__scone_shield_fdflag[fd] == 2)
					__scone_enc_release((long)fd);
		if (!__scone_eph_close_range)
			return 0;                      /* the host's close_range */
		*handled = 1;
		return __scone_eph_close_range(a);
	case 40: case 326: case 275:                           /* sendfile, copy_file_range, splice */
		if (__scone_shield_owns_fd(a[0]) || __scone_shield_owns_fd(nr == 40 ? a[1] : a[2])) {
			*handled = 1;
			return copy_through(nr, a);
		}
		break;
	}
	return 0;
}

/*
 * A protected file's mapping is a copy of its plaintext in enclave memory,
 * kept by the file maps like any file's (filemap.c): MAP_PRIVATE a copy
 * never written back; a writable MAP_SHARED one written back through the
 * shield on msync (a commit), munmap and exit.
 */
long __scone_shield_mmap(const long a[6])
{
	if (__scone_shield_fdflag[a[4]] == SCONE_SHIELD_FD_CONSOLE)
		return -13;       /* EACCES: a console stream's bytes leave only in frames */
	if (__scone_shield_fdflag[a[4]] == 2) {
		const long g[6] = { a[4], 3 };                     /* F_GETFL */
		long fl = __scone_enc_fd_call(72, g);
		if (fl < 0)
			return fl;
		int shared = (a[3] & 3) == 1 || (a[3] & 3) == 3;
		if ((fl & 3) == O_WRONLY || (shared && (a[2] & 2) && (fl & 3) != 2))
			return -EACCES;                            /* as Linux checks the access mode */
		return __scone_sys_mmap(a[0], a[1], a[2], a[3], a[4], a[5]);
	}
	return __scone_eph_mmap(a);
}

void __scone_shield_exit(void)
{
	if (__scone_enc_exit)
		__scone_enc_exit();
	if (__scone_console_on)
		__scone_console_exit();
}
