/*
 * ws.h — WebSocket framing for the hub (libh2o's h2o/websocket.h, which is
 * built on wslay) and for the CLI (wslay's client context).
 *
 * With libwslay-dev installed this includes the real headers. Debian ships
 * libh2o-evloop linked against libwslay1 but without requiring the -dev
 * package, so where <wslay/wslay.h> is missing the few wslay 1.x entry
 * points gpuhub calls are declared here (their ABI is stable since 1.0),
 * together with h2o 2.2's websocket API that includes it.
 */
#ifndef GH_WS_H
#define GH_WS_H

#include <h2o.h>

#if __has_include(<wslay/wslay.h>)
#include <wslay/wslay.h>
#include <h2o/websocket.h>
#else
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum wslay_error {
	WSLAY_ERR_WANT_READ = -100,
	WSLAY_ERR_WANT_WRITE = -101,
	WSLAY_ERR_PROTO = -200,
	WSLAY_ERR_INVALID_ARGUMENT = -300,
	WSLAY_ERR_INVALID_CALLBACK = -301,
	WSLAY_ERR_NO_MORE_MSG = -302,
	WSLAY_ERR_CALLBACK_FAILURE = -400,
	WSLAY_ERR_WOULDBLOCK = -401,
	WSLAY_ERR_NOMEM = -500
};

enum wslay_opcode {
	WSLAY_CONTINUATION_FRAME = 0x0u,
	WSLAY_TEXT_FRAME = 0x1u,
	WSLAY_BINARY_FRAME = 0x2u,
	WSLAY_CONNECTION_CLOSE = 0x8u,
	WSLAY_PING = 0x9u,
	WSLAY_PONG = 0xau
};

typedef struct wslay_event_context *wslay_event_context_ptr;

struct wslay_event_on_msg_recv_arg {
	uint8_t rsv;
	uint8_t opcode;
	const uint8_t *msg;
	size_t msg_length;
	uint16_t status_code;
};

struct wslay_event_on_frame_recv_start_arg;
struct wslay_event_on_frame_recv_chunk_arg;

struct wslay_event_callbacks {
	ssize_t (*recv_callback)(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user_data);
	ssize_t (*send_callback)(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
	                         void *user_data);
	int (*genmask_callback)(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user_data);
	void (*on_frame_recv_start_callback)(wslay_event_context_ptr ctx,
	                                     const struct wslay_event_on_frame_recv_start_arg *arg, void *user_data);
	void (*on_frame_recv_chunk_callback)(wslay_event_context_ptr ctx,
	                                     const struct wslay_event_on_frame_recv_chunk_arg *arg, void *user_data);
	void (*on_frame_recv_end_callback)(wslay_event_context_ptr ctx, void *user_data);
	void (*on_msg_recv_callback)(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
	                             void *user_data);
};

struct wslay_event_msg {
	uint8_t opcode;
	const uint8_t *msg;
	size_t msg_length;
};

int wslay_event_context_client_init(wslay_event_context_ptr *ctx, const struct wslay_event_callbacks *callbacks,
                                    void *user_data);
void wslay_event_context_free(wslay_event_context_ptr ctx);
int wslay_event_recv(wslay_event_context_ptr ctx);
int wslay_event_send(wslay_event_context_ptr ctx);
int wslay_event_want_read(wslay_event_context_ptr ctx);
int wslay_event_want_write(wslay_event_context_ptr ctx);
void wslay_event_set_error(wslay_event_context_ptr ctx, int val);
int wslay_event_queue_msg(wslay_event_context_ptr ctx, const struct wslay_event_msg *arg);
int wslay_event_queue_close(wslay_event_context_ptr ctx, uint16_t status_code, const uint8_t *reason,
                            size_t reason_length);
size_t wslay_event_get_queued_msg_count(wslay_event_context_ptr ctx);
size_t wslay_event_get_queued_msg_length(wslay_event_context_ptr ctx);
int wslay_event_get_close_received(wslay_event_context_ptr ctx);
int wslay_event_get_close_sent(wslay_event_context_ptr ctx);

/* h2o 2.2 lib/handler/websocket.c */
typedef struct st_h2o_websocket_conn_t h2o_websocket_conn_t;
typedef void (*h2o_websocket_msg_callback)(h2o_websocket_conn_t *conn, const struct wslay_event_on_msg_recv_arg *arg);
struct st_h2o_websocket_conn_t {
	h2o_socket_t *sock;
	wslay_event_context_ptr ws_ctx;
	struct wslay_event_callbacks ws_callbacks;
	void *data;
	h2o_websocket_msg_callback cb;
	void *_write_buf;
};
int h2o_is_websocket_handshake(h2o_req_t *req, const char **client_key);
h2o_websocket_conn_t *h2o_upgrade_to_websocket(h2o_req_t *req, const char *client_key, void *user_data,
                                               h2o_websocket_msg_callback msg_cb);
void h2o_websocket_close(h2o_websocket_conn_t *conn);
void h2o_websocket_proceed(h2o_websocket_conn_t *conn);
#endif

#endif
