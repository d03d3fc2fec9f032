/*
 * A C client of the scone-cas attestation protocol, written from
 * scone_cc/cas/PROTOCOL.md with OpenSSL 3 only, on the host: it shows that
 * the page is enough to write the enclave-side client, and that OpenSSL
 * does every step (P-256 keys, pinning, SIM evidence, ECDH + HKDF +
 * AES-256-GCM). It is a test tool, not the runtime's client.
 *
 *   cas_client HOST PORT PIN SESSION/SERVICE SIGSTRUCT_FILE SIM_KEY_PEM
 *
 * Prints the configuration JSON on stdout. A refusal prints the one line
 * "scone-cas refused: REASON" on stderr and exits 3; other errors exit 2.
 * The JSON reading is the least that this client needs (string values by
 * key, with the escapes Python's json writes), not a general parser.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "scone/cas_protocol.h"

static void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static size_t unhex(const char *s, unsigned char *out, size_t max)
{
	size_t n = strlen(s) / 2;
	if (n > max)
		die(2, "hex value too long");
	for (size_t i = 0; i < n; i++)
		sscanf(s + 2 * i, "%2hhx", &out[i]);
	return n;
}

static char *b64(const unsigned char *b, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, b, (int)n);
	return out;
}

static unsigned char *unb64(const char *s, size_t *n)
{
	size_t len = strlen(s);
	unsigned char *out = malloc(len);
	int got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	if (got < 0)
		die(2, "bad base64");
	while (len && s[len - 1] == '=') { /* EVP_DecodeBlock counts padding as zero bytes */
		len--;
		got--;
	}
	*n = (size_t)got;
	return out;
}

/* The string value of "key" in a JSON text, unescaped (\uXXXX of the BMP as UTF-8). */
static char *json_str(const char *json, const char *key)
{
	char pat[128];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = strstr(json, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (*p != '"')
		return NULL;
	p++;
	char *out = malloc(strlen(p) * 3 + 1), *o = out;
	while (*p && *p != '"') {
		if (*p != '\\') {
			*o++ = *p++;
			continue;
		}
		p++;
		unsigned cp;
		switch (*p) {
		case 'n': *o++ = '\n'; p++; break;
		case 't': *o++ = '\t'; p++; break;
		case 'u':
			sscanf(p + 1, "%4x", &cp);
			p += 5;
			if (cp < 0x80) {
				*o++ = (char)cp;
			} else if (cp < 0x800) {
				*o++ = (char)(0xC0 | cp >> 6);
				*o++ = (char)(0x80 | (cp & 0x3F));
			} else {
				*o++ = (char)(0xE0 | cp >> 12);
				*o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
				*o++ = (char)(0x80 | (cp & 0x3F));
			}
			break;
		default: *o++ = *p++; break;
		}
	}
	*o = 0;
	return out;
}

/* One HTTP/1.1 exchange on the TLS connection; returns the status, *body malloc'd. */
static int http(SSL *ssl, const char *path, const char *json, char **body)
{
	char head[512];
	int n = snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n", path, strlen(json));
	if (SSL_write(ssl, head, n) <= 0 || SSL_write(ssl, json, (int)strlen(json)) <= 0)
		die(2, "scone-cas: writing %s failed", path);
	static char buf[1 << 20];
	size_t have = 0;
	char *end;
	while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
		int r = SSL_read(ssl, buf + have, (int)(sizeof buf - have - 1));
		if (r <= 0)
			die(2, "scone-cas: the CAS closed the connection");
		have += (size_t)r;
		buf[have] = 0;
	}
	int status = atoi(buf + 9); /* "HTTP/1.1 200 OK" */
	char *cl = strcasestr(buf, "Content-Length:");
	size_t len = cl ? strtoul(cl + 15, NULL, 10) : 0, start = (size_t)(end + 4 - buf);
	while (have < start + len) {
		int r = SSL_read(ssl, buf + have, (int)(sizeof buf - have - 1));
		if (r <= 0)
			die(2, "scone-cas: the answer ended early");
		have += (size_t)r;
	}
	*body = strndup(buf + start, len);
	return status;
}

/* SIM evidence (PROTOCOL.md 3.1) for the enclave SIGSTRUCT initialises. */
static size_t sim_evidence(const unsigned char *ss, const unsigned char rd[64], EVP_PKEY *simkey,
			   unsigned char out[SCONE_SIM_SIZE])
{
	struct scone_sgx_report rep;
	memset(&rep, 0, sizeof rep);
	memcpy(&rep.miscselect, ss + 900, 4);
	memcpy(rep.isvfamilyid, ss + 912, 16);
	memcpy(&rep.attributes, ss + 928, 8);
	rep.attributes |= 1; /* INIT */
	memcpy(&rep.xfrm, ss + 936, 8);
	memcpy(rep.mrenclave, ss + 960, 32);
	memcpy(rep.isvextprodid, ss + 1008, 16);
	memcpy(&rep.isvprodid, ss + 1024, 2);
	memcpy(&rep.isvsvn, ss + 1026, 2);
	SHA256(ss + 128, 384, rep.mrsigner);
	memcpy(rep.reportdata, rd, 64);

	memset(out, 0, SCONE_SIM_SIZE);
	memcpy(out, SCONE_SIM_MAGIC, 8);
	out[8] = SCONE_SIM_VERSION;
	memcpy(out + SCONE_SIM_REPORT_OFFSET, &rep, sizeof rep);
	size_t plen = 0;
	if (!EVP_PKEY_get_octet_string_param(simkey, OSSL_PKEY_PARAM_PUB_KEY, out + SCONE_SIM_KEY_OFFSET, 65, &plen)
	    || plen != 65)
		die(2, "SIM key: not an uncompressed P-256 point");
	unsigned char der[80];
	size_t dlen = sizeof der;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, simkey) != 1
	    || EVP_DigestSign(md, der, &dlen, out, SCONE_SIM_SIG_OFFSET) != 1)
		die(2, "SIM signature failed");
	EVP_MD_CTX_free(md);
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
	BN_bn2binpad(ECDSA_SIG_get0_r(sig), out + SCONE_SIM_SIG_OFFSET, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + SCONE_SIM_SIG_OFFSET + 32, 32);
	ECDSA_SIG_free(sig);
	return SCONE_SIM_SIZE;
}

int main(int argc, char **argv)
{
	if (argc != 7)
		die(2, "usage: cas_client HOST PORT PIN SESSION/SERVICE SIGSTRUCT_FILE SIM_KEY_PEM");
	const char *host = argv[1], *port = argv[2], *pin = argv[3];
	char session[128], *service;
	snprintf(session, sizeof session, "%s", argv[4]);
	if (!(service = strchr(session, '/')))
		die(2, "%s: expected SESSION/SERVICE", argv[4]);
	*service++ = 0;
	unsigned char ss[1808];
	FILE *f = fopen(argv[5], "rb");
	if (!f || fread(ss, 1, sizeof ss, f) != sizeof ss)
		die(2, "%s: not a 1808-byte SIGSTRUCT", argv[5]);
	fclose(f);
	f = fopen(argv[6], "r");
	EVP_PKEY *simkey = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	if (!simkey)
		die(2, "%s: cannot read the SIM key", argv[6]);
	fclose(f);

	/* 1. K, made "inside"; spki = its DER SubjectPublicKeyInfo. */
	EVP_PKEY *k = EVP_EC_gen("P-256");
	unsigned char *spki = NULL;
	int spki_len = i2d_PUBKEY(k, &spki);

	/* 2. TLS, then the pin, before a byte is written. */
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	if (getaddrinfo(host, port, &hints, &ai))
		die(2, "scone-cas: cannot resolve %s", host);
	int fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen))
		die(2, "scone-cas: cannot connect to %s:%s", host, port);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1)
		die(2, "scone-cas: TLS handshake failed");
	X509 *peer = SSL_get1_peer_certificate(ssl);
	unsigned char *pder = NULL, h[32];
	int plen = i2d_PUBKEY(X509_get0_pubkey(peer), &pder);
	SHA256(pder, (size_t)plen, h);
	char got[65];
	hex(h, 32, got);
	if (strcmp(got, pin))
		die(3, "scone-cas refused: the CAS at %s:%s presents key %.16s\xe2\x80\xa6, not the pinned "
		       "%.16s\xe2\x80\xa6; not talking to it", host, port, got, pin);

	/* 3. A fresh nonce. */
	char *body, *s;
	if (http(ssl, SCONE_CAS_PATH_NONCE, "{}", &body) != 200 || !(s = json_str(body, "nonce")))
		die(2, "scone-cas: no nonce: %s", body);
	unsigned char nonce[SCONE_CAS_NONCE_BYTES];
	if (unhex(s, nonce, sizeof nonce) != sizeof nonce)
		die(2, "scone-cas: bad nonce");

	/* 4. REPORTDATA = SHA-256(spki || nonce) || 32 zero bytes; the evidence. */
	unsigned char rd[64] = {0}, ev[SCONE_SIM_SIZE];
	EVP_MD_CTX *hc = EVP_MD_CTX_new();
	if (EVP_DigestInit_ex(hc, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(hc, spki, (size_t)spki_len) != 1
	    || EVP_DigestUpdate(hc, nonce, sizeof nonce) != 1 || EVP_DigestFinal_ex(hc, rd, NULL) != 1)
		die(2, "SHA-256 failed");
	EVP_MD_CTX_free(hc);
	sim_evidence(ss, rd, simkey, ev);

	/* 5. Attest. */
	char *req = malloc(8192);
	snprintf(req, 8192, "{\"session\": \"%s\", \"service\": \"%s\", \"nonce\": \"%s\", \"public_key\": \"%s\", "
		 "\"evidence\": {\"type\": \"sim\", \"data\": \"%s\"}}", session, service, s, b64(spki, (size_t)spki_len),
		 b64(ev, sizeof ev));
	int status = http(ssl, SCONE_CAS_PATH_ATTEST, req, &body);
	if (status != 200) {
		char *reason = json_str(body, "reason"), *kind = json_str(body, "error");
		if (kind && !strcmp(kind, "refused"))
			die(3, SCONE_CAS_REFUSED_PREFIX "%s", reason);
		die(2, "scone-cas: %s", reason ? reason : body);
	}

	/* 6. Open the envelope: Z = ECDH(K, E); key = HKDF(Z, salt = nonce, info); AES-256-GCM, AAD = nonce. */
	size_t elen, ivlen, ctlen;
	unsigned char *eder = unb64(json_str(body, "ephemeral_key"), &elen);
	unsigned char *iv = unb64(json_str(body, "iv"), &ivlen);
	unsigned char *ct = unb64(json_str(body, "ciphertext"), &ctlen);
	const unsigned char *ep = eder;
	EVP_PKEY *eph = d2i_PUBKEY(NULL, &ep, (long)elen);
	EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new(k, NULL);
	unsigned char z[32], key[32];
	size_t zlen = sizeof z;
	if (!eph || EVP_PKEY_derive_init(dc) != 1 || EVP_PKEY_derive_set_peer(dc, eph) != 1
	    || EVP_PKEY_derive(dc, z, &zlen) != 1)
		die(2, "scone-cas: ECDH failed");
	EVP_KDF_CTX *kc = EVP_KDF_CTX_new(EVP_KDF_fetch(NULL, "HKDF", NULL));
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, zlen),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, nonce, sizeof nonce),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)SCONE_CAS_ENVELOPE_INFO,
						  strlen(SCONE_CAS_ENVELOPE_INFO)),
		OSSL_PARAM_construct_end(),
	};
	if (EVP_KDF_derive(kc, key, sizeof key, params) != 1)
		die(2, "scone-cas: HKDF failed");
	if (ivlen != SCONE_CAS_ENVELOPE_IV_BYTES || ctlen < SCONE_CAS_ENVELOPE_TAG_BYTES)
		die(2, "scone-cas: malformed envelope");
	size_t mlen = ctlen - SCONE_CAS_ENVELOPE_TAG_BYTES;
	unsigned char *plain = malloc(mlen + 1);
	int outl, finl;
	EVP_CIPHER_CTX *cc = EVP_CIPHER_CTX_new();
	if (EVP_DecryptInit_ex(cc, EVP_aes_256_gcm(), NULL, key, iv) != 1
	    || EVP_DecryptUpdate(cc, NULL, &outl, nonce, sizeof nonce) != 1
	    || EVP_DecryptUpdate(cc, plain, &outl, ct, (int)mlen) != 1
	    || EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_GCM_SET_TAG, SCONE_CAS_ENVELOPE_TAG_BYTES, ct + mlen) != 1
	    || EVP_DecryptFinal_ex(cc, plain + outl, &finl) != 1)
		die(2, "scone-cas: the envelope does not open (not for this key)");
	plain[outl + finl] = 0;
	puts((char *)plain);
	return 0;
}
