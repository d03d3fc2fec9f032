/*
 * The harness's dispatcher: the routing the enclave's dispatcher is to
 * adopt (see the scheduler's wiring notes), the rest executed natively, and
 * read/write/readv/writev/poll as stand-in external calls.
 */
#include "harness.h"
#include "raw.h"

struct frame {
	long nr, a[6];
	uint64_t rbx, rbp, r12, r13, r14, r15;
};

#define ARCH_SET_FS 0x1002

long harness_dispatch(struct frame *f);
long harness_dispatch(struct frame *f)
{
	long *a = f->a;
	if (!__scone_sched_active())
		return raw6(f->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	switch (f->nr) {
	case 56: {
		struct scone_clone_regs r = {
			(uint64_t)a[0], (uint64_t)a[1], (uint64_t)a[2], (uint64_t)a[3],
			(uint64_t)a[4], (uint64_t)a[5], f->rbx, f->rbp, f->r12, f->r13, f->r14, f->r15,
		};
		return __scone_sched_clone(&r);
	}
	case 202:
		return __scone_sched_futex((uint32_t *)a[0], a[1], (uint32_t)a[2], (uintptr_t)a[3],
					 (uint32_t *)a[4], (uint32_t)a[5]);
	case 35:
		return __scone_sched_nanosleep((const void *)a[0], (void *)a[1]);
	case 230:
		return __scone_sched_clock_nanosleep(a[0], a[1], (const void *)a[2], (void *)a[3]);
	case 24:
		return __scone_sched_yield();
	case 60:
		__scone_sched_exit((int)a[0]);
	case 1024:
		__scone_sched_unmapself((uintptr_t)a[0], (size_t)a[1]);
	case 218:
		return __scone_sched_set_tid_address((int *)a[0]);
	case 186:
		return __scone_sched_gettid();
	case 158:
		if (a[0] == ARCH_SET_FS) {
			__scone_sched_set_fs((uint64_t)a[1]);
			return 0;
		}
		break;
	case 0: case 1: case 7: case 19: case 20:
		return harness_ext_call(f->nr, a);
	}
	return raw6(f->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
