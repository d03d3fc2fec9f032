/* Accepts one connection on 127.0.0.1:PORT and sends FILE with sendfile(2)
 * (as nginx does), non-blocking, waiting with poll when the socket is full;
 * then closes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])),
				 .sin_addr.s_addr = htonl(0x7f000001) };
	if (bind(l, (void *)&a, sizeof a) || listen(l, 8)) {
		perror("bind/listen");
		return 1;
	}
	int c = accept4(l, 0, 0, SOCK_NONBLOCK);
	int f = open(argv[2], O_RDONLY);
	struct stat st;
	if (c < 0 || f < 0 || fstat(f, &st)) {
		perror("accept/open");
		return 1;
	}
	off_t off = 0;
	while (off < st.st_size) {
		ssize_t n = sendfile(c, f, &off, (size_t)(st.st_size - off));
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = c, .events = POLLOUT };
			poll(&p, 1, -1);
			continue;
		}
		if (n <= 0) {
			perror("sendfile");
			return 1;
		}
	}
	close(c);
	printf("sent %lld\n", (long long)off);
	return 0;
}
