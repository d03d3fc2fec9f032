/* Test driver over the format library with host callbacks: the C side of
 * the cross-reading tests (Python's scone-fs is the other side).
 *
 *   sfs_tool enc KEYHEX RELPATH PLAIN OUT [CHUNK]   encrypt PLAIN into OUT
 *   sfs_tool dec KEYHEX RELPATH IN OUT              decrypt IN into OUT
 *   sfs_tool ops KEYHEX RELPATH FILE DATA CACHE     apply ops from stdin:
 *        w OFF LEN DATAOFF | t SIZE | f | r (flush+close+reopen)
 *   sfs_tool vol-add KEYHEX VOLDIR RELPATH PLAIN encrypted|authenticated
 *   sfs_tool vol-rm KEYHEX VOLDIR RELPATH     drop the entry, commit, unlink
 *   sfs_tool vol-verify KEYHEX VOLDIR [TAGHEX]
 *
 * Refusals print "<where>: <status name>: <text>" on stderr, exit 1; usage
 * errors exit 2. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_cb.h"
#include "sfs.h"

#define CACHE 48u

static const struct sfs_callbacks *cb;

static void die(const char *what) {
    fprintf(stderr, "sfs_tool: %s: %s\n", what, strerror(errno));
    exit(2);
}

static int refuse(const char *where, int st) {
    fprintf(stderr, "%s: %s: %s\n", where, sfs_status_name(st), sfs_strerror(st));
    return 1;
}

static int hex(const char *s, uint8_t *out, size_t n) {
    if (strlen(s) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static void print_hex(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
}

static uint64_t fsize(int fd) {
    struct stat st;
    if (fstat(fd, &st))
        die("fstat");
    return (uint64_t)st.st_size;
}

static void *mem_for(unsigned cache) {
    void *m = aligned_alloc(16, (sfs_file_mem_size(cache) + 15) & ~(size_t)15);
    if (!m)
        die("malloc");
    return m;
}

static int cmd_enc(const uint8_t *key, const char *rel, const char *plain, const char *out,
                   size_t chunk) {
    int in = open(plain, O_RDONLY), fd = open(out, O_RDWR | O_CREAT, 0644);
    if (in < 0 || fd < 0)
        die("open");
    void *mem = mem_for(CACHE);
    struct sfs_file *f;
    int st = sfs_file_open(mem, sfs_file_mem_size(CACHE), CACHE, cb, &fd, fsize(fd), rel, key,
                           SFS_OPEN_CREATE | SFS_OPEN_WRITE, &f);
    if (st)
        return refuse(out, st);
    uint8_t *buf = malloc(chunk);
    uint64_t off = 0;
    for (;;) {
        ssize_t n = read(in, buf, chunk);
        if (n < 0)
            die("read");
        if (n == 0)
            break;
        if ((st = sfs_file_write(f, off, buf, (size_t)n)))
            return refuse(out, st);
        off += (uint64_t)n;
    }
    uint8_t mac[16];
    uint64_t size;
    if ((st = sfs_file_flush(f, mac, &size)) || (st = sfs_file_close(f)))
        return refuse(out, st);
    free(buf);
    free(mem);
    close(in);
    close(fd);
    print_hex(mac, 16);
    printf(" %llu\n", (unsigned long long)size);
    return 0;
}

/* Reads the whole file through the library (every node's MAC checked) into
 * `out_fd` when >= 0. */
static int read_all(struct sfs_file *f, int out_fd, const char *where) {
    static uint8_t buf[10000];   /* not a node multiple: exercises node edges */
    uint64_t off = 0;
    for (;;) {
        size_t got;
        int st = sfs_file_read(f, off, buf, sizeof(buf), &got);
        if (st)
            return refuse(where, st);
        if (!got)
            return 0;
        if (out_fd >= 0 && write(out_fd, buf, got) != (ssize_t)got)
            die("write");
        off += got;
    }
}

static int cmd_dec(const uint8_t *key, const char *rel, const char *in, const char *out) {
    int fd = open(in, O_RDONLY);
    if (fd < 0)
        die("open");
    void *mem = mem_for(CACHE);
    struct sfs_file *f;
    int st = sfs_file_open(mem, sfs_file_mem_size(CACHE), CACHE, cb, &fd, fsize(fd), rel, key, 0,
                           &f);
    if (st)
        return refuse(in, st);
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.partial", out);
    int o = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o < 0)
        die("open output");
    if (read_all(f, o, in)) {
        close(o);
        unlink(tmp);
        return 1;
    }
    close(o);
    if (rename(tmp, out))
        die("rename");
    uint8_t mac[16];
    uint64_t size;
    sfs_file_flush(f, mac, &size);
    print_hex(mac, 16);
    printf(" %llu\n", (unsigned long long)size);
    st = sfs_file_close(f);
    free(mem);
    close(fd);
    return st ? 1 : 0;
}

static int cmd_ops(const uint8_t *key, const char *rel, const char *path, const char *data,
                   unsigned cache) {
    int fd = open(path, O_RDWR | O_CREAT, 0644), dfd = open(data, O_RDONLY);
    if (fd < 0 || dfd < 0)
        die("open");
    uint64_t dsize = fsize(dfd);
    uint8_t *dbuf = malloc(dsize ? dsize : 1);
    if (pread(dfd, dbuf, dsize, 0) != (ssize_t)dsize)
        die("read data");
    void *mem = mem_for(cache);
    struct sfs_file *f;
    int st = sfs_file_open(mem, sfs_file_mem_size(cache), cache, cb, &fd, fsize(fd), rel, key,
                           (fsize(fd) ? 0 : SFS_OPEN_CREATE) | SFS_OPEN_WRITE, &f);
    if (st)
        return refuse(path, st);
    char line[256];
    while (fgets(line, sizeof(line), stdin)) {
        unsigned long long a = 0, b = 0, c = 0;
        if (line[0] == 'w' && sscanf(line + 1, "%llu %llu %llu", &a, &b, &c) == 3) {
            if (c + b > dsize) {
                fprintf(stderr, "sfs_tool: data range\n");
                return 2;
            }
            st = sfs_file_write(f, a, dbuf + c, (size_t)b);
        } else if (line[0] == 't' && sscanf(line + 1, "%llu", &a) == 1) {
            st = sfs_file_truncate(f, a);
        } else if (line[0] == 'f') {
            st = sfs_file_flush(f, NULL, NULL);
        } else if (line[0] == 'r') {
            st = sfs_file_close(f);
            if (!st)
                st = sfs_file_open(mem, sfs_file_mem_size(cache), cache, cb, &fd, fsize(fd), rel,
                                   key, SFS_OPEN_WRITE, &f);
            if (!st)
                st = read_all(f, -1, path) ? SFS_E_BROKEN : 0;
        } else {
            fprintf(stderr, "sfs_tool: bad op: %s", line);
            return 2;
        }
        if (st)
            return refuse(path, st);
    }
    uint8_t mac[16];
    uint64_t size;
    if ((st = sfs_file_flush(f, mac, &size)) || (st = sfs_file_close(f)))
        return refuse(path, st);
    free(mem);
    free(dbuf);
    print_hex(mac, 16);
    printf(" %llu\n", (unsigned long long)size);
    return 0;
}

static char *join(const char *dir, const char *rel) {
    char *p;
    if (asprintf(&p, "%s/%s", dir, rel) < 0)
        die("asprintf");
    return p;
}

static int write_atomic(const char *dir, const char *name, const void *buf, size_t len) {
    char *path = join(dir, name), *tmp;
    if (asprintf(&tmp, "%s/.scone-tmp.%s", dir, name) < 0)
        die("asprintf");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, buf, len) != (ssize_t)len || fsync(fd) || close(fd))
        die("write metadata");
    if (rename(tmp, path))
        die("rename");
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    if (d < 0 || fsync(d))
        die("fsync dir");
    close(d);
    free(path);
    free(tmp);
    return 0;
}

static uint8_t volbuf[SFS_VOL_MAX_BODY];
static uint8_t serbuf[SFS_VOL_MAX_BODY + 128];

static int load_volume(struct sfs_volume *v, const uint8_t *key, const char *dir,
                       const uint8_t *tag, int may_be_new) {
    char *mp = join(dir, SFS_VOL_NAME);
    int fd = open(mp, O_RDONLY);
    int st;
    if (fd < 0 && errno == ENOENT && may_be_new)
        st = sfs_vol_init(v, cb, key, volbuf, sizeof(volbuf));
    else
        st = sfs_vol_load(v, cb, &fd, fd < 0 ? 0 : fsize(fd), key, tag, volbuf, sizeof(volbuf));
    if (fd >= 0)
        close(fd);
    free(mp);
    return st;
}

/* Commit protocol (FORMAT.md 3): new content under a pending name, fsync;
 * metadata atomically; pending renamed over the file; fsync the directory. */
static int cmd_vol_add(const uint8_t *key, const char *dir, const char *rel, const char *plain,
                       const char *mode) {
    struct sfs_volume v;
    int st = load_volume(&v, key, dir, NULL, 1);
    if (st)
        return refuse(SFS_VOL_NAME, st);
    if (strchr(rel, '/')) {
        fprintf(stderr, "sfs_tool: vol-add takes a top-level name\n");
        return 2;
    }
    struct sfs_entry e = {.path = rel, .path_len = strlen(rel)};
    char *target = join(dir, rel), *pending;
    if (asprintf(&pending, "%s/.scone-pending.%s", dir, rel) < 0)
        die("asprintf");
    if (!strcmp(mode, "encrypted")) {
        if (cmd_enc(key, rel, plain, pending, 4096))
            return 1;
        int fd = open(pending, O_RDONLY);
        void *mem = mem_for(CACHE);
        struct sfs_file *f;
        st = sfs_file_open(mem, sfs_file_mem_size(CACHE), CACHE, cb, &fd, fsize(fd), rel, key, 0,
                           &f);
        if (st)
            return refuse(pending, st);
        e.kind = SFS_KIND_ENCRYPTED;
        sfs_file_flush(f, e.digest, &e.size);
        sfs_file_close(f);
        free(mem);
        close(fd);
    } else {
        int in = open(plain, O_RDONLY), out = open(pending, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0)
            die("open");
        void *sh = cb->sha256_begin(cb->ctx);
        char buf[65536];
        ssize_t n;
        e.size = 0;
        while ((n = read(in, buf, sizeof(buf))) > 0) {
            if (write(out, buf, (size_t)n) != n)
                die("write");
            cb->sha256_update(cb->ctx, sh, buf, (size_t)n);
            e.size += (uint64_t)n;
        }
        cb->sha256_end(cb->ctx, sh, e.digest);
        if (fsync(out))
            die("fsync");
        close(out);
        close(in);
        e.kind = SFS_KIND_AUTHENTICATED;
    }
    if ((st = sfs_vol_set(&v, &e)))
        return refuse(rel, st);
    size_t len;
    if ((st = sfs_vol_serialize(&v, cb, serbuf, sizeof(serbuf), &len)))
        return refuse(SFS_VOL_NAME, st);
    write_atomic(dir, SFS_VOL_NAME, serbuf, len);
    if (rename(pending, target))
        die("rename");
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    if (d < 0 || fsync(d))
        die("fsync dir");
    close(d);
    print_hex(v.tag, 32);
    printf("\n");
    return 0;
}

static int cmd_vol_rm(const uint8_t *key, const char *dir, const char *rel) {
    struct sfs_volume v;
    int st = load_volume(&v, key, dir, NULL, 0);
    if (st)
        return refuse(SFS_VOL_NAME, st);
    if ((st = sfs_vol_remove(&v, rel)))
        return refuse(rel, st);
    size_t len;
    if ((st = sfs_vol_serialize(&v, cb, serbuf, sizeof(serbuf), &len)))
        return refuse(SFS_VOL_NAME, st);
    write_atomic(dir, SFS_VOL_NAME, serbuf, len);
    char *path = join(dir, rel);
    if (unlink(path))
        die("unlink");
    free(path);
    print_hex(v.tag, 32);
    printf("\n");
    return 0;
}

/* Check one recorded file; 0 when it matches its entry. */
static int check_one(const uint8_t *key, const struct sfs_volume *v, const struct sfs_entry *e,
                     const char *rel, const char *path, int quiet) {
    int fd = open(path, O_RDONLY), st;
    if (fd < 0) {
        if (!quiet)
            fprintf(stderr, "%s: missing: file recorded in the volume is absent\n", rel);
        return 1;
    }
    if (e->kind == SFS_KIND_AUTHENTICATED) {
        st = sfs_vol_check_auth(v, cb, rel, &fd, fsize(fd));
    } else {
        void *mem = mem_for(CACHE);
        struct sfs_file *f;
        st = sfs_file_open(mem, sfs_file_mem_size(CACHE), CACHE, cb, &fd, fsize(fd), rel, key, 0,
                           &f);
        if (!st) {
            st = sfs_vol_check_file(v, rel, f);
            if (!st) {   /* every node's MAC, not just the root */
                static uint8_t buf[65536];
                size_t got;
                for (uint64_t off = 0; !st; off += got) {
                    st = sfs_file_read(f, off, buf, sizeof(buf), &got);
                    if (!got)
                        break;
                }
            }
            sfs_file_close(f);
        }
        free(mem);
    }
    close(fd);
    if (st && !quiet)
        refuse(rel, st);
    return st ? 1 : 0;
}

/* Each file is checked as recorded; when it does not match, its pending copy
 * (a commit stopped after the metadata, before the rename: FORMAT.md 3) is
 * the committed content if it matches. */
static int cmd_vol_verify(const uint8_t *key, const char *dir, const char *taghex) {
    uint8_t tag[32];
    if (taghex && hex(taghex, tag, 32)) {
        fprintf(stderr, "sfs_tool: tag must be 64 hex digits\n");
        return 2;
    }
    struct sfs_volume v;
    int st = load_volume(&v, key, dir, taghex ? tag : NULL, 0);
    if (st)
        return refuse(SFS_VOL_NAME, st);
    int bad = 0;
    for (uint32_t i = 0; i < v.count; i++) {
        struct sfs_entry e;
        sfs_vol_entry(&v, i, &e);
        char rel[SFS_PATH_MAX_SIZE];
        memcpy(rel, e.path, e.path_len);
        rel[e.path_len] = 0;
        char *path = join(dir, rel), *pending;
        char *slash = strrchr(rel, '/');
        if (asprintf(&pending, "%s/%.*s" ".scone-pending.%s", dir,
                     slash ? (int)(slash - rel + 1) : 0, rel, slash ? slash + 1 : rel) < 0)
            die("asprintf");
        if (check_one(key, &v, &e, rel, path, 1) &&
            (access(pending, F_OK) || check_one(key, &v, &e, rel, pending, 1)))
            bad |= check_one(key, &v, &e, rel, path, 0);
        free(path);
        free(pending);
    }
    if (bad)
        return 1;
    printf("ok %u ", v.count);
    print_hex(v.tag, 32);
    printf("\n");
    return 0;
}

int main(int argc, char **argv) {
    cb = host_callbacks();
    if (argc == 2 && !strcmp(argv[1], "names")) {   /* every status: number name */
        for (int i = 0; i < SFS__COUNT; i++)
            printf("%d %s\n", i, sfs_status_name(i));
        return 0;
    }
    uint8_t key[16];
    if (argc < 3 || hex(argv[2], key, 16)) {
        fprintf(stderr, "usage: sfs_tool enc|dec|ops|vol-add|vol-verify KEYHEX ...\n");
        return 2;
    }
    const char *c = argv[1];
    if (!strcmp(c, "enc") && (argc == 6 || argc == 7))
        return cmd_enc(key, argv[3], argv[4], argv[5], argc == 7 ? strtoul(argv[6], 0, 0) : 4096);
    if (!strcmp(c, "dec") && argc == 6)
        return cmd_dec(key, argv[3], argv[4], argv[5]);
    if (!strcmp(c, "ops") && argc == 7)
        return cmd_ops(key, argv[3], argv[4], argv[5], (unsigned)strtoul(argv[6], 0, 0));
    if (!strcmp(c, "vol-add") && argc == 7)
        return cmd_vol_add(key, argv[3], argv[4], argv[5], argv[6]);
    if (!strcmp(c, "vol-rm") && argc == 5)
        return cmd_vol_rm(key, argv[3], argv[4]);
    if (!strcmp(c, "vol-verify") && (argc == 4 || argc == 5))
        return cmd_vol_verify(key, argv[3], argc == 5 ? argv[4] : NULL);
    fprintf(stderr, "sfs_tool: bad arguments\n");
    return 2;
}
