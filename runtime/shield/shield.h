/*
 * The shield layer's one door (DESIGN.md §8). The dispatcher asks here
 * first, for every external call on a path or a descriptor, once a signed
 * file-system policy exists (__scone_shield_on); what the shields do not
 * own goes on as before. The shields reach the host only through
 * __scone_shield_host, the dispatcher's own external path (the client).
 */
#ifndef SCONE_SHIELD_H
#define SCONE_SHIELD_H

#include <stdint.h>

#include "../trusted/internal.h"

#define SCONE_SHIELD_FDS 4096
#ifndef SCONE_PATH_MAX
#define SCONE_PATH_MAX 4096         /* PATH_MAX: a resolved path with its NUL */
#endif      /* descriptors a shield can own: 0..FDS-1 */

/* Nonzero once START found a policy: the only cost without one. */
extern int __scone_shield_on SCONE_HIDDEN;
/* fd -> nonzero when a shield owns it: 1 ephemeral, 2 encrypted (lazily
 * allocated with the policy). */
extern uint8_t *__scone_shield_fdflag SCONE_HIDDEN;

/* START: read the measured policy from the config page. */
/* START: read the measured policy from the config page; sim_seal: SIM's
 * struct scone_sim_seal (host memory) or 0. */
void __scone_shield_init(char **envp, uint64_t sim_seal) SCONE_HIDDEN;

/*
 * The door: *handled = 1 and the result when a shield served call nr,
 * *handled = 0 when the call goes on to the host unchanged.
 */
long __scone_shield_call(long nr, const long a[6], int *handled) SCONE_HIDDEN;

/* A call on a descriptor a shield owns, served by that shield (the file
 * maps' own calls on a mapped protected file). */
long __scone_shield_fd_call(long nr, const long a[6]) SCONE_HIDDEN;

/* mmap of a descriptor a shield owns (dispatch case 9). */
long __scone_shield_mmap(const long a[6]) SCONE_HIDDEN;

/* The region mode (enum scone_fs_mode) of an absolute path; -1 if the
 * path cannot be resolved. For the attestation client, which writes
 * injected files only into protected regions. */
int __scone_shield_path_mode(const char *path) SCONE_HIDDEN;

/* exit: commit what must be committed. */
void __scone_shield_exit(void) SCONE_HIDDEN;

/* dispatch.c: one external call through the client (and the file maps). */
long __scone_shield_host(long nr, const long a[6]) SCONE_HIDDEN;

/* proc.c: /proc/meminfo, served whether or not a policy exists. */
extern int __scone_proc_fds SCONE_HIDDEN;
long __scone_proc_call(long nr, const long a[6], int *handled) SCONE_HIDDEN;
int __scone_proc_owns(long fd) SCONE_HIDDEN;

/* shield.c: (dirfd, path) folded into an absolute path in out
 * (SCONE_PATH_MAX bytes): 0 or -errno. */
long __scone_shield_abspath(long dirfd, const char *path, char *out) SCONE_HIDDEN;

/* Whether the dispatcher asks the door about call nr: a policy, an open
 * /proc file, or a call that may open one (or move the working directory
 * relative paths are resolved against). */
static inline int __scone_shield_wants(long nr)
{
	return __scone_shield_on || __scone_proc_fds || nr == 2 || nr == 257 || nr == 80 || nr == 81;
}

static inline int __scone_shield_owns_fd(long fd)
{
	return (unsigned long)fd < SCONE_SHIELD_FDS && __scone_shield_fdflag[fd];
}

#endif
