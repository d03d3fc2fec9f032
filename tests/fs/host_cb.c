/* Host-side callbacks for the format library over the system's libcrypto
 * (OpenSSL 3) and POSIX file I/O. Test harness only: the enclave supplies
 * the same table over its own OpenSSL build and the syscall client.
 *
 * With SFS_TEST_RANDOM=<file>, "random" bytes are taken from that file in
 * order (known-answer tests need reproducible nonces and keys). */
#define _GNU_SOURCE
#include "host_cb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

static FILE *det_random;

static int h_read(void *ctx, void *h, uint64_t off, void *buf, size_t len) {
    (void)ctx;
    int fd = *(int *)h;
    uint8_t *p = buf;
    while (len) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;   /* short file counts as failure: read must be exact */
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

static int h_write(void *ctx, void *h, uint64_t off, const void *buf, size_t len) {
    (void)ctx;
    int fd = *(int *)h;
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

static int h_truncate(void *ctx, void *h, uint64_t size) {
    (void)ctx;
    return ftruncate(*(int *)h, (off_t)size) ? -1 : 0;
}

static int h_fsync(void *ctx, void *h) {
    (void)ctx;
    return fsync(*(int *)h) ? -1 : 0;
}

static int h_gcm(int enc, const uint8_t key[16], const uint8_t iv[12], const void *aad,
                 size_t aad_len, const void *in, size_t len, void *out, uint8_t tag[16]) {
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int ok = 0, n = 0;
    if (!c)
        return -1;
    if (EVP_CipherInit_ex(c, EVP_aes_128_gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
        EVP_CipherInit_ex(c, NULL, NULL, key, iv, enc) != 1)
        goto out;
    if (aad_len && EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1)
        goto out;
    if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
        goto out;
    if (len && EVP_CipherUpdate(c, out, &n, in, (int)len) != 1)
        goto out;
    if (EVP_CipherFinal_ex(c, (uint8_t *)out + len, &n) != 1) {
        ok = enc ? -1 : SFS_CB_MAC_MISMATCH;
        EVP_CIPHER_CTX_free(c);
        return ok;
    }
    if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
        goto out;
    ok = 1;
out:
    EVP_CIPHER_CTX_free(c);
    return ok == 1 ? 0 : -1;
}

static int h_gcm_encrypt(void *ctx, const uint8_t key[16], const uint8_t iv[12], const void *aad,
                         size_t aad_len, const void *in, size_t len, void *out, uint8_t tag[16]) {
    (void)ctx;
    return h_gcm(1, key, iv, aad, aad_len, in, len, out, tag);
}

static int h_gcm_decrypt(void *ctx, const uint8_t key[16], const uint8_t iv[12], const void *aad,
                         size_t aad_len, const void *in, size_t len, void *out,
                         const uint8_t tag[16]) {
    (void)ctx;
    uint8_t t[16];
    memcpy(t, tag, 16);
    return h_gcm(0, key, iv, aad, aad_len, in, len, out, t);
}

static int h_cmac(void *ctx, const uint8_t key[16], const void *in, size_t len, uint8_t mac[16]) {
    (void)ctx;
    EVP_MAC *m = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
    char cipher[] = "AES-128-CBC";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
        OSSL_PARAM_construct_end(),
    };
    size_t outl = 0;
    int ok = c && EVP_MAC_init(c, key, 16, params) == 1 && EVP_MAC_update(c, in, len) == 1 &&
             EVP_MAC_final(c, mac, &outl, 16) == 1 && outl == 16;
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(m);
    return ok ? 0 : -1;
}

static int h_random(void *ctx, void *buf, size_t len) {
    (void)ctx;
    if (det_random)
        return fread(buf, 1, len, det_random) == len ? 0 : -1;
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

static void *h_sha_begin(void *ctx) {
    (void)ctx;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c);
        return NULL;
    }
    return c;
}

static int h_sha_update(void *ctx, void *sh, const void *data, size_t len) {
    (void)ctx;
    return EVP_DigestUpdate(sh, data, len) == 1 ? 0 : -1;
}

static int h_sha_end(void *ctx, void *sh, uint8_t out[32]) {
    (void)ctx;
    unsigned n = 0;
    int ok = EVP_DigestFinal_ex(sh, out, &n) == 1 && n == 32;
    EVP_MD_CTX_free(sh);
    return ok ? 0 : -1;
}

const struct sfs_callbacks *host_callbacks(void) {
    static struct sfs_callbacks cb = {
        .read = h_read, .write = h_write, .truncate = h_truncate, .fsync = h_fsync,
        .gcm_encrypt = h_gcm_encrypt, .gcm_decrypt = h_gcm_decrypt, .aes_cmac = h_cmac,
        .random = h_random, .sha256_begin = h_sha_begin, .sha256_update = h_sha_update,
        .sha256_end = h_sha_end,
    };
    const char *det = getenv("SFS_TEST_RANDOM");
    if (det && !det_random) {
        det_random = fopen(det, "rb");
        if (!det_random) {
            fprintf(stderr, "sfs: SFS_TEST_RANDOM=%s: %s\n", det, strerror(errno));
            exit(2);
        }
    }
    return &cb;
}
