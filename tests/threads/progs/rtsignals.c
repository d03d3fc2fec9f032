/* Queued real-time signals and their siginfo (signal(7), sigqueue(3)):
 * every delivery printed, for comparison with the same program built
 * natively. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int log_n;
static char log_buf[64][48];

static const char *code_name(int c)
{
	return c == SI_USER ? "SI_USER" : c == SI_QUEUE ? "SI_QUEUE" : c == SI_TKILL ? "SI_TKILL" : "other";
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	int n = log_n++;
	if (n < 64)
		snprintf(log_buf[n], sizeof log_buf[n], "%s%d %s value %d pid %s",
			 sig >= SIGRTMIN ? "RTMIN+" : "sig ", sig >= SIGRTMIN ? sig - SIGRTMIN : sig,
			 code_name(si->si_code), si->si_code == SI_QUEUE ? si->si_value.sival_int : -1,
			 si->si_pid == getpid() ? "self" : "other");
}

static void flush_log(const char *what)
{
	printf("%s: %d deliveries\n", what, log_n);
	for (int i = 0; i < log_n && i < 64; i++)
		printf("  %s\n", log_buf[i]);
	log_n = 0;
}

static void block(int sig, int how)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	pthread_sigmask(how, &s, 0);
}

static void settle(void)
{
	/* Signals sent through kill and sigqueue may reach a blocked process a
	 * little later; give them time to become pending. */
	struct timespec ts = { 0, 300 * 1000 * 1000 };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static sem_t ready, sent;

static void *receiver(void *arg)
{
	(void)arg;
	block(SIGRTMIN + 2, SIG_BLOCK);
	sem_post(&ready);
	sem_wait(&sent);
	block(SIGRTMIN + 2, SIG_UNBLOCK);
	return 0;
}

int main(void)
{
	setvbuf(stdout, 0, _IOLBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	for (int s = SIGRTMIN; s <= SIGRTMIN + 3; s++)
		sigaction(s, &sa, 0);
	sigaction(SIGUSR1, &sa, 0);

	/* Raised, killed and queued while blocked: each one queued, in order. */
	block(SIGRTMIN, SIG_BLOCK);
	for (int i = 0; i < 5; i++)
		raise(SIGRTMIN);
	for (int i = 0; i < 3; i++)
		kill(getpid(), SIGRTMIN);
	for (int i = 1; i <= 4; i++)
		sigqueue(getpid(), SIGRTMIN, (union sigval){ .sival_int = i * 10 });
	settle();
	block(SIGRTMIN, SIG_UNBLOCK);
	flush_log("RTMIN blocked, raised 5, killed 3, queued 4");

	/* A standard signal coalesces. */
	block(SIGUSR1, SIG_BLOCK);
	for (int i = 0; i < 3; i++)
		raise(SIGUSR1);
	for (int i = 0; i < 3; i++)
		kill(getpid(), SIGUSR1);
	settle();
	block(SIGUSR1, SIG_UNBLOCK);
	flush_log("SIGUSR1 blocked, raised 3, killed 3");

	/* Unblocked: each at once. */
	for (int i = 1; i <= 3; i++)
		sigqueue(getpid(), SIGRTMIN + 3, (union sigval){ .sival_int = i });
	settle();
	flush_log("RTMIN+3 queued 3 unblocked");

	/* sigwaitinfo takes them one by one, values in order. */
	block(SIGRTMIN + 1, SIG_BLOCK);
	for (int i = 1; i <= 3; i++)
		sigqueue(getpid(), SIGRTMIN + 1, (union sigval){ .sival_int = 100 + i });
	raise(SIGRTMIN + 1);
	settle();
	sigset_t w;
	sigemptyset(&w);
	sigaddset(&w, SIGRTMIN + 1);
	for (int i = 0; i < 4; i++) {
		siginfo_t si;
		int s = sigwaitinfo(&w, &si);
		printf("sigwaitinfo RTMIN+%d %s value %d\n", s - SIGRTMIN, code_name(si.si_code),
		       si.si_code == SI_QUEUE ? si.si_value.sival_int : -1);
	}
	sigset_t p;
	sigpending(&p);
	printf("still pending: %d\n", sigismember(&p, SIGRTMIN + 1));
	block(SIGRTMIN + 1, SIG_UNBLOCK);

	/* Directed at another thread that blocks it. */
	sem_init(&ready, 0, 0);
	sem_init(&sent, 0, 0);
	pthread_t t;
	pthread_create(&t, 0, receiver, 0);
	sem_wait(&ready);
	for (int i = 0; i < 4; i++)
		pthread_kill(t, SIGRTMIN + 2);
	sem_post(&sent);
	pthread_join(t, 0);
	flush_log("RTMIN+2 sent 4 times to a thread that blocked it");
	return 0;
}
