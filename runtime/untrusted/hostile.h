/*
 * A hostile host, for tests only: built into a separate starter with
 * -DSCONE_HOSTILE (tests/async builds it from these sources), never into
 * the shipped one, where these hooks are empty. SCONE_HOSTILE picks the
 * lie (hostile.c).
 */
#ifndef SCONE_HOSTILE_H
#define SCONE_HOSTILE_H

#include <stdint.h>

#include <scone/enclave_abi.h>
#include <scone/queue_abi.h>

#ifdef SCONE_HOSTILE
long scone_hostile_result(const struct scone_request *r, long ret);
long scone_hostile_ocall(const struct scone_ocall *o, long ret);
void scone_hostile_respond(int64_t nr, struct scone_queue_pair *qp, struct scone_response *rsp,
			   uint32_t mask, uint32_t *rsp_tail);
void scone_hostile_start(struct scone_start_args *args, struct scone_syscall_area *area,
			 uint64_t base, uint64_t size);
uint64_t scone_hostile_ethread(uint64_t ocall);
const char *scone_hostile_exe(void);
#else
static inline long scone_hostile_result(const struct scone_request *r, long ret)
{
	(void)r;
	return ret;
}
static inline long scone_hostile_ocall(const struct scone_ocall *o, long ret)
{
	(void)o;
	return ret;
}
static inline void scone_hostile_respond(int64_t nr, struct scone_queue_pair *qp, struct scone_response *rsp,
					 uint32_t mask, uint32_t *rsp_tail)
{
	(void)nr, (void)qp, (void)rsp, (void)mask, (void)rsp_tail;
}
static inline void scone_hostile_start(struct scone_start_args *args, struct scone_syscall_area *area,
				       uint64_t base, uint64_t size)
{
	(void)args, (void)area, (void)base, (void)size;
}
static inline uint64_t scone_hostile_ethread(uint64_t ocall)
{
	return ocall;
}
static inline const char *scone_hostile_exe(void)
{
	return "/proc/self/exe";
}
#endif

#endif
