/* The program a hostile host attacks (tests/async/test_hostile_host.py):
 * argv[1] names the call to make; it prints what came back, then whether
 * its canary survived. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* A write into the enclave is seen here: the hostile-host test aims the
 * lies that would land inside the enclave at this array (its offset is
 * read from the enclave image's symbol table). */
__attribute__((aligned(4096))) volatile unsigned char scone_victim_canary[8192] = { 1 };

static int canary_intact(void)
{
	for (size_t i = 1; i < sizeof scone_victim_canary; i++)
		if (scone_victim_canary[i] != (unsigned char)(i * 7 + 1))
			return 0;
	return scone_victim_canary[0] == 1;
}

static void run(const char *m);

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	for (size_t i = 1; i < sizeof scone_victim_canary; i++)
		scone_victim_canary[i] = (unsigned char)(i * 7 + 1);
	printf("start %s\n", m);
	fflush(stdout);
	run(m);
	int intact = canary_intact();
	printf("canary %s\n", intact ? "intact" : "smashed");
	return intact ? 0 : 3;
}

static void run(const char *m)
{
	char buf[64];
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
		int r = getsockname(s, (struct sockaddr *)&a, &l);
		printf("getsockname %d len %u\n", r, l);
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
	} else if (!strcmp(m, "read0")) {
		printf("read0 %zd\n", read(0, buf, 0));
	} else if (!strcmp(m, "write")) {
		memset(buf, 'W', sizeof buf);
		printf("write %zd\n", write(1, buf, 8));
	} else if (!strcmp(m, "big")) {
		/* one write and one read past the arena unit: chunked inside */
		static char out[300 << 10], in[300 << 10];
		char path[] = "/tmp/scone-victim-XXXXXX";
		int fd = mkstemp(path);
		for (size_t i = 0; i < sizeof out; i++)
			out[i] = (char)(i * 131 + (i >> 12));
		long w = write(fd, out, sizeof out);
		lseek(fd, 0, SEEK_SET);
		long r = read(fd, in, sizeof in);
		unlink(path);
		printf("big %ld %ld same %d\n", w, r, r > 0 && !memcmp(in, out, (size_t)r));
	} else if (!strcmp(m, "nap")) {
		/* time for every ethread to enter the enclave before the exit */
		struct timespec t = { 0, 500 * 1000 * 1000 };
		nanosleep(&t, 0);
		printf("getppid %d\n", getppid() > 0);
	} else if (!strcmp(m, "mmsg")) {
		int sv[2];
		char d[3][20];
		struct iovec v[3];
		struct mmsghdr mm[3];
		socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
		for (int j = 0; j < 3; j++) {
			memset(d[j], 'a' + j, sizeof d[j]);
			send(sv[0], d[j], sizeof d[j], 0);
			memset(d[j], 0, sizeof d[j]);
			v[j] = (struct iovec){ d[j], sizeof d[j] };
			mm[j] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v[j], .msg_iovlen = 1 } };
		}
		int n = recvmmsg(sv[1], mm, 3, 0, 0), wrong = 0;
		for (int j = 0; j < n; j++)
			wrong += mm[j].msg_len != 20 || d[j][0] != 'a' + j || d[j][19] != 'a' + j;
		printf("recvmmsg %d wrong %d\n", n, wrong);
	} else {
		printf("getppid %d\n", getppid() > 0);
	}
}
