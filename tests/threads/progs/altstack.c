/* sigaltstack(2) and SA_ONSTACK: where handlers run and what sigaltstack
 * reports, printed for comparison with the same program built natively. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *alt;
static size_t alt_size = 1 << 16;
static volatile int ran;
static volatile int on_alt, reported, eperm;

static const char *flags_name(int f)
{
	return f == SS_ONSTACK ? "SS_ONSTACK" : f == SS_DISABLE ? "SS_DISABLE" : f == 0 ? "0" : "other";
}

static void handler(int sig)
{
	(void)sig;
	char here;
	on_alt = &here >= alt && &here < alt + alt_size;
	stack_t o;
	sigaltstack(0, &o);
	reported = o.ss_flags;
	stack_t n = { .ss_sp = alt, .ss_size = alt_size };
	eperm = sigaltstack(&n, 0) ? errno : 0;
	ran++;
}

static void report(const char *what)
{
	printf("%s: ran %d, on the alternate stack %d, reports %s, set while on it %s\n", what, ran,
	       on_alt, flags_name(reported), eperm == EPERM ? "EPERM" : eperm ? "error" : "0");
	ran = on_alt = reported = eperm = 0;
}

static void query(const char *what)
{
	stack_t o;
	int r = sigaltstack(0, &o);
	printf("%s: %d flags %s size %s\n", what, r, flags_name(o.ss_flags),
	       o.ss_flags == SS_DISABLE ? "-" : o.ss_size == alt_size && o.ss_sp == alt ? "ours" : "other");
}

static void *thread(void *arg)
{
	(void)arg;
	query("new thread");
	raise(SIGUSR1);
	report("new thread without one, SA_ONSTACK");
	return 0;
}

int main(void)
{
	setvbuf(stdout, 0, _IOLBF, 0);
	alt = malloc(alt_size);
	query("initially");
	stack_t s = { .ss_sp = alt, .ss_size = 1024 };
	printf("too small: %s\n", sigaltstack(&s, 0) && errno == ENOMEM ? "ENOMEM" : "accepted");
	s = (stack_t){ .ss_sp = alt, .ss_size = alt_size, .ss_flags = 4 };
	printf("bad flags: %s\n", sigaltstack(&s, 0) && errno == EINVAL ? "EINVAL" : "accepted");
	s = (stack_t){ .ss_sp = alt, .ss_size = alt_size };
	printf("set: %d\n", sigaltstack(&s, 0));
	query("after set");

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, 0);
	sa.sa_flags = 0;
	sigaction(SIGUSR2, &sa, 0);

	raise(SIGUSR1);
	report("raised, SA_ONSTACK");
	raise(SIGUSR2);
	report("raised, no SA_ONSTACK");
	kill(getpid(), SIGUSR1);
	while (!ran)
		usleep(1000);
	report("sent from outside, SA_ONSTACK");

	sigset_t b;
	sigemptyset(&b);
	sigaddset(&b, SIGUSR1);
	sigprocmask(SIG_BLOCK, &b, 0);
	raise(SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &b, 0);
	report("unblocked, SA_ONSTACK");

	pthread_t t;
	pthread_create(&t, 0, thread, 0);
	pthread_join(t, 0);

	s.ss_flags = SS_DISABLE;
	printf("disable: %d\n", sigaltstack(&s, 0));
	query("after disable");
	raise(SIGUSR1);
	report("disabled, SA_ONSTACK");
	return 0;
}
