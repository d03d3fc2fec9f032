/* A TCP echo server: socket, bind, listen, accept, read, write.
 * Usage: echo_server PORT [MAX_CLIENTS]; serves clients one after another
 * and exits after MAX_CLIENTS (default: forever). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 7777;
	long max = argc > 2 ? atol(argv[2]) : -1;
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 16)) {
		perror("echo_server");
		return 1;
	}
	printf("listening on 127.0.0.1:%d\n", port);
	fflush(stdout);
	for (long n = 0; max < 0 || n < max; n++) {
		int c = accept(s, NULL, NULL);
		if (c < 0) {
			perror("accept");
			return 1;
		}
		char buf[4096];
		ssize_t k;
		while ((k = read(c, buf, sizeof buf)) > 0)
			if (write(c, buf, k) != k)
				break;
		close(c);
	}
	close(s);
	return 0;
}
