/*
 * proxy_ktun.c — see proxy_ktun.h. A WebSocket, from request to end:
 *
 *   step        | what happens                                   | on failure
 *   ------------+------------------------------------------------+---------------------------
 *   connect     | a socket to 127.0.0.1:<port> on the hub's loop | 502 (workspace down)
 *   handshake   | the rewritten upgrade request is sent; the     | the workspace's refusal
 *               | workspace's answer head is read (picohttpparser)| (its 4xx) or 502; 504
 *               |                                                | after HANDSHAKE_MS
 *   upgrade     | the client gets 101 with the workspace's       | -
 *               | Sec-WebSocket-* headers (h2o_http1_upgrade)    |
 *   hand over   | both sockets leave h2o; bytes either side      | the kernel refuses the
 *               | already read are written on; each goes into    | sockets: h2o's tunnel
 *               | the peer sockhash under the other's cookie,    | relays this one
 *               | then into the watched one (whose program runs  |
 *               | on them: each finds its peer there from its    |
 *               | first chunk on), and SO_RCVLOWAT nudges each   |
 *               | so that what arrived meanwhile is sent on too  |
 *   relay       | the verdict program: count the bytes under the |
 *               | socket's cookie, then redirect to the peer;    |
 *               | once a second the hub books the counts and     |
 *               | nudges both sockets again (SO_RCVLOWAT)        |
 *   end         | one side reads EOF or fails: once the kernel   |
 *               | has put every byte it counted into the peer's  |
 *               | send queue (checked every GRACE_MS; at most    |
 *               | STALL_MS without progress), both are closed,   |
 *               | which takes them out of the sockhashes         |
 *
 * Nothing here reads the relayed bytes: the program redirects them before
 * any reader is woken. Bytes the kernel passes up (a socket whose peer is
 * already gone) are written on by the hub.
 */
#include "proxy/proxy_ktun.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "metrics/metrics.h"

#include <errno.h>
#include <h2o/http1.h>
#include <h2o/tunnel.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* picohttpparser, bundled in libh2o (which installs no header for it) */
struct phr_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};
int phr_parse_response(const char *buf, size_t len, int *minor_version, int *status, const char **msg,
                       size_t *msg_len, struct phr_header *headers, size_t *num_headers, size_t last_len);

#define HANDSHAKE_MS 30000
#define TICK_MS 1000
#define GRACE_MS 100
#define STALL_MS 60000
#define HEAD_MAX 16384
#define TUNNELS_MAX 2048
#define KEEPALIVE_IDLE_S 300

#ifndef BPF_ATOMIC
#define BPF_ATOMIC 0xc0
#endif

typedef struct tun {
	struct tun *next, **pprev;
	ktun_t *k;
	h2o_socket_t *cs, *us;           /* client, workspace: watched for their end */
	uint64_t ccookie, ucookie;
	uint64_t cbooked, ubooked;       /* bytes already given to the metrics */
	uint64_t cbase, ubase;           /* each socket's send sequence when the kernel took over */
	uint64_t csent, usent;           /* and what it was at the last look, while closing */
	int64_t moved_at;                /* when that last changed (ms) */
	h2o_timeout_entry_t grace;
	int closing;
} tun_t;

struct pend;
typedef struct {
	struct pend *p;                  /* NULL once the handshake no longer needs the request */
} guard_t;

typedef struct pend {
	struct pend *next, **pprev;      /* in k->pends */
	ktun_t *k;
	h2o_req_t *req;                  /* NULL once the request is gone */
	guard_t *guard;                  /* in the request's pool; NULL once disposed */
	h2o_socket_t *up;
	h2o_timeout_entry_t timer;
	char *text;                      /* the upgrade request for the workspace */
	size_t len;
	int upgrading;                   /* h2o_http1_upgrade called: its callback ends this */
} pend_t;

struct ktun {
	hub_t *hub;
	h2o_context_t *ctx;
	int peer_fd, watch_fd, count_fd, prog_fd;
	h2o_timeout_t hs_timeout, tick_timeout, grace_timeout;
	h2o_timeout_t *ws_timeout;       /* proxy.c's, for tunnels h2o relays */
	h2o_timeout_entry_t tick;
	tun_t *tuns;
	int ntuns;
	pend_t *pends;                   /* handshakes under way */
};

/* ---- BPF ---- */

static long bpf_call(int cmd, union bpf_attr *a) { return syscall(__NR_bpf, cmd, a, sizeof(*a)); }

static int map_create(int type, int key, int value, int entries)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_type = (unsigned)type;
	a.key_size = (unsigned)key;
	a.value_size = (unsigned)value;
	a.max_entries = (unsigned)entries;
	return (int)bpf_call(BPF_MAP_CREATE, &a);
}

static int map_put(int fd, uint64_t key, const void *value)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = (unsigned)fd;
	a.key = (uintptr_t)&key;
	a.value = (uintptr_t)value;
	a.flags = BPF_ANY;
	return (int)bpf_call(BPF_MAP_UPDATE_ELEM, &a);
}

static int map_get(int fd, uint64_t key, void *value)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = (unsigned)fd;
	a.key = (uintptr_t)&key;
	a.value = (uintptr_t)value;
	return (int)bpf_call(BPF_MAP_LOOKUP_ELEM, &a);
}

static void map_del(int fd, uint64_t key)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = (unsigned)fd;
	a.key = (uintptr_t)&key;
	(void)bpf_call(BPF_MAP_DELETE_ELEM, &a);
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

/* The stream verdict program, for every chunk a socket in the watched
 * sockhash receives:
 *
 *   key = socket cookie of the receiver
 *   if (count = counters[key]) *count += skb->len      (atomic)
 *   return redirect to peers[key], or SK_PASS (to the reader)
 */
static int prog_load(int peer_fd, int count_fd, char *log, size_t loglen)
{
	struct bpf_insn p[] = {
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_socket_cookie),
		INSN(BPF_STX | BPF_MEM | BPF_DW, 10, 0, -8, 0),
		INSN(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_FD, 0, count_fd),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -8),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2, 0),
		INSN(BPF_LDX | BPF_MEM | BPF_W, 1, 6, offsetof(struct __sk_buff, len), 0),
		INSN(BPF_STX | BPF_ATOMIC | BPF_DW, 0, 1, 0, BPF_ADD),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0),
		INSN(BPF_LD | BPF_IMM | BPF_DW, 2, BPF_PSEUDO_MAP_FD, 0, peer_fd),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 3, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 3, 0, 0, -8),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_sk_redirect_hash),
		INSN(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 1, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, SK_PASS),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SK_SKB;
	a.expected_attach_type = BPF_SK_SKB_VERDICT;
	a.insns = (uintptr_t)p;
	a.insn_cnt = sizeof(p) / sizeof(p[0]);
	a.license = (uintptr_t) "GPL"; /* the sockmap helpers are GPL-only */
	a.log_buf = (uintptr_t)log;
	a.log_size = (unsigned)loglen;
	a.log_level = 1;
	return (int)bpf_call(BPF_PROG_LOAD, &a);
}

static uint64_t cookie_of(int fd)
{
	uint64_t c = 0;
	socklen_t l = sizeof(c);
	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &l) == 0 ? c : 0;
}

/* ---- open / close ---- */

static void on_tick(h2o_timeout_entry_t *e);

int ktun_open(ktun_t **out, hub_t *hub, h2o_context_t *ctx, h2o_timeout_t *ws_timeout, char *why, size_t whylen)
{
	ktun_t *k;
	union bpf_attr a;
	char log[4096] = "";

	*out = NULL;
	if (!(k = calloc(1, sizeof(*k))))
		return GH_ENOMEM;
	/* two sockhashes: a socket's peer is in `peer` (no program) before
	 * the socket enters `watch` (the program): no chunk ever finds its
	 * peer missing and goes up to the hub out of turn */
	k->peer_fd = map_create(BPF_MAP_TYPE_SOCKHASH, 8, 4, 2 * TUNNELS_MAX);
	k->watch_fd = k->peer_fd < 0 ? -1 : map_create(BPF_MAP_TYPE_SOCKHASH, 8, 4, 2 * TUNNELS_MAX);
	k->count_fd = k->watch_fd < 0 ? -1 : map_create(BPF_MAP_TYPE_HASH, 8, 8, 2 * TUNNELS_MAX);
	k->prog_fd = k->count_fd < 0 ? -1 : prog_load(k->peer_fd, k->count_fd, log, sizeof(log));
	if (k->prog_fd >= 0) {
		memset(&a, 0, sizeof(a));
		a.target_fd = (unsigned)k->watch_fd;
		a.attach_bpf_fd = (unsigned)k->prog_fd;
		a.attach_type = BPF_SK_SKB_VERDICT;
		if (bpf_call(BPF_PROG_ATTACH, &a) != 0) {
			close(k->prog_fd);
			k->prog_fd = -1;
		}
	}
	if (k->prog_fd < 0) {
		int e = errno;
		snprintf(why, whylen, "%s%s%s", strerror(e), log[0] ? ": " : "", log);
		const int fds[] = {k->peer_fd, k->watch_fd, k->count_fd};
		for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
			if (fds[i] >= 0)
				close(fds[i]);
		free(k);
		return GH_EUNSUPPORTED;
	}
	k->hub = hub;
	k->ctx = ctx;
	h2o_timeout_init(ctx->loop, &k->hs_timeout, HANDSHAKE_MS);
	h2o_timeout_init(ctx->loop, &k->tick_timeout, TICK_MS);
	h2o_timeout_init(ctx->loop, &k->grace_timeout, GRACE_MS);
	k->ws_timeout = ws_timeout;
	k->tick.cb = on_tick;
	h2o_timeout_link(ctx->loop, &k->tick_timeout, &k->tick);
	*out = k;
	return 0;
}

static void tun_free(tun_t *t);
static void pend_end(pend_t *p);

void ktun_close(ktun_t *k)
{
	if (!k)
		return;
	while (k->pends)
		pend_end(k->pends);
	while (k->tuns)
		tun_free(k->tuns);
	if (h2o_timeout_is_linked(&k->tick))
		h2o_timeout_unlink(&k->tick);
	h2o_timeout_dispose(k->ctx->loop, &k->hs_timeout);
	h2o_timeout_dispose(k->ctx->loop, &k->tick_timeout);
	h2o_timeout_dispose(k->ctx->loop, &k->grace_timeout);
	close(k->prog_fd);
	close(k->count_fd);
	close(k->watch_fd);
	close(k->peer_fd);
	free(k);
}

int ktun_open_count(const ktun_t *k) { return k->ntuns; }

/* ---- relaying ---- */

/* Writes all of len bytes to a non-blocking socket, waiting up to a
 * second at a time. 0 or -1. */
static int push(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			if (poll(&p, 1, 1000) == 1)
				continue;
		}
		return -1;
	}
	return 0;
}

/* Gives the bytes counted since the last call to the metrics. */
static void book(tun_t *t)
{
	uint64_t c = 0, u = 0;
	ktun_t *k = t->k;

	if (map_get(k->count_fd, t->ccookie, &c) != 0 || c < t->cbooked)
		c = t->cbooked;
	if (map_get(k->count_fd, t->ucookie, &u) != 0 || u < t->ubooked)
		u = t->ubooked;
	if (c > t->cbooked || u > t->ubooked)
		metrics_proxy_bytes(hub_metrics(k->hub), c - t->cbooked, u - t->ubooked);
	t->cbooked = c;
	t->ubooked = u;
}

/* Makes the kernel look at what waits in s's receive queue (it does on
 * the next chunk anyway; this is for a chunk that came while the socket
 * was entering the sockhash and has no successor). */
static void nudge(h2o_socket_t *s)
{
	int one = 1;
	setsockopt(h2o_socket_get_fd(s), SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
}

static void on_tick(h2o_timeout_entry_t *e)
{
	ktun_t *k = H2O_STRUCT_FROM_MEMBER(ktun_t, tick, e);
	for (tun_t *t = k->tuns; t; t = t->next) {
		book(t);
		nudge(t->cs); /* cheap, and no byte waits longer than a tick */
		nudge(t->us);
	}
	h2o_timeout_link(k->ctx->loop, &k->tick_timeout, &k->tick);
}

/* How far fd's send stream has got: bytes acknowledged plus bytes queued
 * (TCP_INFO and SIOCOUTQ, at the same moment for the kernel's worker,
 * which fills the queue under the socket lock). -1 once the socket is
 * closed or reset: nothing more can reach it. */
static int64_t stream_pos(int fd)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);
	int queued = 0;

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) != 0 ||
	    l < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof(ti.tcpi_bytes_acked) ||
	    ti.tcpi_state == 7 /* TCP_CLOSE */ || ioctl(fd, SIOCOUTQ, &queued) != 0)
		return -1;
	return (int64_t)ti.tcpi_bytes_acked + queued;
}

static void tun_free(tun_t *t)
{
	ktun_t *k = t->k;
	book(t);
	map_del(k->count_fd, t->ccookie);
	map_del(k->count_fd, t->ucookie);
	if (h2o_timeout_is_linked(&t->grace))
		h2o_timeout_unlink(&t->grace);
	/* closing a socket takes it out of the sockhashes (what its send
	 * queue holds still goes out, then its FIN) */
	h2o_socket_close(t->cs);
	h2o_socket_close(t->us);
	if ((*t->pprev = t->next))
		t->next->pprev = t->pprev;
	k->ntuns--;
	free(t);
}

/* While a tunnel ends: closes it once every byte the program counted on
 * either socket is in the other's send stream (a byte still in the
 * kernel's queue for a slow browser would be lost with the socket), or
 * after STALL_MS in which neither stream moved. */
static void on_grace(h2o_timeout_entry_t *e)
{
	tun_t *t = H2O_STRUCT_FROM_MEMBER(tun_t, grace, e);
	ktun_t *k = t->k;
	int64_t cpos = stream_pos(h2o_socket_get_fd(t->cs)), upos = stream_pos(h2o_socket_get_fd(t->us));
	int64_t now = gh_mono_ns() / 1000000;
	uint64_t from_c = 0, from_u = 0;

	(void)map_get(k->count_fd, t->ccookie, &from_c);
	(void)map_get(k->count_fd, t->ucookie, &from_u);
	if ((cpos < 0 || (uint64_t)cpos - t->cbase >= from_u) && (upos < 0 || (uint64_t)upos - t->ubase >= from_c)) {
		tun_free(t);
		return;
	}
	if ((uint64_t)cpos != t->csent || (uint64_t)upos != t->usent) {
		t->csent = (uint64_t)cpos;
		t->usent = (uint64_t)upos;
		t->moved_at = now;
	} else if (now - t->moved_at >= STALL_MS) {
		GH_WARN("a WebSocket's peer took nothing for %d s after the other side ended: closed with bytes "
		        "undelivered", STALL_MS / 1000);
		tun_free(t);
		return;
	}
	h2o_timeout_link(k->ctx->loop, &k->grace_timeout, &t->grace);
}

static void on_tun_read(h2o_socket_t *sock, const char *err)
{
	tun_t *t = sock->data;
	h2o_socket_t *peer = sock == t->cs ? t->us : t->cs;

	if (!err && sock->input->size) {
		/* passed up by the kernel (its peer left the sockhash): on by hand */
		if (push(h2o_socket_get_fd(peer), sock->input->bytes, sock->input->size) != 0)
			err = "write failed";
		h2o_buffer_consume(&sock->input, sock->input->size);
	}
	if (!err || t->closing)
		return;
	/* one side ended: the other gets what the kernel still has for it */
	t->closing = 1;
	t->moved_at = gh_mono_ns() / 1000000;
	h2o_socket_read_stop(t->cs);
	h2o_socket_read_stop(t->us);
	t->grace.cb = on_grace;
	h2o_timeout_link(t->k->ctx->loop, &t->k->grace_timeout, &t->grace);
}

/* Both sockets are the hub's now, with nothing left unsent: into the
 * kernel, or to h2o's tunnel when the kernel will not take them. */
static void relay(ktun_t *k, int cfd, int ufd)
{
	tun_t *t = calloc(1, sizeof(*t));
	uint64_t zero = 0;
	uint32_t cv = (uint32_t)cfd, uv = (uint32_t)ufd;
	int kernel, nodelay = 1, keep_idle = KEEPALIVE_IDLE_S, keep_intvl = 30, keep_cnt = 4;

	if (!t) {
		close(cfd);
		close(ufd);
		return;
	}
	t->k = k;
	/* the kernel sends each chunk as it comes: no Nagle delay behind an
	 * unacknowledged one (a burst of small messages, as Jupyter's are) */
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof(nodelay));
	setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof(nodelay));
	/* a browser that vanished without a FIN (a laptop put to sleep) is
	 * found by TCP keepalive within KEEPALIVE_IDLE_S + 4 x 30 s, and its
	 * tunnel closed: nothing else times a kernel-relayed tunnel out */
	setsockopt(cfd, SOL_SOCKET, SO_KEEPALIVE, &nodelay, sizeof(nodelay));
	setsockopt(cfd, IPPROTO_TCP, TCP_KEEPIDLE, &keep_idle, sizeof(keep_idle));
	setsockopt(cfd, IPPROTO_TCP, TCP_KEEPINTVL, &keep_intvl, sizeof(keep_intvl));
	setsockopt(cfd, IPPROTO_TCP, TCP_KEEPCNT, &keep_cnt, sizeof(keep_cnt));
	t->ccookie = cookie_of(cfd);
	t->ucookie = cookie_of(ufd);
	t->cbase = (uint64_t)stream_pos(cfd);
	t->ubase = (uint64_t)stream_pos(ufd);
	/* peers first, then the watched sockhash (see prog_load) */
	kernel = k->ntuns < TUNNELS_MAX && t->ccookie && t->ucookie && map_put(k->count_fd, t->ccookie, &zero) == 0 &&
	         map_put(k->count_fd, t->ucookie, &zero) == 0 && map_put(k->peer_fd, t->ccookie, &uv) == 0 &&
	         map_put(k->peer_fd, t->ucookie, &cv) == 0 && map_put(k->watch_fd, t->ccookie, &cv) == 0 &&
	         map_put(k->watch_fd, t->ucookie, &uv) == 0;
	t->cs = h2o_evloop_socket_create(k->ctx->loop, cfd, 0);
	t->us = h2o_evloop_socket_create(k->ctx->loop, ufd, 0);
	if (!kernel) {
		GH_WARN("a WebSocket could not be handed to the kernel (%s); the hub relays it", strerror(errno));
		map_del(k->watch_fd, t->ccookie);
		map_del(k->watch_fd, t->ucookie);
		map_del(k->peer_fd, t->ccookie);
		map_del(k->peer_fd, t->ucookie);
		map_del(k->count_fd, t->ccookie);
		map_del(k->count_fd, t->ucookie);
		h2o_tunnel_establish(k->ctx, t->cs, t->us, k->ws_timeout);
		free(t);
		return;
	}
	/* what arrived before the sockets were watched waits for the next
	 * chunk; this makes the kernel look at it now */
	nudge(t->cs);
	nudge(t->us);
	t->cs->data = t->us->data = t;
	if ((t->next = k->tuns))
		t->next->pprev = &t->next;
	t->pprev = &k->tuns;
	k->tuns = t;
	k->ntuns++;
	h2o_socket_read_start(t->cs, on_tun_read);
	h2o_socket_read_start(t->us, on_tun_read);
}

/* ---- handshake ---- */

static void pend_end(pend_t *p)
{
	if ((*p->pprev = p->next))
		p->next->pprev = p->pprev;
	if (h2o_timeout_is_linked(&p->timer))
		h2o_timeout_unlink(&p->timer);
	if (p->up)
		h2o_socket_close(p->up);
	if (p->guard)
		p->guard->p = NULL;
	free(p->text);
	free(p);
}

static void pend_fail(pend_t *p, int status, const char *code, const char *msg)
{
	h2o_req_t *req = p->req;
	/* the answer may end the request: nothing of p may be reached from it */
	if (p->guard)
		p->guard->p = NULL;
	p->guard = NULL;
	p->req = NULL;
	if (req)
		http_send_error(req, status, code, NULL, "%s", msg);
	pend_end(p);
}

static void on_guard_dispose(void *g)
{
	pend_t *p = ((guard_t *)g)->p;
	if (!p)
		return;
	p->req = NULL;
	p->guard = NULL;
	if (!p->upgrading)
		pend_end(p); /* the client left during the handshake */
}

static void on_upgraded(void *data, h2o_socket_t *csock, size_t reqsize)
{
	pend_t *p = data;
	h2o_socket_export_t ce, ue;
	int ok;

	if (!csock || !p->up) {
		if (csock)
			h2o_socket_close(csock);
		pend_end(p);
		return;
	}
	h2o_buffer_consume(&csock->input, reqsize);
	if (h2o_socket_export(csock, &ce) != 0) {
		h2o_socket_close(csock);
		pend_end(p);
		return;
	}
	if (h2o_socket_export(p->up, &ue) != 0) {
		h2o_socket_dispose_export(&ce);
		pend_end(p);
		return;
	}
	p->up = NULL;
	/* what either side sent after its head goes on before the kernel's */
	ok = push(ue.fd, ce.input->bytes, ce.input->size) == 0 && push(ce.fd, ue.input->bytes, ue.input->size) == 0;
	h2o_buffer_dispose(&ce.input);
	h2o_buffer_dispose(&ue.input);
	if (ok) {
		relay(p->k, ce.fd, ue.fd);
	} else {
		close(ce.fd);
		close(ue.fd);
	}
	pend_end(p);
}

/* A header no hand-over passes on, either way: hop-by-hop ones, the
 * length, and `also` (the side's own: the request's host, the answer's
 * date and server, which h2o writes). */
static int in_list(const char *name, size_t len, const char *const *list)
{
	for (; *list; list++)
		if (h2o_lcstris(name, len, *list, strlen(*list)))
			return 1;
	return 0;
}

static int hop_header(const char *name, size_t len, const char *const *also)
{
	static const char *const hop[] = {"connection", "upgrade", "keep-alive", "transfer-encoding",
	                                  "content-length", "proxy-connection", "te", NULL};
	return in_list(name, len, hop) || in_list(name, len, also);
}

static const char *const answer_own[] = {"date", "server", NULL};

static void on_head(h2o_socket_t *sock, const char *err)
{
	pend_t *p = sock->data;
	struct phr_header hd[64];
	size_t nh = 64, msglen;
	const char *msg;
	int minor, status, n;
	h2o_req_t *req;
	char why[160];

	if (err) {
		pend_fail(p, 502, "bad_gateway", "the workspace closed the WebSocket handshake");
		return;
	}
	n = phr_parse_response(sock->input->bytes, sock->input->size, &minor, &status, &msg, &msglen, hd, &nh, 0);
	if (n == -2 && sock->input->size < HEAD_MAX)
		return; /* more to come */
	if (n < 0) {
		pend_fail(p, 502, "bad_gateway", "the workspace answered the WebSocket handshake with no valid HTTP");
		return;
	}
	h2o_socket_read_stop(sock);
	h2o_timeout_unlink(&p->timer);
	if (status != 101) {
		snprintf(why, sizeof(why), "the workspace refused the WebSocket (HTTP %d)", status);
		pend_fail(p, status >= 400 && status < 500 ? status : 502, status >= 400 && status < 500 ? "refused" :
		          "bad_gateway", why);
		return;
	}
	req = p->req;
	req->res.status = 101;
	req->res.reason = "Switching Protocols";
	for (size_t i = 0; i < nh; i++) {
		char *name;
		if (!hd[i].name || hop_header(hd[i].name, hd[i].name_len, answer_own))
			continue;
		name = h2o_mem_alloc_pool(&req->pool, hd[i].name_len + 1);
		for (size_t j = 0; j < hd[i].name_len; j++)
			name[j] = h2o_tolower(hd[i].name[j]);
		h2o_add_header_by_str(&req->pool, &req->res.headers, name, hd[i].name_len, 1, NULL,
		                      h2o_strdup(&req->pool, hd[i].value, hd[i].value_len).base, hd[i].value_len);
	}
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_UPGRADE, NULL, H2O_STRLIT("websocket"));
	h2o_buffer_consume(&sock->input, (size_t)n);
	p->upgrading = 1;
	h2o_http1_upgrade(req, NULL, 0, on_upgraded, p);
}

static void on_sent(h2o_socket_t *sock, const char *err)
{
	pend_t *p = sock->data;
	if (err) {
		pend_fail(p, 502, "bad_gateway", "the WebSocket handshake could not be sent to the workspace");
		return;
	}
	h2o_socket_read_start(sock, on_head);
}

static void on_connect(h2o_socket_t *sock, const char *err)
{
	pend_t *p = sock->data;
	h2o_iovec_t buf = h2o_iovec_init(p->text, p->len);
	if (err) {
		pend_fail(p, 502, "bad_gateway", "the workspace does not accept connections");
		return;
	}
	h2o_socket_write(sock, &buf, 1, on_sent);
}

static void on_hs_timeout(h2o_timeout_entry_t *e)
{
	pend_fail(H2O_STRUCT_FROM_MEMBER(pend_t, timer, e), 504, "timeout",
	          "the workspace did not answer the WebSocket handshake in time");
}

/* The upgrade request as the workspace gets it. */
static char *request_text(h2o_req_t *req, int port, h2o_iovec_t upath, size_t *len)
{
	static const char *const request_own[] = {"host", NULL};
	size_t cap = req->method.len + upath.len + req->upgrade.len + 160, o;
	char *s;

	for (size_t i = 0; i < req->headers.size; i++)
		cap += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
	if (!(s = malloc(cap)))
		return NULL;
	o = (size_t)snprintf(s, cap, "%.*s %.*s HTTP/1.1\r\nhost: 127.0.0.1:%d\r\n", (int)req->method.len,
	                     req->method.base, (int)upath.len, upath.base, port);
	for (size_t i = 0; i < req->headers.size; i++) {
		const h2o_header_t *h = &req->headers.entries[i];
		if (hop_header(h->name->base, h->name->len, request_own))
			continue;
		memcpy(s + o, h->name->base, h->name->len);
		o += h->name->len;
		s[o++] = ':';
		s[o++] = ' ';
		memcpy(s + o, h->value.base, h->value.len);
		o += h->value.len;
		s[o++] = '\r';
		s[o++] = '\n';
	}
	o += (size_t)snprintf(s + o, cap - o, "connection: Upgrade\r\nupgrade: %.*s\r\n\r\n",
	                      req->upgrade.base ? (int)req->upgrade.len : 9,
	                      req->upgrade.base ? req->upgrade.base : "websocket");
	*len = o;
	return s;
}

void ktun_handle(ktun_t *k, h2o_req_t *req, int port, h2o_iovec_t upath)
{
	struct sockaddr_in sa;
	pend_t *p = calloc(1, sizeof(*p));

	if (!p || !(p->text = request_text(req, port, upath, &p->len))) {
		free(p); /* not linked yet */
		http_send_error(req, 500, "internal", NULL, "out of memory");
		return;
	}
	p->k = k;
	p->req = req;
	if ((p->next = k->pends))
		p->next->pprev = &p->next;
	p->pprev = &k->pends;
	k->pends = p;
	if (!(p->guard = h2o_mem_alloc_shared(&req->pool, sizeof(*p->guard), on_guard_dispose))) {
		pend_fail(p, 500, "internal", "out of memory");
		return;
	}
	p->guard->p = p;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!(p->up = h2o_socket_connect(k->ctx->loop, (struct sockaddr *)&sa, sizeof(sa), on_connect))) {
		pend_fail(p, 502, "bad_gateway", "the workspace does not accept connections");
		return;
	}
	p->up->data = p;
	p->timer.cb = on_hs_timeout;
	h2o_timeout_link(k->ctx->loop, &k->hs_timeout, &p->timer);
}
