/*
 * Encrypted and authenticated regions (encrypted.h). A region's root
 * directory is a volume (fs/FORMAT.md §2): its metadata file .scone-volume
 * records every file's size and root MAC (encrypted: Gramine's format, §1,
 * bound to the volume-relative path) or SHA-256 (authenticated: plaintext
 * on the host, read whole into the enclave and checked at open, §2.4).
 * File names and directories stay in clear on the host; directories,
 * listings and stat of directories are the host's.
 *
 * A descriptor is the host descriptor of the backing file itself (so its
 * number is unique and poll/select are sane), flagged in shield.h's table,
 * with our handle in files[fd]. Host I/O goes through __scone_shield_host
 * (the client), the backing files' bytes straight to the client; crypto
 * through the shields' crypto API by __scone_vec_call (the hook keeps the
 * caller's vector registers).
 *
 * Commits (close, fsync, rename, exit): the file is flushed, its entry set
 * in the volume, and the metadata written to .scone-tmp..scone-volume,
 * fsync'd and renamed over .scone-volume; the tag is logged at info.
 * Renames copy a file into one bound to its new path (FORMAT.md §3), and
 * an open file's handle follows it (rebind); a volume whose tag is signed
 * in (--scone-fs-tag) is read-only. An encrypted file's backing I/O is
 * batched (struct hfd). Locks are
 * served here, per process (struct lk).
 *
 * One lock serializes the region's work; it is held across host calls, so
 * a waiter yields to the scheduler instead of spinning.
 */
#include "encrypted.h"
#include "ephemeral.h"
#include "sfs.h"
#include "shield.h"

#include <scone/crypto.h>

#include "../../sched/scone_sched.h"
#include "../../trusted/client.h"

#define EPERM 1
#define ENOENT 2
#define EIO 5
#define EBADF 9
#define ENOMEM 12
#define EACCES 13
#define EEXIST 17
#define EXDEV 18
#define EISDIR 21
#define EINVAL 22
#define ENOTTY 25
#define ENOSPC 28
#define EROFS 30

#define O_ACCMODE 03
#define O_RDONLY 0
#define O_RDWR 02
#define O_CREAT 0100
#define O_EXCL 0200
#define O_TRUNC 01000
#define O_APPEND 02000
#define O_NONBLOCK 04000
#define O_DIRECTORY 0200000
#define O_CLOEXEC 02000000
#define AT_FDCWD (-100)
#define S_IFMT 0170000
#define S_IFDIR 0040000

#define MAX_VOLUMES 8
#define BODY_CAP (4u << 20)            /* metadata body we hold: volume size limit */
#define PAGE 4096ul

long __scone_vec_call(long (*fn)(void *), void *arg) SCONE_HIDDEN;
static int differ(const uint8_t *a, const uint8_t *b, size_t n);

int __scone_enc_call;

struct volume {
	char root[SCONE_PATH_MAX];
	size_t rlen;
	uint8_t key[16];
	int have_key, loaded, dirty, broken;
	uint8_t expect_tag[32];
	int have_tag;
	int from_cas;                  /* key and tag came from the CAS (shield/cas) */
	int fixed;                     /* the tag is signed (--scone-fs-tag): read-only */
	int sealed, seal_policy;       /* key to derive from seal at first use */
	int key_source, warned;
	struct scone_sim_seal seal;
	unsigned kind;                 /* what new files get: SFS_KIND_ENCRYPTED or _AUTHENTICATED */
	struct sfs_volume v;
	uint8_t *body;                 /* BODY_CAP bytes */
};

/* What the format library's h is: where the host descriptor is kept, so a
 * dup can take over when the first descriptor closes. */
struct hfd {
	long fd;
	/* An open file's host I/O is batched: a host call costs far more than
	 * moving a node, so sequential reads fetch IO_READ bytes at once, and
	 * node writes wait in W_SLOTS slots until the library's fsync, a read,
	 * a truncate or a full buffer, then go out sorted by offset, one call
	 * per run of neighbours. Only ciphertext is kept; the library checks
	 * every node it is given. Buffers are taken at first use and given
	 * back at close (none: unbuffered, slower). */
	int buffered;                  /* 0: unbuffered (the short-lived ones) */
	uint8_t *rbuf, *wbuf;          /* rbuf also stages a run at drain */
	uint64_t r_off, r_next;
	size_t r_len;
	unsigned w_n;
	uint64_t w_off[64];
};

/* Under the client's transfer unit (128 KiB): a call that fills it costs
 * another (the client asks whether Linux would have gone on). */
#define IO_READ (120u << 10)
#define W_SLOTS 64u
#define IO_BUF (IO_READ + W_SLOTS * PAGE)

/* One open file: every descriptor of it shares the one format handle, so
 * they see each other's writes as on Linux. */
struct enode {
	struct hfd h;                  /* one of its descriptors, for the library's I/O */
	unsigned kind;                 /* its volume entry's: SFS_KIND_* */
	struct sfs_file *f;            /* encrypted: the format library's handle */
	void *mem;
	size_t mem_size;
	/* authenticated: the content, checked against its SHA-256 once at open
	 * and served from here, so the host cannot change it after the check;
	 * [dlo, dhi) differs from the host's copy. */
	uint8_t *data;
	uint64_t size, dlo, dhi;
	int ro;
	struct volume *vol;
	char rel[SFS_PATH_MAX_SIZE];
	int opens, dirty, unlinked;
	struct lk *locks;              /* OFD and flock locks held on it */
	struct enode *next;
};

/*
 * Locks on a protected file are served here, for this process: its files'
 * content lives in this enclave, and one enclave process is the volume's
 * only writer (its commits are not coordinated with other processes), so
 * the only conflicts that can matter are between this process's own open
 * file descriptions. POSIX record locks belong to the process and never
 * conflict with its own (F_GETLK reports F_UNLCK, F_SETLK succeeds, as on
 * Linux for a lone process); OFD locks and flock belong to an open file
 * description and conflict between two of them, as on Linux. The host
 * never sees them, so it cannot grant or refuse them.
 */
struct lk {
	struct efile *owner;
	int flock;                     /* flock (whole file) or OFD (a range) */
	int write;
	uint64_t start, end;           /* [start, end); end UINT64_MAX: to the end of any size */
	struct lk *next;
};

struct efile {                         /* an open file description */
	struct enode *n;
	uint64_t off;
	long flags;
	int refs;
};

static struct enode *open_nodes;

#define MAX_LOCKS 512
static void lk_drop(struct enode *n, struct efile *owner);
static struct lk lock_pool[MAX_LOCKS];
static struct lk *free_locks;
static int locks_ready;

static struct volume vols[MAX_VOLUMES];
static struct efile **files;
static int lk;
static unsigned cache_nodes = 32;

static void lock(void)
{
	while (__atomic_exchange_n(&lk, 1, __ATOMIC_ACQUIRE)) {
		if (__scone_sched_active())
			__scone_sched_yield();
		else
			__asm__ __volatile__("pause");
	}
}

static void unlock(void)
{
	__atomic_store_n(&lk, 0, __ATOMIC_RELEASE);
}

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

/* The backing file's own bytes: straight to the client, past the file maps
 * (filemap.c), which hold plaintext copies of a mapped protected file and
 * must not see its ciphertext. */
static long raw(long nr, long a0, long a1, long a2, long a3)
{
	long a[6] = { a0, a1, a2, a3, 0, 0 };
	return __scone_external(nr, a);
}

/* ---- callbacks for the format library ---- */

static int raw_read(long fd, uint64_t off, void *buf, size_t len, size_t min)
{
	size_t got = 0;
	while (got < len) {
		long r = raw(17, fd, (long)buf + (long)got, (long)(len - got), (long)(off + got));
		if (r < 0 || (r == 0 && got >= min))
			break;
		if (r == 0)
			return -1;
		got += (size_t)r;
	}
	return got >= min ? (int)(got > 0x7fffffff ? 0x7fffffff : got) : -1;
}

static int raw_write(long fd, uint64_t off, const void *buf, size_t len)
{
	while (len) {
		long r = raw(18, fd, (long)buf, (long)len, (long)off);
		if (r <= 0)
			return 1;
		buf = (const char *)buf + r, len -= (size_t)r, off += (uint64_t)r;
	}
	return 0;
}

static int buffers(struct hfd *h)
{
	if (!h->rbuf && h->buffered && (h->rbuf = heap_alloc(IO_BUF)))
		h->wbuf = h->rbuf + IO_READ;
	return h->rbuf != 0;
}

/* Pending node writes go to the host (before anything else touches it),
 * in offset order, neighbours gathered into one call. */
static int drain(struct hfd *h)
{
	unsigned n = h->w_n, ix[W_SLOTS];
	if (!n)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned j = i;
		for (; j > 0 && h->w_off[ix[j - 1]] > h->w_off[i]; j--)
			ix[j] = ix[j - 1];
		ix[j] = i;
	}
	h->w_n = 0;
	h->r_len = 0;                              /* rbuf stages the runs */
	for (unsigned i = 0; i < n;) {
		unsigned k = 0;
		uint64_t at = h->w_off[ix[i]];
		while (i < n && k < IO_READ / PAGE && h->w_off[ix[i]] == at + k * PAGE)
			__scone_memcpy(h->rbuf + k++ * PAGE, h->wbuf + ix[i++] * PAGE, PAGE);
		if (raw_write(h->fd, at, h->rbuf, k * PAGE))
			return 1;
	}
	return 0;
}

static int cb_read(void *ctx, void *h_, uint64_t off, void *buf, size_t len)
{
	(void)ctx;
	struct hfd *h = h_;
	if (drain(h))
		return 1;
	if (len > IO_READ || !buffers(h))
		return raw_read(h->fd, off, buf, len, len) < 0;
	if (off >= h->r_off && off + len <= h->r_off + h->r_len) {
		__scone_memcpy(buf, h->rbuf + (off - h->r_off), len);
		h->r_next = off + len;
		return 0;
	}
	/* read ahead only when the reads follow each other */
	int got = raw_read(h->fd, off, h->rbuf, off == h->r_next ? IO_READ : len, len);
	if (got < 0) {
		h->r_len = 0;
		return 1;
	}
	h->r_off = off, h->r_len = (size_t)got, h->r_next = off + len;
	__scone_memcpy(buf, h->rbuf, len);
	return 0;
}

static int cb_write(void *ctx, void *h_, uint64_t off, const void *buf, size_t len)
{
	(void)ctx;
	struct hfd *h = h_;
	if (h->r_len && off < h->r_off + h->r_len && off + len > h->r_off)
		h->r_len = 0;                                /* stale now */
	if (len != PAGE || off % PAGE || !buffers(h))
		return drain(h) || raw_write(h->fd, off, buf, len);
	unsigned i = 0;
	while (i < h->w_n && h->w_off[i] != off)
		i++;
	if (i == W_SLOTS) {
		if (drain(h))
			return 1;
		i = 0;
	}
	if (i == h->w_n)
		h->w_off[h->w_n++] = off;
	__scone_memcpy(h->wbuf + i * PAGE, buf, PAGE);
	return 0;
}

static int cb_truncate(void *ctx, void *h_, uint64_t size)
{
	(void)ctx;
	struct hfd *h = h_;
	h->r_len = 0;
	return drain(h) || raw(77, h->fd, (long)size, 0, 0) ? 1 : 0;
}

static int cb_fsync(void *ctx, void *h_)
{
	(void)ctx;
	struct hfd *h = h_;
	return drain(h) || raw(74, h->fd, 0, 0, 0) ? 1 : 0;
}

struct gcm_args {
	const uint8_t *key, *iv;
	const void *aad;
	size_t aad_len;
	const void *in;
	size_t len;
	void *out;
	uint8_t *tag;
};

static long gcm_enc(void *p)
{
	struct gcm_args *g = p;
	return __scone_crypto_aes_gcm_encrypt(g->key, 16, g->iv, 12, g->aad, g->aad_len, g->in,
					      g->len, g->out, g->tag);
}

static long gcm_dec(void *p)
{
	struct gcm_args *g = p;
	return __scone_crypto_aes_gcm_decrypt(g->key, 16, g->iv, 12, g->aad, g->aad_len, g->in,
					      g->len, g->out, g->tag);
}

static int cb_gcm_encrypt(void *ctx, const uint8_t key[16], const uint8_t iv[12], const void *aad,
			  size_t aad_len, const void *in, size_t len, void *out, uint8_t tag[16])
{
	(void)ctx;
	struct gcm_args g = { key, iv, aad, aad_len, in, len, out, tag };
	return __scone_vec_call(gcm_enc, &g) ? 2 : 0;
}

static int cb_gcm_decrypt(void *ctx, const uint8_t key[16], const uint8_t iv[12], const void *aad,
			  size_t aad_len, const void *in, size_t len, void *out, const uint8_t tag[16])
{
	(void)ctx;
	struct gcm_args g = { key, iv, aad, aad_len, in, len, out, (uint8_t *)tag };
	long r = __scone_vec_call(gcm_dec, &g);
	return r == SCONE_CRYPTO_EAUTH ? SFS_CB_MAC_MISMATCH : r ? 2 : 0;
}

struct cmac_args { const uint8_t *key; const void *in; size_t len; uint8_t *mac; };

static long cmac(void *p)
{
	struct cmac_args *c = p;
	return __scone_crypto_aes_cmac(c->key, 16, c->in, c->len, c->mac);
}

static int cb_cmac(void *ctx, const uint8_t key[16], const void *in, size_t len, uint8_t mac[16])
{
	(void)ctx;
	struct cmac_args c = { key, in, len, mac };
	return __scone_vec_call(cmac, &c) ? 1 : 0;
}

struct buf_args { void *h; const void *data; size_t len; uint8_t *out; };

static long rnd(void *p)
{
	struct buf_args *b = p;
	return __scone_crypto_random((void *)b->data, b->len);
}

static int cb_random(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	struct buf_args b = { 0, buf, len, 0 };
	return __scone_vec_call(rnd, &b) ? 1 : 0;
}

static long sha_new(void *p)
{
	((struct buf_args *)p)->h = __scone_crypto_sha256_new();
	return 0;
}

static long sha_update(void *p)
{
	struct buf_args *b = p;
	return __scone_crypto_sha256_update(b->h, b->data, b->len);
}

static long sha_final(void *p)
{
	struct buf_args *b = p;
	return __scone_crypto_sha256_final(b->h, b->out);
}

static void *cb_sha_begin(void *ctx)
{
	(void)ctx;
	struct buf_args b = { 0, 0, 0, 0 };
	__scone_vec_call(sha_new, &b);
	return b.h;
}

static int cb_sha_update(void *ctx, void *sh, const void *data, size_t len)
{
	(void)ctx;
	struct buf_args b = { sh, data, len, 0 };
	return __scone_vec_call(sha_update, &b) ? 1 : 0;
}

static int cb_sha_end(void *ctx, void *sh, uint8_t out[32])
{
	(void)ctx;
	struct buf_args b = { sh, 0, 0, out };
	return __scone_vec_call(sha_final, &b) ? 1 : 0;
}

static const struct sfs_callbacks cb = {
	0, cb_read, cb_write, cb_truncate, cb_fsync, cb_gcm_encrypt, cb_gcm_decrypt, cb_cmac,
	cb_random, cb_sha_begin, cb_sha_update, cb_sha_end,
};

/* ---- keys, volumes, commits ---- */

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* "PREFIX:HEX[,PREFIX:HEX]..." -> the n-byte value given for prefix. */
static int env_hex(char **envp, const char *name, const char *prefix, size_t plen, uint8_t *out, size_t n)
{
	size_t nl = __scone_strlen(name);
	for (char **e = envp; e && *e; e++) {
		if (__scone_strncmp(*e, name, nl) || (*e)[nl] != '=')
			continue;
		const char *s = *e + nl + 1;
		while (*s) {
			const char *c = s;
			while (*c && *c != ':')
				c++;
			if (!*c)
				return 0;
			int match = (size_t)(c - s) == plen && !__scone_strncmp(s, prefix, plen);
			c++;
			size_t i = 0;
			int ok = 1;
			for (; i < 2 * n && hexval(c[i]) >= 0; i++)
				if (match)
					out[i / 2] = (uint8_t)((i % 2 ? out[i / 2] : 0) | hexval(c[i]) << (i % 2 ? 0 : 4));
			ok = i == 2 * n && (c[i] == 0 || c[i] == ',');
			if (match)
				return ok ? 1 : -1;
			s = c + i;
			while (*s && *s != ',')
				s++;
			if (*s == ',')
				s++;
		}
	}
	return 0;
}

struct hkdf_args { const uint8_t *secret; const uint8_t *info; size_t info_len; uint8_t *out; };

static long seal_kdf(void *p)
{
	struct hkdf_args *h = p;
	static const char salt[] = "SCONE-SIM-SEAL-KEY-v1";
	return __scone_crypto_hkdf_sha256(h->secret, 32, salt, sizeof salt - 1, h->info, h->info_len,
					  h->out, 16);
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++)
		out[2 * i] = d[b[i] >> 4], out[2 * i + 1] = d[b[i] & 15];
	out[2 * n] = 0;
}

int __scone_enc_region(int region, const char *prefix, size_t len, int authenticated,
		       const uint8_t *fixed_tag, int key_source, int debug, char **envp,
		       const struct scone_sim_seal *seal)
{
	if (region >= MAX_VOLUMES)
		return -1;
	if (!files) {
		files = heap_alloc(SCONE_SHIELD_FDS * sizeof *files);
		if (!files)
			__scone_abort("scone: no heap left for the encrypted-file shield; sign with a larger --heap");
		for (char **e = envp; e && *e; e++)
			if (!__scone_strncmp(*e, "SCONE_FS_CACHE=", 15)) {
				unsigned n = 0;
				for (const char *c = *e + 15; *c >= '0' && *c <= '9' && n < 1u << 20; c++)
					n = n * 10 + (unsigned)(*c - '0');
				cache_nodes = n;
			}
		if (cache_nodes < SFS_MIN_CACHE_NODES)
			cache_nodes = SFS_MIN_CACHE_NODES;
	}
	struct volume *v = &vols[region];
	__scone_memcpy(v->root, prefix, len);
	v->root[len] = 0;
	v->rlen = len;
	v->kind = authenticated ? SFS_KIND_AUTHENTICATED : SFS_KIND_ENCRYPTED;
	int k = env_hex(envp, "SCONE_FS_KEY", prefix, len, v->key, 16);
	int t = env_hex(envp, "SCONE_FS_TAG", prefix, len, v->expect_tag, 32);
	if ((k || t) && !debug)
		__scone_abort("scone: SCONE_FS_KEY and SCONE_FS_TAG are refused by a production-signed enclave");
	if (k < 0 || t < 0)
		__scone_abort("scone: SCONE_FS_KEY/SCONE_FS_TAG: expected PREFIX:HEX (32 hex digits for a key, 64 for a tag)");
	if (t && fixed_tag)
		__scone_abortf("scone: SCONE_FS_TAG names volume %s, whose tag is signed into the enclave; unset it", v->root);
	v->have_key = k > 0;
	v->have_tag = t > 0;
	if (fixed_tag) {
		__scone_memcpy(v->expect_tag, fixed_tag, 32);
		v->have_tag = v->fixed = 1;
	}
	/* What the key is, said once at the volume's first use (not at start:
	 * a program that never touches the region prints nothing). */
	v->key_source = key_source;
	if (!v->have_key && seal && key_source != SCONE_FS_KEY_CAS) {
		v->seal = *seal;
		v->seal_policy = key_source;
		v->sealed = 1;
	}
	return 0;
}

int __scone_enc_set_volume_key(const char *prefix, const uint8_t key[16], const uint8_t *tag)
{
	int r = -1;
	lock();
	for (int i = 0; i < MAX_VOLUMES; i++) {
		struct volume *v = &vols[i];
		if (!v->rlen || __scone_strlen(prefix) != v->rlen || __scone_strncmp(prefix, v->root, v->rlen) ||
		    v->loaded)
			continue;
		__scone_memcpy(v->key, key, 16);
		v->have_key = 1;
		v->from_cas = 1;
		if (v->fixed) {
			if (tag && differ(tag, v->expect_tag, 32))
				__scone_abortf("scone: volume %s refused: the CAS holds another tag than the one signed into the enclave", v->root);
		} else {
			v->have_tag = tag != 0;
			if (tag)
				__scone_memcpy(v->expect_tag, tag, 32);
		}
		r = 0;
	}
	unlock();
	return r;
}

static long host_open(const char *path, long flags, long mode)
{
	return host(257, AT_FDCWD, (long)path, flags, mode);
}

/* Load the volume's metadata, or start an empty one (lock held). */
static long load(struct volume *v)
{
	if (v->loaded)
		return v->broken ? -EIO : 0;
	if (v->warned++)
		;
	else if (v->have_key && v->from_cas)
		__scone_log(SCONE_LOG_INFO, "fs shield: volume %s uses the key its CAS session gave", v->root);
	else if (v->have_key)
		__scone_log(SCONE_LOG_WARN, "fs shield: volume %s uses the key given in SCONE_FS_KEY (debug enclave only)", v->root);
	else if (v->sealed)
		__scone_log(SCONE_LOG_WARN, "fs shield: volume %s: its key is sealed to %s with EGETKEY emulated in SIM from a per-machine secret file; this protects nothing against this machine's root",
			    v->root, v->seal_policy == SCONE_FS_KEY_SEALED_MRSIGNER ? "MRSIGNER" : "MRENCLAVE");
	else
		__scone_log(SCONE_LOG_WARN, "fs shield: volume %s has no key: %s; its files are refused (EACCES)", v->root,
			    v->key_source == SCONE_FS_KEY_CAS ? "its key comes from the CAS before main (a binary built with --scone-cas-key), and none came"
			    : "sealing on hardware (EGETKEY) is not served yet");
	if (!v->have_key && v->sealed) {
		/* key = HKDF-SHA256(secret, salt, policy || MRENCLAVE or MRSIGNER || prefix) */
		uint8_t info[1 + 32 + SCONE_PATH_MAX];
		info[0] = (uint8_t)v->seal_policy;
		__scone_memcpy(info + 1, v->seal_policy == SCONE_FS_KEY_SEALED_MRSIGNER ? v->seal.mrsigner
			       : v->seal.mrenclave, 32);
		__scone_memcpy(info + 33, v->root, v->rlen);
		struct hkdf_args h = { v->seal.secret, info, 33 + v->rlen, v->key };
		if (__scone_vec_call(seal_kdf, &h))
			return -EIO;
		__scone_memset(&v->seal, 0, sizeof v->seal);
		v->have_key = 1;
	}
	if (!v->have_key)
		return -EACCES;
	if (!v->body && !(v->body = heap_alloc(BODY_CAP)))
		return -ENOMEM;
	char p[SCONE_PATH_MAX + 16];
	__scone_memcpy(p, v->root, v->rlen);
	__scone_memcpy(p + v->rlen, "/" SFS_VOL_NAME, sizeof SFS_VOL_NAME + 1);
	long fd = host_open(p, O_RDONLY | O_CLOEXEC, 0);
	int st;
	if (fd == -ENOENT) {
		if (v->have_tag)
			__scone_abortf("scone: volume %s refused: its metadata file is missing (%s)", v->root,
				       v->fixed ? "a tag for it is signed into the enclave" :
				       v->from_cas ? "the CAS holds a tag for it" : "a tag was given in SCONE_FS_TAG");
		st = sfs_vol_init(&v->v, &cb, v->key, v->body, BODY_CAP);
		v->dirty = 1;
	} else if (fd < 0) {
		return fd;
	} else {
		long size = host(8, fd, 0, 2, 0);              /* lseek SEEK_END */
		struct hfd h = { .fd = fd };
		st = size < 0 ? SFS_E_IO : sfs_vol_load(&v->v, &cb, &h, (uint64_t)size, v->key,
							v->have_tag ? v->expect_tag : 0, v->body, BODY_CAP);
		host(3, fd, 0, 0, 0);
	}
	v->loaded = 1;
	if (st && v->have_tag)
		__scone_abortf("scone: volume %s refused: %s (with the tag %s)", v->root, sfs_strerror(st),
			       v->fixed ? "signed into the enclave" : v->from_cas ? "the CAS holds" : "given in SCONE_FS_TAG");
	if (st) {
		v->broken = 1;
		__scone_log(SCONE_LOG_ERROR, "fs shield: volume %s refused: %s", v->root, sfs_strerror(st));
		return -EIO;
	}
	return 0;
}

/* Write the metadata atomically (lock held). */
static long commit(struct volume *v)
{
	if (!v->dirty)
		return 0;
	size_t cap = sfs_vol_serialized_size(&v->v), len;
	uint8_t *out = heap_alloc(cap);
	if (!out)
		return -ENOMEM;
	long r = -EIO;
	if (!sfs_vol_serialize(&v->v, &cb, out, cap, &len)) {
		char tmp[SCONE_PATH_MAX + 40], dst[SCONE_PATH_MAX + 16];
		__scone_memcpy(tmp, v->root, v->rlen);
		__scone_memcpy(tmp + v->rlen, "/.scone-tmp." SFS_VOL_NAME, sizeof ".scone-tmp." SFS_VOL_NAME + 1);
		__scone_memcpy(dst, v->root, v->rlen);
		__scone_memcpy(dst + v->rlen, "/" SFS_VOL_NAME, sizeof SFS_VOL_NAME + 1);
		long fd = host_open(tmp, 01 | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			struct hfd h = { .fd = fd };
			int bad = cb_write(0, &h, 0, out, len) || cb_fsync(0, &h);
			host(3, fd, 0, 0, 0);
			r = bad ? -EIO : host(82, (long)tmp, (long)dst, 0, 0);
			if (!r) {
				long d = host_open(v->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
				if (d >= 0) {
					host(74, d, 0, 0, 0);
					host(3, d, 0, 0, 0);
				}
				v->dirty = 0;
				char t[65];
				hex(v->v.tag, 32, t);
				__scone_log(SCONE_LOG_INFO, "fs shield: volume %s committed, tag %s", v->root, t);
				if (__scone_enc_commit_hook && __scone_enc_commit_hook(v->root, v->v.tag))
					r = -EIO;           /* on disk, but the CAS does not have it */
			}
		} else {
			r = fd;
		}
	}
	heap_free(out, cap);
	return r;
}

static long status_errno(int st, const char *what, const char *rel, struct volume *v)
{
	__scone_log(SCONE_LOG_ERROR, "fs shield: %s/%s: %s refused: %s", v->root, rel, what, sfs_strerror(st));
	return st == SFS_E_TOO_BIG ? -27 : -EIO;
}

/* ---- one file's content: the format library's handle (encrypted) or the
 * checked bytes in enclave memory (authenticated); SFS_* statuses ---- */

#define AUTH_MAX (1ull << 40)

static int differ(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;
	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d != 0;
}

static uint64_t n_size(const struct enode *e)
{
	return e->kind == SFS_KIND_ENCRYPTED ? sfs_file_size(e->f) : e->size;
}

/* Room for size bytes of an authenticated file's content. */
static int auth_reserve(struct enode *e, uint64_t size)
{
	if (size > AUTH_MAX)
		return SFS_E_TOO_BIG;
	size_t have = e->mem_size;
	if (size <= have)
		return SFS_OK;
	size_t want = have < PAGE ? PAGE : have;
	while (want < size)
		want *= 2;
	uint8_t *d = heap_alloc(want);
	if (!d)
		return SFS_E_TOO_BIG;
	if (e->data) {
		__scone_memcpy(d, e->data, (size_t)e->size);
		heap_free(e->data, have);
	}
	e->data = d;
	e->mem_size = want;
	return SFS_OK;
}

/* Open or create the content of e (e->h, e->vol, e->rel, e->kind set). An
 * authenticated file is read whole into the enclave once and its size and
 * SHA-256 checked against the entry on that copy. */
static int n_open(struct enode *e, uint64_t host_size, int create, int writable)
{
	struct volume *v = e->vol;
	e->ro = !writable;
	if (e->kind == SFS_KIND_ENCRYPTED) {
		size_t ms = sfs_file_mem_size(cache_nodes);
		void *mem = heap_alloc(ms);
		if (!mem)
			return SFS_E_TOO_BIG;
		int st = sfs_file_open(mem, ms, cache_nodes, &cb, &e->h, host_size, e->rel, v->key,
				       (create ? SFS_OPEN_CREATE : 0) | (writable ? SFS_OPEN_WRITE : 0), &e->f);
		if (!st && !create)
			st = sfs_vol_check_file(&v->v, e->rel, e->f);
		if (st) {
			if (e->f)
				sfs_file_close(e->f);
			heap_free(mem, ms);
			e->f = 0;
			return st;
		}
		e->mem = mem, e->mem_size = ms;
		return SFS_OK;
	}
	struct sfs_entry en;
	e->data = 0, e->mem_size = 0, e->size = 0, e->dlo = ~0ull, e->dhi = 0;
	if (create) {
		if (writable && cb_truncate(0, &e->h, 0))
			return SFS_E_IO;
		return SFS_OK;
	}
	int st = sfs_vol_find(&v->v, e->rel, &en);
	if (st)
		return st;
	if (en.kind != SFS_KIND_AUTHENTICATED)
		return SFS_E_KIND;
	if (host_size != en.size)
		return SFS_E_SIZE;                       /* shorter or longer, as sfs_vol_check_auth says */
	if ((st = auth_reserve(e, en.size)))
		return st;
	uint8_t digest[32];
	if (en.size && cb_read(0, &e->h, 0, e->data, (size_t)en.size))
		st = SFS_E_IO;
	void *sh = st ? 0 : cb.sha256_begin(0);
	if (!st && !sh)
		st = SFS_E_CRYPTO;
	if (!st) {
		int bad = cb.sha256_update(0, sh, e->data, (size_t)en.size);
		if (cb.sha256_end(0, sh, digest) || bad)
			st = SFS_E_CRYPTO;
		else if (differ(digest, en.digest, 32))
			st = SFS_E_AUTH_HASH;
	}
	if (st) {
		heap_free(e->data, e->mem_size);
		e->data = 0, e->mem_size = 0;
		return st;
	}
	e->size = en.size;
	return SFS_OK;
}

static int n_read(struct enode *e, uint64_t off, void *buf, size_t len, size_t *got)
{
	if (e->kind == SFS_KIND_ENCRYPTED)
		return sfs_file_read(e->f, off, buf, len, got);
	*got = off >= e->size ? 0 : e->size - off < len ? (size_t)(e->size - off) : len;
	__scone_memcpy(buf, e->data + off, *got);
	return SFS_OK;
}

static void auth_dirty(struct enode *e, uint64_t lo, uint64_t hi)
{
	if (lo < e->dlo)
		e->dlo = lo;
	if (hi > e->dhi)
		e->dhi = hi;
}

static int n_write(struct enode *e, uint64_t off, const void *buf, size_t len)
{
	if (e->kind == SFS_KIND_ENCRYPTED)
		return sfs_file_write(e->f, off, buf, len);
	if (e->ro)
		return SFS_E_READ_ONLY;
	if (off > AUTH_MAX || len > AUTH_MAX - off)
		return SFS_E_TOO_BIG;
	int st = auth_reserve(e, off + len);
	if (st)
		return st;
	if (off > e->size)
		__scone_memset(e->data + e->size, 0, (size_t)(off - e->size));
	__scone_memcpy(e->data + off, buf, len);
	auth_dirty(e, off < e->size ? off : e->size, off + len);
	if (off + len > e->size)
		e->size = off + len;
	return SFS_OK;
}

static int n_truncate(struct enode *e, uint64_t size)
{
	if (e->kind == SFS_KIND_ENCRYPTED)
		return sfs_file_truncate(e->f, size);
	if (e->ro)
		return SFS_E_READ_ONLY;
	int st = auth_reserve(e, size);
	if (st)
		return st;
	if (size > e->size) {
		__scone_memset(e->data + e->size, 0, (size_t)(size - e->size));
		auth_dirty(e, e->size, size);
	}
	e->size = size;
	auth_dirty(e, size, size);   /* the host's copy is cut to size at the flush */
	return SFS_OK;
}

/* Write what changed to the host and give the digest the entry records:
 * the root MAC (encrypted) or the SHA-256 of the content. */
static int n_flush(struct enode *e, uint8_t digest[32], uint64_t *size)
{
	__scone_memset(digest, 0, 32);
	if (e->kind == SFS_KIND_ENCRYPTED)
		return sfs_file_flush(e->f, digest, size);
	if (e->dlo != ~0ull) {
		uint64_t hi = e->dhi < e->size ? e->dhi : e->size;
		if (hi > e->dlo && cb_write(0, &e->h, e->dlo, e->data + e->dlo, (size_t)(hi - e->dlo)))
			return SFS_E_IO;
		if (cb_truncate(0, &e->h, e->size) || cb_fsync(0, &e->h))
			return SFS_E_IO;
		e->dlo = ~0ull, e->dhi = 0;
	}
	void *sh = cb.sha256_begin(0);
	if (!sh)
		return SFS_E_CRYPTO;
	int bad = cb.sha256_update(0, sh, e->data ? e->data : (uint8_t *)digest, (size_t)e->size);
	if (cb.sha256_end(0, sh, digest) || bad)
		return SFS_E_CRYPTO;
	*size = e->size;
	return SFS_OK;
}

static void n_close(struct enode *e)
{
	if (e->kind == SFS_KIND_ENCRYPTED) {
		if (e->f)
			sfs_file_close(e->f);
		e->f = 0;
	} else if (e->data) {
		__scone_memset(e->data, 0, (size_t)e->size);
	}
	heap_free(e->kind == SFS_KIND_ENCRYPTED ? e->mem : e->data, e->mem_size);
	heap_free(e->h.rbuf, IO_BUF);
	e->mem = 0, e->data = 0, e->mem_size = 0;
	e->h.rbuf = e->h.wbuf = 0, e->h.r_len = 0, e->h.w_n = 0;
}

/* Flush e and record it in the volume (lock held). */
static long record(struct enode *e)
{
	if (!e->dirty || e->unlinked)
		return 0;
	uint8_t digest[32];
	uint64_t size;
	int st = n_flush(e, digest, &size);
	if (st)
		return status_errno(st, "flush", e->rel, e->vol);
	struct sfs_entry en = { e->rel, __scone_strlen(e->rel), e->kind, size, { 0 } };
	__scone_memcpy(en.digest, digest, 32);
	st = sfs_vol_set(&e->vol->v, &en);
	if (st)
		return status_errno(st, "record", e->rel, e->vol);
	e->dirty = 0;
	e->vol->dirty = 1;
	return 0;
}

static int rel_of(struct volume *v, const char *path, const char **rel)
{
	if (!path[v->rlen])
		return 0;                                     /* the root itself */
	*rel = path + (v->rlen == 1 ? 1 : v->rlen + 1);
	return 1;
}

static int host_is_dir(const char *path)
{
	uint8_t st[144];
	long r = host(262, AT_FDCWD, (long)path, (long)st, 0);
	uint32_t mode;
	__scone_memcpy(&mode, st + 24, 4);
	return r == 0 && (mode & S_IFMT) == S_IFDIR;
}

static struct enode *open_node(struct volume *v, const char *rel)
{
	for (struct enode *n = open_nodes; n; n = n->next)
		if (n->vol == v && !n->unlinked && !__scone_strncmp(n->rel, rel, SFS_PATH_MAX_SIZE))
			return n;
	return 0;
}

long __scone_enc_open(int region, const char *path, long flags, long mode, int *handled)
{
	struct volume *v = &vols[region];
	const char *rel;
	*handled = 1;
	if (!rel_of(v, path, &rel) || (flags & O_DIRECTORY) || host_is_dir(path)) {
		*handled = 0;                                 /* directories are the host's */
		return 0;
	}
	size_t rl = __scone_strlen(rel);
	if (!sfs_path_ok(rel, rl))                       /* also refuses .scone-* names */
		return -EACCES;
	struct efile *e = heap_alloc(sizeof *e);
	struct enode *n = heap_alloc(sizeof *n);
	if (!e || !n) {
		heap_free(e, sizeof *e);
		heap_free(n, sizeof *n);
		return -ENOMEM;
	}
	int acc = flags & O_ACCMODE, write = acc != O_RDONLY;
	long r = 0, fd = -1;
	lock();
	struct sfs_entry en;
	struct enode *have = 0;
	int exists = 0;
	if ((r = load(v)))
		goto out;
	have = open_node(v, rel);
	exists = have || !sfs_vol_find(&v->v, rel, &en);
	if (exists && (flags & O_CREAT) && (flags & O_EXCL)) {
		r = -EEXIST;
		goto out;
	}
	if (!exists && !(flags & O_CREAT)) {
		r = -ENOENT;
		goto out;
	}
	if (v->fixed && (write || !exists || (flags & O_TRUNC))) {
		r = -EROFS;                                   /* a signed tag pins the volume */
		goto out;
	}
	int create = !exists;
	/* Read-write on the host whenever it allows: a later descriptor may
	 * write through the same handle; the description keeps the access mode. */
	fd = host_open(path, O_RDWR | (create ? O_CREAT : 0) | (flags & O_CLOEXEC), mode & 07777);
	int host_write = fd >= 0;
	if (fd == -EACCES && !create && !write)
		fd = host_open(path, O_RDONLY | (flags & O_CLOEXEC), 0);
	if (fd == -ENOENT && !create) {
		/* recorded, but gone from the host: deleted behind our back */
		__scone_log(SCONE_LOG_ERROR, "fs shield: %s/%s: open refused: the volume records it, the host has no such file (deleted?)", v->root, rel);
		r = -EIO;
		fd = -1;
		goto out;
	}
	if (fd < 0) {
		r = fd;
		goto out;
	}
	if (fd >= SCONE_SHIELD_FDS) {
		r = -24;
		goto out;
	}
	if (!have) {
		long size = host(8, fd, 0, 2, 0);
		__scone_memset(n, 0, sizeof *n);
		n->h.fd = fd;
		n->vol = v;
		n->kind = create ? v->kind : en.kind;
		__scone_memcpy(n->rel, rel, rl + 1);
		int st = n_open(n, size < 0 ? 0 : (uint64_t)size, create, host_write);
		if (st) {
			r = status_errno(st, "open", rel, v);
			goto out;
		}
		n->dirty = create;
		n->h.buffered = n->kind == SFS_KIND_ENCRYPTED;
		if (create && (r = record(n)) == 0)
			r = commit(v);
		if (r) {
			n_close(n);
			goto out;
		}
		n->next = open_nodes;
		open_nodes = n;
		have = n;
		n = 0;
	}
	if ((flags & O_TRUNC) && write && n_size(have)) {
		int st = n_truncate(have, 0);
		if (st) {
			r = status_errno(st, "truncate", rel, v);
			goto out;
		}
		have->dirty = 1;
	}
	have->opens++;
	*e = (struct efile){ .n = have, .off = 0, .flags = flags & (O_ACCMODE | O_APPEND | O_NONBLOCK), .refs = 1 };
	files[fd] = e;
	e = 0;
	__atomic_store_n(&__scone_shield_fdflag[fd], 2, __ATOMIC_RELEASE);
out:
	unlock();
	heap_free(n, sizeof *n);
	heap_free(e, sizeof *e);
	if (r) {
		if (fd >= 0)
			host(3, fd, 0, 0, 0);
		return r;
	}
	return fd;
}

static void patch_size(void *st, int statx, uint64_t size)
{
	int64_t s = (int64_t)size, b = (int64_t)((size + 511) / 512);
	__scone_memcpy((char *)st + (statx ? 40 : 48), &s, 8);
	__scone_memcpy((char *)st + (statx ? 48 : 64), &b, 8);
}

long __scone_enc_path_call(int region, long nr, const long a[6], const char *path, int *handled)
{
	struct volume *v = &vols[region];
	const char *rel;
	*handled = 0;
	if (!rel_of(v, path, &rel))
		return 0;
	int stat = nr == 4 || nr == 6 || nr == 262 || nr == 332;
	if (stat || nr == 21 || nr == 269 || nr == 439) {
		if (host_is_dir(path))
			return 0;
		*handled = 1;
		lock();
		long r = load(v);
		struct sfs_entry en;
		struct enode *open = r ? 0 : open_node(v, rel);
		if (open)
			en.size = n_size(open);     /* newer than its entry */
		else if (!r && sfs_vol_find(&v->v, rel, &en))
			r = -ENOENT;
		unlock();
		if (r || !stat)
			return r;
		r = __scone_shield_host(nr, a);
		if (!r)
			patch_size((void *)(nr == 332 ? a[4] : nr == 262 ? a[2] : a[1]), nr == 332, en.size);
		return r;
	}
	if (v->fixed && (nr == 87 || nr == 76 || (nr == 263 && !(a[2] & 0x200)))) {
		*handled = 1;
		return host_is_dir(path) ? -EISDIR : -EROFS;
	}
	if (nr == 87 || (nr == 263 && !(a[2] & 0x200))) {    /* unlink */
		*handled = 1;
		lock();
		long r = load(v);
		if (!r) {
			r = __scone_shield_host(nr, a);
			struct enode *open = r ? 0 : open_node(v, rel);
			if (open)
				open->unlinked = 1;           /* readable until closed, never recorded */
			if (!r && !sfs_vol_remove(&v->v, rel)) {
				v->dirty = 1;
				r = commit(v);
			}
		}
		unlock();
		return r;
	}
	if (nr == 76) {                                        /* truncate: through a handle */
		*handled = 1;
		int h;
		long fd = __scone_enc_open(region, path, O_RDWR, 0, &h);
		if (fd < 0)
			return fd;
		long t[6] = { fd, a[1] };
		long r = __scone_enc_fd_call(77, t);
		long c[6] = { fd };
		__scone_enc_fd_call(3, c);
		return r;
	}
	return 0;
}

/* pending = the path beside path named .scone-pending.<its name>; 0 or -ENAMETOOLONG. */
static long pending_of(const char *path, char *pending, size_t cap)
{
	size_t l = __scone_strlen(path), dl = l;
	while (dl > 0 && path[dl - 1] != '/')
		dl--;
	if (l + 16 > cap)
		return -36;
	__scone_memcpy(pending, path, dl);
	__scone_memcpy(pending + dl, ".scone-pending.", 15);
	__scone_memcpy(pending + dl + 15, path + dl, l - dl + 1);
	return 0;
}

/* Copy the file at host path from (recorded as rel_from, of kind) into a new
 * file bound to rel_to, written to the host path pending (lock held); its
 * digest and size out. 0 or -errno. */
static long copy_to(struct volume *v, const char *from, const char *rel_from, unsigned kind,
		    const char *pending, const char *rel_to, uint8_t digest[32], uint64_t *size)
{
	struct enode *s = heap_alloc(2 * sizeof *s), *d = s + 1;
	uint8_t *buf = heap_alloc(PAGE * 4);
	long r = 0;
	int st = 0, so = 0, dop = 0;
	if (!s || !buf) {
		r = -ENOMEM;
		goto out;
	}
	__scone_memset(s, 0, 2 * sizeof *s);
	s->vol = d->vol = v;
	s->kind = d->kind = kind;
	__scone_memcpy(s->rel, rel_from, __scone_strlen(rel_from) + 1);
	__scone_memcpy(d->rel, rel_to, __scone_strlen(rel_to) + 1);
	s->h.fd = host_open(from, O_RDONLY | O_CLOEXEC, 0);
	if (s->h.fd < 0) {
		r = s->h.fd;
		goto out;
	}
	long hsize = host(8, s->h.fd, 0, 2, 0);
	if ((st = n_open(s, hsize < 0 ? 0 : (uint64_t)hsize, 0, 0))) {
		r = status_errno(st, "rename", rel_from, v);
		goto out;
	}
	so = 1;
	s->h.buffered = kind == SFS_KIND_ENCRYPTED;       /* read ahead, writes batched */
	uint8_t st_buf[144];                           /* the copy keeps the file's mode */
	uint32_t mode = 0600;
	if (!host(5, s->h.fd, (long)st_buf, 0, 0))
		__scone_memcpy(&mode, st_buf + 24, 4);
	d->h.fd = host_open(pending, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0);
	if (d->h.fd >= 0)
		host(91, d->h.fd, (long)(mode & 07777), 0, 0);   /* fchmod: past the umask */
	if (d->h.fd < 0) {
		r = d->h.fd;
		goto out;
	}
	st = n_open(d, 0, 1, 1);
	dop = !st;
	d->h.buffered = kind == SFS_KIND_ENCRYPTED;
	for (uint64_t off = 0; !st && off < n_size(s);) {
		size_t got;
		st = n_read(s, off, buf, PAGE * 4, &got);
		if (!st)
			st = n_write(d, off, buf, got);
		off += got;
	}
	if (!st)
		st = n_flush(d, digest, size);
	if (st) {
		r = status_errno(st, "rename", rel_to, v);
		host(87, (long)pending, 0, 0, 0);
	}
out:
	if (so)
		n_close(s);
	if (dop)
		n_close(d);
	if (s && s->h.fd >= 0)
		host(3, s->h.fd, 0, 0, 0);
	if (s && d->h.fd > 0)
		host(3, d->h.fd, 0, 0, 0);
	heap_free(s, 2 * sizeof *s);
	heap_free(buf, PAGE * 4);
	return r;
}

/* An open file under dir (or dir itself, a file): its handle is bound to its path. */
static int open_below(struct volume *v, const char *dir, size_t dl)
{
	for (struct enode *n = open_nodes; n; n = n->next)
		if (n->vol == v && !n->unlinked && !__scone_strncmp(n->rel, dir, dl) &&
		    (n->rel[dl] == '/' || !n->rel[dl]))
			return 1;
	return 0;
}

/*
 * A directory renamed inside the volume (lock held): every file below it
 * moves in one commit. Encrypted files are bound to their paths, so each is
 * first copied into one bound to its new path, written beside it as
 * .scone-pending.<name>; then the host renames the directory, the copies
 * are renamed over their files, and the metadata moves every entry. A crash
 * before the host's rename leaves stray pending copies (removed by the next
 * writer of a name, never read); between it and the commit, the moved files
 * are refused (their recorded paths are gone), never read wrong.
 */
static long dir_rename(struct volume *v, const char *from, const char *to, const char *rf,
		       const char *rt, long flags)
{
	size_t fl = __scone_strlen(rf), tl = __scone_strlen(rt);
	if (tl > fl && !__scone_strncmp(rt, rf, fl) && rt[fl] == '/')
		return -EINVAL;                              /* into itself */
	if (open_below(v, rf, fl) || open_below(v, rt, tl))
		return -16;                                  /* EBUSY */
	/* the moved entries: new path, kind, size, digest */
	uint32_t n = 0;
	size_t need = 0;
	struct sfs_entry en;
	for (uint32_t i = 0; i < v->v.count; i++) {
		sfs_vol_entry(&v->v, i, &en);
		if (en.path_len > fl && !__scone_strncmp(en.path, rf, fl) && en.path[fl] == '/') {
			if (en.path_len - fl + tl >= SFS_PATH_MAX_SIZE)
				return -36;
			n++;
			need += en.path_len - fl + tl + 1;
		}
	}
	struct moved { char *path; unsigned kind; uint64_t size; uint8_t digest[32]; } *m = 0;
	char *names = 0;
	size_t mlen = n * sizeof *m + need + 1;
	if (n && !(m = heap_alloc(mlen)))
		return -ENOMEM;
	names = (char *)(m + n);
	char *hf = heap_alloc(2 * (SCONE_PATH_MAX + 16)), *hp = hf + SCONE_PATH_MAX + 16;
	long r = hf ? 0 : -ENOMEM;
	uint32_t k = 0, copied = 0;
	for (uint32_t i = 0; !r && i < v->v.count; i++) {
		sfs_vol_entry(&v->v, i, &en);
		if (!(en.path_len > fl && !__scone_strncmp(en.path, rf, fl) && en.path[fl] == '/'))
			continue;
		struct moved *x = &m[k++];
		x->path = names;
		__scone_memcpy(names, rt, tl);
		__scone_memcpy(names + tl, en.path + fl, en.path_len - fl);
		names[tl + en.path_len - fl] = 0;
		names += tl + en.path_len - fl + 1;
		x->kind = en.kind, x->size = en.size;
		__scone_memcpy(x->digest, en.digest, 32);
		if (en.kind != SFS_KIND_ENCRYPTED)
			continue;
		/* host paths of the file and of its pending copy, both under from */
		char rel_from[SFS_PATH_MAX_SIZE];
		__scone_memcpy(rel_from, en.path, en.path_len);
		rel_from[en.path_len] = 0;
		size_t vl = v->rlen == 1 ? 0 : v->rlen;
		if (vl + 1 + en.path_len + 1 > SCONE_PATH_MAX || vl + 1 + tl + en.path_len - fl + 1 > SCONE_PATH_MAX) {
			r = -36;
			break;
		}
		__scone_memcpy(hf, v->root, vl);
		hf[vl] = '/';
		__scone_memcpy(hf + vl + 1, rel_from, en.path_len + 1);
		if ((r = pending_of(hf, hp, SCONE_PATH_MAX + 16)))
			break;
		r = copy_to(v, hf, rel_from, SFS_KIND_ENCRYPTED, hp, x->path, x->digest, &x->size);
		if (!r)
			copied = k;
	}
	if (!r) {
		long a[6] = { AT_FDCWD, (long)from, AT_FDCWD, (long)to, flags };
		r = __scone_shield_host(flags ? 316 : 82, flags ? a : (long[6]){ (long)from, (long)to });
	}
	/* pending copies: over their files in the new place, or gone */
	for (uint32_t i = 0; i < copied; i++) {
		if (m[i].kind != SFS_KIND_ENCRYPTED)
			continue;
		size_t vl = v->rlen == 1 ? 0 : v->rlen, pl = __scone_strlen(m[i].path);
		const char *rel = r ? 0 : m[i].path;
		char old_rel[SFS_PATH_MAX_SIZE];
		if (r) {                                     /* still under from */
			__scone_memcpy(old_rel, rf, fl);
			__scone_memcpy(old_rel + fl, m[i].path + tl, pl - tl + 1);
			rel = old_rel;
			pl = __scone_strlen(old_rel);
		}
		__scone_memcpy(hf, v->root, vl);
		hf[vl] = '/';
		__scone_memcpy(hf + vl + 1, rel, pl + 1);
		pending_of(hf, hp, SCONE_PATH_MAX + 16);
		if (r || host(82, (long)hp, (long)hf, 0, 0)) {
			host(87, (long)hp, 0, 0, 0);
			if (!r)
				r = -EIO;
		}
	}
	if (!r) {
		for (int more = n > 0; more;) {                /* every entry under rf goes */
			more = 0;
			for (uint32_t j = 0; j < v->v.count && !more; j++) {
				sfs_vol_entry(&v->v, j, &en);
				if (en.path_len > fl && !__scone_strncmp(en.path, rf, fl) && en.path[fl] == '/') {
					char p[SFS_PATH_MAX_SIZE];
					__scone_memcpy(p, en.path, en.path_len);
					p[en.path_len] = 0;
					sfs_vol_remove(&v->v, p);
					more = 1;
				}
			}
		}
		for (uint32_t i = 0; !r && i < n; i++) {
			struct sfs_entry ne = { m[i].path, __scone_strlen(m[i].path), m[i].kind, m[i].size, { 0 } };
			__scone_memcpy(ne.digest, m[i].digest, 32);
			int st = sfs_vol_set(&v->v, &ne);
			if (st)
				r = status_errno(st, "rename", m[i].path, v);
		}
		v->dirty = 1;
		if (!r)
			r = commit(v);
	}
	heap_free(hf, 2 * (SCONE_PATH_MAX + 16));
	heap_free(m, mlen);
	return r;
}

/* An open file was renamed (its new copy is at `to`, the old one still at
 * its path): its handle is bound to rt and every descriptor of it names the
 * new host file, as on Linux an open file follows its rename (lock held;
 * the handle was recorded, so closing it writes nothing). An authenticated
 * file's content is in enclave memory and bound to no path: only its
 * descriptors move. */
static long rebind(struct volume *v, struct enode *e, const char *to, const char *rt, size_t tl)
{
	unsigned wr = SFS_OPEN_WRITE;
	long nfd = host_open(to, O_RDWR | O_CLOEXEC, 0);
	if (nfd == -EACCES)
		nfd = host_open(to, O_RDONLY | O_CLOEXEC, 0), wr = 0;
	if (nfd < 0)
		return nfd;
	if (e->kind == SFS_KIND_ENCRYPTED) {
		long hsize = host(8, nfd, 0, 2, 0);
		uint64_t osize = sfs_file_size(e->f);
		long ofd = e->h.fd;
		struct sfs_file *f;
		sfs_file_close(e->f);                    /* drains pending writes */
		e->f = 0;
		e->h.fd = nfd;
		e->h.r_len = 0, e->h.r_next = 0;
		int st = sfs_file_open(e->mem, e->mem_size, cache_nodes, &cb, &e->h,
				       hsize < 0 ? 0 : (uint64_t)hsize, rt, v->key, wr, &f);
		if (st) {                      /* back to the old file, still whole */
			e->h.fd = ofd;
			e->h.r_len = 0;
			e->h.w_n = 0;
			long os = host(8, ofd, 0, 2, 0);
			if (sfs_file_open(e->mem, e->mem_size, cache_nodes, &cb, &e->h, os < 0 ? 0 : (uint64_t)os,
					  e->rel, v->key, e->ro ? 0 : SFS_OPEN_WRITE, &e->f) ||
			    sfs_file_size(e->f) != osize)
				e->unlinked = 1;
			host(3, nfd, 0, 0, 0);
			return status_errno(st, "rename", rt, v);
		}
		e->f = f;
	}
	e->ro = !wr;
	for (long x = 0; x < SCONE_SHIELD_FDS; x++)
		if (files[x] && files[x]->n == e) {
			long cl = host(72, x, 1, 0, 0);                 /* F_GETFD */
			host(292, nfd, x, cl > 0 && (cl & 1) ? O_CLOEXEC : 0, 0);
			e->h.fd = x;
		}
	host(3, nfd, 0, 0, 0);
	__scone_memcpy(e->rel, rt, tl + 1);
	return 0;
}

long __scone_enc_rename(int region, const char *from, const char *to, long flags)
{
	struct volume *v = &vols[region];
	const char *rf, *rt;
	if (!rel_of(v, from, &rf) || !rel_of(v, to, &rt))
		return -EPERM;        /* the volume's root itself */
	if (flags & ~1l)
		return -EINVAL;
	size_t tl = __scone_strlen(rt);
	if (!sfs_path_ok(rt, tl))
		return -EACCES;
	char pending[SCONE_PATH_MAX + 16];
	if (pending_of(to, pending, sizeof pending))
		return -36;
	long r = 0;
	lock();
	struct sfs_entry en;
	struct enode *open = 0;
	if ((r = load(v)))
		goto out;
	if (v->fixed) {
		r = -EROFS;
		goto out;
	}
	if (host_is_dir(from)) {
		r = dir_rename(v, from, to, rf, rt, flags);
		goto out;
	}
	if ((open = open_node(v, rf)) && (r = record(open)))
		goto out;
	if (sfs_vol_find(&v->v, rf, &en)) {
		r = -ENOENT;
		goto out;
	}
	if (!__scone_strncmp(rf, rt, SFS_PATH_MAX_SIZE))
		goto out;
	if ((flags & 1) && !sfs_vol_find(&v->v, rt, &en)) {
		r = -EEXIST;
		goto out;
	}
	if (open_node(v, rt)) {
		r = -16;      /* EBUSY: the open target's handle is bound to its path */
		goto out;
	}
	uint8_t digest[32];
	uint64_t size;
	unsigned kind = en.kind;
	r = copy_to(v, from, rf, kind, pending, rt, digest, &size);
	if (r)
		goto out;
	r = host(82, (long)pending, (long)to, 0, 0);
	if (r) {
		host(87, (long)pending, 0, 0, 0);
		goto out;
	}
	if (open && (r = rebind(v, open, to, rt, tl))) {
		host(87, (long)to, 0, 0, 0);
		goto out;
	}
	struct sfs_entry ne = { rt, tl, kind, size, { 0 } };
	__scone_memcpy(ne.digest, digest, 32);
	int st = sfs_vol_set(&v->v, &ne);
	if (!st)
		st = sfs_vol_remove(&v->v, rf);
	if (st) {
		r = status_errno(st, "rename", rt, v);
		goto out;
	}
	host(87, (long)from, 0, 0, 0);
	v->dirty = 1;
	r = commit(v);
out:
	unlock();
	return r;
}

static long unset(long fd);

/* dup2/dup3 onto fd, close_range: our file there is closed first. */
void __scone_enc_release(long fd)
{
	if (!files || fd < 0 || fd >= SCONE_SHIELD_FDS || !files[fd])
		return;
	lock();
	if (files[fd])
		unset(fd);
	unlock();
}

int __scone_enc_owns(long fd)
{
	return files && fd >= 0 && fd < SCONE_SHIELD_FDS && files[fd];
}

struct iov { char *base; size_t len; };

static long rw(struct efile *d, int write, char *buf, size_t len, int64_t at)
{
	struct enode *e = d->n;
	int acc = d->flags & O_ACCMODE;
	if (write ? acc == O_RDONLY : acc == 01)
		return -EBADF;
	uint64_t off = at >= 0 ? (uint64_t)at : d->off;
	int st;
	size_t got = len;
	if (write) {
		if (at < 0 && (d->flags & O_APPEND))
			off = n_size(e);
		st = len ? n_write(e, off, buf, len) : 0;
		if (len)
			e->dirty = 1;
	} else {
		st = n_read(e, off, buf, len, &got);
	}
	if (st)
		return status_errno(st, write ? "write" : "read", e->rel, e->vol);
	if (at < 0)
		d->off = off + got;
	return (long)got;
}

static long rwv(struct efile *d, int write, const struct iov *v, long cnt, int64_t at)
{
	if (cnt < 0 || cnt > 1024)
		return -EINVAL;
	long total = 0;
	for (long i = 0; i < cnt; i++) {
		if (!v[i].len)
			continue;
		long r = rw(d, write, v[i].base, v[i].len, at < 0 ? -1 : at + total);
		if (r < 0)
			return total ? total : r;
		total += r;
		if ((size_t)r < v[i].len)
			break;
	}
	return total;
}

/* Forget descriptor fd and close it on the host (lock held); the last
 * descriptor of a file records and commits it. */
static long unset(long fd)
{
	struct efile *d = files[fd];
	long r = 0;
	files[fd] = 0;
	__atomic_store_n(&__scone_shield_fdflag[fd], 0, __ATOMIC_RELEASE);
	if (!d)
		return -EBADF;
	struct enode *e = d->n;
	if (fd == e->h.fd)      /* the library's descriptor goes: another takes over */
		for (long x = 0; x < SCONE_SHIELD_FDS; x++)
			if (files[x] && files[x]->n == e) {
				e->h.fd = x;
				break;
			}
	if (--d->refs == 0) {
		lk_drop(e, d);
		heap_free(d, sizeof *d);
		if (--e->opens == 0) {
			r = record(e);
			if (!r && !e->unlinked)
				r = commit(e->vol);
			n_close(e);
			for (struct enode **p = &open_nodes; *p; p = &(*p)->next)
				if (*p == e) {
					*p = e->next;
					break;
				}
			heap_free(e, sizeof *e);
		}
	}
	host(3, fd, 0, 0, 0);
	return r;
}

/* A lock another description holds: let the other lthreads run. */
static void wait_a_little(void)
{
	if (__scone_sched_active())
		__scone_sched_yield();
	else
		__asm__ __volatile__("pause");
}

static int lk_new_room(int k)
{
	int n = 0;
	if (!locks_ready)
		return 1;
	for (struct lk *l = free_locks; l && n < k; l = l->next)
		n++;
	return n >= k;
}

static struct lk *lk_new(void)
{
	if (!locks_ready) {
		for (int i = 0; i < MAX_LOCKS; i++)
			lock_pool[i].next = i + 1 < MAX_LOCKS ? &lock_pool[i + 1] : 0;
		free_locks = lock_pool;
		locks_ready = 1;
	}
	struct lk *l = free_locks;
	if (l)
		free_locks = l->next;
	return l;
}

static void lk_free(struct lk *l)
{
	l->next = free_locks;
	free_locks = l;
}

/* The lock of another description over [s, e) that a lock of owner (write
 * or not) would conflict with, the lowest first (what F_OFD_GETLK reports). */
static struct lk *lk_conflict(struct enode *n, struct efile *owner, int flock, int write,
			      uint64_t s, uint64_t e)
{
	struct lk *best = 0;
	for (struct lk *l = n->locks; l; l = l->next)
		if (l->owner != owner && l->flock == flock && (write || l->write) && l->start < e &&
		    s < l->end && (!best || l->start < best->start))
			best = l;
	return best;
}

/* Owner's locks of this kind over [s, e) go (split at the edges); then,
 * unless unlocking, one of type write covers it. 0 or -ENOLCK. */
static long lk_set(struct enode *n, struct efile *owner, int flock, int type, uint64_t s, uint64_t e)
{
	if (!lk_new_room(2))
		return -37;
	for (struct lk **p = &n->locks; *p;) {
		struct lk *l = *p;
		if (l->owner != owner || l->flock != flock || l->end <= s || e <= l->start) {
			p = &l->next;
			continue;
		}
		if (l->start < s && e < l->end) {           /* the middle goes: keep both ends */
			struct lk *r = lk_new();
			*r = *l;
			r->start = e;
			l->end = s;
			r->next = l->next;
			l->next = r;
			p = &r->next;
		} else if (l->start < s) {
			l->end = s;
			p = &l->next;
		} else if (e < l->end) {
			l->start = e;
			p = &l->next;
		} else {
			*p = l->next;
			lk_free(l);
		}
	}
	if (type != 2) {
		struct lk *l = lk_new();
		*l = (struct lk){ owner, flock, type == 1, s, e, n->locks };
		n->locks = l;
	}
	return 0;
}

/* A description's last reference goes: its OFD and flock locks too. */
static void lk_drop(struct enode *n, struct efile *owner)
{
	for (struct lk **p = &n->locks; *p;) {
		struct lk *l = *p;
		if (l->owner == owner) {
			*p = l->next;
			lk_free(l);
		} else {
			p = &l->next;
		}
	}
}

struct flock64 {
	short l_type, l_whence;
	int64_t l_start, l_len;
	int l_pid;
};

/* fcntl lock commands and flock on d (lock held; may wait with it released). */
static long locks(long fd, struct efile *d, long cmd, long arg)
{
	struct enode *n = d->n;
	int acc = d->flags & O_ACCMODE;
	if (cmd == 73) {                                      /* flock */
		int op = (int)arg & ~4, nb = (int)arg & 4;
		if (op != 1 && op != 2 && op != 8)
			return -EINVAL;
		for (;;) {
			if (op == 8 || !lk_conflict(n, d, 1, op == 2, 0, ~0ull))
				return lk_set(n, d, 1, op == 8 ? 2 : op == 2, 0, ~0ull);
			if (nb)
				return -11;                   /* EWOULDBLOCK */
			unlock();
			wait_a_little();
			lock();
			if (files[fd] != d)
				return -EBADF;
		}
	}
	struct flock64 *fl = (struct flock64 *)arg, f;
	if (!fl)
		return -14;
	__scone_memcpy(&f, fl, sizeof f);
	int ofd = cmd >= 36, get = cmd == 5 || cmd == 36, wait = cmd == 7 || cmd == 38;
	if (f.l_type < 0 || f.l_type > 2 || f.l_whence < 0 || f.l_whence > 2)
		return -EINVAL;
	if (ofd && f.l_pid)
		return -EINVAL;
	int64_t base = f.l_whence == 0 ? 0 : f.l_whence == 1 ? (int64_t)d->off : (int64_t)n_size(n);
	if (base < 0 || (f.l_start > 0 && f.l_start > INT64_MAX - base) || f.l_len == INT64_MIN)
		return -75;                                   /* EOVERFLOW */
	int64_t st = base + f.l_start, len = f.l_len;
	if (len > 0 && len - 1 > INT64_MAX - st)
		return -75;                                   /* as Linux: the range's end overflows */
	if (len < 0) {
		st += len;
		len = -len;
	}
	if (st < 0)
		return -EINVAL;
	uint64_t s = (uint64_t)st, e = len ? s + (uint64_t)len : ~0ull;
	if (!get && ((f.l_type == 1 && acc == O_RDONLY) || (f.l_type == 0 && acc == 01)))
		return -EBADF;
	if (!ofd) {                                           /* a process's own: no conflict */
		if (get)
			fl->l_type = 2;
		return 0;
	}
	for (;;) {
		struct lk *c = f.l_type == 2 ? 0 : lk_conflict(n, d, 0, f.l_type == 1, s, e);
		if (get) {
			if (!c) {
				fl->l_type = 2;
				return 0;
			}
			fl->l_type = (short)(c->write ? 1 : 0);
			fl->l_whence = 0;
			fl->l_start = (int64_t)c->start;
			fl->l_len = c->end == ~0ull ? 0 : (int64_t)(c->end - c->start);
			fl->l_pid = -1;
			return 0;
		}
		if (!c)
			return lk_set(n, d, 0, f.l_type, s, e);
		if (!wait)
			return -11;                           /* EAGAIN */
		unlock();
		wait_a_little();
		lock();
		if (files[fd] != d)
			return -EBADF;
	}
}

static long dup_to(long newfd, long fd)
{
	if (newfd < 0)
		return newfd;
	lock();
	struct efile *e = files[fd];
	if (!e || newfd >= SCONE_SHIELD_FDS) {
		unlock();
		host(3, newfd, 0, 0, 0);
		return e ? -24 : -EBADF;
	}
	e->refs++;
	files[newfd] = e;
	__atomic_store_n(&__scone_shield_fdflag[newfd], 2, __ATOMIC_RELEASE);
	unlock();
	return newfd;
}

long __scone_enc_fd_call(long nr, const long a[6])
{
	long fd = a[0], r = 0;
	switch (nr) {
	case 3:                                                /* close */
		lock();
		r = files[fd] ? unset(fd) : -EBADF;
		unlock();
		return r;
	case 32: return dup_to(__scone_shield_host(32, a), fd);
	case 91: case 93: return __scone_shield_host(nr, a);   /* fchmod, fchown: modes and owners are the host's */
	case 33: case 292:
		if (a[0] == a[1])
			return nr == 33 ? fd : -EINVAL;
		__scone_enc_release(a[1]);
		return dup_to(__scone_shield_host(nr, a), fd);
	case 72:
		switch (a[1]) {
		case 0: case 1030: return dup_to(__scone_shield_host(72, a), fd);
		case 1: case 2: return __scone_shield_host(72, a);
		}
		break;
	case 5:                                                /* fstat */
	case 262: case 332: {
		r = __scone_shield_host(nr, a);
		if (r)
			return r;
		lock();
		struct efile *e = files[fd];
		if (e)
			patch_size((void *)(nr == 5 ? a[1] : nr == 262 ? a[2] : a[4]), nr == 332, n_size(e->n));
		unlock();
		return r;
	}
	}
	lock();
	struct efile *d = files[fd];
	if (!d) {
		unlock();
		return -EBADF;
	}
	struct enode *e = d->n;
	switch (nr) {
	case 0: r = rw(d, 0, (char *)a[1], (size_t)a[2], -1); break;
	case 1: r = rw(d, 1, (char *)a[1], (size_t)a[2], -1); break;
	case 17: r = a[3] < 0 ? -EINVAL : rw(d, 0, (char *)a[1], (size_t)a[2], a[3]); break;
	case 18: r = a[3] < 0 ? -EINVAL : rw(d, 1, (char *)a[1], (size_t)a[2], a[3]); break;
	case 19: r = rwv(d, 0, (const struct iov *)a[1], a[2], -1); break;
	case 20: r = rwv(d, 1, (const struct iov *)a[1], a[2], -1); break;
	case 295: case 327: r = rwv(d, 0, (const struct iov *)a[1], a[2], a[3]); break;
	case 296: case 328: r = rwv(d, 1, (const struct iov *)a[1], a[2], a[3]); break;
	case 8: {
		int64_t base = a[2] == 0 ? 0 : a[2] == 1 ? (int64_t)d->off :
			       a[2] == 2 ? (int64_t)n_size(e) : -1;
		if (base < 0 || base + a[1] < 0)
			r = -EINVAL;
		else
			r = (long)(d->off = (uint64_t)(base + a[1]));
		break;
	}
	case 77:
		if ((d->flags & O_ACCMODE) == O_RDONLY || a[1] < 0) {
			r = -EINVAL;
			break;
		}
		r = n_truncate(e, (uint64_t)a[1]);
		r = r ? status_errno((int)r, "truncate", e->rel, e->vol) : 0;
		e->dirty = 1;
		break;
	case 74: case 75:                                      /* fsync: a commit */
		r = record(e);
		if (!r)
			r = commit(e->vol);
		break;
	case 73: r = locks(fd, d, 73, a[1]); break;
	case 221: case 277: case 306: break;
	case 72:
		switch (a[1]) {
		case 3: r = d->flags; break;
		case 4: d->flags = (d->flags & ~(long)(O_APPEND | O_NONBLOCK)) | (a[2] & (O_APPEND | O_NONBLOCK)); break;
		case 5: case 6: case 7: case 36: case 37: case 38: r = locks(fd, d, a[1], a[2]); break;
		default: r = -EINVAL;
		}
		break;
	case 16: r = -ENOTTY; break;
	default: r = -EINVAL;
	}
	unlock();
	return r;
}

void __scone_enc_exit(void)
{
	if (!files)
		return;
	lock();
	for (struct enode *n = open_nodes; n; n = n->next)
		record(n);
	for (int i = 0; i < MAX_VOLUMES; i++)
		if (vols[i].loaded && !vols[i].broken)
			commit(&vols[i]);
	unlock();
}
