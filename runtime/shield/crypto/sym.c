/* AES-GCM (SP 800-38D), AES-CMAC (SP 800-38B) and the SP 800-108 counter-mode KDF. */
#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>

#include "internal.h"

static const EVP_CIPHER *gcm_cipher(const struct sc_algs *a, size_t key_len)
{
	return key_len == 16 ? a->gcm128 : key_len == 32 ? a->gcm256 : NULL;
}

static int gcm_args_bad(const void *key, const void *iv, size_t iv_len, const void *aad,
                        size_t aad_len, const void *in, size_t len, const void *out,
                        const void *tag)
{
	return !key || !iv || !iv_len || iv_len > INT_MAX || (!aad && aad_len) || aad_len > INT_MAX
	       || ((!in || !out) && len) || len > INT_MAX || !tag;
}

/* One GCM pass; enc = 1 encrypts and writes tag, 0 decrypts and checks it. */
static int gcm(int enc, const void *key, size_t key_len, const void *iv, size_t iv_len,
               const void *aad, size_t aad_len, const void *in, size_t len, void *out,
               uint8_t *tag)
{
	const struct sc_algs *a = sc_algs();
	const EVP_CIPHER *c;
	EVP_CIPHER_CTX *ctx;
	OSSL_PARAM params[2];
	size_t ivl = iv_len;
	int n, rc = SCONE_CRYPTO_EFAIL;

	if (gcm_args_bad(key, iv, iv_len, aad, aad_len, in, len, out, tag))
		return SCONE_CRYPTO_EINVAL;
	if (!a)
		return sc_fail();
	if (!(c = gcm_cipher(a, key_len)))
		return SCONE_CRYPTO_EINVAL;
	if (!(ctx = EVP_CIPHER_CTX_new()))
		return sc_fail();
	params[0] = OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &ivl);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_CipherInit_ex2(ctx, c, NULL, NULL, enc, params)
	    || !EVP_CipherInit_ex2(ctx, NULL, key, iv, enc, NULL))
		goto lib;
	if (aad_len && !EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len))
		goto lib;
	if (len && !EVP_CipherUpdate(ctx, out, &n, in, (int)len))
		goto lib;
	if (enc) {
		if (!EVP_CipherFinal_ex(ctx, (unsigned char *)out + len, &n)
		    || !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, SCONE_GCM_TAG_LEN, tag))
			goto lib;
	} else {
		if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, SCONE_GCM_TAG_LEN, tag))
			goto lib;
		if (EVP_CipherFinal_ex(ctx, (unsigned char *)out + len, &n) <= 0) {
			/* No plaintext of an unauthenticated message leaves. */
			OPENSSL_cleanse(out, len);
			ERR_clear_error();
			rc = SCONE_CRYPTO_EAUTH;
			goto out;
		}
	}
	rc = SCONE_CRYPTO_OK;
	goto out;
lib:
	if (!enc && len)
		OPENSSL_cleanse(out, len);
	rc = sc_fail();
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int __scone_crypto_aes_gcm_encrypt(const void *key, size_t key_len, const void *iv, size_t iv_len,
                                   const void *aad, size_t aad_len, const void *in, size_t len,
                                   void *out, uint8_t tag[SCONE_GCM_TAG_LEN])
{
	return gcm(1, key, key_len, iv, iv_len, aad, aad_len, in, len, out, tag);
}

int __scone_crypto_aes_gcm_decrypt(const void *key, size_t key_len, const void *iv, size_t iv_len,
                                   const void *aad, size_t aad_len, const void *in, size_t len,
                                   void *out, const uint8_t tag[SCONE_GCM_TAG_LEN])
{
	return gcm(0, key, key_len, iv, iv_len, aad, aad_len, in, len, out, (uint8_t *)tag);
}

int __scone_crypto_aes_cmac(const void *key, size_t key_len, const void *data, size_t len,
                            uint8_t mac[SCONE_CMAC_LEN])
{
	const struct sc_algs *a = sc_algs();
	const char *cipher = sc_cmac_cipher(key_len);
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;
	size_t outl;
	int rc;

	if (!key || !cipher || (!data && len) || !mac)
		return SCONE_CRYPTO_EINVAL;
	if (!a || !(ctx = EVP_MAC_CTX_new(a->cmac)))
		return sc_fail();
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)cipher, 0);
	params[1] = OSSL_PARAM_construct_end();
	rc = EVP_MAC_init(ctx, key, key_len, params) && EVP_MAC_update(ctx, data, len)
	     && EVP_MAC_final(ctx, mac, &outl, SCONE_CMAC_LEN) && outl == SCONE_CMAC_LEN
	     ? SCONE_CRYPTO_OK : sc_fail();
	EVP_MAC_CTX_free(ctx);
	return rc;
}

/* KBKDF counter mode with CMAC; fixed_only: `label` is the whole fixed input. */
static int kbkdf(const void *key, size_t key_len, const void *label, size_t label_len,
                 const void *context, size_t context_len, int fixed_only, void *out,
                 size_t out_len)
{
	const struct sc_algs *a = sc_algs();
	const char *cipher = sc_cmac_cipher(key_len);
	OSSL_PARAM params[9], *p = params;
	EVP_KDF_CTX *kctx;
	int no = 0, rc;

	if (!key || !cipher || (!label && label_len) || (!context && context_len) || !out
	    || !out_len)
		return SCONE_CRYPTO_EINVAL;
	if (!a || !(kctx = EVP_KDF_CTX_new(a->kbkdf)))
		return sc_fail();
	/* OpenSSL's KBKDF names the label "salt" and the context "info". */
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, "COUNTER", 0);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, "CMAC", 0);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_CIPHER, (char *)cipher, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)label, label_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)context, context_len);
	if (fixed_only) {
		/* No 0x00 separator and no [L]_32: the caller's bytes are the whole input. */
		*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_KBKDF_USE_SEPARATOR, &no);
		*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_KBKDF_USE_L, &no);
	}
	*p = OSSL_PARAM_construct_end();
	rc = EVP_KDF_derive(kctx, out, out_len, params) == 1 ? SCONE_CRYPTO_OK : sc_fail();
	EVP_KDF_CTX_free(kctx);
	return rc;
}

int __scone_crypto_kdf_ctr_cmac(const void *key, size_t key_len, const void *label,
                                size_t label_len, const void *context, size_t context_len,
                                void *out, size_t out_len)
{
	return kbkdf(key, key_len, label, label_len, context, context_len, 0, out, out_len);
}

int __scone_crypto_kdf_ctr_cmac_fixed(const void *key, size_t key_len, const void *fixed,
                                      size_t fixed_len, void *out, size_t out_len)
{
	return kbkdf(key, key_len, fixed, fixed_len, NULL, 0, 1, out, out_len);
}
