/* One encrypted file in Gramine's format, version 2 (FORMAT.md section 1):
 * the bounded node cache and the Merkle tree. Written from encfiles.rst and
 * the format header, not from Gramine's code.
 *
 * Invariants that keep it correct:
 *  - a dirty node's ancestors are in the cache and dirty, and dirty nodes are
 *    never evicted (eviction of a dirty victim flushes first);
 *  - a node is decrypted into its slot and its MAC checked before any byte of
 *    it is copied out, so no unverified plaintext ever leaves the library;
 *  - any refusal marks the handle broken: later calls return SFS_E_BROKEN. */
#include "sfs.h"

#include <string.h>

enum { NODE_MHT = 1, NODE_DATA = 2 };

struct slot {
    uint8_t used, type, dirty, pad;
    uint32_t pins;
    uint64_t logical, physical, stamp;
    union {
        struct sfs_mht_node mht;
        uint8_t data[SFS_NODE_SIZE];
    } u;
};

struct sfs_file {
    const struct sfs_callbacks *cb;
    void *h;
    uint8_t kdk[SFS_KEY_SIZE];
    unsigned flags;
    int broken;                 /* 0 or the status that broke the handle */
    int need_write;             /* node 0 must be rewritten */
    int root_dirty;
    uint64_t host_size;         /* what we believe the backing file's length is */
    uint64_t stamp;
    unsigned nslots;
    struct sfs_md_node md;      /* node 0 as on disk (bounce buffer) */
    struct sfs_md_secret sec;   /* node 0's encrypted part, decrypted */
    struct sfs_mht_node root;   /* root MHT node (logical 0, physical 1), never evicted */
    uint8_t bounce[SFS_NODE_SIZE];
    struct slot slots[];
};

static const uint8_t zero_iv[SFS_IV_SIZE];

/* ---- helpers ---------------------------------------------------------- */

static size_t bounded_strlen(const char *s, size_t max) {
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

static void wipe(void *p, size_t n) {
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

static int fail(struct sfs_file *f, int st) {
    if (!f->broken)
        f->broken = st;
    return st;
}

/* Node numbering (FORMAT.md 1.2). */
static uint64_t data_physical(uint64_t d) { return d + 2 + d / SFS_DATA_PER_MHT; }
static uint64_t mht_physical(uint64_t m) { return m == 0 ? 1 : 1 + m * (1 + SFS_DATA_PER_MHT); }
static uint64_t node_count(uint64_t size) {   /* data nodes a file of `size` has */
    return size <= SFS_MD_DATA_SIZE ? 0 : (size - SFS_MD_DATA_SIZE + SFS_NODE_SIZE - 1) / SFS_NODE_SIZE;
}
static uint64_t host_size_for(uint64_t size) {
    uint64_t n = node_count(size);
    return n == 0 ? SFS_NODE_SIZE : (data_physical(n - 1) + 1) * SFS_NODE_SIZE;
}

int sfs_kdf(const struct sfs_callbacks *cb, const uint8_t kdk[16], const char *label,
            const uint8_t nonce[SFS_NONCE_SIZE], uint8_t out[16]) {
    struct sfs_kdf_input in;
    size_t n = bounded_strlen(label, SFS_KDF_LABEL_SIZE);
    if (n >= SFS_KDF_LABEL_SIZE)
        return SFS_E_PARAM;
    memset(&in, 0, sizeof(in));
    in.counter = 1;
    memcpy(in.label, label, n);
    memcpy(in.nonce, nonce, SFS_NONCE_SIZE);
    in.output_bits = 128;
    int r = cb->aes_cmac(cb->ctx, kdk, &in, sizeof(in), out);
    wipe(&in, sizeof(in));
    return r ? SFS_E_CRYPTO : SFS_OK;
}

static int io_read(struct sfs_file *f, uint64_t phys, void *buf) {
    if ((phys + 1) * SFS_NODE_SIZE > f->host_size)
        return fail(f, SFS_E_TRUNCATED);
    if (f->cb->read(f->cb->ctx, f->h, phys * SFS_NODE_SIZE, buf, SFS_NODE_SIZE))
        return fail(f, SFS_E_IO);
    return SFS_OK;
}

static int io_write(struct sfs_file *f, uint64_t phys, const void *buf) {
    if (f->cb->write(f->cb->ctx, f->h, phys * SFS_NODE_SIZE, buf, SFS_NODE_SIZE))
        return fail(f, SFS_E_IO);
    if ((phys + 1) * SFS_NODE_SIZE > f->host_size)
        f->host_size = (phys + 1) * SFS_NODE_SIZE;
    return SFS_OK;
}

/* Decrypt `in` with (key, mac) into `out`; a mismatch is refusal `bad`. */
static int open_node(struct sfs_file *f, const struct sfs_crypto_pair *cp, const void *in,
                     void *out, int bad) {
    int r = f->cb->gcm_decrypt(f->cb->ctx, cp->key, zero_iv, NULL, 0, in, SFS_NODE_SIZE, out,
                               cp->mac);
    if (r == SFS_CB_MAC_MISMATCH) {
        wipe(out, SFS_NODE_SIZE);
        return fail(f, bad);
    }
    if (r) {
        wipe(out, SFS_NODE_SIZE);
        return fail(f, SFS_E_CRYPTO);
    }
    return SFS_OK;
}

/* Fresh random key, encrypt `in` into the bounce buffer, record key+tag. */
static int seal_node(struct sfs_file *f, const void *in, struct sfs_crypto_pair *cp) {
    if (f->cb->random(f->cb->ctx, cp->key, SFS_KEY_SIZE))
        return fail(f, SFS_E_CRYPTO);
    if (f->cb->gcm_encrypt(f->cb->ctx, cp->key, zero_iv, NULL, 0, in, SFS_NODE_SIZE, f->bounce,
                           cp->mac))
        return fail(f, SFS_E_CRYPTO);
    return SFS_OK;
}

/* ---- cache ------------------------------------------------------------- */

static struct slot *cache_find(struct sfs_file *f, int type, uint64_t logical) {
    for (unsigned i = 0; i < f->nslots; i++) {
        struct slot *s = &f->slots[i];
        if (s->used && s->type == type && s->logical == logical) {
            s->stamp = ++f->stamp;
            return s;
        }
    }
    return NULL;
}

static int flush_all(struct sfs_file *f);

/* A free slot: an unused one, else the least recently used clean, unpinned
 * one; if every candidate is dirty, flush first (nodes and node 0, as
 * Gramine does, so the file on disk is whole again). */
static int cache_take(struct sfs_file *f, struct slot **out) {
    for (int round = 0; round < 2; round++) {
        struct slot *best = NULL;
        for (unsigned i = 0; i < f->nslots; i++) {
            struct slot *s = &f->slots[i];
            if (!s->used) {
                best = s;
                break;
            }
            if (s->pins || s->dirty)
                continue;
            if (!best || s->stamp < best->stamp)
                best = s;
        }
        if (best) {
            wipe(&best->u, sizeof(best->u));
            best->used = 0;
            best->dirty = 0;
            best->pins = 0;
            *out = best;
            return SFS_OK;
        }
        if (round == 0) {
            int r = flush_all(f);
            if (r)
                return r;
        }
    }
    return fail(f, SFS_E_CACHE);
}

#define MAX_DEPTH 16   /* MHT levels below the root for files up to 2^50 bytes: 7 */

/* Load (or find) the one MHT node `m` whose parent `pm` is in memory.
 * `fresh`: the node lies wholly beyond the end of the file, so it is created
 * zeroed instead of read. */
static int load_mht(struct sfs_file *f, uint64_t m, const struct sfs_mht_node *pm, int fresh,
                    struct slot **out) {
    struct slot *s = cache_find(f, NODE_MHT, m);
    if (s) {
        *out = s;
        return SFS_OK;
    }
    int r = cache_take(f, &s);
    if (r)
        return r;
    if (!fresh) {
        r = io_read(f, mht_physical(m), f->bounce);
        if (!r)
            r = open_node(f, &pm->child[(m - 1) % SFS_CHILD_PER_MHT], f->bounce, &s->u.mht,
                          SFS_E_MHT_MAC);
        if (r)
            return r;
    }
    s->used = 1;
    s->type = NODE_MHT;
    s->logical = m;
    s->physical = mht_physical(m);
    s->stamp = ++f->stamp;
    *out = s;
    return SFS_OK;
}

/* The data node `d` with every MHT node above it in the cache. The whole
 * chain stays pinned while it is assembled, so loading one node never evicts
 * another of the same chain; with `dirty`, the node and its chain are marked
 * (a dirty node's ancestors are dirty, hence never evicted, hence there when
 * the flush needs them). `fresh`: the data node starts at or past the end. */
static int get_data(struct sfs_file *f, uint64_t d, int fresh, int dirty, struct slot **out) {
    uint64_t chain[MAX_DEPTH];
    struct slot *slots[MAX_DEPTH];
    unsigned depth = 0, pinned = 0;
    for (uint64_t m = d / SFS_DATA_PER_MHT; m != 0; m = (m - 1) / SFS_CHILD_PER_MHT) {
        if (depth == MAX_DEPTH)
            return fail(f, SFS_E_TOO_BIG);
        chain[depth++] = m;
    }
    if (depth + 2 > f->nslots)
        return fail(f, SFS_E_CACHE);
    int r = SFS_OK;
    struct sfs_mht_node *parent = &f->root;
    /* root side first; only the lowest MHT node can be new (a file grows
     * node by node, so every ancestor was created before it) */
    for (unsigned i = depth; i-- > 0;) {
        int new_mht = fresh && i == 0 && d % SFS_DATA_PER_MHT == 0;
        r = load_mht(f, chain[i], parent, new_mht, &slots[i]);
        if (r)
            goto out;
        slots[i]->pins++;
        pinned++;
        parent = &slots[i]->u.mht;
    }
    struct slot *s = cache_find(f, NODE_DATA, d);
    if (!s) {
        r = cache_take(f, &s);
        if (r)
            goto out;
        if (!fresh) {
            r = io_read(f, data_physical(d), f->bounce);
            if (!r)
                r = open_node(f, &parent->data[d % SFS_DATA_PER_MHT], f->bounce, s->u.data,
                              SFS_E_DATA_MAC);
            if (r)
                goto out;
        }
        s->used = 1;
        s->type = NODE_DATA;
        s->logical = d;
        s->physical = data_physical(d);
        s->stamp = ++f->stamp;
    }
    if (dirty) {
        s->dirty = 1;
        for (unsigned i = 0; i < depth; i++)
            slots[i]->dirty = 1;
        f->root_dirty = 1;
        f->need_write = 1;
    }
    *out = s;
out:
    for (unsigned i = 0; i < pinned; i++)
        slots[depth - 1 - i]->pins--;
    return r;
}

/* ---- flush ------------------------------------------------------------- */

static struct sfs_mht_node *cached_parent_of_data(struct sfs_file *f, uint64_t d) {
    uint64_t m = d / SFS_DATA_PER_MHT;
    if (m == 0)
        return &f->root;
    for (unsigned i = 0; i < f->nslots; i++)
        if (f->slots[i].used && f->slots[i].type == NODE_MHT && f->slots[i].logical == m)
            return &f->slots[i].u.mht;
    return NULL;
}

static struct sfs_mht_node *cached_mht(struct sfs_file *f, uint64_t m) {
    if (m == 0)
        return &f->root;
    for (unsigned i = 0; i < f->nslots; i++)
        if (f->slots[i].used && f->slots[i].type == NODE_MHT && f->slots[i].logical == m)
            return &f->slots[i].u.mht;
    return NULL;
}

/* Children before parents: data nodes, then MHT nodes deepest (highest
 * logical number) first, then the root into node 0's secret part. */
static int flush_nodes(struct sfs_file *f) {
    if (f->sec.file_size <= SFS_MD_DATA_SIZE || !f->root_dirty)
        return SFS_OK;
    for (unsigned i = 0; i < f->nslots; i++) {
        struct slot *s = &f->slots[i];
        if (!s->used || !s->dirty || s->type != NODE_DATA)
            continue;
        struct sfs_mht_node *p = cached_parent_of_data(f, s->logical);
        if (!p)
            return fail(f, SFS_E_CACHE);
        int r = seal_node(f, s->u.data, &p->data[s->logical % SFS_DATA_PER_MHT]);
        if (!r)
            r = io_write(f, s->physical, f->bounce);
        if (r)
            return r;
        s->dirty = 0;
    }
    for (;;) {
        struct slot *deepest = NULL;
        for (unsigned i = 0; i < f->nslots; i++) {
            struct slot *s = &f->slots[i];
            if (s->used && s->dirty && s->type == NODE_MHT &&
                (!deepest || s->logical > deepest->logical))
                deepest = s;
        }
        if (!deepest)
            break;
        uint64_t m = deepest->logical;
        struct sfs_mht_node *p = cached_mht(f, (m - 1) / SFS_CHILD_PER_MHT);
        if (!p)
            return fail(f, SFS_E_CACHE);
        int r = seal_node(f, &deepest->u.mht, &p->child[(m - 1) % SFS_CHILD_PER_MHT]);
        if (!r)
            r = io_write(f, deepest->physical, f->bounce);
        if (r)
            return r;
        deepest->dirty = 0;
    }
    struct sfs_crypto_pair cp;
    int r = seal_node(f, &f->root, &cp);
    if (!r)
        r = io_write(f, 1, f->bounce);
    if (r)
        return r;
    memcpy(f->sec.root_mht_key, cp.key, SFS_KEY_SIZE);
    memcpy(f->sec.root_mht_mac, cp.mac, SFS_MAC_SIZE);
    wipe(&cp, sizeof(cp));
    f->root_dirty = 0;
    f->need_write = 1;
    return SFS_OK;
}

/* Node 0: a fresh nonce, hence a fresh metadata key, every time. */
static int write_md(struct sfs_file *f) {
    uint8_t key[SFS_KEY_SIZE];
    if (f->cb->random(f->cb->ctx, f->md.plain.key_nonce, SFS_NONCE_SIZE))
        return fail(f, SFS_E_CRYPTO);
    int r = sfs_kdf(f->cb, f->kdk, SFS_METADATA_LABEL, f->md.plain.key_nonce, key);
    if (r)
        return fail(f, r);
    f->md.plain.feature_flags = 0;
    memset(f->md.padding, 0, sizeof(f->md.padding));
    if (f->cb->gcm_encrypt(f->cb->ctx, key, zero_iv, NULL, 0, &f->sec, sizeof(f->sec),
                           f->md.secret, f->md.plain.md_mac)) {
        wipe(key, sizeof(key));
        return fail(f, SFS_E_CRYPTO);
    }
    wipe(key, sizeof(key));
    r = io_write(f, 0, &f->md);
    if (r)
        return r;
    f->need_write = 0;
    return SFS_OK;
}

static int flush_all(struct sfs_file *f) {
    int r = flush_nodes(f);
    if (r)
        return r;
    return f->need_write ? write_md(f) : SFS_OK;
}

/* ---- open -------------------------------------------------------------- */

size_t sfs_file_mem_size(unsigned cache_nodes) {
    return sizeof(struct sfs_file) + (size_t)cache_nodes * sizeof(struct slot);
}

static int load_existing(struct sfs_file *f, const char *path, size_t plen) {
    uint8_t key[SFS_KEY_SIZE];
    if (f->host_size == 0 || f->host_size % SFS_NODE_SIZE)
        return fail(f, f->host_size == 0 ? SFS_E_TRUNCATED : SFS_E_HOST_SIZE);
    int r = io_read(f, 0, &f->md);
    if (r)
        return r;
    if (f->md.plain.file_id != SFS_FILE_ID)
        return fail(f, SFS_E_NOT_PF);
    /* Gramine ignores the minor version; nothing but 0 is ever written, and
     * the plaintext header is not under any MAC, so refuse anything else */
    if (f->md.plain.major_version != SFS_MAJOR_VERSION ||
        f->md.plain.minor_version != SFS_MINOR_VERSION)
        return fail(f, SFS_E_VERSION);
    if (f->md.plain.feature_flags & ~SFS_FLAG_PENDING_WRITE)
        return fail(f, SFS_E_FLAGS);
    if (f->md.plain.feature_flags & SFS_FLAG_PENDING_WRITE)
        return fail(f, SFS_E_PENDING);
    for (size_t i = 0; i < sizeof(f->md.padding); i++)
        if (f->md.padding[i])
            return fail(f, SFS_E_PADDING);
    r = sfs_kdf(f->cb, f->kdk, SFS_METADATA_LABEL, f->md.plain.key_nonce, key);
    if (r)
        return fail(f, r);
    r = f->cb->gcm_decrypt(f->cb->ctx, key, zero_iv, NULL, 0, f->md.secret, sizeof(f->md.secret),
                           &f->sec, f->md.plain.md_mac);
    wipe(key, sizeof(key));
    if (r) {
        wipe(&f->sec, sizeof(f->sec));
        return fail(f, r == SFS_CB_MAC_MISMATCH ? SFS_E_META_MAC : SFS_E_CRYPTO);
    }
    size_t stored = bounded_strlen(f->sec.file_path, SFS_PATH_MAX_SIZE);
    if (stored == SFS_PATH_MAX_SIZE || stored != plen || memcmp(f->sec.file_path, path, plen))
        return fail(f, SFS_E_PATH);
    uint64_t want = host_size_for(f->sec.file_size);
    if (f->host_size < want)
        return fail(f, SFS_E_TRUNCATED);
    if (f->host_size > want)
        return fail(f, SFS_E_HOST_SIZE);
    if (f->sec.file_size > SFS_MD_DATA_SIZE) {
        struct sfs_crypto_pair cp;
        memcpy(cp.key, f->sec.root_mht_key, SFS_KEY_SIZE);
        memcpy(cp.mac, f->sec.root_mht_mac, SFS_MAC_SIZE);
        r = io_read(f, 1, f->bounce);
        if (!r)
            r = open_node(f, &cp, f->bounce, &f->root, SFS_E_ROOT_MAC);
        wipe(&cp, sizeof(cp));
        if (r)
            return r;
    }
    return SFS_OK;
}

int sfs_file_open(void *mem, size_t mem_size, unsigned cache_nodes,
                  const struct sfs_callbacks *cb, void *h, uint64_t host_size,
                  const char *path, const uint8_t key[16], unsigned flags,
                  struct sfs_file **out) {
    *out = NULL;
    if (!mem || !cb || !path || !key || cache_nodes < SFS_MIN_CACHE_NODES ||
        mem_size < sfs_file_mem_size(cache_nodes) || ((uintptr_t)mem & 15))
        return SFS_E_PARAM;
    size_t plen = bounded_strlen(path, SFS_PATH_MAX_SIZE);
    if (plen >= SFS_PATH_MAX_SIZE)
        return SFS_E_PATH_TOO_LONG;
    struct sfs_file *f = mem;
    memset(f, 0, sfs_file_mem_size(cache_nodes));
    f->cb = cb;
    f->h = h;
    f->flags = flags;
    f->nslots = cache_nodes;
    f->host_size = host_size;
    memcpy(f->kdk, key, SFS_KEY_SIZE);
    int r;
    if (flags & SFS_OPEN_CREATE) {
        if (!(flags & SFS_OPEN_WRITE))
            return SFS_E_PARAM;
        if (cb->truncate(cb->ctx, h, 0))
            return SFS_E_IO;
        f->host_size = 0;
        f->md.plain.file_id = SFS_FILE_ID;
        f->md.plain.major_version = SFS_MAJOR_VERSION;
        f->md.plain.minor_version = SFS_MINOR_VERSION;
        memcpy(f->sec.file_path, path, plen);
        r = write_md(f);   /* as Gramine does: a new file exists on disk at once */
    } else {
        r = load_existing(f, path, plen);
    }
    if (r) {
        wipe(f, sfs_file_mem_size(cache_nodes));
        return r;
    }
    *out = f;
    return SFS_OK;
}

/* ---- read / write / truncate ------------------------------------------ */

uint64_t sfs_file_size(const struct sfs_file *f) { return f->sec.file_size; }

int sfs_file_read(struct sfs_file *f, uint64_t off, void *buf, size_t len, size_t *got) {
    *got = 0;
    if (f->broken)
        return SFS_E_BROKEN;
    if (off >= f->sec.file_size)
        return SFS_OK;
    if (len > f->sec.file_size - off)
        len = (size_t)(f->sec.file_size - off);
    uint8_t *p = buf;
    size_t done = 0;
    if (off < SFS_MD_DATA_SIZE) {
        size_t n = SFS_MD_DATA_SIZE - (size_t)off;
        if (n > len)
            n = len;
        memcpy(p, f->sec.file_data + off, n);
        done = n;
    }
    while (done < len) {
        uint64_t o = off + done - SFS_MD_DATA_SIZE;
        struct slot *s;
        int r = get_data(f, o / SFS_NODE_SIZE, 0, 0, &s);
        if (r)
            return r;
        size_t in = (size_t)(o % SFS_NODE_SIZE), n = SFS_NODE_SIZE - in;
        if (n > len - done)
            n = len - done;
        memcpy(p + done, s->u.data + in, n);
        done += n;
    }
    *got = done;
    return SFS_OK;
}

/* `buf` NULL writes zeros. */
static int do_write(struct sfs_file *f, uint64_t off, const uint8_t *buf, size_t len) {
    size_t done = 0;
    if (off < SFS_MD_DATA_SIZE && len) {
        size_t n = SFS_MD_DATA_SIZE - (size_t)off;
        if (n > len)
            n = len;
        if (buf)
            memcpy(f->sec.file_data + off, buf, n);
        else
            memset(f->sec.file_data + off, 0, n);
        done = n;
        if (off + n > f->sec.file_size)
            f->sec.file_size = off + n;
        f->need_write = 1;
    }
    while (done < len) {
        uint64_t pos = off + done, o = pos - SFS_MD_DATA_SIZE, d = o / SFS_NODE_SIZE;
        /* a node starting at or past the end is new: nothing to read */
        int fresh = SFS_MD_DATA_SIZE + d * SFS_NODE_SIZE >= f->sec.file_size;
        struct slot *s;
        int r = get_data(f, d, fresh, 1, &s);
        if (r)
            return r;
        size_t in = (size_t)(o % SFS_NODE_SIZE), n = SFS_NODE_SIZE - in;
        if (n > len - done)
            n = len - done;
        if (buf)
            memcpy(s->u.data + in, buf + done, n);
        else
            memset(s->u.data + in, 0, n);
        done += n;
        if (pos + n > f->sec.file_size)
            f->sec.file_size = pos + n;
    }
    return SFS_OK;
}

int sfs_file_write(struct sfs_file *f, uint64_t off, const void *buf, size_t len) {
    if (f->broken)
        return SFS_E_BROKEN;
    if (!(f->flags & SFS_OPEN_WRITE))
        return SFS_E_READ_ONLY;
    if (off + len < off || off + len > (1ull << 50))
        return SFS_E_TOO_BIG;
    if (off > f->sec.file_size) {
        int r = do_write(f, f->sec.file_size, NULL, (size_t)(off - f->sec.file_size));
        if (r)
            return r;
    }
    return do_write(f, off, buf, len);
}

int sfs_file_truncate(struct sfs_file *f, uint64_t size) {
    if (f->broken)
        return SFS_E_BROKEN;
    if (!(f->flags & SFS_OPEN_WRITE))
        return SFS_E_READ_ONLY;
    if (size > (1ull << 50))
        return SFS_E_TOO_BIG;
    if (size == f->sec.file_size)
        return SFS_OK;
    if (size > f->sec.file_size)
        return do_write(f, f->sec.file_size, NULL, (size_t)(size - f->sec.file_size));
    /* Shrink: write out what is dirty, drop the cache (it may hold nodes past
     * the new end), cut the backing file after the last node still used.
     * MHT entries of cut nodes stay behind, unused, as in Gramine. */
    int r = flush_nodes(f);
    if (r)
        return r;
    for (unsigned i = 0; i < f->nslots; i++) {
        wipe(&f->slots[i].u, sizeof(f->slots[i].u));
        f->slots[i].used = 0;
    }
    uint64_t hs = host_size_for(size);
    if (f->cb->truncate(f->cb->ctx, f->h, hs))
        return fail(f, SFS_E_IO);
    f->host_size = hs;
    f->sec.file_size = size;
    f->need_write = 1;
    return SFS_OK;
}

int sfs_file_flush(struct sfs_file *f, uint8_t root_mac[16], uint64_t *size) {
    if (f->broken)
        return SFS_E_BROKEN;
    if (f->flags & SFS_OPEN_WRITE) {
        int r = flush_all(f);
        if (r)
            return r;
        if (f->cb->fsync(f->cb->ctx, f->h))
            return fail(f, SFS_E_IO);
    }
    if (root_mac)
        memcpy(root_mac, f->md.plain.md_mac, SFS_MAC_SIZE);
    if (size)
        *size = f->sec.file_size;
    return SFS_OK;
}

int sfs_file_close(struct sfs_file *f) {
    int r = SFS_OK;
    if (f->broken)
        r = SFS_E_BROKEN;
    else if (f->flags & SFS_OPEN_WRITE)
        r = sfs_file_flush(f, NULL, NULL);
    wipe(f, sfs_file_mem_size(f->nslots));
    return r;
}
