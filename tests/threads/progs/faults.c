/* Fault signals: a fault the CPU raises (si_code > 0) and the same signal
 * sent with kill, each with a handler, ignored or at its default action.
 * argv[1] picks the case; the native run of the same program is the oracle
 * except where a handler should run for a fault (see tests/threads/test_faults.py). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void handler(int sig)
{
	got = sig;
}

static void crash_handler(int sig)
{
	static const char m[] = "handler ran\n";
	(void)sig;
	write(1, m, sizeof m - 1);
	_exit(3);
}

static void on(int sig, void (*h)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	volatile int zero = 0;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(c, "segv-handled")) {
		on(SIGSEGV, crash_handler);
		*(volatile int *)16 = 1;
	} else if (!strcmp(c, "segv")) {
		*(volatile int *)16 = 1;
	} else if (!strcmp(c, "fpe")) {
		printf("%d\n", (argc * 1000) / zero);
	} else if (!strcmp(c, "sent-handled")) {
		on(SIGSEGV, handler);
		kill(getpid(), SIGSEGV);
		for (int i = 0; i < 500 && !got; i++)
			usleep(10000);
		printf("handled %d\n", got);
		return 0;
	} else if (!strcmp(c, "sent-ignored")) {
		on(SIGBUS, SIG_IGN);
		kill(getpid(), SIGBUS);
		usleep(100000);
		printf("ignored\n");
		return 0;
	} else if (!strcmp(c, "sent-default")) {
		on(SIGBUS, handler);
		on(SIGBUS, SIG_DFL);
		kill(getpid(), SIGBUS);
		usleep(100000);
	}
	printf("still running\n");
	return 0;
}
