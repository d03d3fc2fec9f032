/* Internal calls served in the enclave that are neither memory nor threads:
 * they never leave with an enclave pointer (misc.c, signal.c). */
#ifndef SCONE_TRUSTED_MISC_H
#define SCONE_TRUSTED_MISC_H

#include "internal.h"

long __scone_sys_msync(unsigned long addr, unsigned long len, long flags) SCONE_HIDDEN;
long __scone_sys_mincore(unsigned long addr, unsigned long len, unsigned char *vec) SCONE_HIDDEN;
long __scone_sys_prctl(long option, long a2, long a3, long a4, long a5) SCONE_HIDDEN;

long __scone_sys_rt_sigpending(void *set, unsigned long size) SCONE_HIDDEN;
long __scone_sys_rt_sigtimedwait(const void *set, void *info, const void *timeout, unsigned long size) SCONE_HIDDEN;
long __scone_sys_rt_sigsuspend(const void *set, unsigned long size) SCONE_HIDDEN;
long __scone_sys_sigaltstack(const void *ss, void *old) SCONE_HIDDEN;
/* tkill (tgid -1) and tgkill of a thread of this enclave. */
long __scone_sys_tgkill(long tgid, long tid, long sig) SCONE_HIDDEN;

/* sleep.c: sleeps a pthread_cancel can end. */
long __scone_sys_clock_nanosleep(long clock, long flags, const void *req, void *rem) SCONE_HIDDEN;
long __scone_sys_nanosleep(const void *req, void *rem) SCONE_HIDDEN;

#endif
