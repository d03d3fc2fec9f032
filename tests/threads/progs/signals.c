/* Signal handlers in the enclave: SIGUSR1 and SIGTERM from outside, SIGALRM
 * from alarm(), raise(SIGUSR1); then waits for SIGTERM, whose handler ends
 * the program with status 3. SIGUSR2 has no handler. Prints "ready" when
 * the handlers are installed. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t usr1, alrm;

static void on_usr1(int sig) { (void)sig; usr1++; }
static void on_alrm(int sig) { (void)sig; alrm++; }
static void on_term(int sig)
{
	(void)sig;
	char msg[64];
	int n = snprintf(msg, sizeof msg, "term after usr1=%d alrm=%d\n", (int)usr1, (int)alrm);
	write(1, msg, n);
	_exit(3);
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, 0);
	sa.sa_handler = on_alrm;
	sigaction(SIGALRM, &sa, 0);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, 0);
	raise(SIGUSR1);
	printf("raised usr1=%d\n", (int)usr1);
	alarm(1);
	while (!alrm)
		usleep(1000);
	printf("alarm ran\nready\n");
	fflush(stdout);
	for (;;)
		pause();
}
