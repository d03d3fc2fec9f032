/* A server's shutdown path (lighttpd, nginx, redis): a SIGTERM handler sets
 * a flag, and the blocked epoll_wait must return EINTR so the loop sees it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(void)
{
	struct sigaction sa;
	struct epoll_event ev;
	int ep = epoll_create1(0), p[2];

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term; /* no SA_RESTART; epoll_wait is never restarted anyway */
	sigaction(SIGTERM, &sa, 0);
	if (pipe(p) || ep < 0)
		return 2;
	ev.events = EPOLLIN;
	ev.data.fd = p[0];
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	puts("ready");
	fflush(stdout);
	int n = epoll_wait(ep, &ev, 1, -1);
	printf("%d %s %d\n", n, n < 0 ? strerror(errno) : "-", (int)stop);
	return 0;
}
