/*
 * The console shield (console.h; the frames are FORMAT.md in this folder).
 *
 * Three streams: stdin (0, client to enclave), stdout (1) and stderr (2,
 * enclave to client). Descriptors map to streams: at START fd N is stream
 * N; dup/dup2/dup3/fcntl(F_DUPFD) of a stream's descriptor make another
 * descriptor of the same stream; close, or dup2 of another file onto it,
 * takes a descriptor away, and an output stream whose last descriptor goes
 * sends its end frame. A descriptor that a dup2 pointed elsewhere is the
 * host's again: the shield protects the streams the program inherited, not
 * the numbers 0, 1 and 2.
 *
 * The session starts before main (a constructor), or on the first call on
 * a stream if that comes first (another constructor's): an
 * ephemeral P-256 key made inside, ECDH with the client's key from
 * SCONE_CONSOLE_KEY, HKDF-SHA256 to one AES-256-GCM key per stream, and a
 * hello frame on stdout and stderr with our public key and SIM evidence
 * whose REPORTDATA binds both keys. Nothing here is hand-written crypto:
 * every primitive is the crypto API's (OpenSSL).
 *
 * Ciphertext moves through __scone_shield_host, the dispatcher's own
 * external path, so a thread that waits for the terminal parks and its
 * ethread runs others. One lthread at a time drives a stream (a spin lock
 * that yields).
 */
#include <scone/cas_protocol.h>
#include <scone/crypto.h>
#include <scone/enclave_abi.h>

#include "console.h"
#include "../../sched/scone_sched.h"

#define ENOENT 2
#define EINTR 4
#define EIO 5
#define EBADF 9
#define EAGAIN 11
#define EPERM 1
#define EINVAL 22
#define EMFILE 24
#define ESPIPE 29
#define EPIPE 32
#define ENOTSOCK 88
#define POLLIN 1
#define POLLOUT 4
#define F_DUPFD 0
#define F_DUPFD_CLOEXEC 1030
#define CLOSE_RANGE_CLOEXEC 4

/* FORMAT.md */
#define HDR 20
#define TAG SCONE_GCM_TAG_LEN
#define MAXP 16384
#define FRAME (HDR + MAXP + TAG)
#define T_HELLO 1
#define T_DATA 2
#define T_END 3
#define SPKI_LEN 91
#define LABEL "scone-console/1"
#define HOST_BUF 16384u

static const uint8_t magic[5] = { 0x89, 'S', 'C', 'N', 1 };
/* SubjectPublicKeyInfo of a P-256 key up to its point (RFC 5480). */
static const uint8_t spki_head[27] = {
	0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
	0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
};
static const char *names[] = { "stdin", "stdout", "stderr" };

struct stream {
	int lock;
	int refs;                  /* descriptors of this stream */
	int fd;                    /* one of them, -1 when none */
	uint8_t ended, failed;     /* end frame sent / received; input refused */
	long err;                  /* output: the host's sticky error */
	uint64_t seq;              /* next frame's sequence number */
	uint64_t pos;              /* input: bytes consumed, for messages */
	uint8_t key[32];
	uint32_t off, len;         /* output: pending ciphertext; input: plaintext */
	uint32_t ioff, ilen;       /* input: ciphertext buffered */
	uint8_t buf[FRAME];
};

static struct stream st[3];
static uint8_t pt_in[MAXP];                 /* stdin's plaintext */
static uint8_t fdmap[SCONE_SHIELD_FDS];     /* fd -> stream + 1 */
static uint8_t client_spki[SPKI_LEN];
static int hs_lock, hs_done, map_lock;

static void lock(int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		__scone_sched_yield();
}

static void unlock(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static long host(long nr, long a0, long a1, long a2, long a3)
{
	long a[6] = { a0, a1, a2, a3, 0, 0 };
	return __scone_shield_host(nr, a);
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < 2 * n; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (v < 0)
			return -1;
		out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] | v : v << 4);
	}
	return s[2 * n] ? -1 : 0;
}

static int same(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;
	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return !d;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void header(uint8_t *h, int type, int id, uint64_t seq, uint32_t len)
{
	__scone_memcpy(h, magic, 5);
	h[5] = (uint8_t)type;
	h[6] = (uint8_t)id;
	h[7] = 0;
	put64(h + 8, seq);
	h[16] = (uint8_t)(len >> 24);
	h[17] = (uint8_t)(len >> 16);
	h[18] = (uint8_t)(len >> 8);
	h[19] = (uint8_t)len;
}

/* Nonce: the stream id (4 bytes) and the sequence number (8), big-endian. */
static void nonce(uint8_t n[12], int id, uint64_t seq)
{
	n[0] = n[1] = n[2] = 0;
	n[3] = (uint8_t)id;
	put64(n + 4, seq);
}

/* ---- SIM evidence (the format of scone_cc/cas/PROTOCOL.md §3.1) ---- */

static int der_to_rs(const uint8_t *d, size_t n, uint8_t out[64])
{
	size_t i = 2;
	if (n < 8 || d[0] != 0x30 || d[1] != n - 2)
		return -1;
	for (int k = 0; k < 2; k++) {
		if (i + 2 > n || d[i] != 0x02)
			return -1;
		size_t l = d[i + 1];
		const uint8_t *v = d + i + 2;
		if (i + 2 + l > n || !l)
			return -1;
		i += 2 + l;
		while (l > 32 && !*v) {
			v++;
			l--;
		}
		if (l > 32)
			return -1;
		__scone_memset(out + 32 * k, 0, 32 - l);
		__scone_memcpy(out + 32 * k + 32 - l, v, l);
	}
	return i == n ? 0 : -1;
}

/*
 * SIM evidence for REPORTDATA rd into ev: its length, or 0 where there is
 * none to give (on SGX hardware: DCAP quotes are not produced yet). The
 * starter builds the REPORT from its own measurement and hands in the
 * machine's SIM key; the first start on a machine makes that key, as the
 * attestation client does (runtime/shield/cas/README.md says why the
 * signature is made inside and what SIM evidence is worth).
 */
static size_t sim_evidence(const uint8_t rd[64], uint8_t ev[SCONE_SIM_SIZE])
{
	long page = __scone_ocall(9 /* mmap */, 0, HOST_BUF, 3, 0x22, -1, 0);
	if (page <= 0 || !__scone_host_range((uint64_t)page, HOST_BUF))
		__scone_abort("scone: console shield: no host memory for the SIM quote");
	uint8_t *h = (uint8_t *)page;
	size_t got = 0;
	__scone_memcpy(h, rd, 64);
	long n = __scone_ocall(SCONE_OCALL_SIM_QUOTE, page, HOST_BUF, 0, 0, 0, 0);
	if (n == -ENOENT) {
		scone_crypto_key *k = __scone_crypto_ec_generate();
		size_t pl;
		if (!k || __scone_crypto_key_private_pem(k, (char *)h, HOST_BUF, &pl))
			__scone_abort("scone: console shield: making the SIM attestation key failed");
		__scone_crypto_key_free(k);
		long rc = __scone_ocall(SCONE_OCALL_SIM_KEY_CREATE, page, (long)pl, 0, 0, 0, 0);
		__scone_memset(h, 0, HOST_BUF);
		if (rc)
			__scone_abortf("scone: console shield: cannot store the new SIM attestation key (%s under the scone config dir): error %ld",
				       SCONE_SIM_KEY_FILE, -rc);
		__scone_memcpy(h, rd, 64);
		n = __scone_ocall(SCONE_OCALL_SIM_QUOTE, page, HOST_BUF, 0, 0, 0, 0);
	}
	if (n == -EPERM)
		goto out;                  /* hardware: no quote yet (FORMAT.md) */
	if (n <= SCONE_SIM_REPORT_SIZE || n > (long)HOST_BUF)
		__scone_abortf("scone: console shield: the SIM quote failed (error %ld)", n < 0 ? -n : n);
	static struct scone_sgx_report rep;
	static char pem[HOST_BUF];
	size_t pem_len = (size_t)n - SCONE_SIM_REPORT_SIZE;
	__scone_memcpy(&rep, h, sizeof rep);
	__scone_memcpy(pem, h + SCONE_SIM_REPORT_SIZE, pem_len);
	if (!same(rep.reportdata, rd, 64))
		__scone_abort("scone: console shield: the SIM quote does not carry this enclave's REPORTDATA");
	scone_crypto_key *sk = __scone_crypto_key_parse(pem, pem_len);
	__scone_memset(pem, 0, pem_len);
	if (!sk)
		__scone_abort("scone: console shield: the SIM attestation key is not a P-256 private key");
	uint8_t spki[128], der[80];
	size_t spki_len, der_len;
	__scone_memset(ev, 0, SCONE_SIM_SIZE);
	__scone_memcpy(ev, SCONE_SIM_MAGIC, 8);
	ev[8] = SCONE_SIM_VERSION;
	__scone_memcpy(ev + SCONE_SIM_REPORT_OFFSET, &rep, sizeof rep);
	if (__scone_crypto_key_public_der(sk, spki, sizeof spki, &spki_len) || spki_len != SPKI_LEN)
		__scone_abort("scone: console shield: the SIM attestation key is not a P-256 key");
	__scone_memcpy(ev + SCONE_SIM_KEY_OFFSET, spki + SPKI_LEN - 65, 65);
	if (__scone_crypto_ecdsa_sign(sk, ev, SCONE_SIM_SIG_OFFSET, der, sizeof der, &der_len) ||
	    der_to_rs(der, der_len, ev + SCONE_SIM_SIG_OFFSET))
		__scone_abort("scone: console shield: signing the SIM evidence failed");
	__scone_crypto_key_free(sk);
	got = SCONE_SIM_SIZE;
out:
	__scone_memset(h, 0, HOST_BUF);
	__scone_ocall(11 /* munmap */, page, HOST_BUF, 0, 0, 0, 0);
	return got;
}

/* ---- output ---- */

/* Send what is pending: 0 when all of it went, or the host's -errno
 * (-EAGAIN on a non-blocking descriptor: it stays pending). */
static long flush(struct stream *s)
{
	while (s->len) {
		long w = host(1, s->fd, (long)(s->buf + s->off), s->len, 0);
		if (w == -EINTR)
			continue;
		if (w < 0)
			return w;
		if (w == 0 || (unsigned long)w > s->len)
			return -EIO;
		s->off += (uint32_t)w;
		s->len -= (uint32_t)w;
	}
	return 0;
}

/* The same, waiting for the descriptor when it is non-blocking. */
static long flush_wait(struct stream *s)
{
	for (;;) {
		long r = flush(s);
		if (r != -EAGAIN)
			return r;
		struct { int fd; short events, revents; } p = { s->fd, POLLOUT, 0 };
		r = host(7 /* poll */, (long)&p, 1, -1, 0);
		if (r < 0 && r != -EINTR)
			return r;
	}
}

/* One frame of type t with n bytes of p into the stream's buffer. */
static void seal(struct stream *s, int id, int t, const void *p, uint32_t n)
{
	uint8_t iv[12];
	header(s->buf, t, id, s->seq, n);
	nonce(iv, id, s->seq);
	if (__scone_crypto_aes_gcm_encrypt(s->key, 32, iv, 12, s->buf, HDR, p, n, s->buf + HDR,
					   s->buf + HDR + n))
		__scone_abort("scone: console shield: AES-GCM failed");
	s->seq++;
	s->off = 0;
	s->len = HDR + n + TAG;
}

/* The end frame, once, after what is pending. */
static void finish(struct stream *s, int id)
{
	if (s->ended || s->fd < 0)
		return;
	s->ended = 1;
	if (s->err || flush_wait(s))
		return;
	seal(s, id, T_END, "", 0);
	if (flush_wait(s))
		s->len = 0;
}

/* ---- the session ---- */

static void hello(struct stream *s, int id, const uint8_t *payload, uint32_t n)
{
	uint8_t iv[12];
	header(s->buf, T_HELLO, id, 0, n);
	__scone_memcpy(s->buf + HDR, payload, n);
	nonce(iv, id, 0);
	/* GMAC: the whole frame is the AAD, nothing is secret. */
	if (__scone_crypto_aes_gcm_encrypt(s->key, 32, iv, 12, s->buf, HDR + n, "", 0, s->buf,
					   s->buf + HDR + n))
		__scone_abort("scone: console shield: AES-GCM failed");
	s->seq = 1;
	s->off = 0;
	s->len = HDR + n + TAG;
	long r = s->fd < 0 ? -EBADF : flush_wait(s);
	if (r) {
		s->err = r;
		s->len = 0;
	}
}

static void handshake(void)
{
	if (__atomic_load_n(&hs_done, __ATOMIC_ACQUIRE))
		return;
	lock(&hs_lock);
	if (hs_done) {
		unlock(&hs_lock);
		return;
	}
	scone_crypto_key *k = __scone_crypto_ec_generate();
	static uint8_t payload[4 + SPKI_LEN + SCONE_SIM_SIZE], both[2 * SPKI_LEN + 16 + SPKI_LEN];
	uint8_t z[32], salt[32], rd[64];
	size_t n;
	if (!k || __scone_crypto_key_public_der(k, payload + 2, SPKI_LEN, &n) || n != SPKI_LEN)
		__scone_abort("scone: console shield: making the session key failed");
	if (__scone_crypto_ecdh(k, client_spki, SPKI_LEN, z))
		__scone_abort("scone: console shield: SCONE_CONSOLE_KEY is not a point of P-256; take it from scone-console run or keygen");
	__scone_crypto_key_free(k);
	const uint8_t *ours = payload + 2;
	/* salt = SHA-256(client SPKI || enclave SPKI) */
	__scone_memcpy(both, client_spki, SPKI_LEN);
	__scone_memcpy(both + SPKI_LEN, ours, SPKI_LEN);
	__scone_crypto_sha256(both, 2 * SPKI_LEN, salt);
	for (int i = 0; i < 3; i++) {
		char info[32] = LABEL " ";
		size_t l = sizeof LABEL;
		for (const char *c = names[i]; *c; c++)
			info[l++] = *c;
		if (__scone_crypto_hkdf_sha256(z, 32, salt, 32, info, l, st[i].key, 32))
			__scone_abort("scone: console shield: HKDF failed");
	}
	__scone_memset(z, 0, sizeof z);
	/* REPORTDATA = SHA-256(enclave SPKI || LABEL || client SPKI) || 0^32 */
	__scone_memcpy(both, ours, SPKI_LEN);
	__scone_memcpy(both + SPKI_LEN, LABEL, sizeof LABEL - 1);
	__scone_memcpy(both + SPKI_LEN + sizeof LABEL - 1, client_spki, SPKI_LEN);
	__scone_memset(rd, 0, sizeof rd);
	__scone_crypto_sha256(both, 2 * SPKI_LEN + sizeof LABEL - 1, rd);
	payload[0] = 0;
	payload[1] = SPKI_LEN;
	size_t ev = sim_evidence(rd, payload + 4 + SPKI_LEN);
	payload[2 + SPKI_LEN] = (uint8_t)(ev >> 8);
	payload[3 + SPKI_LEN] = (uint8_t)ev;
	for (int i = 1; i < 3; i++) {
		lock(&st[i].lock);
		hello(&st[i], i, payload, (uint32_t)(4 + SPKI_LEN + ev));
		unlock(&st[i].lock);
	}
	__atomic_store_n(&hs_done, 1, __ATOMIC_RELEASE);
	unlock(&hs_lock);
}

/* ---- input ---- */

static long refuse(struct stream *s, const char *why)
{
	s->failed = 1;
	__scone_log(SCONE_LOG_ERROR, "console shield: stdin: frame %lu at byte %lu %s; reads now fail with EIO",
		    (unsigned long)s->seq, (unsigned long)s->pos, why);
	return -EIO;
}

/* Plaintext into pt_in: 1 when a data frame was opened, 0 at the end
 * frame, or -errno (the host's, or -EIO for a refused stream). */
static long next_frame(struct stream *s)
{
	for (;;) {
		const uint8_t *h = s->buf + s->ioff;
		if (s->ilen >= HDR) {
			uint32_t n = get32(h + 16);
			if (!same(h, magic, 5) || (h[5] != T_DATA && h[5] != T_END) || h[6] != 0 || h[7])
				return refuse(s, "is not a stdin frame (tampered)");
			if (get64(h + 8) != s->seq)
				return refuse(s, get64(h + 8) < s->seq ? "is replayed or reordered" : "is missing (dropped or reordered)");
			if (n > MAXP || (h[5] == T_END) == (n != 0))
				return refuse(s, "has a bad length (tampered)");
			if (s->ilen >= HDR + n + TAG) {
				uint8_t iv[12];
				nonce(iv, 0, s->seq);
				if (__scone_crypto_aes_gcm_decrypt(s->key, 32, iv, 12, h, HDR, h + HDR, n, pt_in,
								   h + HDR + n))
					return refuse(s, "fails authentication (tampered)");
				s->seq++;
				s->pos += HDR + n + TAG;
				s->ioff += HDR + n + TAG;
				s->ilen -= HDR + n + TAG;
				if (h[5] == T_END)
					return 0;
				s->off = 0;
				s->len = n;
				if (n)
					return 1;
				continue;
			}
		}
		if (s->ioff) {             /* forward copy: the regions may overlap */
			for (uint32_t i = 0; i < s->ilen; i++)
				s->buf[i] = s->buf[s->ioff + i];
			s->ioff = 0;
		}
		long r = host(0, s->fd, (long)(s->buf + s->ilen), FRAME - s->ilen, 0);
		if (r < 0)
			return r;
		if (r == 0)
			return refuse(s, "never comes: the stream ends without its end frame (truncated)");
		if ((unsigned long)r > FRAME - s->ilen)
			return refuse(s, "is longer than asked for (the host is lying)");
		s->ilen += (uint32_t)r;
	}
}

/* read/readv on stdin: vec[i] = (base, len). */
static long in_read(struct stream *s, const long (*vec)[2], long cnt)
{
	long total = 0, want = 0;
	if (s->failed)
		return -EIO;
	for (long i = 0; i < cnt; i++)
		want |= vec[i][1];
	if (!want)
		return 0;                  /* as read(2) of 0 bytes: no wait for a frame */
	if (!s->len && !s->ended) {
		long r = next_frame(s);
		if (r < 0)
			return r;
		if (r == 0)
			s->ended = 1;
	}
	for (long i = 0; i < cnt && s->len; i++) {
		size_t want = (size_t)vec[i][1], c = want < s->len ? want : s->len;
		__scone_memcpy((void *)vec[i][0], pt_in + s->off, c);
		s->off += (uint32_t)c;
		s->len -= (uint32_t)c;
		total += (long)c;
	}
	return total;
}

/* write/writev on stdout or stderr. */
static long out_write(struct stream *s, int id, const long (*vec)[2], long cnt)
{
	long total = 0;
	if (s->err)
		return s->err;
	long r = flush(s);
	if (r)
		return r;
	for (long i = 0; i < cnt; i++) {
		const uint8_t *p = (const uint8_t *)vec[i][0];
		size_t n = (size_t)vec[i][1];
		while (n) {
			uint32_t c = n < MAXP ? (uint32_t)n : MAXP;
			seal(s, id, T_DATA, p, c);
			p += c;
			n -= c;
			total += c;
			r = flush(s);
			if (r == -EAGAIN)
				return total;      /* taken: the frame's rest goes first next time */
			if (r) {
				s->err = r;
				s->len = 0;
				return total;
			}
		}
	}
	return total;
}

/* ---- descriptors ---- */

static int stream_of(long fd)
{
	return (unsigned long)fd < SCONE_SHIELD_FDS ? fdmap[fd] - 1 : -1;
}

static void bind_fd(long fd, int id)
{
	fdmap[fd] = (uint8_t)(id + 1);
	__scone_shield_fdflag[fd] = SCONE_SHIELD_FD_CONSOLE;
	st[id].refs++;
	if (st[id].fd < 0)
		st[id].fd = (int)fd;
}

/* fd is no longer the stream's; the last descriptor of an output stream
 * ends it. Before the host's close or dup2, so the end frame still goes. */
static void unbind_fd(long fd)
{
	int id = stream_of(fd);
	if (id < 0)
		return;
	struct stream *s = &st[id];
	if (--s->refs == 0 && id) {
		handshake();
		lock(&s->lock);
		finish(s, id);
		unlock(&s->lock);
	}
	fdmap[fd] = 0;
	__scone_shield_fdflag[fd] = 0;
	if (s->fd == fd) {
		s->fd = -1;
		for (int i = 0; i < SCONE_SHIELD_FDS && s->refs; i++)
			if (fdmap[i] == id + 1) {
				s->fd = i;
				break;
			}
	}
}

void __scone_console_init(char **envp)
{
	const char *v = 0;
	for (char **e = envp; *e; e++)
		if (!__scone_strncmp(*e, "SCONE_CONSOLE_KEY=", 18))
			v = *e + 18;
	if (!v || !*v)
		__scone_abort("scone: console shield: SCONE_CONSOLE_KEY is not set; this enclave's standard streams are encrypted: run it with `scone-console run -- PROGRAM`, or set the variable that `scone-console keygen` prints");
	if (__scone_strlen(v) != 2 * SPKI_LEN || unhex(v, client_spki, SPKI_LEN) ||
	    !same(client_spki, spki_head, sizeof spki_head))
		__scone_abort("scone: console shield: SCONE_CONSOLE_KEY is not a P-256 public key (182 hex digits of its SubjectPublicKeyInfo); take it from scone-console run or keygen");
	for (int i = 0; i < 3; i++) {
		st[i].fd = -1;
		bind_fd(i, i);
	}
	st[0].seq = 1;             /* stdin has no hello: its first frame is 1 */
	__scone_console_on = 1;
}

static int fd_first(long nr)
{
	switch (nr) {
	case 0: case 1: case 3: case 5: case 8: case 16: case 17: case 18: case 19: case 20:
	case 32: case 33: case 72: case 73: case 74: case 75: case 77: case 78: case 81: case 91:
	case 93: case 138: case 187: case 190: case 193: case 196: case 199: case 217: case 221:
	case 277: case 285: case 292: case 295: case 296: case 306: case 327: case 328:
	case 44: case 45: case 46: case 47: case 278: case 299: case 307:
		return 1;
	}
	return 0;
}

static long dup_call(long nr, const long a[6], int id)
{
	lock(&map_lock);
	/* dup2 onto another stream's descriptor: that stream's end frame goes
	 * out through it before the host makes it a copy of ours. */
	if ((nr == 33 || nr == 292) && stream_of(a[1]) >= 0 && stream_of(a[1]) != id)
		unbind_fd(a[1]);
	long r = __scone_shield_host(nr, a);
	if (r >= 0 && ((nr == 33 || nr == 292) ? r != a[1]
		       : r < SCONE_SHIELD_FDS && __scone_shield_fdflag[r])) {
		r = -EIO;                  /* the host names a descriptor that is not free */
	} else if (r >= SCONE_SHIELD_FDS) {
		/* a copy the shield could not follow would write in clear */
		host(3 /* close */, r, 0, 0, 0);
		r = -EMFILE;
	} else if (r >= 0 && stream_of(r) != id) {
		bind_fd(r, id);
	}
	unlock(&map_lock);
	return r;
}

/*
 * poll/ppoll while stdin has plaintext decrypted inside that the program
 * has not read: the host's pipe may have nothing more, so the host would
 * say "not readable" and the program would wait. Then the host is asked
 * without waiting and stdin is reported readable. Sets with a network
 * shield's socket go their own way (its readiness is answered there).
 */
static long poll_call(long nr, const long a[6], int *handled)
{
	struct pfd { int fd; short events, revents; } *p = (struct pfd *)a[0];
	unsigned long n = (unsigned long)a[1];
	int ours = 0;
	if (!__atomic_load_n(&st[0].len, __ATOMIC_RELAXED) || n > 65536)
		return 0;
	for (unsigned long i = 0; i < n; i++) {
		if (p[i].fd >= 0 && p[i].fd < SCONE_SHIELD_FDS && __scone_shield_fdflag[p[i].fd] == 3)
			return 0;
		ours |= stream_of(p[i].fd) == 0 && (p[i].events & POLLIN);
	}
	if (!ours)
		return 0;
	*handled = 1;
	struct { long s, ns; } zero = { 0, 0 };
	long b[6] = { a[0], a[1], nr == 7 ? 0 : (long)&zero, a[3], a[4], 0 };
	long r = __scone_shield_host(nr, b);
	if (r < 0)
		return r;
	long count = 0;
	for (unsigned long i = 0; i < n; i++) {
		if (stream_of(p[i].fd) == 0)
			p[i].revents |= (short)(p[i].events & POLLIN);
		count += p[i].revents != 0;
	}
	return count;
}

/* select/pselect6 the same way: stdin's descriptors in the read set are
 * readable while plaintext waits inside. */
static long select_call(long nr, const long a[6], int *handled)
{
	unsigned long *rd = (unsigned long *)a[1], want[16] = { 0 };
	long n = a[0];
	int ours = 0;
	if (!__atomic_load_n(&st[0].len, __ATOMIC_RELAXED) || !rd || n <= 0 || n > 1024)
		return 0;
	for (long fd = 0; fd < n; fd++) {
		int in = (rd[fd / 64] >> (fd % 64)) & 1;
		if (in && __scone_shield_fdflag[fd] == 3)
			return 0;
		if (in && stream_of(fd) == 0) {
			want[fd / 64] |= 1ul << (fd % 64);
			ours = 1;
		}
	}
	if (!ours)
		return 0;
	*handled = 1;
	struct { long s, ns; } zero = { 0, 0 };
	long b[6] = { a[0], a[1], a[2], a[3], (long)&zero, a[5] };
	long r = __scone_shield_host(nr, b);
	if (r < 0)
		return r;
	for (long fd = 0; fd < n; fd++)
		if (((want[fd / 64] >> (fd % 64)) & 1) && !((rd[fd / 64] >> (fd % 64)) & 1)) {
			rd[fd / 64] |= 1ul << (fd % 64);
			r++;
		}
	return r;
}

long __scone_console_call(long nr, const long a[6], int *handled)
{
	*handled = 0;
	switch (nr) {
	case 33: case 292:                                     /* dup2, dup3 */
		if (stream_of(a[0]) >= 0 || stream_of(a[1]) < 0 || a[0] == a[1])
			break;
		/* another file onto a stream's descriptor: that number leaves the shield */
		lock(&map_lock);
		unbind_fd(a[1]);
		unlock(&map_lock);
		return 0;                  /* the rest of the door, then the host */
	case 436:                                              /* close_range */
		if (!(a[2] & CLOSE_RANGE_CLOEXEC)) {
			lock(&map_lock);
			for (unsigned long fd = (unsigned long)a[0]; fd <= (unsigned long)a[1] && fd < SCONE_SHIELD_FDS; fd++)
				unbind_fd((long)fd);
			unlock(&map_lock);
		}
		return 0;
	case 40:                                               /* sendfile */
	case 275: case 326:                                    /* splice, copy_file_range */
	case 276:                                              /* tee */
		if (stream_of(a[0]) >= 0 || stream_of(nr == 40 || nr == 276 ? a[1] : a[2]) >= 0) {
			*handled = 1;      /* no bytes may pass the shield in clear */
			return -EINVAL;
		}
		return 0;
	}
	if (nr == 7 || nr == 271)                              /* poll, ppoll */
		return poll_call(nr, a, handled);
	if (nr == 23 || nr == 270)                             /* select, pselect6 */
		return select_call(nr, a, handled);
	int id = fd_first(nr) ? stream_of(a[0]) : -1;
	if (id < 0)
		return 0;
	*handled = 1;
	struct stream *s = &st[id];
	long one[1][2] = { { a[1], a[2] } };
	long r;
	switch (nr) {
	case 0: case 19:                                       /* read, readv */
	case 1: case 20:                                       /* write, writev */
		if ((nr == 0 || nr == 19) != (id == 0))
			return -EBADF;     /* stdin is read, stdout and stderr written */
		if ((nr == 19 || nr == 20) && ((unsigned long)a[2] > 1024))
			return -EINVAL;
		handshake();
		lock(&s->lock);
		if (nr == 0 || nr == 1)
			r = id ? out_write(s, id, (const long (*)[2])one, 1) : in_read(s, (const long (*)[2])one, 1);
		else
			r = id ? out_write(s, id, (const long (*)[2])a[1], a[2]) : in_read(s, (const long (*)[2])a[1], a[2]);
		unlock(&s->lock);
		return r;
	case 17: case 18: case 295: case 296: case 327: case 328:
		return -ESPIPE;            /* a stream has no offsets to read or write at */
	case 44: case 45: case 46: case 47: case 278: case 299: case 307:
		return -ENOTSOCK;
	case 3:                                                /* close */
		lock(&map_lock);
		unbind_fd(a[0]);
		unlock(&map_lock);
		return __scone_shield_host(nr, a);
	case 32:                                               /* dup */
		return dup_call(nr, a, id);
	case 33: case 292:
		if (a[0] == a[1])
			return __scone_shield_host(nr, a);
		return dup_call(nr, a, id);
	case 72:                                               /* fcntl */
		if (a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC)
			return dup_call(nr, a, id);
		return __scone_shield_host(nr, a);
	}
	/* fstat, ioctl (isatty), fcntl, lseek, fsync...: the host's descriptor */
	return __scone_shield_host(nr, a);
}

/* The session starts before main (libc is up: threads, malloc), so the
 * client has the keys for stdin whatever the program does first (poll,
 * select or epoll on fd 0 would not start it). */
static void __attribute__((constructor(101))) console_start(void)
{
	if (__scone_console_on)
		handshake();
}

void __scone_console_exit(void)
{
	handshake();
	for (int id = 1; id < 3; id++) {
		struct stream *s = &st[id];
		/* A thread parked in a write for good must not hold up the exit:
		 * its stream then ends without an end frame, which the client
		 * reports as truncated. */
		int got = 0;
		for (int t = 0; t < 1000 && !(got = !__atomic_exchange_n(&s->lock, 1, __ATOMIC_ACQUIRE)); t++)
			__scone_sched_yield();
		if (!got)
			continue;
		if (s->refs)
			finish(s, id);
		unlock(&s->lock);
	}
}
