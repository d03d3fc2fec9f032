/*
 * Library start and errors. OpenSSL is initialised without a configuration
 * file (built with no-autoload-config: nothing is read from the host's file
 * system) and its algorithms are fetched once.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "internal.h"

static struct sc_algs algs;
static int algs_ok;
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;
static __thread char last_error[256];
static __thread int drbg_tuned;

/*
 * OpenSSL's DRBGs also reseed after a time interval, which makes every
 * generate call read the clock. Inside an enclave the host controls time, so
 * the interval guarantees nothing there, and each read may cost a trip out
 * of the enclave. Reseeding by count of calls (and on fork) stays as
 * OpenSSL has it. The primary DRBG is shared; the other two are per thread.
 */
static void untime_drbg(EVP_RAND_CTX *drbg)
{
	time_t none = 0;
	OSSL_PARAM params[2];

	params[0] = OSSL_PARAM_construct_time_t(OSSL_DRBG_PARAM_RESEED_TIME_INTERVAL, &none);
	params[1] = OSSL_PARAM_construct_end();
	if (drbg)
		EVP_RAND_CTX_set_params(drbg, params);
}

static void fetch_algs(void)
{
	/* libcrypto only: libssl comes in with the first TLS config (tls.c).
	 * No atexit cleanup: the program's exit() would free libcrypto's state
	 * before the runtime's own exit path, which still encrypts (the file
	 * shield commits what is open or mapped there; the console shield sends
	 * the last stdio flush and its end frames). */
	if (!OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, NULL))
		return;
	algs.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	algs.gcm128 = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	algs.gcm256 = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	algs.cmac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	algs.hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	algs.kbkdf = EVP_KDF_fetch(NULL, "KBKDF", NULL);
	algs_ok = algs.sha256 && algs.gcm128 && algs.gcm256 && algs.cmac && algs.hkdf && algs.kbkdf;
	if (algs_ok)
		untime_drbg(RAND_get0_primary(NULL));
}

const struct sc_algs *sc_algs(void)
{
	pthread_once(&algs_once, fetch_algs);
	if (!algs_ok)
		return NULL;
	if (!drbg_tuned) {
		drbg_tuned = 1;
		untime_drbg(RAND_get0_public(NULL));
		untime_drbg(RAND_get0_private(NULL));
	}
	return &algs;
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

void sc_set_error(const char *why)
{
	snprintf(last_error, sizeof last_error, "%s", why);
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
