/* FUTEX_LOCK_PI against an owner that releases the word in user space and
 * exits while the caller looks at it: the kernel re-reads the word
 * (handle_exit_race) and answers ESRCH only for a word that still names a
 * thread that is gone. Threads that take the lock a few times and exit,
 * over many rounds, with musl's user-space protocol (CAS 0 -> tid, else
 * FUTEX_LOCK_PI; CAS tid -> 0, else FUTEX_UNLOCK_PI). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FUTEX_LOCK_PI 6
#define FUTEX_UNLOCK_PI 7
#define FUTEX_PRIVATE_FLAG 128

static volatile int word;
static int counter, errors;

static void *take_a_few(void *arg)
{
	int tid = (int)syscall(SYS_gettid);
	for (int i = 0; i < 2000; i++) {
		if (!__sync_bool_compare_and_swap(&word, 0, tid)) {
			long r = syscall(SYS_futex, &word, FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG, 0, 0);
			if (r) {
				/* Not under the lock: count it and stop. */
				__sync_fetch_and_add(&errors, 1);
				printf("FUTEX_LOCK_PI: errno %d\n", errno);
				return arg;
			}
		}
		int c = counter;
		if (i % 64 == 0)
			sched_yield();
		counter = c + 1;
		if (!__sync_bool_compare_and_swap(&word, tid, 0) &&
		    syscall(SYS_futex, &word, FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG, 0, 0)) {
			__sync_fetch_and_add(&errors, 1);
			printf("FUTEX_UNLOCK_PI: errno %d\n", errno);
		}
	}
	return arg;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, 0, _IOLBF, 0);
	int rounds = argc > 1 ? atoi(argv[1]) : 5000, bad = 0;
	for (int round = 0; round < rounds && !errors; round++) {
		pthread_t t[4];
		counter = 0;
		for (int i = 0; i < 4; i++)
			pthread_create(&t[i], 0, take_a_few, 0);
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], 0);
		bad += counter != 8000;
	}
	printf("rounds with a wrong count: %d, errors: %d\n", bad, errors);
	return 0;
}
