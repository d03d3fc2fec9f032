/*
 * TLS over a BIO pair: the engine reads and writes memory, the caller moves
 * ciphertext to and from the network when its socket is ready (OpenSSL's
 * BIO_new_bio_pair, as in s2n's I/O callbacks). Nothing here touches a
 * file descriptor, so readiness is a question the network shield answers
 * from __scone_tls_pending and __scone_tls_pending_out.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "internal.h"

/* Bytes each direction of the pair buffers: one full TLS record and then some. */
#define PAIR_BUF (17 * 1024 + 512)

struct scone_tls_config {
	SSL_CTX *ctx;
	int server;
	scone_tls_peer_check check; /* RA-TLS: the caller judges the peer's leaf */
	void *check_arg;
};

struct scone_tls {
	SSL *ssl;
	BIO *net; /* our end of the pair; the engine holds the other */
	int state;
	int checked;         /* the peer check: 0 not yet, 1 passed, -1 refused */
	char refusal[200];   /* its reason, for __scone_crypto_error */
};

scone_tls_config *__scone_tls_config_new(int server)
{
	scone_tls_config *cfg;

	if (!sc_algs() || !OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, NULL)
	    || !(cfg = OPENSSL_zalloc(sizeof *cfg)))
		return NULL;
	cfg->server = !!server;
	if (!(cfg->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()))
	    || !SSL_CTX_set_min_proto_version(cfg->ctx, TLS1_2_VERSION)) {
		sc_fail();
		SSL_CTX_free(cfg->ctx);
		OPENSSL_free(cfg);
		return NULL;
	}
	SSL_CTX_set_app_data(cfg->ctx, cfg);
	/* No renegotiation, no session tickets across restarts of unknown keys. */
	SSL_CTX_set_options(cfg->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
	/* Partial writes: the caller drains between writes. */
	SSL_CTX_set_mode(cfg->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
	                 | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return cfg;
}

void __scone_tls_config_free(scone_tls_config *cfg)
{
	if (cfg) {
		SSL_CTX_free(cfg->ctx);
		OPENSSL_free(cfg);
	}
}

int __scone_tls_config_identity(scone_tls_config *cfg, const uint8_t *cert_der, size_t cert_len,
                                const scone_crypto_key *key)
{
	if (!cfg || !cert_der || !cert_len || cert_len > INT_MAX || !key)
		return SCONE_CRYPTO_EINVAL;
	if (SSL_CTX_use_certificate_ASN1(cfg->ctx, (int)cert_len, cert_der) != 1
	    || SSL_CTX_use_PrivateKey(cfg->ctx, key->pkey) != 1
	    || SSL_CTX_check_private_key(cfg->ctx) != 1)
		return sc_fail();
	return SCONE_CRYPTO_OK;
}

int __scone_tls_config_identity_pem(scone_tls_config *cfg, const char *chain_pem, size_t chain_len,
                                    const char *key_pem, size_t key_len)
{
	scone_crypto_key *key;
	X509 *cert = NULL;
	BIO *b;
	int rc = SCONE_CRYPTO_OK, first = 1;

	if (!cfg || !chain_pem || !chain_len || chain_len > INT_MAX || !key_pem || !key_len)
		return SCONE_CRYPTO_EINVAL;
	if (!(key = __scone_crypto_key_parse(key_pem, key_len)))
		return SCONE_CRYPTO_EINVAL;
	if (!(b = BIO_new_mem_buf(chain_pem, (int)chain_len))) {
		__scone_crypto_key_free(key);
		return sc_fail();
	}
	SSL_CTX_clear_chain_certs(cfg->ctx);
	while ((cert = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		/* The leaf first, then its chain; the ctx takes ownership of chain certs. */
		if (first ? SSL_CTX_use_certificate(cfg->ctx, cert) != 1
		          : SSL_CTX_add0_chain_cert(cfg->ctx, cert) != 1) {
			X509_free(cert);
			rc = sc_fail();
			break;
		}
		if (first)
			X509_free(cert);
		first = 0;
	}
	ERR_clear_error(); /* the end of the PEM text */
	if (!rc && first)
		rc = SCONE_CRYPTO_EINVAL;
	if (!rc && (SSL_CTX_use_PrivateKey(cfg->ctx, key->pkey) != 1
	            || SSL_CTX_check_private_key(cfg->ctx) != 1))
		rc = sc_fail();
	BIO_free(b);
	__scone_crypto_key_free(key);
	return rc;
}

int __scone_tls_config_trust(scone_tls_config *cfg, const void *pem_or_der, size_t len)
{
	X509_STORE *store;
	X509 *cert;
	BIO *b = NULL;
	const unsigned char *p = pem_or_der;
	int n = 0, rc = SCONE_CRYPTO_OK, pem;

	if (!cfg || !pem_or_der || !len || len > INT_MAX)
		return SCONE_CRYPTO_EINVAL;
	pem = len >= 10 && !memcmp(pem_or_der, "-----BEGIN", 10);
	if (pem && !(b = BIO_new_mem_buf(pem_or_der, (int)len)))
		return sc_fail();
	store = SSL_CTX_get_cert_store(cfg->ctx);
	while ((cert = pem ? PEM_read_bio_X509(b, NULL, NULL, NULL)
	                   : n ? NULL : d2i_X509(NULL, &p, (long)len))) {
		if (X509_STORE_add_cert(store, cert) != 1)
			rc = sc_fail();
		X509_free(cert);
		n++;
	}
	ERR_clear_error(); /* the end of the PEM text */
	BIO_free(b);
	if (!rc && !n)
		return SCONE_CRYPTO_EINVAL;
	if (!rc)
		SSL_CTX_set_verify(cfg->ctx, SSL_VERIFY_PEER
		                   | (cfg->server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
	return rc;
}

/* OpenSSL's verify callback when a peer check is set: the leaf (depth 0)
 * is judged by the caller's check alone, once per connection (the library
 * calls back per error and per certificate); the chain above it, if the
 * peer sent one, is not what RA-TLS trusts. */
static int peer_verify(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	scone_tls *t = ssl ? SSL_get_app_data(ssl) : NULL;
	scone_tls_config *cfg = ssl ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;
	unsigned char *der = NULL;
	X509 *leaf;
	int n;

	(void)ok;
	if (!t || !cfg || !cfg->check)
		return 0;
	if (X509_STORE_CTX_get_error_depth(x) != 0)
		return 1;
	if (!t->checked) {
		leaf = X509_STORE_CTX_get_current_cert(x);
		n = leaf ? i2d_X509(leaf, &der) : -1;
		if (n <= 0) {
			snprintf(t->refusal, sizeof t->refusal, "the peer's certificate cannot be encoded");
			t->checked = -1;
		} else {
			t->refusal[0] = 0;
			t->checked = cfg->check(der, (size_t)n, cfg->check_arg, t->refusal,
			                        sizeof t->refusal) ? -1 : 1;
		}
		OPENSSL_free(der);
	}
	if (t->checked < 0)
		X509_STORE_CTX_set_error(x, X509_V_ERR_APPLICATION_VERIFICATION);
	return t->checked > 0;
}

int __scone_tls_config_peer_check(scone_tls_config *cfg, scone_tls_peer_check check, void *arg)
{
	if (!cfg || !check)
		return SCONE_CRYPTO_EINVAL;
	cfg->check = check;
	cfg->check_arg = arg;
	SSL_CTX_set_verify(cfg->ctx, SSL_VERIFY_PEER | (cfg->server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
	                   peer_verify);
	return SCONE_CRYPTO_OK;
}

scone_tls *__scone_tls_new(scone_tls_config *cfg, const char *peer_name)
{
	BIO *inner = NULL, *net = NULL;
	scone_tls *t;

	if (!cfg || !(t = OPENSSL_zalloc(sizeof *t)))
		return NULL;
	if (!(t->ssl = SSL_new(cfg->ctx)) || !BIO_new_bio_pair(&inner, PAIR_BUF, &net, PAIR_BUF))
		goto fail;
	SSL_set_app_data(t->ssl, t);
	SSL_set_bio(t->ssl, inner, inner);
	inner = NULL;
	t->net = net;
	if (cfg->server) {
		SSL_set_accept_state(t->ssl);
	} else {
		SSL_set_connect_state(t->ssl);
		if (peer_name && (!SSL_set_tlsext_host_name(t->ssl, peer_name)
		                  || !SSL_set1_host(t->ssl, peer_name)))
			goto fail;
	}
	t->state = SCONE_TLS_HANDSHAKE;
	return t;
fail:
	sc_fail();
	BIO_free(inner);
	__scone_tls_free(t);
	return NULL;
}

void __scone_tls_free(scone_tls *t)
{
	if (t) {
		SSL_free(t->ssl); /* frees the engine's end of the pair */
		BIO_free(t->net);
		OPENSSL_free(t);
	}
}

ssize_t __scone_tls_feed(scone_tls *t, const void *ct, size_t len)
{
	size_t room;
	int n;

	if (!t || (!ct && len))
		return SCONE_CRYPTO_EINVAL;
	room = BIO_ctrl_get_write_guarantee(t->net);
	if (len > room)
		len = room;
	if (len > INT_MAX)
		len = INT_MAX;
	if (!len)
		return 0;
	n = BIO_write(t->net, ct, (int)len);
	return n > 0 ? n : sc_fail();
}

ssize_t __scone_tls_drain(scone_tls *t, void *ct, size_t cap)
{
	int n;

	if (!t || (!ct && cap))
		return SCONE_CRYPTO_EINVAL;
	if (!cap || !BIO_ctrl_pending(t->net))
		return 0;
	n = BIO_read(t->net, ct, cap > INT_MAX ? INT_MAX : (int)cap);
	return n > 0 ? n : 0;
}

size_t __scone_tls_pending_out(const scone_tls *t)
{
	return t ? BIO_ctrl_pending(t->net) : 0;
}

/* The handshake is done: open, unless a peer check is set and did not pass
 * (a defence in depth: the library calls it for every peer certificate). */
static int opened(scone_tls *t)
{
	scone_tls_config *cfg = SSL_CTX_get_app_data(SSL_get_SSL_CTX(t->ssl));

	if (cfg && cfg->check && t->checked != 1) {
		t->state = SCONE_TLS_FAILED;
		sc_set_error(t->checked < 0 ? t->refusal : "the peer presented no certificate to check");
		return 0;
	}
	t->state = SCONE_TLS_OPEN;
	return 1;
}

/* What an SSL_* call's result means for the caller. */
static int outcome(scone_tls *t, int ret)
{
	switch (SSL_get_error(t->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return SCONE_CRYPTO_EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		t->state = SCONE_TLS_CLOSED;
		return 0;
	default:
		t->state = SCONE_TLS_FAILED;
		sc_fail();
		if (t->checked < 0)
			sc_set_error(t->refusal);
		return SCONE_CRYPTO_ECLOSED;
	}
}

int __scone_tls_handshake(scone_tls *t)
{
	int ret;

	if (!t)
		return SCONE_CRYPTO_EINVAL;
	if (t->state != SCONE_TLS_HANDSHAKE)
		return t->state == SCONE_TLS_OPEN ? 0 : SCONE_CRYPTO_ECLOSED;
	ERR_clear_error();
	ret = SSL_do_handshake(t->ssl);
	if (ret == 1)
		return opened(t) ? 0 : SCONE_CRYPTO_EFAIL;
	ret = outcome(t, ret);
	return ret == SCONE_CRYPTO_EAGAIN ? ret : SCONE_CRYPTO_EFAIL;
}

ssize_t __scone_tls_read(scone_tls *t, void *buf, size_t cap)
{
	size_t n = 0;
	int ret;

	if (!t || (!buf && cap))
		return SCONE_CRYPTO_EINVAL;
	if (t->state == SCONE_TLS_CLOSED)
		return 0;
	if (t->state == SCONE_TLS_FAILED)
		return SCONE_CRYPTO_ECLOSED;
	ERR_clear_error();
	ret = SSL_read_ex(t->ssl, buf, cap, &n);
	if (ret == 1) {
		if (t->state == SCONE_TLS_HANDSHAKE && !opened(t))
			return SCONE_CRYPTO_ECLOSED;
		return (ssize_t)n;
	}
	return outcome(t, ret);
}

ssize_t __scone_tls_write(scone_tls *t, const void *buf, size_t len)
{
	size_t n = 0;
	int ret;

	if (!t || (!buf && len))
		return SCONE_CRYPTO_EINVAL;
	if (t->state == SCONE_TLS_CLOSED || t->state == SCONE_TLS_FAILED)
		return SCONE_CRYPTO_ECLOSED;
	if (!len)
		return 0;
	ERR_clear_error();
	ret = SSL_write_ex(t->ssl, buf, len, &n);
	if (ret == 1) {
		if (t->state == SCONE_TLS_HANDSHAKE && !opened(t))
			return SCONE_CRYPTO_ECLOSED;
		return (ssize_t)n;
	}
	ret = outcome(t, ret);
	return ret ? ret : SCONE_CRYPTO_ECLOSED;
}

size_t __scone_tls_pending(const scone_tls *t)
{
	int n = t ? SSL_pending(t->ssl) : 0;

	return n > 0 ? (size_t)n : 0;
}

int __scone_tls_shutdown(scone_tls *t)
{
	if (!t)
		return SCONE_CRYPTO_EINVAL;
	if (t->state == SCONE_TLS_FAILED)
		return SCONE_CRYPTO_ECLOSED;
	ERR_clear_error();
	/* 0: our close_notify is queued (drain it); 1: both sides closed. */
	if (SSL_shutdown(t->ssl) < 0) {
		ERR_clear_error();
		return SCONE_CRYPTO_EAGAIN;
	}
	t->state = SCONE_TLS_CLOSED;
	return 0;
}

int __scone_tls_state(const scone_tls *t)
{
	return t ? t->state : SCONE_TLS_FAILED;
}

int __scone_tls_version(const scone_tls *t)
{
	return t && t->state != SCONE_TLS_HANDSHAKE ? SSL_version(t->ssl) : 0;
}

int __scone_tls_peer_cert_der(const scone_tls *t, uint8_t *out, size_t cap, size_t *len)
{
	unsigned char *der = NULL;
	X509 *peer;
	int n, rc = SCONE_CRYPTO_OK;

	if (!t || !len || !(peer = SSL_get0_peer_certificate(t->ssl)))
		return SCONE_CRYPTO_EINVAL;
	if ((n = i2d_X509(peer, &der)) <= 0)
		return sc_fail();
	*len = (size_t)n;
	if (out && cap < (size_t)n)
		rc = SCONE_CRYPTO_ESPACE;
	else if (out)
		memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	return rc;
}

int __scone_tls_peer_key_sha256(const scone_tls *t, uint8_t out[SCONE_SHA256_LEN])
{
	unsigned char *der = NULL;
	X509 *peer;
	int n, rc;

	if (!t || !out || !(peer = SSL_get0_peer_certificate(t->ssl)))
		return SCONE_CRYPTO_EINVAL;
	if ((n = i2d_PUBKEY(X509_get0_pubkey(peer), &der)) <= 0)
		return sc_fail();
	rc = __scone_crypto_sha256(der, (size_t)n, out);
	OPENSSL_free(der);
	return rc;
}
