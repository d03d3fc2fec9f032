/*
 * Library start and errors. OpenSSL is initialised without a configuration
 * file (built with no-autoload-config: nothing is read from the host's file
 * system) and its algorithms are fetched once.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "internal.h"

static struct sc_algs algs;
static int algs_ok;
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;
static __thread char last_error[160];

static void fetch_algs(void)
{
	if (!OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, NULL))
		return;
	algs.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	algs.gcm128 = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	algs.gcm256 = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	algs.cmac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	algs.hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	algs.kbkdf = EVP_KDF_fetch(NULL, "KBKDF", NULL);
	algs_ok = algs.sha256 && algs.gcm128 && algs.gcm256 && algs.cmac && algs.hkdf && algs.kbkdf;
}

const struct sc_algs *sc_algs(void)
{
	pthread_once(&algs_once, fetch_algs);
	return algs_ok ? &algs : NULL;
}

int sc_fail(void)
{
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, last_error, sizeof last_error);
	else
		strcpy(last_error, "unknown error");
	ERR_clear_error();
	return ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE ? SCONE_CRYPTO_ENOMEM : SCONE_CRYPTO_EFAIL;
}

const char *sc_cmac_cipher(size_t key_len)
{
	return key_len == 16 ? "AES-128-CBC" : key_len == 32 ? "AES-256-CBC" : NULL;
}

const char *__scone_crypto_error(void)
{
	return last_error[0] ? last_error : "no error";
}

int __scone_crypto_random(void *buf, size_t len)
{
	if (!buf && len)
		return SCONE_CRYPTO_EINVAL;
	if (!sc_algs())
		return sc_fail();
	while (len) {
		/* RAND_bytes takes an int. */
		int n = len > (1u << 30) ? 1 << 30 : (int)len;

		if (RAND_bytes(buf, n) != 1)
			return sc_fail();
		buf = (char *)buf + n;
		len -= (size_t)n;
	}
	return SCONE_CRYPTO_OK;
}
