/*
 * The exit: a system call leaves the enclave, the host runs it, and the
 * next entry (RESUME) brings back the result.
 *
 * This is the raw door; it neither copies nor checks. External calls reach
 * it from the client (client.c) with arena pointers only, and their results
 * are checked there against the call's contract (marshal.c). The runtime's
 * own calls through it pass scalars or host addresses (futex words in the
 * syscall area, this block for clock_gettime) and treat what comes back as
 * an untrusted value. Only a bare entry with no syscall area (SIM, tests
 * driving the protocol by hand) passes a program's pointers as they are.
 */
#include "client.h"

long __scone_ocall(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	struct scone_ocall *o = __scone_host_ocall();
	o->nr = nr;
	o->args[0] = a0;
	o->args[1] = a1;
	o->args[2] = a2;
	o->args[3] = a3;
	o->args[4] = a4;
	o->args[5] = a5;
	o->ret = 0;
	return __scone_ocall_exit(o);
}

_Noreturn void __scone_exit(int status)
{
	__scone_client_report();
	__scone_hwm_finish();
	__scone_eexit(SCONE_EXIT_DONE, (uint64_t)(status & 0xff));
}

/*
 * The message travels in host memory, which only the host can provide: ask
 * it for an anonymous page. Before START has a host ocall block, the host
 * gets no message (value 0) and says so itself.
 */
_Noreturn void __scone_abort(const char *msg)
{
	uint64_t page = 0;
	__scone_hwm_finish();
	if (__scone_rt.host_ocall && __scone_host_ocall()) {
		long p = __scone_ocall(9 /* mmap */, 0, 4096, 3 /* RW */,
				       0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);
		if (p > 0 && __scone_host_range((uint64_t)p, sizeof(struct scone_abort))) {
			struct scone_abort *a = (struct scone_abort *)p;
			size_t n = __scone_strlen(msg);
			if (n > sizeof a->message - 1)
				n = sizeof a->message - 1;
			__scone_memcpy(a->message, msg, n);
			a->message[n] = 0;
			page = (uint64_t)p;
		}
	}
	__scone_eexit(SCONE_EXIT_ABORT, page);
}
