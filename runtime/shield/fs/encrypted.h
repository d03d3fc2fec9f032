/*
 * Encrypted and authenticated regions (DESIGN.md §8): each region's root
 * directory is a volume of files in Gramine's encrypted-file format, or in
 * clear under a SHA-256 (fs/FORMAT.md), driven through fs/sfs.h with host
 * I/O over the client and crypto over the shields' crypto API. Linked only
 * for a policy with such regions (shield.c reaches it through weak
 * references).
 */
#ifndef SCONE_SHIELD_FS_ENCRYPTED_H
#define SCONE_SHIELD_FS_ENCRYPTED_H

#include <stddef.h>

#include "../../trusted/internal.h"

/* START: an encrypted or authenticated region (prefix, len), the volume's
 * signed expected tag (0: none) and the environment (debug keys). */
int __scone_enc_region(int region, const char *prefix, size_t len, int authenticated,
		       const uint8_t *fixed_tag, int key_source, int debug, char **envp,
		       const struct scone_sim_seal *seal)
	__attribute__((weak));
/* open/openat/creat of path in region: 1 + fd, 0 = not ours (a directory), -errno. */
long __scone_enc_open(int region, const char *path, long flags, long mode, int *handled)
	__attribute__((weak));
/* stat family and unlink/rename on a path in region; *handled = 0: the host's. */
long __scone_enc_path_call(int region, long nr, const long a[6], const char *path, int *handled)
	__attribute__((weak));
/* rename/renameat/renameat2 of a file within region: a copy bound to the new path. */
long __scone_enc_rename(int region, const char *from, const char *to, long flags) __attribute__((weak));
/* A call whose first argument is one of our descriptors. */
long __scone_enc_fd_call(long nr, const long a[6]) __attribute__((weak));
int __scone_enc_owns(long fd) __attribute__((weak));
void __scone_enc_release(long fd) __attribute__((weak));
void __scone_enc_exit(void) __attribute__((weak));
/*
 * The attestation client (shield/cas), before main: the key and expected
 * tag (NULL: none yet) the CAS holds for the volume whose root is prefix.
 * 0, or -1 when no encrypted region has that root or it is in use already.
 */
int __scone_enc_set_volume_key(const char *prefix, const uint8_t key[16], const uint8_t *tag)
	__attribute__((weak));
/* Called after each commit of a volume with its new tag; nonzero = the tag
 * did not reach the CAS, and the commit reports EIO (shield/cas defines it). */
int __scone_enc_commit_hook(const char *root, const uint8_t tag[32]) __attribute__((weak));
/* The symbol the driver names (-u) to link this part. */
extern int __scone_enc_call __attribute__((weak));

#endif
