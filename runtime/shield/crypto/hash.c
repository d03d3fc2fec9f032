/* SHA-256 (FIPS 180-4) and HKDF-SHA256 (RFC 5869). */
#include <openssl/core_names.h>
#include <openssl/kdf.h>

#include "internal.h"

struct scone_sha256 {
	EVP_MD_CTX *ctx;
};

int __scone_crypto_sha256(const void *data, size_t len, uint8_t out[SCONE_SHA256_LEN])
{
	const struct sc_algs *a = sc_algs();

	if ((!data && len) || !out)
		return SCONE_CRYPTO_EINVAL;
	if (!a || !EVP_Digest(data, len, out, NULL, a->sha256, NULL))
		return sc_fail();
	return SCONE_CRYPTO_OK;
}

scone_sha256 *__scone_crypto_sha256_new(void)
{
	const struct sc_algs *a = sc_algs();
	scone_sha256 *h;

	if (!a || !(h = OPENSSL_zalloc(sizeof *h)))
		return NULL;
	if (!(h->ctx = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(h->ctx, a->sha256, NULL)) {
		sc_fail();
		EVP_MD_CTX_free(h->ctx);
		OPENSSL_free(h);
		return NULL;
	}
	return h;
}

int __scone_crypto_sha256_update(scone_sha256 *h, const void *data, size_t len)
{
	if (!h || (!data && len))
		return SCONE_CRYPTO_EINVAL;
	return EVP_DigestUpdate(h->ctx, data, len) ? SCONE_CRYPTO_OK : sc_fail();
}

int __scone_crypto_sha256_final(scone_sha256 *h, uint8_t out[SCONE_SHA256_LEN])
{
	int rc;

	if (!h)
		return SCONE_CRYPTO_EINVAL;
	rc = out && EVP_DigestFinal_ex(h->ctx, out, NULL) ? SCONE_CRYPTO_OK
	     : out ? sc_fail() : SCONE_CRYPTO_EINVAL;
	EVP_MD_CTX_free(h->ctx);
	OPENSSL_free(h);
	return rc;
}

int __scone_crypto_hkdf_sha256(const void *ikm, size_t ikm_len, const void *salt, size_t salt_len,
                               const void *info, size_t info_len, void *out, size_t out_len)
{
	const struct sc_algs *a = sc_algs();
	OSSL_PARAM params[5], *p = params;
	EVP_KDF_CTX *kctx;
	int rc;

	if (!ikm || !ikm_len || (!salt && salt_len) || (!info && info_len) || !out || !out_len
	    || out_len > 255 * SCONE_SHA256_LEN)
		return SCONE_CRYPTO_EINVAL;
	if (!a || !(kctx = EVP_KDF_CTX_new(a->hkdf)))
		return sc_fail();
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	if (salt_len)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	if (info_len)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	*p = OSSL_PARAM_construct_end();
	rc = EVP_KDF_derive(kctx, out, out_len, params) == 1 ? SCONE_CRYPTO_OK : sc_fail();
	EVP_KDF_CTX_free(kctx);
	return rc;
}
