/*
 * The lies of the hostile host (hostile.h), one per SCONE_HOSTILE mode,
 * each aimed at one call of tests/async/progs/victim.c so that start-up
 * is left alone:
 *   size     read returns more bytes than asked
 *   iov      readv returns more bytes than its iovecs hold
 *   fd       dup returns a descriptor no kernel hands out
 *   zero     close returns a positive value
 *   socklen  getsockname writes a socklen_t larger than any sockaddr
 *   msg      recvmsg writes msg_controllen beyond the control buffer
 *   garbage  uname fills its buffer, and the arena beyond it, with 'A'
 *   cookie   the response to getppid carries a flipped cookie
 *   index    getppid is answered twice (a response with no request)
 *   status   the response to getppid goes to a slot the enclave never used
 *   signal   SIGUSR2 is forwarded though the enclave never asked (signals.c)
 * SCONE_HOSTILE_EXE names the scone binary whose enclave this starter runs.
 */
#ifdef SCONE_HOSTILE
#include <stdlib.h>
#include <string.h>

#include "hostile.h"

static int mode(const char *m)
{
	const char *v = getenv("SCONE_HOSTILE");
	return v && !strcmp(v, m);
}

const char *scone_hostile_exe(void)
{
	const char *p = getenv("SCONE_HOSTILE_EXE");
	return p && *p ? p : "/proc/self/exe";
}

long scone_hostile_result(const struct scone_request *r, long ret)
{
	const int64_t *a = r->args;
	if (r->nr == 0 && mode("size") && ret >= 0)
		return a[2] + 4096;
	if (r->nr == 19 && mode("iov") && ret >= 0) {
		const uint64_t *v = (const uint64_t *)a[1];
		long total = 0;
		for (int64_t i = 0; i < a[2]; i++)
			total += (long)v[2 * i + 1];
		return total + 1;
	}
	if (r->nr == 32 && mode("fd"))
		return 0x7ffffff0;
	if (r->nr == 3 && mode("zero"))
		return 5;
	if (r->nr == 51 && mode("socklen") && ret == 0)
		*(uint32_t *)a[2] = 4096;
	if (r->nr == 47 && mode("msg") && ret >= 0) {
		uint64_t *msg = (uint64_t *)a[1];
		msg[5] = 1u << 20;  /* msg_controllen: far past the buffer */
	}
	if (r->nr == 63 && mode("garbage"))
		memset((void *)a[0], 'A', 4096);
	return ret;
}

void scone_hostile_respond(int64_t nr, struct scone_queue_pair *qp, struct scone_response *rsp,
			   uint32_t mask, uint32_t *rsp_tail)
{
	(void)qp;
	struct scone_response *last = &rsp[(*rsp_tail - 1) & mask];
	static int done;
	if (done)
		return;
	if (mode("cookie") && nr == 110) {
		last->cookie ^= 1ull << 40;
		done = 1;
	} else if (mode("index") && nr == 110) {
		rsp[*rsp_tail & mask] = *last;
		++*rsp_tail;
		done = 1;
	} else if (mode("status") && nr == 110) {
		last->cookie = (last->cookie & ~0xffffffffull) | ((last->cookie + 1) & mask);
		done = 1;
	}
}
#endif
