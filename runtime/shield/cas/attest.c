/*
 * The attestation client (DESIGN.md §9, scone_cc/cas/PROTOCOL.md): before
 * main, an enclave signed with a CAS key (config page, SCONE_CONFIG_CAS)
 * makes a P-256 key inside, asks the CAS for a nonce over TLS whose peer
 * key it checks against the signed hash before sending a byte, binds
 * SHA-256(spki || nonce) into its evidence's REPORTDATA, and opens the
 * configuration the CAS encrypts to that key (ECDH + HKDF + AES-256-GCM).
 * Then argv and envp are replaced by the policy's, injected files are
 * written into protected file-system regions, and volume keys, TLS
 * identities and the token are kept here for the other shields (cas.h).
 *
 * It runs as the first of the program's constructors (libc is up: threads,
 * malloc, the shields' door), so that the program's own constructors see
 * the policy's environment and files; START calls __scone_cas_main in place
 * of main, which swaps in the policy's argv. The host gives only SCONE_CONFIG_ID and
 * SCONE_CAS_ADDR; what comes back stays in enclave memory: the network
 * carries TLS records, the host sees ciphertext and its own two variables.
 * A refusal is one line, "scone-cas refused: REASON", and exit 3; any
 * other failure "scone-cas: REASON", exit 2 (cas.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <scone/cas_protocol.h>
#include <scone/crypto.h>

#include "../shield.h"
#include "../fs/encrypted.h"
#include "cas.h"
#include "evidence.h"
#include "json.h"

#define MAX_ANSWER (8u << 20)          /* PROTOCOL.md §1 */

extern char **__environ;
int main(int, char **, char **);
int __scone_cas_main(int argc, char **argv, char **envp) SCONE_HIDDEN;

struct conn {
	int fd;
	scone_tls_config *cfg;
	scone_tls *t;
};

/* What the CAS gave, for cas.h. */
static char cas_addr[300];
static char *token;
static struct scone_cas_volume *volumes;
static size_t nvolumes;
static struct scone_cas_tls *tls_ids;
static size_t ntls;
static struct scone_cas_tls identity;

/* Microseconds since t0 (integers: the runtime is built without SSE). */
static long us_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)(t.tv_sec - t0->tv_sec) * 1000000 + (long)(t.tv_nsec - t0->tv_nsec) / 1000;
}

/* While a volume tag is sent after main has started, a failure must not end
 * the program from inside a commit: stop() returns there with the line. */
static jmp_buf *soft;
static char soft_line[1024];

static _Noreturn void stop(int code, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (soft) {
		memcpy(soft_line, line, sizeof soft_line);
		longjmp(*soft, 1);
	}
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	for (int off = 0; off < n;) {
		ssize_t w = write(2, line + off, (size_t)(n - off));
		if (w <= 0)
			break;
		off += (int)w;
	}
	_exit(code);
}

#define FAIL(...) stop(SCONE_CAS_EXIT_FAILED, "scone-cas: " __VA_ARGS__)

static void hex(const uint8_t *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = 0;
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
	if (!s || strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < 2 * n; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return -1;
		out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] | v : v << 4);
	}
	return 0;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64(const uint8_t *b, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
	if (!out)
		FAIL("out of enclave memory");
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < n ? b[i + 1] << 8 : 0) | (i + 2 < n ? b[i + 2] : 0);
		*o++ = B64[v >> 18];
		*o++ = B64[(v >> 12) & 63];
		*o++ = i + 1 < n ? B64[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? B64[v & 63] : '=';
	}
	*o = 0;
	return out;
}

/* Standard base64 with padding (PROTOCOL.md §1); NULL if malformed. */
static uint8_t *unb64(const char *s, size_t *len)
{
	size_t n = s ? strlen(s) : 1;
	if (n % 4)
		return NULL;
	uint8_t *out = malloc(n / 4 * 3 + 1);
	size_t o = 0;
	if (!out)
		FAIL("out of enclave memory");
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		int pad = 0;
		for (int j = 0; j < 4; j++) {
			const char *c = strchr(B64, s[i + j]);
			if (s[i + j] == '=' && i + 4 == n && j >= 2 && (j == 3 || s[i + 3] == '=')) {
				pad++;
				v <<= 6;
			} else if (s[i + j] && c && !pad) {
				v = v << 6 | (uint32_t)(c - B64);
			} else {
				free(out);
				return NULL;
			}
		}
		out[o++] = (uint8_t)(v >> 16);
		if (pad < 2)
			out[o++] = (uint8_t)(v >> 8);
		if (pad < 1)
			out[o++] = (uint8_t)v;
	}
	*len = o;
	return out;
}

/* ---- the connection: a socket through the ordinary external calls, TLS in memory ---- */

static int send_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void flush(struct conn *c)
{
	uint8_t buf[16384];
	while (__scone_tls_pending_out(c->t)) {
		ssize_t n = __scone_tls_drain(c->t, buf, sizeof buf);
		if (n <= 0)
			break;
		if (send_all(c->fd, buf, (size_t)n))
			FAIL("the connection to the CAS at %s failed while sending (%s)", cas_addr, strerror(errno));
	}
}

static void pump_in(struct conn *c)
{
	uint8_t buf[16384];
	ssize_t n;
	do
		n = read(c->fd, buf, sizeof buf);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		FAIL("the CAS at %s closed the connection", cas_addr);
	for (size_t off = 0; off < (size_t)n;) {
		ssize_t took = __scone_tls_feed(c->t, buf + off, (size_t)n - off);
		if (took < 0)
			FAIL("TLS with the CAS at %s failed: %s", cas_addr, __scone_crypto_error());
		if (took == 0) {          /* the engine is full: let it work, then retry */
			uint8_t sink[1];
			if (__scone_tls_read(c->t, sink, 0) < 0 && __scone_tls_state(c->t) == SCONE_TLS_FAILED)
				FAIL("TLS with the CAS at %s failed", cas_addr);
			flush(c);
		}
		off += (size_t)took;
	}
}

/* TCP to HOST:PORT, the TLS handshake, then the pin (PROTOCOL.md §1): no
 * byte of ours goes to a CAS whose key is not the signed one. */
static void cas_connect(struct conn *c)
{
	char host[256];
	const char *colon = strrchr(cas_addr, ':');
	if (!colon || colon == cas_addr || (size_t)(colon - cas_addr) >= sizeof host || !colon[1])
		FAIL("SCONE_CAS_ADDR=%s: expected HOST:PORT", cas_addr);
	memcpy(host, cas_addr, (size_t)(colon - cas_addr));
	host[colon - cas_addr] = 0;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {   /* [v6]:port */
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL, *a;
	int rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc)
		FAIL("cannot resolve the CAS address %s (%s)", cas_addr, gai_strerror(rc));
	c->fd = -1;
	for (a = ai; a && c->fd < 0; a = a->ai_next) {
		c->fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int one = 1;
		if (c->fd >= 0)     /* small request/answer exchanges: no Nagle delay */
			setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (c->fd >= 0 && connect(c->fd, a->ai_addr, a->ai_addrlen)) {
			close(c->fd);
			c->fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (c->fd < 0)
		FAIL("cannot connect to the CAS at %s (%s); is `scone-cas serve` running there?", cas_addr,
		     strerror(errno));

	if (!(c->cfg = __scone_tls_config_new(0)) || !(c->t = __scone_tls_new(c->cfg, NULL)))
		FAIL("TLS set-up failed: %s", __scone_crypto_error());
	for (;;) {
		int r = __scone_tls_handshake(c->t);
		flush(c);
		if (r == SCONE_CRYPTO_OK)
			break;
		if (r != SCONE_CRYPTO_EAGAIN)
			FAIL("the TLS handshake with the CAS at %s failed: %s", cas_addr, __scone_crypto_error());
		pump_in(c);
	}

	uint8_t got[32];
	const uint8_t *pin = __scone_rt.cfg->cas_key_sha256;
	if (__scone_tls_peer_key_sha256(c->t, got))
		FAIL("the CAS at %s presented no certificate", cas_addr);
	if (memcmp(got, pin, 32)) {
		char g[65], p[65];
		hex(got, 32, g);
		hex(pin, 32, p);
		stop(SCONE_CAS_EXIT_REFUSED, SCONE_CAS_REFUSED_PREFIX "the CAS at %s presents key %.16s\xe2\x80\xa6, "
		     "not the pinned %.16s\xe2\x80\xa6; not talking to it", cas_addr, g, p);
	}
}

static void cas_close(struct conn *c)
{
	__scone_tls_shutdown(c->t);
	flush(c);
	__scone_tls_free(c->t);
	__scone_tls_config_free(c->cfg);
	close(c->fd);
}

static void tls_send(struct conn *c, const char *p, size_t n)
{
	while (n) {
		ssize_t w = __scone_tls_write(c->t, p, n);
		if (w == SCONE_CRYPTO_EAGAIN) {
			flush(c);
			continue;
		}
		if (w <= 0)
			FAIL("sending to the CAS at %s failed: %s", cas_addr, __scone_crypto_error());
		p += w;
		n -= (size_t)w;
	}
	flush(c);
}

/* One HTTP/1.1 exchange (PROTOCOL.md §1): the status, the JSON answer parsed. */
static int http(struct conn *c, const char *path, const char *body, struct scone_json **answer)
{
	/* One write, one TLS record where it fits: a request split in two
	 * segments meets Nagle and the peer's delayed ACK (40 ms). */
	size_t blen = strlen(body), cap0 = blen + 256;
	char *req = malloc(cap0);
	if (!req)
		FAIL("out of enclave memory");
	int hn = snprintf(req, cap0, "POST %s HTTP/1.1\r\nContent-Type: application/json\r\n"
			  "Content-Length: %zu\r\n\r\n", path, blen);
	memcpy(req + hn, body, blen);
	tls_send(c, req, (size_t)hn + blen);
	memset(req, 0, (size_t)hn + blen);
	free(req);

	size_t cap = 16384, have = 0, start = 0, len = 0;
	char *buf = malloc(cap + 1), *end = NULL;
	if (!buf)
		FAIL("out of enclave memory");
	for (;;) {
		if (!end && (end = memmem(buf, have, "\r\n\r\n", 4))) {
			buf[have] = 0;
			*end = 0;
			char *cl = strcasestr(buf, "\r\ncontent-length:");
			if (strncmp(buf, "HTTP/1.1 ", 9) || !cl)
				FAIL("the CAS at %s sent an answer that is not HTTP/1.1 with a Content-Length", cas_addr);
			len = strtoul(cl + 17, NULL, 10);
			if (len > MAX_ANSWER)
				FAIL("the CAS at %s sent an answer larger than 8 MiB", cas_addr);
			start = (size_t)(end + 4 - buf);
		}
		if (end && have >= start + len)
			break;
		if (have == cap) {
			size_t want = end ? start + len : cap * 2;
			if (want > MAX_ANSWER + 16384)
				FAIL("the CAS at %s sent headers without an end", cas_addr);
			char *nb = realloc(buf, want + 1);
			if (!nb)
				FAIL("out of enclave memory");
			end = end ? nb + (end - buf) : NULL;
			buf = nb;
			cap = want;
		}
		ssize_t r = __scone_tls_read(c->t, buf + have, cap - have);
		if (r > 0) {
			have += (size_t)r;
		} else if (r == SCONE_CRYPTO_EAGAIN) {
			flush(c);
			pump_in(c);
		} else {
			FAIL("the CAS at %s closed the connection before its answer ended", cas_addr);
		}
	}
	int status = atoi(buf + 9);
	*answer = __scone_json_parse(buf + start, len);
	memset(buf, 0, have);
	free(buf);
	if (!*answer || (*answer)->type != SJ_OBJ)
		FAIL("the CAS at %s answered %d without a JSON object", cas_addr, status);
	return status;
}

/* A non-2xx answer: its one line (PROTOCOL.md §1). */
static _Noreturn void refused(int status, const struct scone_json *answer)
{
	const char *kind = __scone_json_str(answer, "error"), *reason = __scone_json_str(answer, "reason");
	if (!reason)
		reason = "(no reason given)";
	if (kind && !strcmp(kind, "refused"))
		stop(SCONE_CAS_EXIT_REFUSED, SCONE_CAS_REFUSED_PREFIX "%s", reason);
	stop(SCONE_CAS_EXIT_FAILED, "scone-cas: %s (HTTP %d)", reason, status);
}

/* ---- the configuration ---- */

static char *dup_or_die(const char *s)
{
	char *d = s ? strdup(s) : NULL;
	if (s && !d)
		FAIL("out of enclave memory");
	return d;
}

/* Open the envelope (PROTOCOL.md §2.1); the plaintext, NUL-terminated. */
static char *open_envelope(const struct scone_json *env, const scone_crypto_key *k,
			   const uint8_t nonce[SCONE_CAS_NONCE_BYTES], size_t *len)
{
	const char *alg = __scone_json_str(env, "alg");
	size_t elen, ivlen, ctlen;
	uint8_t *eph = unb64(__scone_json_str(env, "ephemeral_key"), &elen);
	uint8_t *iv = unb64(__scone_json_str(env, "iv"), &ivlen);
	uint8_t *ct = unb64(__scone_json_str(env, "ciphertext"), &ctlen);
	if (!alg || strcmp(alg, "ECDH-P256+HKDF-SHA256+A256GCM") || !eph || !iv || !ct ||
	    ivlen != SCONE_CAS_ENVELOPE_IV_BYTES || ctlen < SCONE_CAS_ENVELOPE_TAG_BYTES)
		FAIL("the CAS at %s sent a malformed envelope", cas_addr);
	uint8_t z[32], key[32];
	if (__scone_crypto_ecdh(k, eph, elen, z) ||
	    __scone_crypto_hkdf_sha256(z, sizeof z, nonce, SCONE_CAS_NONCE_BYTES, SCONE_CAS_ENVELOPE_INFO,
				       strlen(SCONE_CAS_ENVELOPE_INFO), key, sizeof key))
		FAIL("the envelope's key agreement failed: %s", __scone_crypto_error());
	size_t mlen = ctlen - SCONE_CAS_ENVELOPE_TAG_BYTES;
	char *plain = malloc(mlen + 1);
	if (!plain)
		FAIL("out of enclave memory");
	if (__scone_crypto_aes_gcm_decrypt(key, sizeof key, iv, ivlen, nonce, SCONE_CAS_NONCE_BYTES, ct, mlen,
					   plain, ct + mlen))
		FAIL("the envelope from the CAS at %s does not open with this enclave's key", cas_addr);
	memset(z, 0, sizeof z);
	memset(key, 0, sizeof key);
	plain[mlen] = 0;
	*len = mlen;
	free(eph);
	free(iv);
	free(ct);
	return plain;
}

static char **install_args(const struct scone_json *a, int *argc)
{
	size_t n = 0;
	for (const struct scone_json *c = a->child; c; c = c->next, n++)
		if (c->type != SJ_STR || strlen(c->str) != c->len)
			FAIL("the configuration's args[%zu] is not a string", n);
	char **argv = calloc(n + 1, sizeof *argv);
	if (!argv)
		FAIL("out of enclave memory");
	n = 0;
	for (const struct scone_json *c = a->child; c; c = c->next)
		argv[n++] = dup_or_die(c->str);
	*argc = (int)n;
	return argv;
}

static char **install_env(const struct scone_json *e)
{
	size_t n = 0;
	for (const struct scone_json *c = e->child; c; c = c->next, n++)
		if (c->type != SJ_STR || !c->key[0] || strchr(c->key, '=') || strlen(c->str) != c->len)
			FAIL("the configuration's env entry %zu is not NAME: \"value\"", n);
	char **envp = calloc(n + 1, sizeof *envp);
	if (!envp)
		FAIL("out of enclave memory");
	n = 0;
	for (const struct scone_json *c = e->child; c; c = c->next) {
		size_t kl = strlen(c->key);
		char *s = malloc(kl + c->len + 2);
		if (!s)
			FAIL("out of enclave memory");
		memcpy(s, c->key, kl);
		s[kl] = '=';
		memcpy(s + kl + 1, c->str, c->len + 1);
		envp[n++] = s;
	}
	return envp;
}

/* mkdir -p of path's parents, inside the region the file goes to. */
static void parents(char *path)
{
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = 0;
		if (mkdir(path, 0700) && errno != EEXIST)
			FAIL("injected file: cannot create the folder %s (%s)", path, strerror(errno));
		*p = '/';
	}
}

static void install_file(const struct scone_json *f)
{
	const char *path = __scone_json_str(f, "path"), *b = __scone_json_str(f, "content_base64");
	const struct scone_json *m = __scone_json_get(f, "mode");
	size_t len;
	if (!path || path[0] != '/' || !b || (m && m->type != SJ_NUM))
		FAIL("the configuration has a file without an absolute path or content_base64");
	int mode = __scone_shield_path_mode(path);
	if (mode != SCONE_FS_MODE_EPHEMERAL && mode != SCONE_FS_MODE_ENCRYPTED)
		stop(SCONE_CAS_EXIT_REFUSED, SCONE_CAS_REFUSED_PREFIX "the policy injects %s, which is outside every "
		     "ephemeral or encrypted file-system region of this enclave; the file would reach the host in "
		     "clear. Sign the enclave with --scone-fs=PREFIX:ephemeral (or :encrypted) covering it", path);
	uint8_t *content = unb64(b, &len);
	if (!content)
		FAIL("the configuration's file %s has malformed content_base64", path);
	char *p = dup_or_die(path);
	parents(p);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, m ? (mode_t)(m->num & 07777) : 0600);
	if (fd < 0)
		FAIL("injected file %s: cannot write it (%s)", path, strerror(errno));
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, content + off, len - off);
		if (w <= 0)
			FAIL("injected file %s: writing failed (%s)", path, strerror(errno));
		off += (size_t)w;
	}
	close(fd);
	memset(content, 0, len);
	free(content);
	free(p);
}

static void keep_volumes(const struct scone_json *v)
{
	for (const struct scone_json *c = v->child; c; c = c->next)
		nvolumes++;
	if (!(volumes = calloc(nvolumes + 1, sizeof *volumes)))
		FAIL("out of enclave memory");
	size_t i = 0;
	for (const struct scone_json *c = v->child; c; c = c->next, i++) {
		struct scone_cas_volume *vol = &volumes[i];
		const char *tag = __scone_json_str(c, "tag");
		vol->name = dup_or_die(__scone_json_str(c, "name"));
		vol->path = dup_or_die(__scone_json_str(c, "path"));
		if (!vol->name || !vol->path || unhex(__scone_json_str(c, "key"), vol->key, sizeof vol->key) ||
		    (tag && unhex(tag, vol->tag, sizeof vol->tag)))
			FAIL("the configuration's volumes[%zu] is malformed", i);
		vol->has_tag = tag != NULL;
		if (__scone_shield_path_mode(vol->path) != SCONE_FS_MODE_ENCRYPTED || !__scone_enc_set_volume_key ||
		    __scone_enc_set_volume_key(vol->path, vol->key, vol->has_tag ? vol->tag : NULL))
			stop(SCONE_CAS_EXIT_REFUSED, SCONE_CAS_REFUSED_PREFIX "the policy mounts volume %s at %s, which "
			     "is not the root of an encrypted region of this enclave; sign it with "
			     "--scone-fs=%s:encrypted:cas", vol->name, vol->path, vol->path);
	}
}

static void keep_tls(const struct scone_json *t, const struct scone_json *id)
{
	for (const struct scone_json *c = t ? t->child : NULL; c; c = c->next)
		ntls++;
	if (!(tls_ids = calloc(ntls + 1, sizeof *tls_ids)))
		FAIL("out of enclave memory");
	size_t i = 0;
	for (const struct scone_json *c = t ? t->child : NULL; c; c = c->next, i++)
		tls_ids[i] = (struct scone_cas_tls){ dup_or_die(__scone_json_str(c, "name")),
			dup_or_die(__scone_json_str(c, "certificate")),
			dup_or_die(__scone_json_str(c, "private_key")), dup_or_die(__scone_json_str(c, "ca")) };
	if (id)
		identity = (struct scone_cas_tls){ NULL, dup_or_die(__scone_json_str(id, "certificate")), NULL,
			dup_or_die(__scone_json_str(id, "ca")) };
}

/* SESSION/SERVICE names: letters, digits, _ . - (PROTOCOL.md §7), so they
 * go into the request's JSON as they are. */
static int name_ok(const char *s, size_t n)
{
	if (!n || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

/* The policy's argv, for __scone_cas_main: NULL = the host's stands. */
static char **cas_argv;
static int cas_argc, attested;

/*
 * Before the program's own constructors (priority 101 runs first of those
 * the linker script sorts), so that they, too, see the policy's environment
 * and files; argv is only the program's to see in main.
 */
static void __attribute__((constructor(101))) cas_attest(void)
{
	if (!(__scone_rt.cfg->flags & SCONE_CONFIG_CAS))
		return;            /* linked with the client, signed without a CAS key */
	const char *id = getenv("SCONE_CONFIG_ID"), *addr = getenv("SCONE_CAS_ADDR");
	if (!id || !*id || !addr || !*addr)
		FAIL("this enclave takes its arguments, environment and secrets only from its CAS (it was signed "
		     "with a CAS key); set SCONE_CONFIG_ID=SESSION/SERVICE and SCONE_CAS_ADDR=HOST:PORT");
	const char *slash = strchr(id, '/');
	if (!slash || !name_ok(id, (size_t)(slash - id)) || !name_ok(slash + 1, strlen(slash + 1)))
		FAIL("SCONE_CONFIG_ID=%s: expected SESSION/SERVICE (letters, digits, _ . -)", id);
	if (strlen(addr) >= sizeof cas_addr)
		FAIL("SCONE_CAS_ADDR is too long");
	strcpy(cas_addr, addr);

	/* 1. K, made inside; its private half never leaves. */
	struct timespec t0;
	long t_key, t_tls, t_nonce, t_ev, t_attest;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	scone_crypto_key *k = __scone_crypto_ec_generate();
	uint8_t spki[128];
	size_t spki_len;
	if (!k || __scone_crypto_key_public_der(k, spki, sizeof spki, &spki_len))
		FAIL("making the enclave's key failed: %s", __scone_crypto_error());

	/* 2.-3. TLS, the pin, a nonce. */
	struct conn c;
	struct scone_json *ans;
	t_key = us_since(&t0);
	cas_connect(&c);
	t_tls = us_since(&t0);
	int status = http(&c, SCONE_CAS_PATH_NONCE, "{}", &ans);
	t_nonce = us_since(&t0);
	if (status != 200)
		refused(status, ans);
	const char *nonce_hex = __scone_json_str(ans, "nonce");
	uint8_t nonce[SCONE_CAS_NONCE_BYTES];
	if (unhex(nonce_hex, nonce, sizeof nonce))
		FAIL("the CAS at %s sent a malformed nonce", cas_addr);
	char nonce_text[2 * SCONE_CAS_NONCE_BYTES + 1];
	hex(nonce, sizeof nonce, nonce_text);
	__scone_json_free(ans);

	/* 4. REPORTDATA = SHA-256(spki || nonce) || 32 zero bytes; the evidence. */
	uint8_t rd[64] = { 0 }, *ev;
	size_t ev_len;
	int kind;
	char why[512];
	scone_sha256 *h = __scone_crypto_sha256_new();
	if (!h || __scone_crypto_sha256_update(h, spki, spki_len) ||
	    __scone_crypto_sha256_update(h, nonce, sizeof nonce) || __scone_crypto_sha256_final(h, rd))
		FAIL("SHA-256 failed: %s", __scone_crypto_error());
	if (__scone_evidence(rd, &ev, &ev_len, &kind, why, sizeof why))
		FAIL("%s", why);
	t_ev = us_since(&t0);

	/* 5. Attest. */
	char *spki_b64 = b64(spki, spki_len), *ev_b64 = b64(ev, ev_len);
	free(ev);
	size_t cap = strlen(spki_b64) + strlen(ev_b64) + strlen(id) + 256;
	char *req = malloc(cap);
	if (!req)
		FAIL("out of enclave memory");
	snprintf(req, cap, "{\"session\": \"%.*s\", \"service\": \"%s\", \"nonce\": \"%s\", \"public_key\": \"%s\", "
		 "\"evidence\": {\"type\": \"%s\", \"data\": \"%s\"}}", (int)(slash - id), id, slash + 1, nonce_text,
		 spki_b64, __scone_evidence_name(kind), ev_b64);
	status = http(&c, SCONE_CAS_PATH_ATTEST, req, &ans);
	free(req);
	free(spki_b64);
	free(ev_b64);
	if (status != 200)
		refused(status, ans);
	cas_close(&c);
	t_attest = us_since(&t0);

	/* 6. The configuration, for K only. */
	size_t plen;
	char *plain = open_envelope(__scone_json_get(ans, "envelope"), k, nonce, &plen);
	__scone_json_free(ans);
	__scone_crypto_key_free(k);
	struct scone_json *cfg = __scone_json_parse(plain, plen);
	memset(plain, 0, plen);
	free(plain);
	if (!cfg || cfg->type != SJ_OBJ)
		FAIL("the configuration from the CAS at %s is not a JSON object", cas_addr);

	/* Install: volume keys first (an injected file may go into a volume). */
	const struct scone_json *v;
	if ((v = __scone_json_get(cfg, "volumes")) && v->type == SJ_ARR)
		keep_volumes(v);
	if ((v = __scone_json_get(cfg, "files")) && v->type == SJ_ARR)
		for (const struct scone_json *f = v->child; f; f = f->next)
			install_file(f);
	const struct scone_json *t = __scone_json_get(cfg, "tls");
	keep_tls(t && t->type == SJ_ARR ? t : NULL, __scone_json_get(cfg, "identity"));
	token = dup_or_die(__scone_json_str(cfg, "token"));
	if ((v = __scone_json_get(cfg, "args")) && v->type == SJ_ARR)
		cas_argv = install_args(v, &cas_argc);
	if ((v = __scone_json_get(cfg, "env")) && v->type == SJ_OBJ)
		__environ = install_env(v);
	__scone_json_free(cfg);
	attested = 1;
	__scone_log(SCONE_LOG_INFO, "scone-cas: configured by the CAS at %s as %s", cas_addr, id);
	__scone_log(SCONE_LOG_DEBUG, "scone-cas: start-up (us, cumulative): key %ld, TLS %ld, nonce %ld, "
		    "evidence %ld, attest %ld, installed %ld", t_key, t_tls, t_nonce, t_ev, t_attest, us_since(&t0));
}

/* START calls this in place of main for a CAS-signed enclave: the
 * constructor above has attested and installed everything but argv. */
int __scone_cas_main(int argc, char **argv, char **envp)
{
	(void)envp;
	if (!attested)       /* the constructor did not run: never main without the CAS */
		FAIL("the attestation client did not run before main (its constructor is missing from the image)");
	if (cas_argv) {
		argc = cas_argc;
		argv = cas_argv;
	}
	return main(argc, argv, __environ);
}

/* ---- for the other shields (cas.h) ---- */

const struct scone_cas_volume *__scone_cas_volume(const char *path)
{
	for (size_t i = 0; i < nvolumes; i++)
		if (!strcmp(volumes[i].path, path))
			return &volumes[i];
	return NULL;
}

const struct scone_cas_tls *__scone_cas_tls(const char *name)
{
	if (!name)
		return identity.certificate ? &identity : NULL;
	for (size_t i = 0; i < ntls; i++)
		if (tls_ids[i].name && !strcmp(tls_ids[i].name, name))
			return &tls_ids[i];
	return NULL;
}

int __scone_cas_commit_tag(const char *volume, const uint8_t tag[32], const uint8_t *previous,
			   char *err, size_t errlen)
{
	if (!token || !name_ok(volume, strlen(volume))) {
		snprintf(err, errlen, "volume %s: this enclave has no CAS token for it", volume);
		return -1;
	}
	char t[65], p[65];
	hex(tag, 32, t);
	if (previous)
		hex(previous, 32, p);
	size_t cap = strlen(token) + 512;
	char *body = malloc(cap);
	if (!body) {
		snprintf(err, errlen, "volume %s: out of enclave memory", volume);
		return -1;
	}
	snprintf(body, cap, "{\"token\": \"%s\", \"volume\": \"%s\", \"tag\": \"%s\", \"previous\": %s%s%s}",
		 token, volume, t, previous ? "\"" : "", previous ? p : "null", previous ? "\"" : "");
	jmp_buf env;
	struct conn c;
	struct scone_json *ans = NULL;
	int status;
	if (setjmp(env)) {            /* a failure on the way: no exit from inside a commit */
		soft = NULL;
		free(body);
		snprintf(err, errlen, "volume %s: tag %.16s\xe2\x80\xa6 not sent: %s", volume, t, soft_line);
		return -1;
	}
	soft = &env;
	cas_connect(&c);
	status = http(&c, SCONE_CAS_PATH_VOLUME_TAG, body, &ans);
	cas_close(&c);
	soft = NULL;
	free(body);
	const char *reason = __scone_json_str(ans, "reason");
	if (status != 200)
		snprintf(err, errlen, "volume %s: the CAS did not take tag %.16s\xe2\x80\xa6: %s", volume, t,
			 reason ? reason : "no reason given");
	__scone_json_free(ans);
	return status == 200 ? 0 : -1;
}

/* The fs shield's commit hook (fs/encrypted.h): each new tag of a volume the
 * CAS gave goes back to it, as a compare-and-swap on the one we started from. */
int __scone_enc_commit_hook(const char *root, const uint8_t tag[32])
{
	char err[512];
	struct scone_cas_volume *v = NULL;
	for (size_t i = 0; i < nvolumes; i++)
		if (!strcmp(volumes[i].path, root))
			v = &volumes[i];
	if (!v)
		return 0;                    /* not a CAS volume: nothing to tell */
	if (v->has_tag && !memcmp(v->tag, tag, 32))
		return 0;
	if (__scone_cas_commit_tag(v->name, tag, v->has_tag ? v->tag : NULL, err, sizeof err)) {
		__scone_log(SCONE_LOG_ERROR, "scone-cas: %s", err);
		return -1;
	}
	memcpy(v->tag, tag, 32);
	v->has_tag = 1;
	__scone_log(SCONE_LOG_INFO, "scone-cas: volume %s: tag sent to the CAS", v->name);
	return 0;
}
