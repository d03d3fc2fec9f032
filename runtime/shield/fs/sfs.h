/* The file-system shield's format library: Gramine's encrypted-file format,
 * version 2 (FORMAT.md, section 1), and scone's volume metadata (section 2).
 *
 * Self-contained: no syscalls, no allocation, no libc beyond memcpy/memset/
 * memcmp/memmove. Every host I/O and every crypto primitive goes through a
 * table of callbacks (struct sfs_callbacks) that the caller supplies; the
 * same code runs in the enclave (OpenSSL-in-enclave callbacks) and on the
 * host (tests/fs/host_cb.c over the system's libcrypto).
 *
 * On-disk structures: "ABI — do not reorder". All integers little-endian. */
#ifndef SCONE_SHIELD_FS_SFS_H
#define SCONE_SHIELD_FS_SFS_H

#include <stddef.h>
#include <stdint.h>

/* ---- format constants (FORMAT.md 1.1) -------------------------------- */
#define SFS_NODE_SIZE        4096u
#define SFS_KEY_SIZE         16u
#define SFS_MAC_SIZE         16u
#define SFS_IV_SIZE          12u
#define SFS_NONCE_SIZE       32u
#define SFS_PATH_MAX_SIZE    (260u + 512u)       /* includes the NUL */
#define SFS_MD_DATA_SIZE     3072u               /* file bytes held in node 0 */
#define SFS_DATA_PER_MHT     96u
#define SFS_CHILD_PER_MHT    32u
#define SFS_FILE_ID          0x46505f5346415247ull  /* "GRAFS_PF" as LE u64 */
#define SFS_MAJOR_VERSION    2u
#define SFS_MINOR_VERSION    0u
#define SFS_FLAG_PENDING_WRITE 0x01u
#define SFS_KDF_LABEL_SIZE   64u
#define SFS_METADATA_LABEL   "SGX-PROTECTED-FS-METADATA-KEY"

/* ---- on-disk structures (ABI — do not reorder) ------------------------ */
#pragma pack(push, 1)
struct sfs_crypto_pair {            /* key and GCM tag of one child node */
    uint8_t key[SFS_KEY_SIZE];
    uint8_t mac[SFS_MAC_SIZE];
};

struct sfs_md_plain {               /* node 0, bytes 0..58, in clear */
    uint64_t file_id;
    uint8_t  major_version;
    uint8_t  minor_version;
    uint8_t  key_nonce[SFS_NONCE_SIZE];
    uint8_t  md_mac[SFS_MAC_SIZE];  /* GCM tag over the encrypted part */
    uint8_t  feature_flags;
};

struct sfs_md_secret {              /* node 0, bytes 59..3942, encrypted */
    char     file_path[SFS_PATH_MAX_SIZE];
    uint64_t file_size;
    uint8_t  root_mht_key[SFS_KEY_SIZE];
    uint8_t  root_mht_mac[SFS_MAC_SIZE];
    uint8_t  file_data[SFS_MD_DATA_SIZE];
};

struct sfs_md_node {
    struct sfs_md_plain plain;
    uint8_t secret[sizeof(struct sfs_md_secret)];
    uint8_t padding[SFS_NODE_SIZE - sizeof(struct sfs_md_plain) - sizeof(struct sfs_md_secret)];
};

struct sfs_mht_node {
    struct sfs_crypto_pair data[SFS_DATA_PER_MHT];
    struct sfs_crypto_pair child[SFS_CHILD_PER_MHT];
};

struct sfs_kdf_input {              /* NIST SP800-108 counter mode, one block */
    uint32_t counter;               /* always 1 */
    char     label[SFS_KDF_LABEL_SIZE];  /* NUL-padded */
    uint8_t  nonce[SFS_NONCE_SIZE];
    uint32_t output_bits;           /* always 128 */
};
#pragma pack(pop)

_Static_assert(sizeof(struct sfs_crypto_pair) == 32, "crypto pair");
_Static_assert(sizeof(struct sfs_md_plain) == 59, "metadata plaintext header");
_Static_assert(sizeof(struct sfs_md_secret) == 3884, "metadata encrypted part");
_Static_assert(offsetof(struct sfs_md_node, secret) == 59, "encrypted part offset");
_Static_assert(offsetof(struct sfs_md_node, padding) == 3943, "padding offset");
_Static_assert(sizeof(struct sfs_md_node) == SFS_NODE_SIZE, "metadata node");
_Static_assert(sizeof(struct sfs_mht_node) == SFS_NODE_SIZE, "MHT node");
_Static_assert(sizeof(struct sfs_kdf_input) == 104, "KDF input");
_Static_assert(offsetof(struct sfs_md_secret, file_size) == 772, "file_size offset");
_Static_assert(offsetof(struct sfs_md_secret, file_data) == 812, "file_data offset");

/* ---- status codes: one per refusal (FORMAT.md 4) ---------------------- */
enum sfs_status {
    SFS_OK = 0,
    SFS_E_PARAM = 1,          /* bad argument from the caller */
    SFS_E_IO = 2,             /* a host I/O callback failed */
    SFS_E_CRYPTO = 3,         /* a crypto callback failed (not a MAC mismatch) */
    SFS_E_NOT_PF = 4,         /* node 0 lacks the GRAFS_PF magic */
    SFS_E_VERSION = 5,        /* unsupported major version */
    SFS_E_FLAGS = 6,          /* unknown feature flag bits */
    SFS_E_PENDING = 7,        /* Gramine's has-pending-write flag: needs its recovery */
    SFS_E_HOST_SIZE = 8,      /* backing file not a whole number of nodes, or too long */
    SFS_E_TRUNCATED = 9,      /* backing file shorter than the size it records */
    SFS_E_META_MAC = 10,      /* metadata node fails its MAC (tampered, or wrong key) */
    SFS_E_PADDING = 11,       /* metadata node padding not zero */
    SFS_E_PATH = 12,          /* file was written for another path (swapped/renamed) */
    SFS_E_PATH_TOO_LONG = 13,
    SFS_E_ROOT_MAC = 14,      /* root MHT node fails its MAC */
    SFS_E_MHT_MAC = 15,       /* an inner MHT node fails its MAC */
    SFS_E_DATA_MAC = 16,      /* a data node fails its MAC */
    SFS_E_READ_ONLY = 17,
    SFS_E_BROKEN = 18,        /* an earlier refusal left the handle unusable */
    SFS_E_TOO_BIG = 19,
    SFS_E_CACHE = 20,         /* cache too small for the tree's depth */
    /* volumes */
    SFS_E_VOL_MAGIC = 21,     /* not a scone volume metadata file */
    SFS_E_VOL_VERSION = 22,
    SFS_E_VOL_KEY = 23,       /* key check value differs: wrong volume key */
    SFS_E_VOL_MAC = 24,       /* metadata file fails its MAC: tampered */
    SFS_E_VOL_FORMAT = 25,    /* malformed metadata (length, order, reserved bytes) */
    SFS_E_VOL_TAG = 26,       /* tag differs from the expected one: rolled back */
    SFS_E_VOL_MISSING = 27,   /* metadata file absent or empty */
    SFS_E_VOL_FULL = 28,      /* caller's buffer too small for the entries */
    SFS_E_NO_ENTRY = 29,      /* path not recorded in the volume */
    SFS_E_STALE = 30,         /* file's root MAC differs from the volume's: older/other copy */
    SFS_E_SIZE = 31,          /* file's size differs from the volume's */
    SFS_E_AUTH_HASH = 32,     /* authenticated file's SHA-256 differs */
    SFS_E_KIND = 33,          /* entry's protection is not the one asked for */
    SFS__COUNT
};

const char *sfs_strerror(int status);
/* Stable machine name of a status ("data_mac", "vol_tag", ...). */
const char *sfs_status_name(int status);

/* ---- callbacks --------------------------------------------------------- */
/* Every callback returns 0 on success. gcm_decrypt returns SFS_CB_MAC_MISMATCH
 * when the tag does not verify (and must then not have released plaintext to
 * anyone but the library's private buffer), any other non-zero on failure. */
#define SFS_CB_MAC_MISMATCH 1

struct sfs_callbacks {
    void *ctx;   /* passed back as the first argument of every callback */
    /* host I/O on the backing file `h`; read must return exactly `len` bytes
     * or fail. */
    int (*read)(void *ctx, void *h, uint64_t off, void *buf, size_t len);
    int (*write)(void *ctx, void *h, uint64_t off, const void *buf, size_t len);
    int (*truncate)(void *ctx, void *h, uint64_t size);
    int (*fsync)(void *ctx, void *h);
    /* AES-128-GCM, 16-byte tag. Files use an all-zero IV and no AAD. */
    int (*gcm_encrypt)(void *ctx, const uint8_t key[16], const uint8_t iv[12],
                       const void *aad, size_t aad_len,
                       const void *in, size_t len, void *out, uint8_t tag[16]);
    int (*gcm_decrypt)(void *ctx, const uint8_t key[16], const uint8_t iv[12],
                       const void *aad, size_t aad_len,
                       const void *in, size_t len, void *out, const uint8_t tag[16]);
    int (*aes_cmac)(void *ctx, const uint8_t key[16], const void *in, size_t len,
                    uint8_t mac[16]);
    int (*random)(void *ctx, void *buf, size_t len);
    /* SHA-256, streaming: begin returns a handle (NULL = failure) that end
     * releases. */
    void *(*sha256_begin)(void *ctx);
    int (*sha256_update)(void *ctx, void *sh, const void *data, size_t len);
    int (*sha256_end)(void *ctx, void *sh, uint8_t out[32]);
};

/* SP800-108 AES-CMAC derivation as Gramine's format defines it (FORMAT.md 1.3). */
int sfs_kdf(const struct sfs_callbacks *cb, const uint8_t kdk[16], const char *label,
            const uint8_t nonce[SFS_NONCE_SIZE], uint8_t out[16]);

/* ---- one encrypted file ------------------------------------------------ */
struct sfs_file;

#define SFS_OPEN_CREATE  0x1   /* write a new, empty file (the backing file is truncated) */
#define SFS_OPEN_WRITE   0x2   /* allow write/truncate/flush */

#define SFS_MIN_CACHE_NODES 16u

/* Bytes of memory a handle with `cache_nodes` cached nodes needs. */
size_t sfs_file_mem_size(unsigned cache_nodes);

/* Open the file backed by `h` (whose current length is `host_size`).
 * `path` is bound into the metadata node and checked on open (FORMAT.md 1.4).
 * `mem` (sfs_file_mem_size(cache_nodes) bytes, 16-byte aligned) becomes the
 * handle; nothing is allocated. */
int sfs_file_open(void *mem, size_t mem_size, unsigned cache_nodes,
                  const struct sfs_callbacks *cb, void *h, uint64_t host_size,
                  const char *path, const uint8_t key[16], unsigned flags,
                  struct sfs_file **out);
/* Reads up to `len` bytes at `off`; *got < len only at end of file. */
int sfs_file_read(struct sfs_file *f, uint64_t off, void *buf, size_t len, size_t *got);
/* Writes; a write past the end first fills the gap with zeros. */
int sfs_file_write(struct sfs_file *f, uint64_t off, const void *buf, size_t len);
int sfs_file_truncate(struct sfs_file *f, uint64_t size);
uint64_t sfs_file_size(const struct sfs_file *f);
/* Encrypts and writes every changed node, then node 0, then fsyncs; returns
 * the file's root MAC (node 0's GCM tag) and plaintext size. */
int sfs_file_flush(struct sfs_file *f, uint8_t root_mac[16], uint64_t *size);
/* Flushes when writable, then wipes the handle's memory. */
int sfs_file_close(struct sfs_file *f);

/* ---- volumes (FORMAT.md 2) --------------------------------------------- */
#define SFS_VOL_NAME        ".scone-volume"
#define SFS_VOL_MAGIC       "SCONEVOL"
#define SFS_VOL_VERSION     1u
#define SFS_VOL_HEADER_SIZE 56u
#define SFS_VOL_TAG_SIZE    32u
#define SFS_VOL_KEY_LABEL   "SCONE-VOLUME-METADATA-KEY"
#define SFS_VOL_CHECK_LABEL "SCONE-VOLUME-KEY-CHECK"
#define SFS_VOL_MAX_BODY    (16u << 20)

enum sfs_kind { SFS_KIND_ENCRYPTED = 1, SFS_KIND_AUTHENTICATED = 2 };

#pragma pack(push, 1)
struct sfs_vol_header {             /* bytes 0..55, in clear, the GCM AAD */
    char     magic[8];              /* "SCONEVOL" */
    uint16_t version;               /* 1 */
    uint16_t flags;                 /* 0 */
    uint32_t reserved;              /* 0 */
    uint64_t counter;               /* commit number, +1 per commit */
    uint8_t  key_check[16];
    uint8_t  nonce[SFS_IV_SIZE];    /* random per commit */
    uint32_t body_len;              /* ciphertext bytes; the 16-byte tag follows */
};
#pragma pack(pop)
_Static_assert(sizeof(struct sfs_vol_header) == SFS_VOL_HEADER_SIZE, "volume header");

struct sfs_entry {
    const char *path;               /* points into the volume's buffer, not NUL-ended */
    size_t path_len;
    unsigned kind;                  /* enum sfs_kind */
    uint64_t size;
    uint8_t digest[32];             /* encrypted: root MAC + 16 zero bytes; authenticated: SHA-256 */
};

struct sfs_volume {
    uint8_t key[16];                /* metadata key (derived), not the volume key */
    uint8_t key_check[16];
    uint64_t counter;
    uint8_t tag[SFS_VOL_TAG_SIZE];  /* SHA-256 of the metadata file as read or last serialized */
    uint8_t *body;                  /* caller's buffer: the plaintext body */
    size_t body_len, body_cap;
    uint32_t count;
};

/* A fresh, empty volume (counter 0; the first serialization writes 1). */
int sfs_vol_init(struct sfs_volume *v, const struct sfs_callbacks *cb, const uint8_t vkey[16],
                 void *buf, size_t cap);
/* Read and check the metadata file `h` of length `size`; with `expect_tag`,
 * refuse any other version (rollback). `buf` (`cap` >= `size` bytes) gets a
 * copy of the whole file, then holds the decrypted body. */
int sfs_vol_load(struct sfs_volume *v, const struct sfs_callbacks *cb, void *h, uint64_t size,
                 const uint8_t vkey[16], const uint8_t *expect_tag, void *buf, size_t cap);
int sfs_vol_find(const struct sfs_volume *v, const char *path, struct sfs_entry *e);
/* Entry `i` in path order, 0 <= i < v->count. */
int sfs_vol_entry(const struct sfs_volume *v, uint32_t i, struct sfs_entry *e);
/* Insert or replace the entry for e->path (kept in path order). */
int sfs_vol_set(struct sfs_volume *v, const struct sfs_entry *e);
int sfs_vol_remove(struct sfs_volume *v, const char *path);
/* Bytes the next serialization needs. */
size_t sfs_vol_serialized_size(const struct sfs_volume *v);
/* Counter+1, fresh nonce, encrypt into `out`; sets v->tag. The caller writes
 * `out` atomically (temp file, fsync, rename, fsync of the directory). */
int sfs_vol_serialize(struct sfs_volume *v, const struct sfs_callbacks *cb, void *out,
                      size_t cap, size_t *len);
/* Check an open encrypted file against the entry for `path`. */
int sfs_vol_check_file(const struct sfs_volume *v, const char *path, struct sfs_file *f);
/* Check an authenticated (plain) file `h` of length `size` against its entry:
 * size, then SHA-256 of the whole content. */
int sfs_vol_check_auth(const struct sfs_volume *v, const struct sfs_callbacks *cb,
                       const char *path, void *h, uint64_t size);
/* Validate a volume-relative path (FORMAT.md 2.3). */
int sfs_path_ok(const char *path, size_t len);

#endif
