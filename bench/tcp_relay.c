/*
 * tcp_relay.c — the least a user-space proxy hop can cost, as a yardstick
 * for bench/proxy_bench.py's WebSocket round trips: it accepts on
 * 127.0.0.1:LISTEN_PORT and copies bytes both ways to 127.0.0.1:UP_PORT,
 * one thread per connection blocked in poll(2) on its two sockets. No HTTP,
 * no authentication, no buffering beyond one read: whatever a real proxy
 * adds on top of this is its own cost.
 *
 *   cc -O2 -pthread -o tcp_relay bench/tcp_relay.c
 *   tcp_relay LISTEN_PORT UP_PORT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in up;

/* Writes all of buf; 0 or -1. */
static int put_all(int fd, const char *buf, ssize_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, (size_t)n);
		if (w <= 0)
			return -1;
		buf += w;
		n -= w;
	}
	return 0;
}

static void *pump(void *arg)
{
	int *fds = arg, one = 1;
	struct pollfd p[2] = {{.fd = fds[0], .events = POLLIN}, {.fd = fds[1], .events = POLLIN}};
	char buf[65536];

	setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fds[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (;;) {
		if (poll(p, 2, -1) < 0)
			break;
		for (int i = 0; i < 2; i++) {
			ssize_t n;
			if (!p[i].revents)
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0 || put_all(p[1 - i].fd, buf, n) != 0)
				goto done;
		}
	}
done:
	close(fds[0]);
	close(fds[1]);
	free(fds);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in me = {.sin_family = AF_INET};
	int ls, one = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: tcp_relay LISTEN_PORT UP_PORT\n");
		return 2;
	}
	me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	me.sin_port = htons((unsigned short)atoi(argv[1]));
	up = me;
	up.sin_port = htons((unsigned short)atoi(argv[2]));
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, (struct sockaddr *)&me, sizeof(me)) != 0 || listen(ls, 64) != 0) {
		perror("tcp_relay: listen");
		return 1;
	}
	for (;;) {
		int c = accept(ls, NULL, NULL), u, *fds;
		pthread_t t;
		if (c < 0)
			continue;
		u = socket(AF_INET, SOCK_STREAM, 0);
		if (u < 0 || connect(u, (struct sockaddr *)&up, sizeof(up)) != 0 || !(fds = malloc(2 * sizeof(int)))) {
			close(c);
			if (u >= 0)
				close(u);
			continue;
		}
		fds[0] = c;
		fds[1] = u;
		if (pthread_create(&t, NULL, pump, fds) != 0) {
			close(c);
			close(u);
			free(fds);
			continue;
		}
		pthread_detach(t);
	}
}
