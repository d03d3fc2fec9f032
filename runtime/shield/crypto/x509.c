/* X.509 v3 self-signed certificates and PKCS#10 requests (RFC 5280, 2986). */
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "internal.h"

static int give_der(int n, unsigned char *der, uint8_t *out, size_t cap, size_t *len)
{
	int rc = SCONE_CRYPTO_OK;

	*len = (size_t)n;
	if (out && cap < (size_t)n)
		rc = SCONE_CRYPTO_ESPACE;
	else if (out)
		memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	return rc;
}

static X509_NAME *name_cn(const char *cn)
{
	X509_NAME *name = X509_NAME_new();

	if (name && !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	                                        (const unsigned char *)cn, -1, -1, 0)) {
		X509_NAME_free(name);
		return NULL;
	}
	return name;
}

/* A v3 extension by config text (no config database needed). */
static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if (!(ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)))
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

static int add_raw_ext(X509 *x, const char *oid, const void *der, size_t len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	int ok = obj && val && len <= INT32_MAX && ASN1_OCTET_STRING_set(val, der, (int)len)
	         && (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, val))
	         && X509_add_ext(x, ext, -1);

	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(val);
	ASN1_OBJECT_free(obj);
	return ok;
}

int __scone_crypto_x509_self_signed(const scone_crypto_key *key, const char *cn, unsigned days,
                                    const char *ext_oid, const void *ext_der, size_t ext_len,
                                    uint8_t *out, size_t cap, size_t *len)
{
	unsigned char serial[16], *der = NULL;
	X509_NAME *name = NULL;
	BIGNUM *bn = NULL;
	X509 *x = NULL;
	int n, rc = SCONE_CRYPTO_EFAIL;

	if (!key || !cn || !*cn || !days || !len || (ext_oid && (!ext_der || !ext_len)))
		return SCONE_CRYPTO_EINVAL;
	if (!sc_algs() || (rc = __scone_crypto_random(serial, sizeof serial)))
		return rc ? rc : sc_fail();
	serial[0] &= 0x7f; /* a positive INTEGER */
	if (!(x = X509_new()) || !X509_set_version(x, X509_VERSION_3)
	    || !(bn = BN_bin2bn(serial, sizeof serial, NULL))
	    || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))
	    || !X509_gmtime_adj(X509_getm_notBefore(x), 0)
	    || !X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL)
	    || !(name = name_cn(cn)) || !X509_set_subject_name(x, name)
	    || !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key->pkey)
	    || !add_ext(x, NID_basic_constraints, "critical,CA:FALSE")
	    || !add_ext(x, NID_subject_key_identifier, "hash")
	    || (ext_oid && !add_raw_ext(x, ext_oid, ext_der, ext_len))
	    || !X509_sign(x, key->pkey, EVP_sha256()) || (n = i2d_X509(x, &der)) <= 0) {
		rc = sc_fail();
		goto out;
	}
	rc = give_der(n, der, out, cap, len);
out:
	X509_NAME_free(name);
	BN_free(bn);
	X509_free(x);
	return rc;
}

int __scone_crypto_x509_csr(const scone_crypto_key *key, const char *cn, uint8_t *out,
                            size_t cap, size_t *len)
{
	unsigned char *der = NULL;
	X509_NAME *name = NULL;
	X509_REQ *req = NULL;
	int n, rc;

	if (!key || !cn || !*cn || !len)
		return SCONE_CRYPTO_EINVAL;
	if (!sc_algs())
		return sc_fail();
	if (!(req = X509_REQ_new()) || !X509_REQ_set_version(req, X509_REQ_VERSION_1)
	    || !(name = name_cn(cn)) || !X509_REQ_set_subject_name(req, name)
	    || !X509_REQ_set_pubkey(req, key->pkey) || !X509_REQ_sign(req, key->pkey, EVP_sha256())
	    || (n = i2d_X509_REQ(req, &der)) <= 0)
		rc = sc_fail();
	else
		rc = give_der(n, der, out, cap, len);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return rc;
}

int __scone_crypto_x509_inspect(const uint8_t *der, size_t len, const char *const *oids, int noids,
                                int *which, uint8_t *ext, size_t ext_cap, size_t *ext_len,
                                uint8_t *spki, size_t spki_cap, size_t *spki_len)
{
	const unsigned char *p = der;
	unsigned char *k = NULL;
	X509 *x = NULL;
	int rc = SCONE_CRYPTO_OK, n;

	if (!der || !len || len > INT32_MAX || !which || !ext_len || !spki_len || (noids && !oids))
		return SCONE_CRYPTO_EINVAL;
	*which = -1;
	if (!sc_algs())
		return sc_fail();
	if (!(x = d2i_X509(NULL, &p, (long)len)) || p != der + len) {
		sc_set_error("the peer's certificate is not one DER X.509 certificate");
		rc = SCONE_CRYPTO_EINVAL;
		goto out;
	}
	if (X509_verify(x, X509_get0_pubkey(x)) != 1) {
		ERR_clear_error();
		sc_set_error("the peer's certificate is not self-signed by its own key");
		rc = SCONE_CRYPTO_EAUTH;
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0
	    || X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
		sc_set_error("the peer's certificate is outside its validity period");
		rc = SCONE_CRYPTO_EAUTH;
		goto out;
	}
	if ((n = i2d_PUBKEY(X509_get0_pubkey(x), &k)) <= 0) {
		rc = sc_fail();
		goto out;
	}
	*spki_len = (size_t)n;
	if (spki && spki_cap < (size_t)n) {
		rc = SCONE_CRYPTO_ESPACE;
		goto out;
	}
	if (spki)
		memcpy(spki, k, (size_t)n);
	for (int i = 0; i < noids && *which < 0; i++) {
		ASN1_OBJECT *obj = OBJ_txt2obj(oids[i], 1);
		int at = obj ? X509_get_ext_by_OBJ(x, obj, -1) : -1;
		ASN1_OBJECT_free(obj);
		if (at < 0)
			continue;
		const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509_get_ext(x, at));
		*which = i;
		*ext_len = (size_t)ASN1_STRING_length(v);
		if (ext && ext_cap < *ext_len)
			rc = SCONE_CRYPTO_ESPACE;
		else if (ext)
			memcpy(ext, ASN1_STRING_get0_data(v), *ext_len);
	}
	ERR_clear_error();
out:
	OPENSSL_free(k);
	X509_free(x);
	return rc;
}

int __scone_crypto_x509_chain_leaf(const char *pem, size_t len, const void *root_der, size_t root_len,
                                   uint8_t *spki, size_t cap, size_t *spki_len)
{
	STACK_OF(X509_INFO) *infos = NULL;
	unsigned char *rder = NULL, *k = NULL;
	X509 *chain[8];
	int n = 0, rc = SCONE_CRYPTO_EAUTH, rl, kl;
	BIO *b;

	if (!pem || !len || len > INT32_MAX || !root_der || !root_len || !spki_len)
		return SCONE_CRYPTO_EINVAL;
	if (!sc_algs() || !(b = BIO_new_mem_buf(pem, (int)len)))
		return sc_fail();
	infos = PEM_X509_INFO_read_bio(b, NULL, NULL, NULL);
	BIO_free(b);
	ERR_clear_error();
	for (int i = 0; infos && i < sk_X509_INFO_num(infos) && n < 8; i++)
		if (sk_X509_INFO_value(infos, i)->x509)
			chain[n++] = sk_X509_INFO_value(infos, i)->x509;
	if (n < 2 || (infos && sk_X509_INFO_num(infos) != n)) {
		sc_set_error("the PCK certificate chain is not 2 to 8 PEM certificates");
		rc = SCONE_CRYPTO_EINVAL;
		goto out;
	}
	for (int i = 0; i + 1 < n; i++)
		if (X509_verify(chain[i], X509_get0_pubkey(chain[i + 1])) != 1) {
			ERR_clear_error();
			sc_set_error("the PCK certificate chain is broken (a certificate not signed by the next)");
			goto out;
		}
	if ((rl = i2d_X509(chain[n - 1], &rder)) <= 0 || (size_t)rl != root_len || memcmp(rder, root_der, root_len)) {
		ERR_clear_error();
		sc_set_error("the PCK certificate chain does not end at the trusted Intel SGX Root CA");
		goto out;
	}
	if ((kl = i2d_PUBKEY(X509_get0_pubkey(chain[0]), &k)) <= 0) {
		rc = sc_fail();
		goto out;
	}
	*spki_len = (size_t)kl;
	rc = spki && cap < (size_t)kl ? SCONE_CRYPTO_ESPACE : SCONE_CRYPTO_OK;
	if (!rc && spki)
		memcpy(spki, k, (size_t)kl);
out:
	OPENSSL_free(k);
	OPENSSL_free(rder);
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	return rc;
}
