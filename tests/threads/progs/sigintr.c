/* A handled signal ends a blocked call as Linux does (signal(7)), and the
 * handler has run by the time the call returns. One line per case; the
 * same program built natively gives the expected output.
 *   read-eintr      SIGALRM (no SA_RESTART) interrupts read on an empty pipe
 *   read-restart    with SA_RESTART the read goes on and gets the late byte
 *   pause           pause() returns EINTR
 *   sigsuspend      sigsuspend() with SIGALRM blocked outside it
 *   nanosleep       EINTR with about 4 s of 5 left
 *   pthread_kill    a thread blocked in read gets its own signal; main
 *                   blocked in read on another pipe is left alone
 *   to-worker       kill() of the process while main blocks the signal: the
 *                   worker, which does not, is the one interrupted
 *   cancel-read     pthread_cancel of a thread blocked in read acts at once */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t hits;

static void on_sig(int sig)
{
	(void)sig;
	hits++;
}

static void handle(int sig, int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sig;
	sa.sa_flags = flags;
	sigaction(sig, &sa, 0);
}

static void report(const char *name, long r, int seen)
{
	printf("%s: %ld %s handler=%d\n", name, r, r < 0 ? strerror(errno) : "-", seen);
	fflush(stdout);
}

static void *read_forever(void *arg)
{
	char c;
	return (void *)(long)read(*(int *)arg, &c, 1);
}

static void *late_byte(void *arg)
{
	sleep(2);
	if (write(*(int *)arg, "z", 1) != 1)
		_exit(4);
	return 0;
}

struct blocked_read {
	int fd;
	long r;
	int err, seen;
};

static void *reader(void *arg)
{
	struct blocked_read *b = arg;
	char c;
	b->r = read(b->fd, &c, 1);
	b->err = errno;
	b->seen = hits;
	return 0;
}

int main(void)
{
	int p[2], q[2];
	char c;
	long r;
	if (pipe(p) || pipe(q))
		return 1;

	handle(SIGALRM, 0);
	hits = 0;
	alarm(1);
	r = read(p[0], &c, 1);
	report("read-eintr", r, hits);

	handle(SIGALRM, SA_RESTART);
	hits = 0;
	pthread_t t;
	pthread_create(&t, 0, late_byte, &p[1]);
	alarm(1);
	r = read(p[0], &c, 1);
	report("read-restart", r, hits);
	pthread_join(t, 0);

	handle(SIGALRM, 0);
	hits = 0;
	alarm(1);
	r = pause();
	report("pause", r, hits);

	sigset_t block, none;
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	sigemptyset(&none);
	sigprocmask(SIG_BLOCK, &block, 0);
	hits = 0;
	alarm(1);
	r = sigsuspend(&none);
	report("sigsuspend", r, hits);
	sigprocmask(SIG_UNBLOCK, &block, 0);

	hits = 0;
	alarm(1);
	struct timespec req = { 5, 0 }, rem = { 0, 0 };
	r = nanosleep(&req, &rem);
	long left = rem.tv_sec * 1000 + rem.tv_nsec / 1000000;
	report("nanosleep", r, hits);
	printf("nanosleep: about 4 s left: %s\n", left > 2500 && left < 4500 ? "yes" : "no");

	/* The worker blocks in read; main sends it SIGUSR1 and then blocks
	 * itself: only the worker's read is interrupted. */
	handle(SIGUSR1, 0);
	hits = 0;
	struct blocked_read w = { .fd = q[0] };
	pthread_create(&t, 0, reader, &w);
	usleep(300000);
	pthread_kill(t, SIGUSR1);
	pthread_join(t, 0);
	errno = w.err;
	report("pthread_kill", w.r, w.seen);

	/* Process-directed SIGUSR2 while main blocks it: the worker gets it. */
	handle(SIGUSR2, 0);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	hits = 0;
	w = (struct blocked_read){ .fd = q[0] };
	pthread_create(&t, 0, reader, &w);
	usleep(300000);
	pthread_sigmask(SIG_BLOCK, &block, 0);
	kill(getpid(), SIGUSR2);
	pthread_join(t, 0);
	errno = w.err;
	report("to-worker", w.r, w.seen);

	void *res;
	pthread_create(&t, 0, read_forever, &q[0]);
	usleep(300000);
	pthread_cancel(t);
	pthread_join(t, &res);
	printf("cancel-read: %s\n", res == PTHREAD_CANCELED ? "canceled" : "returned");
	return 0;
}
