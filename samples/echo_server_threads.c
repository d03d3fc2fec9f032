/* A threaded TCP echo server: one pthread per connection, so that clients
 * are served concurrently (in an enclave: lthreads, each blocked in its own
 * read while the others run).
 * Usage: echo_server_threads PORT [MAX_CLIENTS]; PORT 0 picks a free port
 * (printed); exits once MAX_CLIENTS clients have been served and left
 * (default: forever). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_done = PTHREAD_COND_INITIALIZER;
static long finished;

static void *serve(void *arg)
{
	int c = (int)(long)arg;
	char buf[4096];
	ssize_t n;
	while ((n = read(c, buf, sizeof buf)) > 0)
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(c, buf + off, n - off);
			if (w <= 0)
				goto out;
			off += w;
		}
out:
	close(c);
	pthread_mutex_lock(&mu);
	finished++;
	pthread_cond_signal(&all_done);
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 7777;
	long max = argc > 2 ? atol(argv[2]) : -1;
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	socklen_t len = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 128) ||
	    getsockname(s, (struct sockaddr *)&a, &len)) {
		perror("echo_server_threads");
		return 1;
	}
	printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
	fflush(stdout);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 << 10);
	for (long n = 0; max < 0 || n < max; n++) {
		int c = accept(s, NULL, NULL);
		if (c < 0) {
			perror("accept");
			return 1;
		}
		pthread_t t;
		if (pthread_create(&t, &attr, serve, (void *)(long)c)) {
			fprintf(stderr, "echo_server_threads: pthread_create failed\n");
			return 1;
		}
	}
	pthread_mutex_lock(&mu);
	while (finished < max)
		pthread_cond_wait(&all_done, &mu);
	pthread_mutex_unlock(&mu);
	printf("served %ld clients\n", finished);
	return 0;
}
