/*
 * The network shield: TLS inside the enclave for the endpoints the signed
 * policy names (net.h). The TLS engine never touches a socket (a BIO pair,
 * crypto.h): the calls below move ciphertext between the host socket and
 * the engine through __scone_shield_host, the dispatcher's own external
 * path, so an lthread that waits for the network parks and its ethread
 * runs others. The engine runs on the lthread that reads, writes or waits.
 *
 * Readiness: a shielded socket registered in an epoll set is registered on
 * the host with a tag in place of the program's data (TAG | fd), so
 * epoll_wait knows which events are ours. An EPOLLIN from the host is
 * turned into plaintext before the program sees it: handshake records and
 * partial records are consumed inside and the event is hidden; a socket
 * with plaintext buffered inside is reported readable without the host.
 * Level-triggered sets are exact; edge-triggered ones may see an extra
 * event (harmless: such programs read until EAGAIN). poll does the same.
 */
#include <scone/crypto.h>
#include <scone/enclave_abi.h>

#include "net.h"
#include "../cas/cas.h"
#include "../cas/ratls.h"
#include "../../sched/scone_sched.h"

#pragma weak __scone_tls_config_new
#pragma weak __scone_tls_config_identity_pem
#pragma weak __scone_tls_config_trust
#pragma weak __scone_tls_new
#pragma weak __scone_tls_free
#pragma weak __scone_tls_feed
#pragma weak __scone_tls_drain
#pragma weak __scone_tls_pending_out
#pragma weak __scone_tls_read
#pragma weak __scone_tls_write
#pragma weak __scone_tls_pending
#pragma weak __scone_tls_shutdown
#pragma weak __scone_tls_state
#pragma weak __scone_crypto_error
/* Identities from the CAS (cas/attest.c, linked when signed with a CAS key)
 * and RA-TLS (cas/ratls.c, linked for a policy that names it). */
#pragma weak __scone_cas_tls
#pragma weak __scone_ratls_identity
#pragma weak __scone_ratls_require

#define EPERM 1
#define ENOENT 2
#define EIO 5
#define EBADF 9
#define EAGAIN 11
#define ENOMEM 12
#define EACCES 13
#define EINVAL 22
#define EMFILE 24
#define EPIPE 32
#define EOPNOTSUPP 95
#define ECONNABORTED 103
#define ECONNRESET 104
#define ECONNREFUSED 111

#define MSG_PEEK 2
#define MSG_DONTWAIT 0x40
#define MSG_NOSIGNAL 0x4000
#define EPOLLIN 0x001
#define EPOLLOUT 0x004
#define EPOLLONESHOT (1u << 30)
#define POLLIN 0x001
#define FIONREAD 0x541B

#define MAX_EP 32
#define MAX_REG 4                   /* epoll sets one socket may be in */
#define TAG 0x5c0e5c0e00000000ull   /* non-canonical: no program's pointer */
#define TAG_MASK 0xffffffff00000000ull
#define BUF (16 * 1024)
#define OUT (18 * 1024)

struct endpoint {
	uint8_t kind, action, has_addr;
	uint16_t port;
	uint8_t addr[16];
	char cert[256], key[256], ca[256], name[256];
	scone_tls_config *cfg;     /* made on first use */
	int failed;
};

struct iovec_k {
	void *b;
	size_t n;
};

struct reg {
	int epfd;
	uint32_t events;
	uint64_t data;
};

struct conn {
	scone_tls *t;
	int busy;                  /* one lthread drives the engine at a time */
	uint8_t ep, eof, failed, wclosed, open, more;
	long err;
	uint32_t pt_off, pt_len, in_off, in_len, out_off, out_len;
	uint64_t seen;             /* epoll_wait's round that reported it from inside */
	struct reg reg[MAX_REG];
	char pt[BUF], in[BUF], out[OUT], scratch[BUF];
};

static struct endpoint eps[MAX_EP];
static int neps, def_action, ep_lock;
static uint8_t listener[SCONE_SHIELD_FDS];      /* fd -> endpoint + 1 */
static struct conn *conns[SCONE_SHIELD_FDS];
static int hiwater;                             /* 1 + highest fd ever shielded */
static int npending;                            /* conns with ciphertext not sent */

static const char *kinds[] = { "server", "client", "default" };

static long host(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	long a[6] = { a0, a1, a2, a3, a4, a5 };
	return __scone_shield_host(nr, a);
}

/* A call through the whole door (the file-system shield may own the fd). */
static long door(long nr, long a0, long a1, long a2, long a3)
{
	long a[6] = { a0, a1, a2, a3, 0, 0 };
	int handled;
	long r = __scone_shield_call(nr, a, &handled);
	return handled ? r : __scone_shield_host(nr, a);
}

static void lock(int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		__scone_sched_yield();
}

static int trylock(int *l)
{
	return !__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE);
}

static void unlock(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static void *alloc(size_t n)
{
	long p = __scone_sys_mmap(0, (n + 4095) & ~4095ul, 3, 0x22, -1, 0);
	return p < 0 ? 0 : (void *)p;
}

static const char *why(void)
{
	const char *e = __scone_crypto_error ? __scone_crypto_error() : 0;
	return e && *e ? e : "the TLS library gave no reason";
}

/* "server *:6379" for log lines. */
static void ep_text(const struct endpoint *e, char *out, size_t cap)
{
	char *o = out, *end = out + cap - 1;
#define PUT(c) do { if (o < end) *o++ = (c); } while (0)
	for (const char *k = kinds[e->kind]; *k; k++)
		PUT(*k);
	PUT(' ');
	if (!e->has_addr) {
		PUT('*');
	} else if (e->addr[10] == 0xff && e->addr[11] == 0xff) {
		for (int i = 12; i < 16; i++) {
			char d[4];
			int k = 0, v = e->addr[i];
			do d[k++] = (char)('0' + v % 10); while ((v /= 10));
			while (k)
				PUT(d[--k]);
			if (i < 15)
				PUT('.');
		}
	} else {
		static const char hex[] = "0123456789abcdef";
		PUT('[');
		for (int i = 0; i < 16; i += 2) {
			PUT(hex[e->addr[i] >> 4]); PUT(hex[e->addr[i] & 15]);
			PUT(hex[e->addr[i + 1] >> 4]); PUT(hex[e->addr[i + 1] & 15]);
			if (i < 14)
				PUT(':');
		}
		PUT(']');
	}
	PUT(':');
	char d[6];
	int k = 0, v = e->port;
	do d[k++] = (char)('0' + v % 10); while ((v /= 10));
	while (k)
		PUT(d[--k]);
	*o = 0;
#undef PUT
}

static void copy_str(char *dst, const uint8_t **p, const uint8_t *end)
{
	uint16_t n;
	if (end - *p < 2)
		__scone_abort("scone: the network policy is malformed");
	__scone_memcpy(&n, *p, 2);
	if (end - *p - 2 < n || n > 255)
		__scone_abort("scone: the network policy is malformed");
	__scone_memcpy(dst, *p + 2, n);
	dst[n] = 0;
	*p += 2 + n;
}

void __scone_net_init(const uint8_t *p, const uint8_t *end)
{
	uint32_t n;
	if (end - p < 4)
		return;
	__scone_memcpy(&n, p, 4);
	p += 4;
	if (!n)
		return;
	if (n > MAX_EP)
		__scone_abort("scone: the network policy has more endpoints than the runtime takes");
	int tls = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct endpoint *e = &eps[neps];
		if (end - p < 24 || p[0] > SCONE_NET_KIND_DEFAULT || p[1] > SCONE_NET_REFUSE)
			__scone_abort("scone: the network policy is malformed");
		e->kind = p[0];
		e->action = p[1];
		__scone_memcpy(&e->port, p + 2, 2);
		e->has_addr = p[4];
		__scone_memcpy(e->addr, p + 8, 16);
		p += 24;
		copy_str(e->cert, &p, end);
		copy_str(e->key, &p, end);
		copy_str(e->ca, &p, end);
		copy_str(e->name, &p, end);
		if (e->kind == SCONE_NET_KIND_DEFAULT) {
			def_action = e->action == SCONE_NET_TLS ? SCONE_NET_REFUSE : e->action;
			continue;
		}
		tls |= e->action == SCONE_NET_TLS;
		neps++;
	}
	if (tls && !__scone_tls_new)
		__scone_abort("scone: the network policy has tls endpoints but the binary has no TLS "
			      "library; relink with --scone-net (or --scone-crypto)");
	for (int i = 0; i < neps; i++) {
		static const char *actions[] = { "clear", "tls", "refuse" };
		char t[80];
		ep_text(&eps[i], t, sizeof t);
		__scone_log(SCONE_LOG_INFO, "net shield: %s %s", t, actions[eps[i].action]);
	}
	__scone_net_on = 1;
}

/* ---- policy ---- */

/* sockaddr -> (IPv6-mapped address, port); 0 for a family we do not shield. */
static int sockaddr_key(const uint8_t *sa, long len, uint8_t addr[16], uint16_t *port)
{
	uint16_t fam;
	if (!sa || len < 2)
		return 0;
	__scone_memcpy(&fam, sa, 2);
	if (fam == 2 && len >= 8) {
		__scone_memset(addr, 0, 16);
		addr[10] = addr[11] = 0xff;
		__scone_memcpy(addr + 12, sa + 4, 4);
	} else if (fam == 10 && len >= 24) {
		__scone_memcpy(addr, sa + 8, 16);
	} else {
		return 0;
	}
	*port = (uint16_t)(sa[2] << 8 | sa[3]);
	return 1;
}

static int memeq(const uint8_t *a, const uint8_t *b, size_t n)
{
	while (n--)
		if (*a++ != *b++)
			return 0;
	return 1;
}

static int is_any(const uint8_t a[16])
{
	static const uint8_t v4any[16] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t v6any[16];
	return memeq(a, v4any, 16) || memeq(a, v6any, 16);
}

/* The endpoint for (kind, addr, port): index, or -1 for the default. */
static int lookup(int kind, const uint8_t addr[16], uint16_t port)
{
	int best = -1;
	for (int i = 0; i < neps; i++) {
		const struct endpoint *e = &eps[i];
		if (e->kind != kind || e->port != port)
			continue;
		if (e->has_addr && !memeq(e->addr, addr, 16) && !(kind == 0 && is_any(addr)))
			continue;
		if (best < 0 || e->has_addr)
			best = i;
	}
	return best;
}

static long read_file(const char *path, char **out, size_t *len)
{
	long fd = door(2, (long)path, 0x80000, 0, 0);          /* open O_RDONLY|O_CLOEXEC */
	if (fd < 0)
		return fd;
	size_t cap = 64 * 1024, n = 0;
	char *b = alloc(cap);
	if (!b) {
		door(3, fd, 0, 0, 0);
		return -ENOMEM;
	}
	for (;;) {
		long r = door(0, fd, (long)(b + n), (long)(cap - n - 1), 0);
		if (r < 0) {
			door(3, fd, 0, 0, 0);
			return r;
		}
		if (!r)
			break;
		n += (size_t)r;
		if (n + 1 >= cap) {
			door(3, fd, 0, 0, 0);
			return -EINVAL;
		}
	}
	door(3, fd, 0, 0, 0);
	b[n] = 0;
	*out = b;
	*len = n;
	return 0;
}

static int prefixed(const char *s, const char *p)
{
	while (*p)
		if (*s++ != *p++)
			return 0;
	return 1;
}

static size_t text_len(const char *s)
{
	size_t n = 0;
	while (s && s[n])
		n++;
	return n;
}

static const char *errname(long e)
{
	switch (-e) {
	case ENOENT: return "no such file";
	case EACCES: return "permission denied (or in a region not served yet)";
	case EINVAL: return "larger than 64 KiB";
	default: return "cannot be read";
	}
}

/* The endpoint's TLS config, made on first use; NULL (logged once) if it cannot be. */
static scone_tls_config *ep_config(struct endpoint *e)
{
	if (e->cfg || e->failed)
		return e->cfg;
	lock(&ep_lock);
	if (!e->cfg && !e->failed) {
		char t[80], *cert = 0, *key = 0, *ca = 0;
		size_t cl = 0, kl = 0, al = 0;
		long r;
		const char *bad = 0, *reason = 0;
		scone_tls_config *cfg = 0;
		ep_text(e, t, sizeof t);
		/* cert=cas:NAME, ca=cas:NAME: the CAS's TLS identity NAME, in
		 * enclave memory since before main; cert=ratls: a key and an
		 * evidence certificate made here; ca=ratls:SPEC: RA-TLS peers only. */
		const struct scone_cas_tls *cid = 0, *aid = 0;
		int cas_cert = prefixed(e->cert, "cas:"), cas_ca = prefixed(e->ca, "cas:");
		int ratls_cert = prefixed(e->cert, "ratls") && !e->cert[5], ratls_ca = prefixed(e->ca, "ratls:");
		if ((cas_cert || cas_ca) && !__scone_cas_tls)
			bad = cas_cert ? e->cert : e->ca, reason = "this enclave has no CAS client (sign it with "
				"--scone-cas-key=HASH to take TLS identities from a CAS)";
		else if ((ratls_cert || ratls_ca) && !__scone_ratls_identity)
			bad = ratls_cert ? e->cert : e->ca, reason = "this enclave was linked without RA-TLS "
				"(relink it with scone-gcc and this policy)";
		else if (cas_cert && (!(cid = __scone_cas_tls(e->cert + 4)) || !cid->certificate || !cid->private_key))
			bad = e->cert, reason = "the CAS gave no TLS identity of that name with a certificate and a "
				"private key (the session's service needs tls: [{name: NAME, certificate: ..., "
				"private_key: ...}])";
		else if (cas_ca && (!(aid = __scone_cas_tls(e->ca + 4)) || !aid->ca))
			bad = e->ca, reason = "the CAS gave no TLS identity of that name with a ca (the session's "
				"service needs tls: [{name: NAME, ca: ...}])";
		else if (e->cert[0] && !cas_cert && !ratls_cert && (r = read_file(e->cert, &cert, &cl)) < 0)
			bad = e->cert, reason = errname(r);
		else if (e->key[0] && (r = read_file(e->key, &key, &kl)) < 0)
			bad = e->key, reason = errname(r);
		else if (e->ca[0] && !cas_ca && !ratls_ca && (r = read_file(e->ca, &ca, &al)) < 0)
			bad = e->ca, reason = errname(r);
		if (cid) {
			cert = (char *)cid->certificate, cl = text_len(cert);
			key = (char *)cid->private_key, kl = text_len(key);
		}
		if (aid)
			ca = (char *)aid->ca, al = text_len(ca);
		char rwhy[300];
		if (bad) {
			__scone_log(SCONE_LOG_ERROR, "net shield: %s: %s: %s; connections are refused", t, bad, reason);
		} else if (!(cfg = __scone_tls_config_new(e->kind == SCONE_NET_KIND_SERVER))) {
			__scone_log(SCONE_LOG_ERROR, "net shield: %s: %s", t, why());
		} else if (cert && __scone_tls_config_identity_pem(cfg, cert, cl, key, kl)) {
			__scone_log(SCONE_LOG_ERROR, "net shield: %s: certificate %s and key %s do not make an identity "
				    "(a key that does not match the certificate, or not PEM): %s; connections are refused",
				    t, e->cert, e->key, why());
			cfg = 0;
		} else if (ca && __scone_tls_config_trust(cfg, ca, al)) {
			__scone_log(SCONE_LOG_ERROR, "net shield: %s: CA %s has no certificate: %s; connections are refused",
				    t, e->ca, why());
			cfg = 0;
		} else if (ratls_cert && __scone_ratls_identity(cfg, rwhy, sizeof rwhy)) {
			__scone_log(SCONE_LOG_ERROR, "net shield: %s: RA-TLS identity: %s; connections are refused", t, rwhy);
			cfg = 0;
		} else if (ratls_ca && __scone_ratls_require(cfg, e->ca + 6, rwhy, sizeof rwhy)) {
			__scone_log(SCONE_LOG_ERROR, "net shield: %s: %s; connections are refused", t, rwhy);
			cfg = 0;
		} else if (ratls_cert || cid) {
			__scone_log(SCONE_LOG_INFO, "net shield: %s: identity %s", t, ratls_cert
				    ? "made inside (RA-TLS, evidence in the certificate)" : "from the CAS");
		}
		/* the PEM texts stay mapped: small, once per endpoint */
		if (cfg)
			e->cfg = cfg;
		else
			e->failed = 1;
	}
	unlock(&ep_lock);
	return e->cfg;
}

/* ---- connections ---- */

static struct conn *conn_of(long fd)
{
	return (unsigned long)fd < SCONE_SHIELD_FDS && __scone_shield_fdflag[fd] == SCONE_SHIELD_FD_NET
		? conns[fd] : 0;
}

static long conn_new(long fd, int ep, const char *peer)
{
	if ((unsigned long)fd >= SCONE_SHIELD_FDS)
		return -EMFILE;
	struct conn *c = alloc(sizeof *c);
	if (!c)
		return -ENOMEM;
	c->t = __scone_tls_new(eps[ep].cfg, peer);
	if (!c->t) {
		__scone_sys_munmap((unsigned long)c, (sizeof *c + 4095) & ~4095ul);
		return -ENOMEM;
	}
	c->ep = (uint8_t)ep;
	for (int i = 0; i < MAX_REG; i++)
		c->reg[i].epfd = -1;
	conns[fd] = c;
	__atomic_store_n(&__scone_shield_fdflag[fd], SCONE_SHIELD_FD_NET, __ATOMIC_RELEASE);
	int h = __atomic_load_n(&hiwater, __ATOMIC_RELAXED);
	while ((int)fd + 1 > h && !__atomic_compare_exchange_n(&hiwater, &h, (int)fd + 1, 0,
							      __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return fd;
}

/* Log a failed link once and remember the error the program sees. */
static long fail(struct conn *c, long fd, const char *what)
{
	if (!c->failed) {
		char t[80];
		ep_text(&eps[c->ep], t, sizeof t);
		const struct endpoint *e = &eps[c->ep];
		if (e->kind == SCONE_NET_KIND_CLIENT && prefixed(e->ca, "ratls:"))
			__scone_log(SCONE_LOG_WARN, "net shield: %s: fd %ld: %s: %s (the peer must present "
				    "RA-TLS evidence meeting %s); the connection is closed", t, fd, what, why(), e->ca + 6);
		else if (e->kind == SCONE_NET_KIND_CLIENT)
			__scone_log(SCONE_LOG_WARN, "net shield: %s: fd %ld: %s: %s (the peer must hold a "
				    "certificate from %s for the name %s); the connection is closed",
				    t, fd, what, why(), e->ca, e->name);
		else if (!c->open && prefixed(e->cert, "ratls") && !e->cert[5])
			__scone_log(SCONE_LOG_WARN, "net shield: %s: fd %ld: %s: %s (if an alert: the peer refused "
				    "this enclave's RA-TLS certificate, or its evidence); the connection is closed",
				    t, fd, what, why());
		else
			__scone_log(SCONE_LOG_WARN, "net shield: %s: fd %ld: %s: %s; the connection is closed",
				    t, fd, what, why());
		c->failed = 1;
		c->err = -ECONNRESET;
	}
	return c->err;
}

/* Send what the engine has for the peer: 0 when all is out, -EAGAIN when
 * the socket takes no more now, or -errno. */
static long flush(struct conn *c, long fd, int dontwait)
{
	int was = c->out_len > c->out_off;
	long r = 0;
	for (;;) {
		if (c->out_off == c->out_len) {
			ssize_t n = __scone_tls_drain(c->t, c->out, OUT);
			c->out_off = c->out_len = 0;
			if (n <= 0)
				break;
			c->out_len = (uint32_t)n;
		}
		r = host(44, fd, (long)(c->out + c->out_off), c->out_len - c->out_off,
			 MSG_NOSIGNAL | (dontwait ? MSG_DONTWAIT : 0), 0, 0);
		if (r < 0)
			break;
		c->out_off += (uint32_t)r;
		r = 0;
	}
	int now = c->out_len > c->out_off;
	if (now != was)
		__atomic_add_fetch(&npending, now ? 1 : -1, __ATOMIC_RELAXED);
	return r;
}

/* Ciphertext from the host into the engine: >0 fed, 0 at the host's EOF, -errno. */
static long fill(struct conn *c, long fd, int dontwait)
{
	if (c->in_off == c->in_len) {
		long r = host(45, fd, (long)c->in, BUF, dontwait ? MSG_DONTWAIT : 0, 0, 0);
		if (r <= 0)
			return r;
		c->in_off = 0;
		c->in_len = (uint32_t)r;
	}
	ssize_t n = __scone_tls_feed(c->t, c->in + c->in_off, c->in_len - c->in_off);
	if (n < 0)
		return -EIO;
	c->in_off += (uint32_t)n;
	c->more = 1;
	return n ? n : 1;
}

/* Plaintext in c->pt: its length, 0 at the peer's end, -EAGAIN, -errno. */
static long pump(struct conn *c, long fd, int dontwait)
{
	for (;;) {
		if (c->pt_len > c->pt_off)
			return c->pt_len - c->pt_off;
		if (c->failed)
			return c->err;
		if (c->eof)
			return 0;
		ssize_t n = __scone_tls_read(c->t, c->pt, BUF);
		long f = flush(c, fd, 1);
		if (n > 0) {
			c->open = 1;
			c->pt_off = 0;
			c->pt_len = (uint32_t)n;
			return n;
		}
		if (n == 0) {
			c->eof = 1;
			return 0;
		}
		if (n != SCONE_CRYPTO_EAGAIN) {
			fail(c, fd, c->open ? "TLS error" : "TLS handshake failed");
			flush(c, fd, 1);          /* the alert */
			return c->err;
		}
		c->more = 0;
		if (__scone_tls_state(c->t) == SCONE_TLS_OPEN)
			c->open = 1;
		if (f < 0 && f != -EAGAIN && f != -EPIPE) {
			c->err = f;
			c->failed = 1;
			return f;
		}
		long r = fill(c, fd, dontwait);
		if (r == 0) {
			if (!c->open) {
				char t[80];
				ep_text(&eps[c->ep], t, sizeof t);
				__scone_log(SCONE_LOG_WARN, "net shield: %s: fd %ld: the peer closed during the "
					    "TLS handshake", t, fd);
			}
			c->eof = 1;
			return 0;
		}
		if (r < 0)
			return r;
	}
}

/* Anything for a read without the host: plaintext, or bytes not yet decrypted. */
static int inside(const struct conn *c)
{
	return c->pt_len > c->pt_off || c->more || c->in_len > c->in_off || c->eof || c->failed;
}

static long conn_read(struct conn *c, long fd, struct iovec_k *iov, int cnt, int flags)
{
	lock(&c->busy);
	long r = pump(c, fd, flags & MSG_DONTWAIT);
	if (r > 0) {
		size_t got = 0, off = c->pt_off;
		for (int i = 0; i < cnt && off < c->pt_len; i++) {
			size_t k = iov[i].n < c->pt_len - off ? iov[i].n : c->pt_len - off;
			__scone_memcpy(iov[i].b, c->pt + off, k);
			off += k;
			got += k;
		}
		if (!(flags & MSG_PEEK))
			c->pt_off = (uint32_t)off;
		r = (long)got;
	}
	unlock(&c->busy);
	return r;
}

static long conn_write(struct conn *c, long fd, const struct iovec_k *iov, int cnt, int flags)
{
	int dw = flags & MSG_DONTWAIT;
	long done = 0, r = 0;
	lock(&c->busy);
	if (c->failed || c->wclosed) {
		r = c->failed ? c->err : -EPIPE;
		goto out;
	}
	r = flush(c, fd, dw);
	if (r < 0)
		goto out;
	for (int i = 0; i < cnt && r == 0; i++) {
		size_t off = 0;
		int stuck = 0;
		while (off < iov[i].n) {
			ssize_t w = __scone_tls_write(c->t, (const char *)iov[i].b + off, iov[i].n - off);
			if (w > 0) {
				off += (size_t)w;
				done += w;
				stuck = 0;
				c->open = 1;
				r = flush(c, fd, dw);
				if (r < 0)
					break;
				continue;
			}
			if (w != SCONE_CRYPTO_EAGAIN) {
				r = fail(c, fd, c->open ? "TLS error" : "TLS handshake failed");
				flush(c, fd, 1);
				break;
			}
			r = flush(c, fd, dw);
			if (r < 0)
				break;
			if (__scone_tls_state(c->t) != SCONE_TLS_HANDSHAKE && stuck++) {
				r = -EAGAIN;               /* the engine wants the peer: come back */
				break;
			}
			if (__scone_tls_state(c->t) == SCONE_TLS_HANDSHAKE) {
				r = fill(c, fd, dw);           /* the handshake wants the peer */
				if (r == 0)
					r = -EPIPE;
				if (r < 0)
					break;
				r = 0;
			}
		}
	}
	if (done)
		r = done;
out:
	unlock(&c->busy);
	return r;
}

static void conn_close(long fd)
{
	struct conn *c = conns[fd];
	lock(&c->busy);
	if (!c->failed && !c->wclosed && c->open) {
		__scone_tls_shutdown(c->t);      /* close_notify, best effort */
		flush(c, fd, 1);
	}
	if (c->out_len > c->out_off)
		__atomic_add_fetch(&npending, -1, __ATOMIC_RELAXED);
	__atomic_store_n(&__scone_shield_fdflag[fd], 0, __ATOMIC_RELEASE);
	conns[fd] = 0;
	__scone_tls_free(c->t);
	__scone_sys_munmap((unsigned long)c, (sizeof *c + 4095) & ~4095ul);
}

/* ---- readiness ---- */

static uint64_t now_ms(void)
{
	return __scone_clock_now(1) / 1000000;
}

/* Send what waits in every engine; 1 if some could not go yet. */
static int flush_all(void)
{
	int left = 0;
	for (int fd = 0; fd < hiwater; fd++) {
		struct conn *c = conn_of(fd);
		if (c && c->out_len > c->out_off && trylock(&c->busy)) {
			flush(c, fd, 1);
			left |= c->out_len > c->out_off;
			unlock(&c->busy);
		}
	}
	return left;
}

static struct reg *reg_of(struct conn *c, long epfd)
{
	for (int i = 0; i < MAX_REG; i++)
		if (c->reg[i].epfd == epfd)
			return &c->reg[i];
	return 0;
}

struct epoll_event_k {
	uint32_t events;
	uint64_t data;
} __attribute__((packed));

static long epoll_ctl(const long a[6])
{
	long epfd = a[0], op = a[1], fd = a[2];
	struct conn *c = conn_of(fd);
	struct epoll_event_k ev, *app = (struct epoll_event_k *)a[3];
	if (op != 2 && !app)
		return host(233, epfd, op, fd, 0, 0, 0);
	if (app)
		ev = *app;
	ev.data = TAG | (uint64_t)fd;
	long r = host(233, epfd, op, fd, (long)&ev, 0, 0);
	if (r < 0)
		return r;
	struct reg *g = reg_of(c, epfd);
	if (op == 2) {                      /* EPOLL_CTL_DEL */
		if (g)
			g->epfd = -1;
		return r;
	}
	if (!g)
		g = reg_of(c, -1);
	if (!g) {
		__scone_log(SCONE_LOG_WARN, "net shield: fd %ld is in more than %d epoll sets; "
			    "the extra ones see no TLS readiness", fd, MAX_REG);
		return r;
	}
	*g = (struct reg){ (int)epfd, app->events, app->data };
	return r;
}

/* epoll_wait / epoll_pwait: nr 232 or 281, timeout a[3]. */
static long epoll_wait(long nr, const long a[6])
{
	long epfd = a[0], max = a[2], timeout = a[3];
	struct epoll_event_k *ev = (struct epoll_event_k *)a[1];
	uint64_t deadline = timeout > 0 ? now_ms() + (uint64_t)timeout : 0;
	static uint64_t rounds;
	if (max <= 0)
		return host(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	for (;;) {
		int waiting = npending ? flush_all() : 0;
		uint64_t round = __atomic_add_fetch(&rounds, 1, __ATOMIC_RELAXED);
		long k = 0;
		/* what is inside already: no host event will come for it */
		for (int fd = 0; fd < hiwater && k < max; fd++) {
			struct conn *c = conn_of(fd);
			struct reg *g;
			if (!c || !(g = reg_of(c, epfd)) || !(g->events & EPOLLIN) || !inside(c))
				continue;
			if (!(c->pt_len > c->pt_off) && !c->eof && !c->failed) {
				if (!trylock(&c->busy))
					continue;
				long r = pump(c, fd, 1);
				unlock(&c->busy);
				if (r == -EAGAIN)
					continue;
			}
			ev[k].events = EPOLLIN | (g->events & EPOLLOUT);
			ev[k].data = g->data;
			c->seen = round;
			k++;
		}
		long t = timeout;
		if (k)
			t = 0;
		else if (timeout > 0)
			t = (long)(deadline > now_ms() ? deadline - now_ms() : 0);
		if (waiting && (t < 0 || t > 5))
			t = 5;                      /* ciphertext waits for room: come back */
		long r = host(nr, epfd, (long)(ev + k), max - k, t, a[4], a[5]);
		if (r < 0 && !k)
			return r;
		long n = k;
		for (long i = k; i < k + (r > 0 ? r : 0); i++) {
			struct epoll_event_k e = ev[i];
			if ((e.data & TAG_MASK) != TAG) {
				ev[n++] = e;
				continue;
			}
			long fd = (long)(e.data & 0xffffffff);
			struct conn *c = conn_of(fd);
			struct reg *g = c ? reg_of(c, epfd) : 0;
			if (!g)
				continue;           /* closed meanwhile */
			if (c->seen == round)
				continue;           /* reported from inside already */
			if ((e.events & EPOLLIN) && trylock(&c->busy)) {
				long p = pump(c, fd, 1);
				unlock(&c->busy);
				if (p == -EAGAIN) {
					e.events &= ~(uint32_t)EPOLLIN;   /* handshake or a partial record */
					if (!(e.events & ~(uint32_t)EPOLLOUT & ~(uint32_t)0x2000) &&
					    !((e.events & EPOLLOUT) && (g->events & EPOLLOUT))) {
						if (g->events & EPOLLONESHOT) {
							struct epoll_event_k re = { g->events, TAG | (uint64_t)fd };
							host(233, epfd, 3, fd, (long)&re, 0, 0);
						}
						continue;
					}
				}
			}
			e.data = g->data;
			ev[n++] = e;
		}
		if (n || timeout == 0 || (timeout > 0 && now_ms() >= deadline))
			return n;
	}
}

struct pollfd_k {
	int fd;
	short events, revents;
};

/* poll (7) and ppoll (271): the same answers for the sockets we own. */
static long poll_call(long nr, const long a[6])
{
	struct pollfd_k *p = (struct pollfd_k *)a[0];
	unsigned long n = (unsigned long)a[1];
	long timeout = nr == 7 ? a[2] : -1;
	struct { long s, ns; } *ts = (void *)a[2], zero = { 0, 0 }, left;
	if (nr == 271 && ts)
		timeout = ts->s * 1000 + ts->ns / 1000000;
	uint64_t deadline = timeout > 0 ? now_ms() + (uint64_t)timeout : 0;
	for (;;) {
		int waiting = npending ? flush_all() : 0;
		long k = 0;
		for (unsigned long i = 0; i < n; i++) {
			struct conn *c = conn_of(p[i].fd);
			if (c && (p[i].events & POLLIN) && inside(c) && trylock(&c->busy)) {
				long r = pump(c, p[i].fd, 1);
				unlock(&c->busy);
				k += r != -EAGAIN;
			}
		}
		long t = k ? 0 : timeout > 0 ? (long)(deadline > now_ms() ? deadline - now_ms() : 0) : timeout;
		if (waiting && (t < 0 || t > 5))
			t = 5;
		long r;
		if (nr == 7) {
			r = host(7, a[0], a[1], t, 0, 0, 0);
		} else {
			left = t < 0 ? zero : (typeof(left)){ t / 1000, (t % 1000) * 1000000 };
			r = host(271, a[0], a[1], t < 0 ? 0 : (long)&left, a[3], a[4], 0);
		}
		if (r < 0)
			return r;
		long m = 0;
		for (unsigned long i = 0; i < n; i++) {
			struct conn *c = conn_of(p[i].fd);
			if (c && (p[i].events & POLLIN)) {
				int have = inside(c) || (p[i].revents & POLLIN);
				p[i].revents &= ~POLLIN;
				if (have && trylock(&c->busy)) {
					long q = pump(c, p[i].fd, 1);
					unlock(&c->busy);
					if (q != -EAGAIN)
						p[i].revents |= POLLIN;
				}
			}
			m += p[i].revents != 0;
		}
		if (m || timeout == 0 || (timeout > 0 && now_ms() >= deadline))
			return m;
	}
}

/* ---- the calls ---- */

static long so_type(long fd)
{
	int v = 0;
	int len = sizeof v;
	long r = host(55, fd, 1, 3, (long)&v, (long)&len, 0);   /* SOL_SOCKET, SO_TYPE */
	return r < 0 ? r : v;
}

static long bind_call(const long a[6], int *handled)
{
	uint8_t addr[16];
	uint16_t port;
	long fd = a[0];
	if (!sockaddr_key((const uint8_t *)a[1], a[2], addr, &port))
		return 0;
	int i = lookup(SCONE_NET_KIND_SERVER, addr, port);
	int action = i < 0 ? def_action : eps[i].action;
	if (action == SCONE_NET_CLEAR || so_type(fd) != 1)
		return 0;
	*handled = 1;
	if (action == SCONE_NET_REFUSE) {
		__scone_log(SCONE_LOG_WARN, "net shield: bind to port %u is refused by the network policy", port);
		return -EACCES;
	}
	if (!ep_config(&eps[i]))
		return -EACCES;
	long r = host(49, a[0], a[1], a[2], 0, 0, 0);
	if (r == 0 && (unsigned long)fd < SCONE_SHIELD_FDS)
		listener[fd] = (uint8_t)(i + 1);
	return r;
}

static long connect_call(const long a[6], int *handled)
{
	uint8_t addr[16];
	uint16_t port;
	long fd = a[0];
	if (!sockaddr_key((const uint8_t *)a[1], a[2], addr, &port))
		return 0;
	int i = lookup(SCONE_NET_KIND_CLIENT, addr, port);
	int action = i < 0 ? def_action : eps[i].action;
	if (action == SCONE_NET_CLEAR || so_type(fd) != 1)
		return 0;
	*handled = 1;
	if (action == SCONE_NET_REFUSE) {
		__scone_log(SCONE_LOG_WARN, "net shield: connect to port %u is refused by the network policy", port);
		return -ECONNREFUSED;
	}
	if (!ep_config(&eps[i]))
		return -ECONNREFUSED;
	long r = host(42, a[0], a[1], a[2], 0, 0, 0);
	if (r == 0 || r == -115) {            /* EINPROGRESS: the handshake comes with the first use */
		long c = conn_new(fd, i, eps[i].name);
		if (c < 0)
			return c;
	}
	return r;
}

static long accept_call(long nr, const long a[6])
{
	int i = listener[a[0]] - 1;
	long fd = host(nr, a[0], a[1], a[2], a[3], 0, 0);
	if (fd < 0)
		return fd;
	long r = conn_new(fd, i, 0);
	if (r < 0) {
		host(3, fd, 0, 0, 0, 0, 0);
		__scone_log(SCONE_LOG_WARN, "net shield: an accepted connection is closed: %s",
			    r == -EMFILE ? "its descriptor is beyond what the shield tracks" : "no memory");
		return r == -EMFILE ? -ECONNABORTED : r;
	}
	return fd;
}

struct msghdr_k {
	void *name;
	unsigned namelen;
	struct iovec_k *iov;
	size_t iovlen;
	void *control;
	size_t controllen;
	int flags;
};

static long sendfile_call(struct conn *c, const long a[6])
{
	long out = a[0], in = a[1];
	long *offp = (long *)a[2];
	size_t count = (size_t)a[3], total = 0;
	long pos = offp ? *offp : door(8, in, 0, 1, 0);          /* lseek SEEK_CUR */
	if (pos < 0)
		return pos;
	long r = 0;
	while (total < count) {
		size_t want = count - total < BUF ? count - total : BUF;
		r = door(17, in, (long)c->scratch, (long)want, pos);  /* pread64 */
		if (r <= 0)
			break;
		struct iovec_k v = { c->scratch, (size_t)r };
		long w = conn_write(c, out, &v, 1, 0);
		if (w < 0) {
			r = w;
			break;
		}
		total += (size_t)w;
		pos += w;
		if (w < r) {
			r = 0;
			break;
		}
	}
	if (offp)
		*offp = pos;
	else if (total)
		door(8, in, pos, 0, 0);                              /* lseek SEEK_SET */
	return total ? (long)total : r;
}

long __scone_net_call(long nr, const long a[6], int *handled)
{
	*handled = 0;
	switch (nr) {
	case 49: return bind_call(a, handled);
	case 42: return connect_call(a, handled);
	case 43: case 288:
		if ((unsigned long)a[0] < SCONE_SHIELD_FDS && listener[a[0]]) {
			*handled = 1;
			return accept_call(nr, a);
		}
		return 0;
	case 232: case 281: {
		if (!hiwater)
			return 0;
		*handled = 1;
		return epoll_wait(nr, a);
	}
	case 7: case 271:
		if (!hiwater)
			return 0;
		*handled = 1;
		return poll_call(nr, a);
	case 233:
		if (!conn_of(a[2]))
			return 0;
		*handled = 1;
		return epoll_ctl(a);
	case 40:                                               /* sendfile to a TLS socket */
		if (!conn_of(a[0]))
			return 0;
		*handled = 1;
		return sendfile_call(conn_of(a[0]), a);
	case 275:                                              /* splice */
		if (!conn_of(a[2]) && !conn_of(a[0]))
			return 0;
		*handled = 1;
		__scone_log(SCONE_LOG_WARN, "net shield: splice on a TLS socket is refused; use read/write or sendfile");
		return -EINVAL;
	case 33: case 292:                                     /* dup2/dup3 onto one of ours */
		if (conn_of(a[1]) && a[0] != a[1] && !conn_of(a[0]))
			conn_close(a[1]);
		if ((unsigned long)a[1] < SCONE_SHIELD_FDS)
			listener[a[1]] = 0;
		break;
	case 436:                                              /* close_range */
		for (long fd = a[0]; fd <= a[1] && fd < hiwater; fd++)
			if (conn_of(fd))
				conn_close(fd);
		return 0;
	case 3:
		if ((unsigned long)a[0] < SCONE_SHIELD_FDS)
			listener[a[0]] = 0;
		break;
	}
	struct conn *c = conn_of(a[0]);
	if (!c)
		return 0;
	long fd = a[0];
	*handled = 1;
	switch (nr) {
	case 0: {                                              /* read */
		struct iovec_k v = { (void *)a[1], (size_t)a[2] };
		return a[2] ? conn_read(c, fd, &v, 1, 0) : 0;
	}
	case 45: {                                             /* recvfrom */
		struct iovec_k v = { (void *)a[1], (size_t)a[2] };
		if (a[5])
			*(unsigned *)a[5] = 0;
		return a[2] ? conn_read(c, fd, &v, 1, (int)a[3]) : 0;
	}
	case 19:                                               /* readv */
		return conn_read(c, fd, (struct iovec_k *)a[1], (int)a[2], 0);
	case 47: {                                             /* recvmsg */
		struct msghdr_k *m = (struct msghdr_k *)a[1];
		long r = conn_read(c, fd, m->iov, (int)m->iovlen, (int)a[2]);
		m->namelen = 0;
		m->controllen = 0;
		m->flags = 0;
		return r;
	}
	case 1: {                                              /* write */
		struct iovec_k v = { (void *)a[1], (size_t)a[2] };
		return conn_write(c, fd, &v, 1, 0);
	}
	case 44: {                                             /* sendto */
		struct iovec_k v = { (void *)a[1], (size_t)a[2] };
		return conn_write(c, fd, &v, 1, (int)a[3]);
	}
	case 20:                                               /* writev */
		return conn_write(c, fd, (const struct iovec_k *)a[1], (int)a[2], 0);
	case 46: {                                             /* sendmsg */
		const struct msghdr_k *m = (const struct msghdr_k *)a[1];
		return conn_write(c, fd, m->iov, (int)m->iovlen, (int)a[2]);
	}
	case 16:                                               /* ioctl */
		if (a[1] == FIONREAD) {
			*(int *)a[2] = (int)(c->pt_len - c->pt_off);
			return 0;
		}
		return host(16, a[0], a[1], a[2], 0, 0, 0);
	case 48:                                               /* shutdown */
		if (a[1] != 0) {                           /* SHUT_WR, SHUT_RDWR */
			lock(&c->busy);
			if (!c->wclosed && !c->failed && c->open) {
				__scone_tls_shutdown(c->t);
				flush(c, fd, 0);
			}
			c->wclosed = 1;
			unlock(&c->busy);
		}
		return host(48, a[0], a[1], 0, 0, 0, 0);
	case 3:                                                /* close */
		conn_close(fd);
		return host(3, fd, 0, 0, 0, 0, 0);
	case 32: case 33: case 292:                            /* dup of a TLS socket */
		__scone_log(SCONE_LOG_WARN, "net shield: dup of a TLS socket (fd %ld) is refused", fd);
		return -EMFILE;
	case 72:
		if (a[1] == 0 || a[1] == 1030) {          /* F_DUPFD, F_DUPFD_CLOEXEC */
			__scone_log(SCONE_LOG_WARN, "net shield: dup of a TLS socket (fd %ld) is refused", fd);
			return -EMFILE;
		}
		return host(72, a[0], a[1], a[2], 0, 0, 0);
	case 299: case 307: case 276: case 278:                /* recvmmsg, sendmmsg, tee, vmsplice */
		__scone_log(SCONE_LOG_WARN, "net shield: system call %ld on a TLS socket is refused", nr);
		return -EOPNOTSUPP;
	case 17: case 18: case 295: case 296: case 327: case 328:
		return -29;                                /* ESPIPE, as on any socket */
	}
	/* the rest carries no payload (fstat, fcntl, getsockopt, ...): the host's */
	return __scone_shield_host(nr, a);
}
