/* Connects to 127.0.0.1:PORT with a blocking socket, sends argv[2] and a
 * newline, prints the first reply line; the network shield's client policy
 * decides whether this is TLS. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

int main(int argc, char **argv)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])),
				 .sin_addr.s_addr = htonl(0x7f000001) };
	if (connect(s, (void *)&a, sizeof a)) {
		printf("connect: %s\n", strerror(errno));
		return 1;
	}
	char msg[256];
	snprintf(msg, sizeof msg, "%s\n", argv[2]);
	if (write(s, msg, strlen(msg)) < 0) {
		printf("write: %s\n", strerror(errno));
		return 1;
	}
	char buf[256];
	size_t n = 0;
	while (n < sizeof buf - 1) {
		ssize_t r = read(s, buf + n, sizeof buf - 1 - n);
		if (r <= 0) {
			if (r < 0)
				printf("read: %s\n", strerror(errno));
			break;
		}
		n += (size_t)r;
		if (memchr(buf, '\n', n))
			break;
	}
	buf[n] = 0;
	printf("reply: %s", buf);
	close(s);
	return n ? 0 : 1;
}
