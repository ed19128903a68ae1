/*
 * ws_client.c — WebSocket round trips with as little client as possible,
 * for bench/proxy_bench.py: a Python client spends most of a loopback
 * round trip in its own interpreter, which hides what a proxy adds. This
 * one connects, sends the upgrade request (with the headers given), checks
 * the 101, then sends ROUNDS masked binary messages of 32 bytes one at a
 * time, each after the echo of the one before, and prints the median and
 * the 99th percentile round trip in microseconds (after 200 unmeasured).
 *
 *   cc -O2 -o ws_client bench/ws_client.c
 *   ws_client PORT PATH ROUNDS ["Header: value" ...]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int get(int fd, char *buf, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, buf, n);
		if (r <= 0)
			return -1;
		buf += r;
		n -= (size_t)r;
	}
	return 0;
}

static int put(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* One round: a masked binary frame of 32 bytes out, its echo (any
 * unmasked frame of up to 125 bytes) back. */
static int round_trip(int fd)
{
	unsigned char f[2 + 4 + 32], h[2], body[125];
	f[0] = 0x82;
	f[1] = 0x80 | 32;
	memcpy(f + 2, "\x11\x22\x33\x44", 4);
	for (int i = 0; i < 32; i++)
		f[6 + i] = (unsigned char)('x' ^ f[2 + i % 4]);
	if (put(fd, (char *)f, sizeof(f)) != 0 || get(fd, (char *)h, 2) != 0 || (h[1] & 0x7f) > 125)
		return -1;
	return get(fd, (char *)body, h[1] & 0x7f);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	char req[4096], resp[4096];
	int fd, one = 1, n = 0, rounds;
	size_t o;
	double *v;

	if (argc < 4) {
		fprintf(stderr, "usage: ws_client PORT PATH ROUNDS [\"Header: value\" ...]\n");
		return 2;
	}
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	rounds = atoi(argv[3]);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("connect");
		return 1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	o = (size_t)snprintf(req, sizeof(req),
	                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
	                     argv[2], argv[1]);
	for (int i = 4; i < argc && o < sizeof(req); i++)
		o += (size_t)snprintf(req + o, sizeof(req) - o, "%s\r\n", argv[i]);
	o += (size_t)snprintf(req + o, sizeof(req) - o, "\r\n");
	if (o >= sizeof(req) || put(fd, req, o) != 0)
		return 1;
	/* the answer's head, a byte at a time: nothing after it is consumed */
	while (n < (int)sizeof(resp) - 1 && !(n >= 4 && memcmp(resp + n - 4, "\r\n\r\n", 4) == 0))
		if (read(fd, resp + n++, 1) != 1)
			break;
	resp[n] = '\0';
	if (strncmp(resp, "HTTP/1.1 101", 12) != 0) {
		fprintf(stderr, "no upgrade: %.200s\n", resp);
		return 1;
	}
	if (!(v = malloc(sizeof(double) * (size_t)rounds)))
		return 1;
	for (int i = 0; i < 200; i++)
		if (round_trip(fd) != 0)
			return 1;
	for (int i = 0; i < rounds; i++) {
		double t = now_us();
		if (round_trip(fd) != 0) {
			fprintf(stderr, "the connection ended after %d round trips\n", i);
			return 1;
		}
		v[i] = now_us() - t;
	}
	qsort(v, (size_t)rounds, sizeof(double), cmp);
	printf("%.1f %.1f\n", v[rounds / 2], v[rounds * 99 / 100]);
	free(v);
	close(fd);
	return 0;
}
