/* EC P-256 keys made inside, ECDSA-SHA256, ECDH, public keys as SPKI DER. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "internal.h"

scone_crypto_key *__scone_crypto_ec_generate(void)
{
	scone_crypto_key *k;

	if (!sc_algs() || !(k = OPENSSL_zalloc(sizeof *k)))
		return NULL;
	if (!(k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"))) {
		sc_fail();
		OPENSSL_free(k);
		return NULL;
	}
	return k;
}

scone_crypto_key *__scone_crypto_key_parse(const void *pem_or_der, size_t len)
{
	const unsigned char *p = pem_or_der;
	OSSL_DECODER_CTX *dctx;
	EVP_PKEY *pkey = NULL;
	scone_crypto_key *k;

	if (!pem_or_der || !len || !sc_algs())
		return NULL;
	/* Input type NULL: PEM or DER, any private-key structure. */
	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, NULL, NULL, NULL, OSSL_KEYMGMT_SELECT_KEYPAIR,
	                                     NULL, NULL);
	if (!dctx || !OSSL_DECODER_from_data(dctx, &p, &len)) {
		OSSL_DECODER_CTX_free(dctx);
		sc_fail();
		return NULL;
	}
	OSSL_DECODER_CTX_free(dctx);
	if (!(k = OPENSSL_zalloc(sizeof *k))) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	k->pkey = pkey;
	return k;
}

void __scone_crypto_key_free(scone_crypto_key *key)
{
	if (key) {
		EVP_PKEY_free(key->pkey);
		OPENSSL_free(key);
	}
}

/* Copy a DER blob out under the "NULL out asks for the size" rule. */
static int give(const unsigned char *der, int n, uint8_t *out, size_t cap, size_t *len)
{
	if (!len)
		return SCONE_CRYPTO_EINVAL;
	*len = (size_t)n;
	if (!out)
		return SCONE_CRYPTO_OK;
	if (cap < (size_t)n)
		return SCONE_CRYPTO_ESPACE;
	memcpy(out, der, (size_t)n);
	return SCONE_CRYPTO_OK;
}

int __scone_crypto_key_public_der(const scone_crypto_key *key, uint8_t *out, size_t cap,
                                  size_t *len)
{
	unsigned char *der = NULL;
	int n, rc;

	if (!key || !len)
		return SCONE_CRYPTO_EINVAL;
	if ((n = i2d_PUBKEY(key->pkey, &der)) <= 0)
		return sc_fail();
	rc = give(der, n, out, cap, len);
	OPENSSL_free(der);
	return rc;
}

int __scone_crypto_key_private_pem(const scone_crypto_key *key, char *out, size_t cap,
                                   size_t *len)
{
	OSSL_ENCODER_CTX *ectx;
	unsigned char *pem = NULL;
	size_t n = 0;
	int rc;

	if (!key || !len)
		return SCONE_CRYPTO_EINVAL;
	ectx = OSSL_ENCODER_CTX_new_for_pkey(key->pkey, OSSL_KEYMGMT_SELECT_KEYPAIR, "PEM",
	                                     "PrivateKeyInfo", NULL);
	if (!ectx || !OSSL_ENCODER_to_data(ectx, &pem, &n)) {
		OSSL_ENCODER_CTX_free(ectx);
		return sc_fail();
	}
	OSSL_ENCODER_CTX_free(ectx);
	rc = n > INT32_MAX ? SCONE_CRYPTO_EFAIL : give(pem, (int)n, (uint8_t *)out, cap, len);
	OPENSSL_clear_free(pem, n);
	return rc;
}

static EVP_PKEY *spki_parse(const void *spki, size_t len)
{
	const unsigned char *p = spki;

	if (!spki || !len || len > INT32_MAX)
		return NULL;
	return d2i_PUBKEY(NULL, &p, (long)len);
}

int __scone_crypto_ecdsa_sign(const scone_crypto_key *key, const void *msg, size_t msg_len,
                              uint8_t *sig, size_t cap, size_t *sig_len)
{
	const struct sc_algs *a = sc_algs();
	EVP_MD_CTX *ctx;
	size_t n = 0;
	int rc;

	if (!key || (!msg && msg_len) || !sig || !sig_len)
		return SCONE_CRYPTO_EINVAL;
	if (!a || !(ctx = EVP_MD_CTX_new()))
		return sc_fail();
	if (!EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, key->pkey, NULL)
	    || !EVP_DigestSign(ctx, NULL, &n, msg, msg_len)) {
		rc = sc_fail();
	} else if (cap < n) {
		*sig_len = n;
		rc = SCONE_CRYPTO_ESPACE;
	} else {
		n = cap;
		rc = EVP_DigestSign(ctx, sig, &n, msg, msg_len) ? SCONE_CRYPTO_OK : sc_fail();
		if (rc == SCONE_CRYPTO_OK)
			*sig_len = n;
	}
	EVP_MD_CTX_free(ctx);
	return rc;
}

int __scone_crypto_ecdsa_verify(const void *spki, size_t spki_len, const void *msg,
                                size_t msg_len, const void *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY *pub;
	int rc, v;

	if ((!msg && msg_len) || !sig || !sig_len)
		return SCONE_CRYPTO_EINVAL;
	if (!sc_algs())
		return sc_fail();
	if (!(pub = spki_parse(spki, spki_len))) {
		ERR_clear_error();
		return SCONE_CRYPTO_EINVAL;
	}
	if (!(ctx = EVP_MD_CTX_new())
	    || !EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, pub, NULL)) {
		rc = sc_fail();
	} else {
		v = EVP_DigestVerify(ctx, sig, sig_len, msg, msg_len);
		/* 0 is a bad signature, < 0 a malformed one: both refused. */
		rc = v == 1 ? SCONE_CRYPTO_OK : SCONE_CRYPTO_EAUTH;
		ERR_clear_error();
	}
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pub);
	return rc;
}

int __scone_crypto_ecdh(const scone_crypto_key *key, const void *peer_spki, size_t peer_spki_len,
                        uint8_t secret[32])
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *peer;
	size_t n = 32;
	int rc;

	if (!key || !secret)
		return SCONE_CRYPTO_EINVAL;
	if (!sc_algs())
		return sc_fail();
	if (!(peer = spki_parse(peer_spki, peer_spki_len))) {
		ERR_clear_error();
		return SCONE_CRYPTO_EINVAL;
	}
	rc = (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL))
	     && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_derive_set_peer(ctx, peer) > 0
	     && EVP_PKEY_derive(ctx, secret, &n) > 0 && n == 32
	     ? SCONE_CRYPTO_OK : sc_fail();
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return rc;
}
