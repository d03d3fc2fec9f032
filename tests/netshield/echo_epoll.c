#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
int main(int argc, char **argv)
{
	int port = atoi(argv[1]);
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001) };
	if (bind(l, (void *)&a, sizeof a) || listen(l, 128)) { perror("bind/listen"); return 1; }
	fcntl(l, F_SETFL, O_NONBLOCK);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = l };
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	printf("ready\n"); fflush(stdout);
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, -1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == l) {
				int c;
				while ((c = accept4(l, 0, 0, SOCK_NONBLOCK)) >= 0) {
					struct epoll_event e = { .events = EPOLLIN, .data.fd = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
				}
				continue;
			}
			char buf[4096];
			ssize_t r = read(fd, buf, sizeof buf);
			if (r > 0) {
				if (r >= 4 && !memcmp(buf, "QUIT", 4)) return 0;
				write(fd, buf, r);
			} else if (r == 0 || (r < 0 && errno != EAGAIN)) {
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, 0);
				close(fd);
			}
		}
	}
}
