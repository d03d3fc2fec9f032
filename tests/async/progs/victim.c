/* The program a hostile host attacks (tests/async/test_hostile_host.py):
 * argv[1] names the call to make; it prints what came back. */
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	char buf[64];
	printf("start %s\n", m);
	fflush(stdout);
	if (!strcmp(m, "size")) {
		printf("read %zd\n", read(0, buf, sizeof buf));
	} else if (!strcmp(m, "iov")) {
		struct iovec v[2] = { { buf, 8 }, { buf + 8, 8 } };
		printf("readv %zd\n", readv(0, v, 2));
	} else if (!strcmp(m, "fd")) {
		printf("dup %d\n", dup(1));
	} else if (!strcmp(m, "zero")) {
		int fd = dup(1);
		printf("close %d\n", close(fd));
	} else if (!strcmp(m, "socklen")) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t l = sizeof a;
		bind(s, (struct sockaddr *)&a, sizeof a);
		printf("getsockname %d len %u\n", getsockname(s, (struct sockaddr *)&a, &l), l);
	} else if (!strcmp(m, "msg")) {
		int sv[2];
		char ctl[64];
		socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		write(sv[0], "x", 1);
		struct iovec v = { buf, sizeof buf };
		struct msghdr h = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
		printf("recvmsg %zd\n", recvmsg(sv[1], &h, 0));
	} else if (!strcmp(m, "garbage")) {
		struct { char before[64]; struct utsname u; char after[64]; } g;
		memset(g.before, 0x5a, sizeof g.before);
		memset(g.after, 0x5a, sizeof g.after);
		int r = uname(&g.u);
		int intact = 1;
		for (int i = 0; i < 64; i++)
			intact &= g.before[i] == 0x5a && g.after[i] == 0x5a;
		printf("uname %d sysname[0] %c canaries %s\n", r, g.u.sysname[0], intact ? "intact" : "smashed");
	} else {
		printf("getppid %d\n", getppid() > 0);
	}
	return 0;
}
