/*
 * File mappings in the enclave (filemap.c): every mmap of a file is an
 * enclave copy of the file range, recorded here so that the copy stays what
 * Linux's page cache would show this process. memory.c owns the pages and
 * calls in around mmap/munmap/mremap; dispatch.c routes the descriptor calls
 * through __scone_fmap_external while any mapping exists.
 */
#ifndef SCONE_TRUSTED_FILEMAP_H
#define SCONE_TRUSTED_FILEMAP_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Nonzero while some file mapping exists (a relaxed read, for the fast path). */
int __scone_fmap_active(void) SCONE_HIDDEN;

/*
 * Fill the fresh pages [p, p + len) with the file range of fd at off and
 * record the mapping. 0, or -errno (then nothing is recorded and the
 * caller frees the pages): -ENODEV for a writable shared mapping that
 * overlaps another mapping of the same range of the file (two enclave
 * copies could not stay coherent), -ENOMEM when the table is full.
 */
long __scone_fmap_add(uintptr_t p, size_t len, long prot, long flags, long fd, long off) SCONE_HIDDEN;

/* munmap/MAP_FIXED: write back the writable shared part of [addr, addr + len)
 * and forget it (records are trimmed or split). */
void __scone_fmap_unmap(uintptr_t addr, size_t len) SCONE_HIDDEN;

/* msync: write back the writable shared mappings inside [addr, addr + len). */
long __scone_fmap_sync(uintptr_t addr, size_t len) SCONE_HIDDEN;

/*
 * mremap: is [old, old + oldlen) a file mapping? 0: no part of it is;
 * 1: exactly one whole record; -1: part of one (not supported).
 */
int __scone_fmap_lookup(uintptr_t old, size_t oldlen) SCONE_HIDDEN;
/* ... and after memory.c moved or grew it: the record follows, the new
 * tail is read from the file. */
void __scone_fmap_moved(uintptr_t old, size_t oldlen, uintptr_t now, size_t newlen) SCONE_HIDDEN;

/* exit: write every writable shared mapping back. */
void __scone_fmap_flush_all(void) SCONE_HIDDEN;

/*
 * An external call while mappings exist: reads of a mapped file see the
 * mapping, writes reach every copy, the runtime's own descriptors stay
 * hidden from close/dup2/dup3.
 */
long __scone_fmap_external(long nr, const long a[6]) SCONE_HIDDEN;
/* The same for a call on a descriptor the shield owns, served by it. */
long __scone_fmap_through(long nr, const long a[6]) SCONE_HIDDEN;

#endif
