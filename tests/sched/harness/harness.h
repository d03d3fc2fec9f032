/* The scheduler's host test harness: a static musl program whose
 * __scone_syscall routes what the enclave dispatcher will route to the
 * scheduler, with "ethreads" and stand-in sthreads as raw OS threads. */
#ifndef HARNESS_H
#define HARNESS_H

#include <stddef.h>

#include "scone_sched.h"
#include "wait.h"

void *harness_alloc(size_t size);
void harness_kick_sleepers(void);
long harness_ext_call(long nr, const long a[6]);
int harness_ext_pending(void);
void harness_start_sthreads(void);

/* The program under test: runs as the main lthread. */
int test_main(int argc, char **argv);

#endif
