/*
 * Marshalling of external system calls (DESIGN.md §5, issue 4 item 1),
 * driven by the descriptors generated from scone_cc/syscalls/syscalls.tbl
 * (runtime/include/scone/syscall_table.h): pointer arguments are copied
 * into an arena of host memory, the host runs the call on the arena, and
 * the results are checked, then copied back.
 *
 * Copy, check, use: every value the host can change (a returned length, a
 * msghdr field it wrote) is read from the arena once into trusted memory,
 * checked there, and only the checked copy is used. Lengths that bound a
 * copy back come from this struct (trusted), never from the arena. A host
 * answer that breaks the call's contract aborts the enclave.
 *
 * This file and marshal*.c depend on nothing but the table, __scone_memcpy,
 * __scone_abortf and __scone_log, so a host test harness can build them
 * under sanitizers and feed them hostile answers.
 */
#ifndef SCONE_TRUSTED_MARSHAL_H
#define SCONE_TRUSTED_MARSHAL_H

#include <stddef.h>
#include <stdint.h>

#include <scone/syscall_table.h>

#define SCONE_HIDDEN_M __attribute__((visibility("hidden")))

#define SCONE_IOV_MAX 1024u          /* UIO_MAXIOV */
#define SCONE_SOCKADDR_MAX 128u      /* sizeof(struct sockaddr_storage) */
/* The largest descriptor Linux hands out: sysctl_nr_open_max (fs/file.c). */
#define SCONE_FD_LIMIT 0x7fffffc0l

enum { SCONE_M_OUT, SCONE_M_BACK };

struct scone_marshal {
	long nr;
	const struct scone_sys_desc *d;
	long app[6];               /* the caller's arguments (enclave pointers) */
	long host[6];              /* what the host gets (arena pointers), clamped counts */
	char *arena;               /* host memory */
	size_t cap;                /* arena bytes */
	size_t used;               /* bytes handed out so far */
	int phase;                 /* SCONE_M_OUT or SCONE_M_BACK */
	int clamped;               /* OUT: an iovec was cut to the arena's room */
	long ret;                  /* BACK: the checked result */
	size_t start[6];           /* arena offset where each argument's area starts */
	size_t len[6];             /* bytes reserved for a plain buffer argument */
	uint64_t total[6];         /* iov/msg arguments: data bytes the host may return */
	uint8_t dkind[6];          /* ioctl/fcntl/semun: decoded SCONE_ARG_IN/OUT/INOUT/INT */
	uint32_t dsize[6];         /* ... and its size */
};

/*
 * Copy the arguments of call nr (described by d) out into arena[0, cap).
 * Returns 0, or -errno for the caller (then nothing may be posted).
 */
long __scone_marshal_out(struct scone_marshal *m, long nr, const struct scone_sys_desc *d,
			 const long args[6], void *arena, size_t cap) SCONE_HIDDEN_M;

/*
 * Check the host's result of the call marshalled in m and copy the results
 * back into the caller's buffers. Returns the result (musl's -errno
 * convention); aborts the enclave on an answer the call cannot give.
 */
long __scone_marshal_back(struct scone_marshal *m, long ret) SCONE_HIDDEN_M;

/* marshal.c, for marshal_msg.c and marshal_dyn.c */
char *__scone_m_take(struct scone_marshal *m, size_t n, size_t align) SCONE_HIDDEN_M;
size_t __scone_m_room(const struct scone_marshal *m, size_t align) SCONE_HIDDEN_M;
_Noreturn void __scone_m_broken(const struct scone_marshal *m, const char *what,
				unsigned long got, unsigned long limit) SCONE_HIDDEN_M;

/* marshal_msg.c: iovec arrays, msghdr, mmsghdr, SysV msgbuf, pselect6's sigmask. */
long __scone_m_iov(struct scone_marshal *m, int i, int out) SCONE_HIDDEN_M;
long __scone_m_msg(struct scone_marshal *m, int i, int out) SCONE_HIDDEN_M;
long __scone_m_mmsg(struct scone_marshal *m, int i, int out) SCONE_HIDDEN_M;
long __scone_m_msgbuf(struct scone_marshal *m, int i, int out) SCONE_HIDDEN_M;
long __scone_m_sigmask6(struct scone_marshal *m, int i) SCONE_HIDDEN_M;

/* marshal_dyn.c: what an ioctl/fcntl/semctl argument is, from its request. */
void __scone_m_decode(struct scone_marshal *m, int i) SCONE_HIDDEN_M;

#endif
