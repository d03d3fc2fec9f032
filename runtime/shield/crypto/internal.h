/* Shared by the files of the shield crypto object (runtime/shield/crypto). */
#ifndef SCONE_SHIELD_CRYPTO_INTERNAL_H
#define SCONE_SHIELD_CRYPTO_INTERNAL_H

#include <scone/crypto.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>

/* Algorithms fetched once (a fetch per call costs a locked table lookup). */
struct sc_algs {
	EVP_MD *sha256;
	EVP_CIPHER *gcm128, *gcm256;
	EVP_MAC *cmac;
	EVP_KDF *hkdf, *kbkdf;
};

/* The fetched algorithms, or NULL if the library could not start. */
const struct sc_algs *sc_algs(void);

/* Map the library's failure onto our codes, keeping its error for __scone_crypto_error. */
int sc_fail(void);

/* Put a reason of our own (an RA-TLS refusal) as the thread's last error. */
void sc_set_error(const char *why);

/* The AES-CBC cipher name CMAC and KBKDF need for a key length, or NULL. */
const char *sc_cmac_cipher(size_t key_len);

struct scone_crypto_key {
	EVP_PKEY *pkey;
};

#endif
