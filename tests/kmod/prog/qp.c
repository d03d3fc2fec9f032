/*
 * Queue operations following the ordering contract of queue_abi.h: the
 * producer writes the slot, then stores tail with release; the consumer
 * loads tail with acquire, copies the slot out, then stores head with
 * release; the producer loads head with acquire before reusing a slot.
 */
#include "qp.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define LOAD_OWN(p) __atomic_load_n((p), __ATOMIC_RELAXED)

int kt_qp_alloc(struct kt_qp *q, uint32_t entries)
{
	size_t bytes = scone_queue_pair_bytes(entries);
	void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED)
		return -errno;
	memset(q, 0, sizeof(*q));
	q->hdr = mem;
	q->req = (struct scone_request *)((char *)mem + SCONE_QUEUE_REQ_OFFSET);
	q->rsp = (struct scone_response *)(q->req + entries);
	q->entries = entries;
	q->hdr->magic = SCONE_QUEUE_MAGIC;
	q->hdr->version = SCONE_QUEUE_VERSION;
	q->hdr->entries = entries;
	return 0;
}

void kt_qp_free(struct kt_qp *q)
{
	if (q->hdr)
		munmap(q->hdr, scone_queue_pair_bytes(q->entries));
	q->hdr = NULL;
}

bool kt_qp_post(struct kt_qp *q, const struct scone_request *r)
{
	uint32_t tail = LOAD_OWN(&q->hdr->req_tail.value);
	uint32_t head = LOAD_ACQ(&q->hdr->req_head.value);

	if (tail - head >= q->entries)
		return false;
	q->req[tail & (q->entries - 1)] = *r;
	STORE_REL(&q->hdr->req_tail.value, tail + 1);
	return true;
}

bool kt_qp_take_response(struct kt_qp *q, struct scone_response *out)
{
	uint32_t head = LOAD_OWN(&q->hdr->rsp_head.value);
	uint32_t tail = LOAD_ACQ(&q->hdr->rsp_tail.value);

	if (tail == head)
		return false;
	*out = q->rsp[head & (q->entries - 1)];
	STORE_REL(&q->hdr->rsp_head.value, head + 1);
	return true;
}

bool kt_qp_take_request(struct kt_qp *q, struct scone_request *out)
{
	uint32_t head = LOAD_OWN(&q->hdr->req_head.value);
	uint32_t tail = LOAD_ACQ(&q->hdr->req_tail.value);

	if (tail == head)
		return false;
	*out = q->req[head & (q->entries - 1)];
	STORE_REL(&q->hdr->req_head.value, head + 1);
	return true;
}

void kt_qp_post_response(struct kt_qp *q, const struct scone_response *r)
{
	uint32_t tail = LOAD_OWN(&q->hdr->rsp_tail.value);

	/* One response per request taken: the ring cannot be fuller than req. */
	while (tail - LOAD_ACQ(&q->hdr->rsp_head.value) >= q->entries)
		__builtin_ia32_pause();
	q->rsp[tail & (q->entries - 1)] = *r;
	STORE_REL(&q->hdr->rsp_tail.value, tail + 1);
}

bool kt_qp_request_pending(struct kt_qp *q)
{
	return LOAD_ACQ(&q->hdr->req_tail.value) !=
	       LOAD_ACQ(&q->hdr->req_head.value);
}

uint32_t kt_qp_sthread_state(struct kt_qp *q)
{
	return LOAD_ACQ(&q->hdr->sthread_state.value);
}
