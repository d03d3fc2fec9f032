/*
 * Encrypted regions (encrypted.h). A region's root directory is a volume
 * (fs/FORMAT.md §2): its metadata file .scone-volume records every file's
 * size and root MAC; the files hold Gramine's encrypted format (§1), bound
 * to their volume-relative path. File names and directories stay in clear
 * on the host; directories, listings and stat of directories are the
 * host's.
 *
 * A descriptor is the host descriptor of the backing file itself (so its
 * number is unique and poll/select are sane), flagged in shield.h's table,
 * with our handle in files[fd]. Host I/O goes through __scone_shield_host
 * (the client), crypto through the shields' crypto API by __scone_vec_call
 * (the hook keeps the caller's vector registers).
 *
 * Commits (close, fsync, exit): the file's nodes are flushed, its entry set
 * in the volume, and the metadata written to .scone-tmp..scone-volume,
 * fsync'd and renamed over .scone-volume; the tag is logged at info.
 * Renaming a file is refused (EXDEV: its path is bound into it; a program
 * falls back to copying), as are authenticated regions for now.
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

int __scone_enc_call;

struct volume {
	char root[SCONE_PATH_MAX];
	size_t rlen;
	uint8_t key[16];
	int have_key, loaded, dirty, broken;
	uint8_t expect_tag[32];
	int have_tag;
	int from_cas;                  /* key and tag came from the CAS (shield/cas) */
	int sealed, seal_policy;       /* key to derive from seal at first use */
	int key_source, warned;
	struct scone_sim_seal seal;
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
	struct sfs_file *f;
	void *mem;
	size_t mem_size;
	struct volume *vol;
	char rel[SFS_PATH_MAX_SIZE];
	int opens, dirty, unlinked;
	struct enode *next;
};

struct efile {                         /* an open file description */
	struct enode *n;
	uint64_t off;
	long flags;
	int refs;
};

static struct enode *open_nodes;

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

/* ---- callbacks for the format library ---- */

static int host_read(long fd, uint64_t off, void *buf, size_t len, size_t min)
{
	size_t got = 0;
	while (got < len) {
		long r = host(17, fd, (long)buf + (long)got, (long)(len - got), (long)(off + got));
		if (r < 0 || (r == 0 && got >= min))
			break;
		if (r == 0)
			return -1;
		got += (size_t)r;
	}
	return got >= min ? (int)(got > 0x7fffffff ? 0x7fffffff : got) : -1;
}

static int host_write(long fd, uint64_t off, const void *buf, size_t len)
{
	while (len) {
		long r = host(18, fd, (long)buf, (long)len, (long)off);
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
		if (host_write(h->fd, at, h->rbuf, k * PAGE))
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
		return host_read(h->fd, off, buf, len, len) < 0;
	if (off >= h->r_off && off + len <= h->r_off + h->r_len) {
		__scone_memcpy(buf, h->rbuf + (off - h->r_off), len);
		h->r_next = off + len;
		return 0;
	}
	/* read ahead only when the reads follow each other */
	int got = host_read(h->fd, off, h->rbuf, off == h->r_next ? IO_READ : len, len);
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
		return drain(h) || host_write(h->fd, off, buf, len);
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
	return drain(h) || host(77, h->fd, (long)size, 0, 0) ? 1 : 0;
}

static int cb_fsync(void *ctx, void *h_)
{
	(void)ctx;
	struct hfd *h = h_;
	return drain(h) || host(74, h->fd, 0, 0, 0) ? 1 : 0;
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

int __scone_enc_region(int region, const char *prefix, size_t len, int key_source, int debug,
		       char **envp, const struct scone_sim_seal *seal)
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
	int k = env_hex(envp, "SCONE_FS_KEY", prefix, len, v->key, 16);
	int t = env_hex(envp, "SCONE_FS_TAG", prefix, len, v->expect_tag, 32);
	if ((k || t) && !debug)
		__scone_abort("scone: SCONE_FS_KEY and SCONE_FS_TAG are refused by a production-signed enclave");
	if (k < 0 || t < 0)
		__scone_abort("scone: SCONE_FS_KEY/SCONE_FS_TAG: expected PREFIX:HEX (32 hex digits for a key, 64 for a tag)");
	v->have_key = k > 0;
	v->have_tag = t > 0;
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
		v->have_tag = tag != 0;
		if (tag)
			__scone_memcpy(v->expect_tag, tag, 32);
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
				       v->from_cas ? "the CAS holds a tag for it" : "a tag was given in SCONE_FS_TAG");
		st = sfs_vol_init(&v->v, &cb, v->key, v->body, BODY_CAP);
		v->dirty = 1;
	} else if (fd < 0) {
		return fd;
	} else {
		long size = host(8, fd, 0, 2, 0);              /* lseek SEEK_END */
		struct hfd h = { fd };
		st = size < 0 ? SFS_E_IO : sfs_vol_load(&v->v, &cb, &h, (uint64_t)size, v->key,
							v->have_tag ? v->expect_tag : 0, v->body, BODY_CAP);
		host(3, fd, 0, 0, 0);
	}
	v->loaded = 1;
	if (st && v->have_tag)
		__scone_abortf("scone: volume %s refused: %s (with the tag %s)", v->root, sfs_strerror(st),
			       v->from_cas ? "the CAS holds" : "given in SCONE_FS_TAG");
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
			struct hfd h = { fd };
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

/* Flush f's nodes and record it in the volume (lock held). */
static long record(struct enode *e)
{
	if (!e->dirty || e->unlinked)
		return 0;
	uint8_t mac[16];
	uint64_t size;
	int st = sfs_file_flush(e->f, mac, &size);
	if (st)
		return status_errno(st, "flush", e->rel, e->vol);
	struct sfs_entry en = { e->rel, __scone_strlen(e->rel), SFS_KIND_ENCRYPTED, size, { 0 } };
	__scone_memcpy(en.digest, mac, 16);
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
	size_t ms = sfs_file_mem_size(cache_nodes);
	void *mem = heap_alloc(ms);
	if (!e || !n || !mem) {
		heap_free(e, sizeof *e);
		heap_free(n, sizeof *n);
		heap_free(mem, ms);
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
	int create = !exists;
	/* Read-write on the host whenever it allows: a later descriptor may
	 * write through the same handle; the description keeps the access mode. */
	fd = host_open(path, O_RDWR | (create ? O_CREAT : 0) | (flags & O_CLOEXEC), mode & 07777);
	int host_write = fd >= 0;
	if (fd == -EACCES && !create && !write)
		fd = host_open(path, O_RDONLY | (flags & O_CLOEXEC), 0);
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
		struct sfs_file *f;
		n->h.fd = fd;
		int st = sfs_file_open(mem, ms, cache_nodes, &cb, &n->h, size < 0 ? 0 : (uint64_t)size, rel,
				       v->key, (create ? SFS_OPEN_CREATE : 0) | (host_write ? SFS_OPEN_WRITE : 0), &f);
		if (!st && !create)
			st = sfs_vol_check_file(&v->v, rel, f);
		if (st) {
			r = status_errno(st, "open", rel, v);
			goto out;
		}
		n->f = f, n->mem = mem, n->mem_size = ms, n->vol = v, n->dirty = create;
		__scone_memcpy(n->rel, rel, rl + 1);
		mem = 0;
		n->h.buffered = 1;
		if (create && (r = record(n)) == 0)
			r = commit(v);
		if (r) {
			sfs_file_close(f);
			heap_free(n->mem, ms);
			heap_free(n->h.rbuf, IO_BUF);
			goto out;
		}
		n->next = open_nodes;
		open_nodes = n;
		have = n;
		n = 0;
	}
	if ((flags & O_TRUNC) && write && sfs_file_size(have->f)) {
		int st = sfs_file_truncate(have->f, 0);
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
	heap_free(mem, ms);
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
			en.size = sfs_file_size(open->f);     /* newer than its entry */
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

/* Copy from's plaintext into a new file bound to rel_to, written beside
 * to as .scone-pending.<name> (lock held). 0 or -errno. */
static long copy_to(struct volume *v, long src_fd, uint64_t src_size, const char *rel_from,
		    const char *pending, const char *rel_to, void *m1, void *m2, size_t ms, uint8_t *buf,
		    uint8_t mac[16], uint64_t *size)
{
	struct hfd hs = { src_fd }, hd = { -1 };
	struct sfs_file *s = 0, *d = 0;
	int st = sfs_file_open(m1, ms, cache_nodes, &cb, &hs, src_size, rel_from, v->key, 0, &s);
	if (!st)
		st = sfs_vol_check_file(&v->v, rel_from, s);
	if (st)
		return status_errno(st, "rename", rel_from, v);
	hd.fd = host_open(pending, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (hd.fd < 0) {
		sfs_file_close(s);
		return hd.fd;
	}
	st = sfs_file_open(m2, ms, cache_nodes, &cb, &hd, 0, rel_to, v->key, SFS_OPEN_CREATE | SFS_OPEN_WRITE, &d);
	if (st)
		d = 0;
	for (uint64_t off = 0; !st && off < sfs_file_size(s);) {
		size_t got;
		st = sfs_file_read(s, off, buf, PAGE * 4, &got);
		if (!st)
			st = sfs_file_write(d, off, buf, got);
		off += got;
	}
	if (!st)
		st = sfs_file_flush(d, mac, size);
	sfs_file_close(s);
	if (d)
		sfs_file_close(d);
	host(3, hd.fd, 0, 0, 0);
	if (st) {
		host(87, (long)pending, 0, 0, 0);
		return status_errno(st, "rename", rel_to, v);
	}
	return 0;
}

/* An open file was renamed (its new copy is at `to`, the old one still at
 * its path): its handle is bound to rt and every descriptor of it names the
 * new host file, as on Linux an open file follows its rename (lock held;
 * the handle was recorded, so closing it writes nothing). */
static long rebind(struct volume *v, struct enode *e, const char *to, const char *rt, size_t tl)
{
	unsigned wr = SFS_OPEN_WRITE;
	long nfd = host_open(to, O_RDWR | O_CLOEXEC, 0);
	if (nfd == -EACCES)
		nfd = host_open(to, O_RDONLY | O_CLOEXEC, 0), wr = 0;
	if (nfd < 0)
		return nfd;
	long hsize = host(8, nfd, 0, 2, 0);
	uint64_t osize = sfs_file_size(e->f);
	long ofd = e->h.fd;
	struct sfs_file *f;
	sfs_file_close(e->f);                    /* drains pending writes */
	e->h.fd = nfd;
	e->h.r_len = 0, e->h.r_next = 0;
	int st = sfs_file_open(e->mem, e->mem_size, cache_nodes, &cb, &e->h, hsize < 0 ? 0 : (uint64_t)hsize,
			       rt, v->key, wr, &f);
	if (st) {                      /* back to the old file, still whole */
		e->h.fd = ofd;
		e->h.r_len = 0;
		e->h.w_n = 0;
		long os = host(8, ofd, 0, 2, 0);
		if (sfs_file_open(e->mem, e->mem_size, cache_nodes, &cb, &e->h, os < 0 ? 0 : (uint64_t)os,
				  e->rel, v->key, SFS_OPEN_WRITE, &e->f) || sfs_file_size(e->f) != osize)
			e->unlinked = 1;
		host(3, nfd, 0, 0, 0);
		return status_errno(st, "rename", rt, v);
	}
	e->f = f;
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
	if (!rel_of(v, from, &rf) || !rel_of(v, to, &rt) || host_is_dir(from))
		return -EPERM;        /* directories: their files' paths are bound into them */
	if (flags & ~1l)
		return -EINVAL;
	size_t tl = __scone_strlen(rt);
	if (!sfs_path_ok(rt, tl))
		return -EACCES;
	size_t ms = sfs_file_mem_size(cache_nodes);
	uint8_t *m1 = heap_alloc(ms), *m2 = heap_alloc(ms), *buf = heap_alloc(PAGE * 4);
	char pending[SCONE_PATH_MAX + 16];
	size_t dl = __scone_strlen(to);
	while (dl > 0 && to[dl - 1] != '/')
		dl--;
	long r = 0;
	if (!m1 || !m2 || !buf || __scone_strlen(to) + 16 > sizeof pending) {
		r = -ENOMEM;
		goto done;
	}
	__scone_memcpy(pending, to, dl);
	__scone_memcpy(pending + dl, ".scone-pending.", 15);
	__scone_memcpy(pending + dl + 15, to + dl, __scone_strlen(to + dl) + 1);
	lock();
	struct sfs_entry en;
	struct enode *open = 0;
	if ((r = load(v)))
		goto out;
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
	long fd = host_open(from, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	uint8_t mac[16];
	uint64_t size;
	long hsize = host(8, fd, 0, 2, 0);
	r = copy_to(v, fd, hsize < 0 ? 0 : (uint64_t)hsize, rf, pending, rt, m1, m2, ms, buf, mac, &size);
	host(3, fd, 0, 0, 0);
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
	struct sfs_entry ne = { rt, tl, SFS_KIND_ENCRYPTED, size, { 0 } };
	__scone_memcpy(ne.digest, mac, 16);
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
done:
	heap_free(m1, ms);
	heap_free(m2, ms);
	heap_free(buf, PAGE * 4);
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
			off = sfs_file_size(e->f);
		st = len ? sfs_file_write(e->f, off, buf, len) : 0;
		if (len)
			e->dirty = 1;
	} else {
		st = sfs_file_read(e->f, off, buf, len, &got);
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
		heap_free(d, sizeof *d);
		if (--e->opens == 0) {
			r = record(e);
			if (!r && !e->unlinked)
				r = commit(e->vol);
			sfs_file_close(e->f);
			for (struct enode **p = &open_nodes; *p; p = &(*p)->next)
				if (*p == e) {
					*p = e->next;
					break;
				}
			heap_free(e->mem, e->mem_size);
			heap_free(e->h.rbuf, IO_BUF);
			heap_free(e, sizeof *e);
		}
	}
	host(3, fd, 0, 0, 0);
	return r;
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
			patch_size((void *)(nr == 5 ? a[1] : nr == 262 ? a[2] : a[4]), nr == 332, sfs_file_size(e->n->f));
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
			       a[2] == 2 ? (int64_t)sfs_file_size(e->f) : -1;
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
		r = sfs_file_truncate(e->f, (uint64_t)a[1]);
		r = r ? status_errno((int)r, "truncate", e->rel, e->vol) : 0;
		e->dirty = 1;
		break;
	case 74: case 75:                                      /* fsync: a commit */
		r = record(e);
		if (!r)
			r = commit(e->vol);
		break;
	case 73: case 221: case 277: case 306: break;
	case 72:
		switch (a[1]) {
		case 3: r = d->flags; break;
		case 4: d->flags = (d->flags & ~(long)(O_APPEND | O_NONBLOCK)) | (a[2] & (O_APPEND | O_NONBLOCK)); break;
		case 5: case 36: *(short *)a[2] = 2; break;
		case 6: case 7: case 37: case 38: break;
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
