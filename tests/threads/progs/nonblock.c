/* Calls on file descriptors that are not ready must not wait when the
 * descriptor is non-blocking (O_NONBLOCK) or the call says MSG_DONTWAIT:
 * redis's accept loop runs accept4 on its non-blocking listener until
 * EAGAIN, and its event loop stopped for good when that accept waited for
 * the next client. Each case prints "<name> EAGAIN"; a watchdog ends the
 * program if one of them waits. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static void *watchdog(void *arg)
{
	(void)arg;
	sleep(10);
	printf("timeout: a call on a non-blocking descriptor waited\n");
	fflush(stdout);
	_exit(3);
}

static void report(const char *name, long r)
{
	printf("%s %s\n", name, r < 0 && errno == EAGAIN ? "EAGAIN" : r < 0 ? strerror(errno) : "returned data");
	fflush(stdout);
}

static void fill(int fd)
{
	static char buf[65536];
	while (send(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
}

int main(void)
{
	pthread_t w;
	if (pthread_create(&w, NULL, watchdog, NULL))
		return 1;

	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 4))
		return 1;
	report("accept4", accept4(l, NULL, NULL, SOCK_CLOEXEC));

	int p[2];
	char c;
	if (pipe(p) || fcntl(p[0], F_SETFL, O_NONBLOCK))
		return 1;
	report("read", read(p[0], &c, 1));
	struct iovec iov = { &c, 1 };
	report("readv", readv(p[0], &iov, 1));

	int s[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s))
		return 1;
	report("recv-dontwait", recv(s[0], &c, 1, MSG_DONTWAIT));
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	report("recvmsg-dontwait", recvmsg(s[0], &m, MSG_DONTWAIT));
	fill(s[1]);
	report("send-dontwait", send(s[1], &c, 1, MSG_DONTWAIT));
	fcntl(s[1], F_SETFL, O_NONBLOCK);
	report("write", write(s[1], &c, 1));
	return 0;
}
