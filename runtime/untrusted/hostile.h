/*
 * A hostile host, for tests only: built into a separate starter with
 * -DSCONE_HOSTILE (tests/async builds it from these sources), never into
 * the shipped one, where these hooks are empty. SCONE_HOSTILE=MODE picks
 * the lie (hostile.c).
 */
#ifndef SCONE_HOSTILE_H
#define SCONE_HOSTILE_H

#include <stdint.h>

#include <scone/queue_abi.h>

#ifdef SCONE_HOSTILE
long scone_hostile_result(const struct scone_request *r, long ret);
void scone_hostile_respond(int64_t nr, struct scone_queue_pair *qp, struct scone_response *rsp,
			   uint32_t mask, uint32_t *rsp_tail);
const char *scone_hostile_exe(void);
#else
static inline long scone_hostile_result(const struct scone_request *r, long ret)
{
	(void)r;
	return ret;
}
static inline void scone_hostile_respond(int64_t nr, struct scone_queue_pair *qp, struct scone_response *rsp,
					 uint32_t mask, uint32_t *rsp_tail)
{
	(void)nr, (void)qp, (void)rsp, (void)mask, (void)rsp_tail;
}
static inline const char *scone_hostile_exe(void)
{
	return "/proc/self/exe";
}
#endif

#endif
