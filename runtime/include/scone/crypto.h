/*
 * The shields' crypto API (DESIGN.md section 8, "Crypto"): what the
 * file-system, network and console shields and the attestation client need
 * from one library, and nothing more.
 *
 * Behind it is OpenSSL 3.0 (libcrypto + libssl) built from Debian's source
 * package for the enclave; see runtime/shield/crypto/README.md. Everything of
 * OpenSSL is local to the object that holds this API, so a program that
 * links its own OpenSSL does not clash with it. Only the __scone_crypto_*
 * and __scone_tls_* names below are global.
 *
 * An enclave link pulls the object in when asked: `scone-gcc --scone-crypto`
 * (the shield options imply it).
 *
 * Conventions: functions return 0 (SCONE_CRYPTO_OK) or a negative
 * SCONE_CRYPTO_E* code; lengths are in bytes; outputs are written only on
 * success (a failed decryption leaves `out` zeroed); no function prints,
 * exits or touches a file. All functions are thread-safe; one TLS object
 * must be driven by one thread at a time.
 */
#ifndef SCONE_CRYPTO_H
#define SCONE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SCONE_CRYPTO_OK       0
#define SCONE_CRYPTO_EINVAL (-1) /* bad argument: key or IV length, NULL, capacity */
#define SCONE_CRYPTO_EAUTH  (-2) /* tag, MAC or signature does not verify */
#define SCONE_CRYPTO_ENOMEM (-3)
#define SCONE_CRYPTO_EFAIL  (-4) /* the library failed; __scone_crypto_error() says why */
#define SCONE_CRYPTO_ESPACE (-5) /* output buffer too small; *len holds the size needed */
#define SCONE_CRYPTO_EAGAIN (-6) /* TLS: needs more ciphertext in, or drained out */
#define SCONE_CRYPTO_ECLOSED (-7) /* TLS: the peer closed (close_notify) or the link failed */

#define SCONE_SHA256_LEN 32
#define SCONE_GCM_TAG_LEN 16
#define SCONE_CMAC_LEN 16

/* The text of the last library error of this thread, for a log line. */
const char *__scone_crypto_error(void);

/* Random bytes from OpenSSL's DRBG, seeded by getrandom (served inside). */
int __scone_crypto_random(void *buf, size_t len);

/* SHA-256 (FIPS 180-4), one shot. */
int __scone_crypto_sha256(const void *data, size_t len, uint8_t out[SCONE_SHA256_LEN]);

/* SHA-256, incremental. */
typedef struct scone_sha256 scone_sha256;
scone_sha256 *__scone_crypto_sha256_new(void);
int __scone_crypto_sha256_update(scone_sha256 *h, const void *data, size_t len);
/* Writes the digest and frees h. */
int __scone_crypto_sha256_final(scone_sha256 *h, uint8_t out[SCONE_SHA256_LEN]);

/* HKDF with SHA-256 (RFC 5869): extract then expand; out_len <= 255*32. */
int __scone_crypto_hkdf_sha256(const void *ikm, size_t ikm_len,
                               const void *salt, size_t salt_len,
                               const void *info, size_t info_len,
                               void *out, size_t out_len);

/*
 * AES-GCM (SP 800-38D) with a 16- or 32-byte key (AES-128/256), any IV
 * length > 0 (12 recommended), optional AAD, 16-byte tag. `in` and `out`
 * may be the same buffer. Decryption returns SCONE_CRYPTO_EAUTH when the tag
 * does not verify, and then zeroes `out`.
 */
int __scone_crypto_aes_gcm_encrypt(const void *key, size_t key_len,
                                   const void *iv, size_t iv_len,
                                   const void *aad, size_t aad_len,
                                   const void *in, size_t len, void *out,
                                   uint8_t tag[SCONE_GCM_TAG_LEN]);
int __scone_crypto_aes_gcm_decrypt(const void *key, size_t key_len,
                                   const void *iv, size_t iv_len,
                                   const void *aad, size_t aad_len,
                                   const void *in, size_t len, void *out,
                                   const uint8_t tag[SCONE_GCM_TAG_LEN]);

/* AES-CMAC (SP 800-38B, RFC 4493), 16- or 32-byte key. */
int __scone_crypto_aes_cmac(const void *key, size_t key_len,
                            const void *data, size_t len,
                            uint8_t mac[SCONE_CMAC_LEN]);

/*
 * KDF in counter mode with AES-CMAC as PRF (SP 800-108 section 5.1):
 * K(i) = CMAC(key, [i]_32 || label || 0x00 || context || [L]_32).
 * Gramine's protected files use their own input layout over plain
 * __scone_crypto_aes_cmac; this is the standard construction.
 */
int __scone_crypto_kdf_ctr_cmac(const void *key, size_t key_len,
                                const void *label, size_t label_len,
                                const void *context, size_t context_len,
                                void *out, size_t out_len);
/* The same with the fixed input data given whole (SP 800-108's opaque form,
 * as NIST's CAVP vectors give it): K(i) = CMAC(key, [i]_32 || fixed). */
int __scone_crypto_kdf_ctr_cmac_fixed(const void *key, size_t key_len,
                                      const void *fixed, size_t fixed_len,
                                      void *out, size_t out_len);

/* EC P-256 key pairs, made inside. */
typedef struct scone_crypto_key scone_crypto_key;
scone_crypto_key *__scone_crypto_ec_generate(void);
/* A private key from PEM or DER (PKCS#8, SEC1), e.g. a TLS identity from the CAS. */
scone_crypto_key *__scone_crypto_key_parse(const void *pem_or_der, size_t len);
void __scone_crypto_key_free(scone_crypto_key *key);
/* SubjectPublicKeyInfo, DER. With out == NULL, only *len is set. */
int __scone_crypto_key_public_der(const scone_crypto_key *key, uint8_t *out,
                                  size_t cap, size_t *len);
/* The private key as PEM (PKCS#8 PrivateKeyInfo, unencrypted), for a key
 * that must outlive the enclave, e.g. the SIM attestation key made on first
 * use. With out == NULL, only *len is set. */
int __scone_crypto_key_private_pem(const scone_crypto_key *key, char *out, size_t cap,
                                   size_t *len);
/* ECDSA with SHA-256 over msg; the signature is DER (X9.62 Ecdsa-Sig-Value). */
int __scone_crypto_ecdsa_sign(const scone_crypto_key *key, const void *msg, size_t msg_len,
                              uint8_t *sig, size_t cap, size_t *sig_len);
/* 0 if sig (DER) is valid for msg under the SPKI DER public key, else EAUTH. */
int __scone_crypto_ecdsa_verify(const void *spki, size_t spki_len,
                                const void *msg, size_t msg_len,
                                const void *sig, size_t sig_len);
/* ECDH (P-256): the 32-byte shared x coordinate with the peer's SPKI DER key. */
int __scone_crypto_ecdh(const scone_crypto_key *key, const void *peer_spki,
                        size_t peer_spki_len, uint8_t secret[32]);

/*
 * X.509, DER. A self-signed certificate (CN = cn, valid from now for `days`)
 * or a PKCS#10 request, both signed with ECDSA-SHA256 by `key`. An optional
 * extra extension (dotted OID, DER-encoded value, not critical) carries
 * evidence, as RA-TLS does. With out == NULL, only *len is set.
 */
int __scone_crypto_x509_self_signed(const scone_crypto_key *key, const char *cn,
                                    unsigned days, const char *ext_oid,
                                    const void *ext_der, size_t ext_len,
                                    uint8_t *out, size_t cap, size_t *len);
int __scone_crypto_x509_csr(const scone_crypto_key *key, const char *cn,
                            uint8_t *out, size_t cap, size_t *len);
/*
 * An RA-TLS peer's certificate (DER): checks that it is one certificate,
 * self-signed by its own key and within its validity period (EINVAL,
 * EAUTH otherwise, with the reason in __scone_crypto_error), writes its
 * SubjectPublicKeyInfo DER, and the value of the first extension whose
 * dotted OID is in oids[0..noids) with its index in *which (-1: none).
 */
/*
 * A DCAP quote's PCK certificate chain (PEM, leaf first, 2 to 8
 * certificates): each certificate's signature checked with the next's key,
 * the last equal to root_der (the Intel SGX Root CA); writes the leaf's
 * SubjectPublicKeyInfo DER. EAUTH with the reason in __scone_crypto_error.
 * Validity periods are not checked (as scone_cc.cas.dcap).
 */
int __scone_crypto_x509_chain_leaf(const char *pem, size_t len, const void *root_der, size_t root_len,
                                   uint8_t *spki, size_t cap, size_t *spki_len);
int __scone_crypto_x509_inspect(const uint8_t *der, size_t len, const char *const *oids, int noids,
                                int *which, uint8_t *ext, size_t ext_cap, size_t *ext_len,
                                uint8_t *spki, size_t spki_cap, size_t *spki_len);

/*
 * TLS over memory (a BIO pair): the engine never touches a socket. The
 * caller moves ciphertext between the network and the engine
 * (tls_feed/tls_drain) when the socket is ready, and plaintext between the
 * engine and the program (tls_read/tls_write). TLS 1.2 and 1.3, 1.3
 * preferred. A config is shared by many connections (an SSL_CTX).
 */
typedef struct scone_tls_config scone_tls_config;
typedef struct scone_tls scone_tls;

scone_tls_config *__scone_tls_config_new(int server);
void __scone_tls_config_free(scone_tls_config *cfg);
/* Our certificate chain and key: DER certificate + key object, or PEM texts. */
int __scone_tls_config_identity(scone_tls_config *cfg, const uint8_t *cert_der,
                                size_t cert_len, const scone_crypto_key *key);
int __scone_tls_config_identity_pem(scone_tls_config *cfg, const char *chain_pem,
                                    size_t chain_len, const char *key_pem, size_t key_len);
/* Trust anchors: PEM text with one or more certificates, or one DER
 * certificate. Turns peer verification on (a server then requires a client
 * certificate). */
int __scone_tls_config_trust(scone_tls_config *cfg, const void *pem_or_der, size_t len);
/*
 * RA-TLS: the peer's leaf certificate is judged by check alone (DER in; 0
 * to accept, else nonzero with one sentence in why), once per connection,
 * during the handshake, so a refused peer gets a bad_certificate alert.
 * The reason is then this thread's __scone_crypto_error. Turns peer
 * verification on in place of trust anchors (a server requires a client
 * certificate).
 */
typedef int (*scone_tls_peer_check)(const uint8_t *der, size_t len, void *arg, char *why, size_t cap);
int __scone_tls_config_peer_check(scone_tls_config *cfg, scone_tls_peer_check check, void *arg);

/* A connection. A client sends `peer_name` as SNI and, when the config has
 * trust anchors, checks the server's certificate against it; NULL for none. */
scone_tls *__scone_tls_new(scone_tls_config *cfg, const char *peer_name);
void __scone_tls_free(scone_tls *t);

/* Network side. Ciphertext from the peer: how many bytes were taken (may be
 * fewer than len when the engine's input buffer is full: drive it, retry). */
ssize_t __scone_tls_feed(scone_tls *t, const void *ct, size_t len);
/* Ciphertext for the peer, at most cap bytes; 0 when there is none. */
ssize_t __scone_tls_drain(scone_tls *t, void *ct, size_t cap);
/* Ciphertext bytes waiting to be drained. */
size_t __scone_tls_pending_out(const scone_tls *t);

/* Drive the handshake: 0 when done, EAGAIN when it waits for the peer
 * (drain, send, feed what comes back, call again), EFAIL when it failed. */
int __scone_tls_handshake(scone_tls *t);
/* Program side. Plaintext read: bytes, 0 at the peer's close_notify,
 * EAGAIN when more ciphertext is needed. Runs the handshake first if needed. */
ssize_t __scone_tls_read(scone_tls *t, void *buf, size_t cap);
/* Plaintext write: bytes taken (all of len unless EAGAIN: drain first). */
ssize_t __scone_tls_write(scone_tls *t, const void *buf, size_t len);
/* Decrypted bytes ready for tls_read without more input (readiness). */
size_t __scone_tls_pending(const scone_tls *t);
/* Send close_notify (then drain). */
int __scone_tls_shutdown(scone_tls *t);

enum scone_tls_state {
	SCONE_TLS_HANDSHAKE = 0, /* handshake not finished */
	SCONE_TLS_OPEN = 1,      /* application data flows */
	SCONE_TLS_CLOSED = 2,    /* close_notify sent or received */
	SCONE_TLS_FAILED = 3,    /* fatal alert or protocol error */
};
int __scone_tls_state(const scone_tls *t);
/* The negotiated version (0x0304 for TLS 1.3), 0 before the handshake. */
int __scone_tls_version(const scone_tls *t);
/* SHA-256 of the peer's certificate's SubjectPublicKeyInfo (pinning, e.g.
 * the CAS key hash fixed at sign time); EINVAL if the peer sent none. */
int __scone_tls_peer_key_sha256(const scone_tls *t, uint8_t out[SCONE_SHA256_LEN]);
/* The peer's certificate, DER; with out == NULL only *len; EINVAL if none. */
int __scone_tls_peer_cert_der(const scone_tls *t, uint8_t *out, size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
