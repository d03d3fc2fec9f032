/* Volume metadata (FORMAT.md section 2): one authenticated-encrypted file per
 * protected region recording every file's protection, size and root MAC or
 * SHA-256; its SHA-256 is the volume's tag. Parse, update, serialize; the
 * caller writes the result atomically. */
#include "sfs.h"

#include <string.h>

#define ENTRY_FIXED 50u   /* u16 len + u8 kind + 7 reserved + u64 size + 32 digest */

static const char *const names[SFS__COUNT] = {
    [SFS_OK] = "ok",
    [SFS_E_PARAM] = "param",
    [SFS_E_IO] = "io",
    [SFS_E_CRYPTO] = "crypto",
    [SFS_E_NOT_PF] = "not_pf",
    [SFS_E_VERSION] = "version",
    [SFS_E_FLAGS] = "flags",
    [SFS_E_PENDING] = "pending",
    [SFS_E_HOST_SIZE] = "host_size",
    [SFS_E_TRUNCATED] = "truncated",
    [SFS_E_META_MAC] = "meta_mac",
    [SFS_E_PADDING] = "padding",
    [SFS_E_PATH] = "path",
    [SFS_E_PATH_TOO_LONG] = "path_too_long",
    [SFS_E_ROOT_MAC] = "root_mac",
    [SFS_E_MHT_MAC] = "mht_mac",
    [SFS_E_DATA_MAC] = "data_mac",
    [SFS_E_READ_ONLY] = "read_only",
    [SFS_E_BROKEN] = "broken",
    [SFS_E_TOO_BIG] = "too_big",
    [SFS_E_CACHE] = "cache",
    [SFS_E_VOL_MAGIC] = "vol_magic",
    [SFS_E_VOL_VERSION] = "vol_version",
    [SFS_E_VOL_KEY] = "vol_key",
    [SFS_E_VOL_MAC] = "vol_mac",
    [SFS_E_VOL_FORMAT] = "vol_format",
    [SFS_E_VOL_TAG] = "vol_tag",
    [SFS_E_VOL_MISSING] = "vol_missing",
    [SFS_E_VOL_FULL] = "vol_full",
    [SFS_E_NO_ENTRY] = "no_entry",
    [SFS_E_STALE] = "stale",
    [SFS_E_SIZE] = "size",
    [SFS_E_AUTH_HASH] = "auth_hash",
    [SFS_E_KIND] = "kind",
};

static const char *const texts[SFS__COUNT] = {
    [SFS_OK] = "ok",
    [SFS_E_PARAM] = "invalid argument",
    [SFS_E_IO] = "host I/O failed",
    [SFS_E_CRYPTO] = "crypto operation failed",
    [SFS_E_NOT_PF] = "not an encrypted file (no GRAFS_PF magic)",
    [SFS_E_VERSION] = "unsupported encrypted-file version",
    [SFS_E_FLAGS] = "unknown feature flags in the file header",
    [SFS_E_PENDING] = "file has a pending write (Gramine recovery needed)",
    [SFS_E_HOST_SIZE] = "backing file length is not the one its metadata implies",
    [SFS_E_TRUNCATED] = "backing file is truncated",
    [SFS_E_META_MAC] = "metadata node fails its MAC (tampered, or wrong key)",
    [SFS_E_PADDING] = "metadata node padding is not zero",
    [SFS_E_PATH] = "file was written for another path (swapped or renamed)",
    [SFS_E_PATH_TOO_LONG] = "path too long",
    [SFS_E_ROOT_MAC] = "root MHT node fails its MAC",
    [SFS_E_MHT_MAC] = "MHT node fails its MAC (tampered or swapped)",
    [SFS_E_DATA_MAC] = "data node fails its MAC (tampered or swapped)",
    [SFS_E_READ_ONLY] = "file opened read-only",
    [SFS_E_BROKEN] = "file handle unusable after an earlier refusal",
    [SFS_E_TOO_BIG] = "file too large",
    [SFS_E_CACHE] = "node cache too small",
    [SFS_E_VOL_MAGIC] = "not a scone volume metadata file",
    [SFS_E_VOL_VERSION] = "unsupported volume metadata version",
    [SFS_E_VOL_KEY] = "wrong volume key",
    [SFS_E_VOL_MAC] = "volume metadata fails its MAC (tampered)",
    [SFS_E_VOL_FORMAT] = "volume metadata malformed",
    [SFS_E_VOL_TAG] = "volume tag differs from the expected one (rolled back)",
    [SFS_E_VOL_MISSING] = "volume metadata missing",
    [SFS_E_VOL_FULL] = "volume buffer too small",
    [SFS_E_NO_ENTRY] = "file not recorded in the volume",
    [SFS_E_STALE] = "file differs from the version the volume recorded (older copy?)",
    [SFS_E_SIZE] = "file size differs from the volume's record",
    [SFS_E_AUTH_HASH] = "file content differs from its recorded SHA-256",
    [SFS_E_KIND] = "file's protection differs from the volume's record",
};

const char *sfs_strerror(int s) {
    return s >= 0 && s < SFS__COUNT && texts[s] ? texts[s] : "unknown status";
}

const char *sfs_status_name(int s) {
    return s >= 0 && s < SFS__COUNT && names[s] ? names[s] : "unknown";
}

static uint64_t get_le(const uint8_t *p, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static int all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most
 * U+10FFFF), as Python's strict decoder checks it. */
static int utf8_ok(const uint8_t *p, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (len - i - 1 < n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

/* UTF-8, relative, '/'-separated, no empty/'.'/'..' component, no NUL, no
 * component starting with ".scone-" (reserved for the volume's own files). */
int sfs_path_ok(const char *p, size_t len) {
    if (len == 0 || len >= SFS_PATH_MAX_SIZE || !utf8_ok((const uint8_t *)p, len))
        return 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && p[i] == 0)
            return 0;
        if (i == len || p[i] == '/') {
            size_t n = i - start;
            if (n == 0 || (n == 1 && p[start] == '.') ||
                (n == 2 && p[start] == '.' && p[start + 1] == '.'))
                return 0;
            if (n >= 7 && !memcmp(p + start, ".scone-", 7))
                return 0;
            start = i + 1;
        }
    }
    return 1;
}

static int derive_keys(struct sfs_volume *v, const struct sfs_callbacks *cb, const uint8_t vkey[16]) {
    static const uint8_t zero_nonce[SFS_NONCE_SIZE];
    int r = sfs_kdf(cb, vkey, SFS_VOL_KEY_LABEL, zero_nonce, v->key);
    if (!r)
        r = sfs_kdf(cb, vkey, SFS_VOL_CHECK_LABEL, zero_nonce, v->key_check);
    return r;
}

int sfs_vol_init(struct sfs_volume *v, const struct sfs_callbacks *cb, const uint8_t vkey[16],
                 void *buf, size_t cap) {
    memset(v, 0, sizeof(*v));
    if (!buf || cap < 4)
        return SFS_E_PARAM;
    v->body = buf;
    v->body_cap = cap;
    v->body_len = 4;
    put_le(v->body, 0, 4);
    return derive_keys(v, cb, vkey);
}

/* Walk the body: count entries, check order, lengths and reserved bytes. */
static int check_body(struct sfs_volume *v) {
    if (v->body_len < 4)
        return SFS_E_VOL_FORMAT;
    uint32_t n = (uint32_t)get_le(v->body, 4);
    size_t pos = 4;
    const uint8_t *prev = NULL;
    size_t prev_len = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (v->body_len - pos < ENTRY_FIXED)
            return SFS_E_VOL_FORMAT;
        size_t pl = (size_t)get_le(v->body + pos, 2);
        if (v->body_len - pos < ENTRY_FIXED + pl)
            return SFS_E_VOL_FORMAT;
        const uint8_t *path = v->body + pos + 2, *rest = path + pl;
        if (!sfs_path_ok((const char *)path, pl))
            return SFS_E_VOL_FORMAT;
        if (prev) {   /* strictly increasing byte order */
            size_t m = pl < prev_len ? pl : prev_len;
            int c = memcmp(prev, path, m);
            if (c > 0 || (c == 0 && prev_len >= pl))
                return SFS_E_VOL_FORMAT;
        }
        unsigned kind = rest[0];
        if ((kind != SFS_KIND_ENCRYPTED && kind != SFS_KIND_AUTHENTICATED) ||
            !all_zero(rest + 1, 7))
            return SFS_E_VOL_FORMAT;
        if (kind == SFS_KIND_ENCRYPTED && !all_zero(rest + 16 + 16, 16))
            return SFS_E_VOL_FORMAT;
        prev = path;
        prev_len = pl;
        pos += ENTRY_FIXED + pl;
    }
    if (pos != v->body_len)
        return SFS_E_VOL_FORMAT;
    v->count = n;
    return SFS_OK;
}

/* SHA-256 of the first `size` bytes of `h`. */
static int hash_file(const struct sfs_callbacks *cb, void *h, uint64_t size, uint8_t out[32]) {
    uint8_t chunk[1024];
    void *sh = cb->sha256_begin(cb->ctx);
    if (!sh)
        return SFS_E_CRYPTO;
    int bad = 0;
    for (uint64_t off = 0; off < size && !bad;) {
        size_t n = size - off < sizeof(chunk) ? (size_t)(size - off) : sizeof(chunk);
        if (cb->read(cb->ctx, h, off, chunk, n))
            bad = SFS_E_IO;
        else if (cb->sha256_update(cb->ctx, sh, chunk, n))
            bad = SFS_E_CRYPTO;
        off += n;
    }
    if (cb->sha256_end(cb->ctx, sh, out) && !bad)
        bad = SFS_E_CRYPTO;
    return bad;
}

/* The whole file is copied into the caller's buffer once; the tag, the
 * header and the body are all checked on that copy, so the host cannot
 * change the file between the checks. */
int sfs_vol_load(struct sfs_volume *v, const struct sfs_callbacks *cb, void *h, uint64_t size,
                 const uint8_t vkey[16], const uint8_t *expect_tag, void *buf, size_t cap) {
    struct sfs_vol_header hd;
    uint8_t tag[SFS_MAC_SIZE];
    int r = sfs_vol_init(v, cb, vkey, buf, cap);
    if (r)
        return r;
    if (size == 0)
        return SFS_E_VOL_MISSING;
    if (size < SFS_VOL_HEADER_SIZE + SFS_MAC_SIZE + 4 ||
        size > SFS_VOL_HEADER_SIZE + SFS_MAC_SIZE + SFS_VOL_MAX_BODY)
        return SFS_E_VOL_FORMAT;
    if (size > cap)
        return SFS_E_VOL_FULL;
    uint8_t *copy = v->body;
    if (cb->read(cb->ctx, h, 0, copy, (size_t)size))
        return SFS_E_IO;
    void *sh = cb->sha256_begin(cb->ctx);
    if (!sh)
        return SFS_E_CRYPTO;
    int bad = cb->sha256_update(cb->ctx, sh, copy, (size_t)size);
    if (cb->sha256_end(cb->ctx, sh, v->tag) || bad)
        return SFS_E_CRYPTO;
    memcpy(&hd, copy, sizeof(hd));
    if (memcmp(hd.magic, SFS_VOL_MAGIC, 8))
        return SFS_E_VOL_MAGIC;
    if (hd.version != SFS_VOL_VERSION)
        return SFS_E_VOL_VERSION;
    if (hd.flags || hd.reserved ||
        (uint64_t)hd.body_len + SFS_VOL_HEADER_SIZE + SFS_MAC_SIZE != size)
        return SFS_E_VOL_FORMAT;
    /* the tag covers the whole file: checked before anything else is used */
    if (expect_tag && memcmp(v->tag, expect_tag, SFS_VOL_TAG_SIZE))
        return SFS_E_VOL_TAG;
    if (memcmp(hd.key_check, v->key_check, 16))
        return SFS_E_VOL_KEY;
    memcpy(tag, copy + SFS_VOL_HEADER_SIZE + hd.body_len, SFS_MAC_SIZE);
    memmove(copy, copy + SFS_VOL_HEADER_SIZE, hd.body_len);
    r = cb->gcm_decrypt(cb->ctx, v->key, hd.nonce, &hd, sizeof(hd), copy, hd.body_len, copy, tag);
    if (r) {
        memset(copy, 0, (size_t)size);
        return r == SFS_CB_MAC_MISMATCH ? SFS_E_VOL_MAC : SFS_E_CRYPTO;
    }
    v->body_len = hd.body_len;
    v->counter = hd.counter;
    return check_body(v);
}

static void decode(const uint8_t *p, struct sfs_entry *e) {
    e->path_len = (size_t)get_le(p, 2);
    e->path = (const char *)p + 2;
    const uint8_t *rest = p + 2 + e->path_len;
    e->kind = rest[0];
    e->size = get_le(rest + 8, 8);
    memcpy(e->digest, rest + 16, 32);
}

/* Offset of entry `i` (or of the end when i == count). */
static size_t entry_offset(const struct sfs_volume *v, uint32_t i) {
    size_t pos = 4;
    for (uint32_t k = 0; k < i; k++)
        pos += ENTRY_FIXED + (size_t)get_le(v->body + pos, 2);
    return pos;
}

int sfs_vol_entry(const struct sfs_volume *v, uint32_t i, struct sfs_entry *e) {
    if (i >= v->count)
        return SFS_E_PARAM;
    decode(v->body + entry_offset(v, i), e);
    return SFS_OK;
}

/* Position where `path` is or would be inserted; *found set when present. */
static size_t locate(const struct sfs_volume *v, const char *path, size_t len, int *found) {
    size_t pos = 4;
    *found = 0;
    for (uint32_t k = 0; k < v->count; k++) {
        size_t pl = (size_t)get_le(v->body + pos, 2);
        size_t m = pl < len ? pl : len;
        int c = memcmp(v->body + pos + 2, path, m);
        if (c == 0 && pl == len) {
            *found = 1;
            return pos;
        }
        if (c > 0 || (c == 0 && pl > len))
            return pos;
        pos += ENTRY_FIXED + pl;
    }
    return pos;
}

static size_t cstrlen(const char *s) {
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int sfs_vol_find(const struct sfs_volume *v, const char *path, struct sfs_entry *e) {
    int found;
    size_t pos = locate(v, path, cstrlen(path), &found);
    if (!found)
        return SFS_E_NO_ENTRY;
    decode(v->body + pos, e);
    return SFS_OK;
}

int sfs_vol_remove(struct sfs_volume *v, const char *path) {
    int found;
    size_t pos = locate(v, path, cstrlen(path), &found);
    if (!found)
        return SFS_E_NO_ENTRY;
    size_t n = ENTRY_FIXED + (size_t)get_le(v->body + pos, 2);
    memmove(v->body + pos, v->body + pos + n, v->body_len - pos - n);
    v->body_len -= n;
    v->count--;
    put_le(v->body, v->count, 4);
    return SFS_OK;
}

int sfs_vol_set(struct sfs_volume *v, const struct sfs_entry *e) {
    if (!sfs_path_ok(e->path, e->path_len) ||
        (e->kind != SFS_KIND_ENCRYPTED && e->kind != SFS_KIND_AUTHENTICATED))
        return SFS_E_PARAM;
    if (e->kind == SFS_KIND_ENCRYPTED && !all_zero(e->digest + 16, 16))
        return SFS_E_PARAM;
    int found;
    size_t pos = locate(v, e->path, e->path_len, &found);
    size_t need = ENTRY_FIXED + e->path_len;
    if (!found) {
        if (v->body_len + need > v->body_cap || v->body_len + need > SFS_VOL_MAX_BODY)
            return SFS_E_VOL_FULL;
        memmove(v->body + pos + need, v->body + pos, v->body_len - pos);
        v->body_len += need;
        v->count++;
        put_le(v->body, v->count, 4);
    }
    uint8_t *p = v->body + pos;
    put_le(p, e->path_len, 2);
    memcpy(p + 2, e->path, e->path_len);
    uint8_t *rest = p + 2 + e->path_len;
    memset(rest, 0, 8);
    rest[0] = (uint8_t)e->kind;
    put_le(rest + 8, e->size, 8);
    memcpy(rest + 16, e->digest, 32);
    return SFS_OK;
}

size_t sfs_vol_serialized_size(const struct sfs_volume *v) {
    return SFS_VOL_HEADER_SIZE + v->body_len + SFS_MAC_SIZE;
}

int sfs_vol_serialize(struct sfs_volume *v, const struct sfs_callbacks *cb, void *out,
                      size_t cap, size_t *len) {
    size_t total = sfs_vol_serialized_size(v);
    if (cap < total)
        return SFS_E_VOL_FULL;
    struct sfs_vol_header hd;
    memset(&hd, 0, sizeof(hd));
    memcpy(hd.magic, SFS_VOL_MAGIC, 8);
    hd.version = SFS_VOL_VERSION;
    hd.counter = v->counter + 1;
    memcpy(hd.key_check, v->key_check, 16);
    if (cb->random(cb->ctx, hd.nonce, sizeof(hd.nonce)))
        return SFS_E_CRYPTO;
    hd.body_len = (uint32_t)v->body_len;
    uint8_t *o = out;
    memcpy(o, &hd, sizeof(hd));
    if (cb->gcm_encrypt(cb->ctx, v->key, hd.nonce, &hd, sizeof(hd), v->body, v->body_len,
                        o + SFS_VOL_HEADER_SIZE, o + SFS_VOL_HEADER_SIZE + v->body_len))
        return SFS_E_CRYPTO;
    void *sh = cb->sha256_begin(cb->ctx);
    if (!sh)
        return SFS_E_CRYPTO;
    int bad = cb->sha256_update(cb->ctx, sh, o, total);
    if (cb->sha256_end(cb->ctx, sh, v->tag) || bad)
        return SFS_E_CRYPTO;
    v->counter = hd.counter;
    *len = total;
    return SFS_OK;
}

int sfs_vol_check_file(const struct sfs_volume *v, const char *path, struct sfs_file *f) {
    struct sfs_entry e;
    uint8_t mac[16];
    uint64_t size;
    int r = sfs_vol_find(v, path, &e);
    if (r)
        return r;
    if (e.kind != SFS_KIND_ENCRYPTED)
        return SFS_E_KIND;
    r = sfs_file_flush(f, mac, &size);
    if (r)
        return r;
    if (memcmp(mac, e.digest, 16))
        return SFS_E_STALE;
    if (size != e.size)   /* the MAC covers the size: a mismatch means a forged record */
        return SFS_E_SIZE;
    return SFS_OK;
}

int sfs_vol_check_auth(const struct sfs_volume *v, const struct sfs_callbacks *cb,
                       const char *path, void *h, uint64_t size) {
    struct sfs_entry e;
    uint8_t digest[32];
    int r = sfs_vol_find(v, path, &e);
    if (r)
        return r;
    if (e.kind != SFS_KIND_AUTHENTICATED)
        return SFS_E_KIND;
    if (size != e.size)
        return SFS_E_SIZE;
    if ((r = hash_file(cb, h, size, digest)))
        return r;
    return memcmp(digest, e.digest, 32) ? SFS_E_AUTH_HASH : SFS_OK;
}
