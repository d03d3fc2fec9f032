/*
 * Both ends of one queue pair as queue_abi.h specifies them: the enclave
 * end (post requests, take responses) and the sthread end (take requests,
 * post responses). The test program plays both roles itself.
 */
#ifndef KT_QP_H
#define KT_QP_H

#include <stdbool.h>
#include <stdint.h>

#include <scone/queue_abi.h>

struct kt_qp {
	struct scone_queue_pair *hdr;
	struct scone_request *req;
	struct scone_response *rsp;
	uint32_t entries;
};

/* mmap(MAP_SHARED | MAP_ANONYMOUS) a pair and fill its header; 0 or -errno. */
int kt_qp_alloc(struct kt_qp *q, uint32_t entries);
void kt_qp_free(struct kt_qp *q);

/* enclave end */
bool kt_qp_post(struct kt_qp *q, const struct scone_request *r);
bool kt_qp_take_response(struct kt_qp *q, struct scone_response *out);

/* sthread end */
bool kt_qp_take_request(struct kt_qp *q, struct scone_request *out);
void kt_qp_post_response(struct kt_qp *q, const struct scone_response *r);
bool kt_qp_request_pending(struct kt_qp *q);

uint32_t kt_qp_sthread_state(struct kt_qp *q);

#endif
