/*
 * Ephemeral regions (DESIGN.md §8): files that live only in enclave memory,
 * for /tmp-like scratch; nothing of them reaches the host but a placeholder
 * descriptor (/dev/null, opened through the client) that keeps every
 * descriptor number unique and poll/select sane. Paths given here are
 * absolute and folded (shield.c). Linked only into enclaves whose signed
 * policy has an ephemeral region (scone-gcc names __scone_eph_fd_call):
 * shield.c reaches it through weak references.
 */
#ifndef SCONE_SHIELD_FS_EPHEMERAL_H
#define SCONE_SHIELD_FS_EPHEMERAL_H

#include <stddef.h>

#include "../../trusted/internal.h"

#ifndef SCONE_PATH_MAX
#define SCONE_PATH_MAX 4096
#endif

void __scone_eph_root(const char *prefix, size_t len) SCONE_HIDDEN __attribute__((weak));
long __scone_eph_open(const char *path, long flags, long mode) SCONE_HIDDEN __attribute__((weak));
/* stat family, access, truncate, mkdir, rmdir, unlink, chmod, utimensat, ... */
long __scone_eph_path_call(long nr, const long a[6], const char *path) SCONE_HIDDEN __attribute__((weak));
long __scone_eph_rename(long nr, const char *from, const char *to, long flags) SCONE_HIDDEN __attribute__((weak));
/* A call whose first argument is one of our descriptors. */
long __scone_eph_fd_call(long nr, const long a[6]) SCONE_HIDDEN __attribute__((weak));
/* dup2/dup3 of a host descriptor onto one of ours. */
long __scone_eph_dup_onto(long nr, const long a[6]) SCONE_HIDDEN __attribute__((weak));
long __scone_eph_close_range(const long a[6]) SCONE_HIDDEN __attribute__((weak));
long __scone_eph_mmap(const long a[6]) SCONE_HIDDEN __attribute__((weak));
/* The path of the directory or file fd names. */
long __scone_eph_fd_path(long fd, char *out, size_t *n) SCONE_HIDDEN __attribute__((weak));

#endif
