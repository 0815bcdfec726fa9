/*
 * Private to the server's own files: the server, a call's connection and
 * what they share. Each file is one concept:
 *
 *   server.c     the server's life: listening, the lws callback, running,
 *                stopping on a signal, shutting down
 *   auth.c       who may call: API keys (kept as digests, compared in
 *                constant time), the offered subprotocol, browser origins
 *   handshake.c  the upgrade request: path, key, origin, agent, capacity,
 *                and the query (from, metadata, synthetic)
 *   registry.c   the agents callers reach by agent_id: built in, scripted
 *   conn.c       a call on its socket: established, messages in, frames
 *                out paced at real time, closed
 *   linger.c     after the server closed a call: what the client still
 *                sends read and dropped, so the close frame is not lost
 *   tcpinfo.c    what the kernel counted on a call's socket (the bytes of
 *                the control frames lws answers itself)
 *   trace.c      event logs and recordings of a call
 *   health.c     plain HTTP: where a request goes; GET /healthz, the
 *                counts a supervisor asks for
 *   web.c        plain HTTP: the browser client's files (web.h: which file
 *                a path names, its type, its entity tag)
 *
 * and the agents themselves beside them (session.c, agents.c, script.c).
 */
#ifndef WVS_SERVER_INTERNAL_H
#define WVS_SERVER_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <ev.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <openssl/sha.h>

#include <wvoice/error.h>
#include <wvoice/message.h>
#include <wvoice/protocol.h>

#include "agents.h"
#include "recorder.h"
#include "script.h"
#include "server.h"
#include "session.h"
#include "tts.h"

#define TX_MAX 16384 /* longest server message (a long mark id) */

struct wvs_linger;

struct agent_entry {
	const char *id;
	const struct wvs_agent *agent;
	const void *arg;
};

/* One WebSocket connection (lws per-session user data). */
struct conn {
	struct wvs_server *srv;
	struct lws *wsi;
	struct wvs_session *session;
	struct wvs_record *rec;
	ev_timer pace; /* when the session next has something to do */
	const struct agent_entry *agent;
	struct conn *prev, *next;
	char id[37];
	char peer[64];
	int64_t opened;
	struct wv_message *rx; /* the caller's messages, put together */
	/* Handshake details, read in the wvs_handshake_filter, used once established. */
	char from[128]; /* valid UTF-8, cut at a character (handshake.c) */
	char *metadata; /* decoded JSON, or NULL */
	bool record_lost; /* a line of the record was lost: said once */
	int synthetic;
	/* The close, as the first side to close gave it. */
	const char *closed_by; /* "server", "client", or NULL: none (lost) */
	int close_code;
	char close_reason[124];
	int linger_fd; /* > 0: the socket, kept for a lingering close */
	/* Control frames lws answers itself (pings) are counted from the
	   socket's bytes: those received, less what the messages and pongs
	   account for. wire: 0 when the kernel does not say, or over TLS. */
	ev_timer watch;
	int wire;
	uint64_t wire_base, wire_seen, frame_len;
};

struct wvs_server {
	struct wvs_server_config cfg;
	/* lws runs on a libev loop of ours (epoll): its own poll() loop scans
	   every socket on each wake-up and spins through the sub-millisecond
	   rest of every timer, which costs most of a core at 500 calls. */
	struct ev_loop *loop;
	int epoll_fd; /* the loop's epoll set, or -1 (see linger.c) */
	ev_timer grace; /* wakes the loop while calls close at shutdown */
	ev_signal stop_signals[WVS_STOP_SIGNALS];
	size_t n_stop_signals;
	struct lws_context *ctx;
	struct lws_vhost *vhost;
	struct lws_protocols protocols[2];
	char url[128];
	char page_url[160]; /* the browser client's, once a folder is served */
	char iface[64]; /* the address listened on, as a literal */
	int port;
	char generated_key[64];
	unsigned char (*keys)[SHA256_DIGEST_LENGTH];
	size_t n_keys;

	struct wvs_tts *tts;
	struct wvs_prompts prompts;
	struct wvs_script *scripts;
	size_t n_scripts;
	struct agent_entry *agents;
	size_t n_agents;
	struct wvs_recorder *recorder;
	char **web_roots; /* the web folders found, resolved (realpath) */
	size_t n_web_roots;

	struct conn *conns;
	struct wvs_linger *lingering; /* closed calls' sockets, draining */
	unsigned n_lingering;
	struct wvs_server_stats stats;
	atomic_int stop;
	int64_t stopping_since;
	char tx[LWS_PRE + TX_MAX];
};

/* ---- server.c ---- */

/* Monotonic microseconds, the clock of every call. */
int64_t wvs_now_us(void);
/* One line on stderr, time-stamped; never holds a key. Nothing from a
   silent server (srv NULL: a line from libwebsockets, which has none). */
void wvs_logf(const struct wvs_server *srv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- auth.c ---- */

/* The configured keys, or a generated one. Returns 0 or WV_ERR_*. */
int wvs_keys_init(struct wvs_server *srv, char *err, size_t errlen);
/* Whether the request carries a key the server knows, as X-API-Key or
   offered as the subprotocols `apikey, KEY`. */
int wvs_authorized(struct conn *c, struct lws *wsi, const char *offered);
/* Whether a browser's Origin (if any) is allowed. */
int wvs_origin_ok(const struct wvs_server *srv, struct lws *wsi);

/* ---- handshake.c ---- */

/* LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: 0 lets the call in, else the
   request has been refused with its HTTP status. */
int wvs_handshake_filter(struct conn *c, struct lws *wsi, const char *offered);

/* ---- registry.c ---- */

int wvs_agents_init(struct wvs_server *srv, char *err, size_t errlen);
const struct agent_entry *wvs_agent_find(const struct wvs_server *srv,
					 const char *id);

/* ---- conn.c ---- */

int wvs_conn_established(struct conn *c, struct lws *wsi);
void wvs_conn_finished(struct conn *c);
int wvs_conn_writeable(struct conn *c, struct lws *wsi);
int wvs_conn_receive(struct conn *c, struct lws *wsi, const char *in,
		     size_t len);
/* The client answered a ping (LWS_CALLBACK_RECEIVE_PONG). */
int wvs_conn_pong(struct conn *c, struct lws *wsi, size_t len);
/* The client's close frame (code and reason) came first. */
void wvs_conn_peer_closing(struct conn *c, const unsigned char *in,
			   size_t len);
/* Sends what the session has due, arms the pacing timer; writeable says
   whether this is the writeable callback. */
int wvs_conn_pump(struct conn *c, struct lws *wsi, int writeable);

/* ---- linger.c ---- */

/* The server's event loop, and the descriptor of its epoll set in
   *epoll_fd (-1 where it has none, or it is not found). */
struct ev_loop *wvs_linger_loop_new(int *epoll_fd);
/* A duplicate of the call's socket (>= 3), taken when the server closes
   it (LWS_CALLBACK_CLOSED), or -1; the socket leaves the epoll set. */
int wvs_linger_hold(struct wvs_server *srv, struct lws *wsi);
/* Once lws closed its own descriptor (LWS_CALLBACK_WSI_DESTROY): ends
   the sending side of fd and reads and drops what the client still sends
   until it closes, 32 MiB or 5 s, then closes fd (at once when max_calls
   sockets linger already). */
void wvs_linger_start(struct wvs_server *srv, int fd);
/* At the server's end: closes the lingering sockets that have read
   nothing for a while (see linger.c). */
void wvs_linger_sweep_quiet(struct wvs_server *srv, int64_t now);
/* Closes every lingering socket at once (the server's end). */
void wvs_linger_cleanup(struct wvs_server *srv);

/* ---- tcpinfo.c ---- */

/* The bytes received on a TCP socket and read from it (TCP_INFO, less
   what is still queued), at most. Returns 0 or -1. */
int wvs_tcp_bytes_read(int fd, uint64_t *out);

/* ---- health.c ---- */

/* LWS_CALLBACK_HTTP, a request that is no upgrade (uri: its path). GET
   or HEAD /healthz: 200 and the counts as JSON (503 and "stopping" once
   the server stops); another method there: 405; any other path goes to
   wvs_web_request(). Returns what the callback returns. */
int wvs_http_request(struct wvs_server *srv, struct lws *wsi, const char *uri);
/* One small answer with its body (a HEAD gets the headers alone), and
   an Allow header unless allow is NULL; then the next request on the
   connection, or its close. Returns what the callback returns. */
int wvs_http_respond(struct lws *wsi, unsigned status, const char *type,
		     const char *body, const char *allow);

/* ---- web.c ---- */

/* Resolves cfg.web_dirs into web_roots and says at start what is served.
   A folder missing: WV_ERR_INVALID with the reason in err, unless
   cfg.web_optional (then skipped). Returns 0 or WV_ERR_*. */
int wvs_web_init(struct wvs_server *srv, char *err, size_t errlen);
void wvs_web_cleanup(struct wvs_server *srv);
/* A plain HTTP request for a file: GET or HEAD of a file in a web folder,
   200 (or 304 for the browser's If-None-Match); another method 405 (when
   a folder is served); anything else 404. Returns what the callback
   returns; a GET's end comes as LWS_CALLBACK_HTTP_FILE_COMPLETION. */
int wvs_web_request(struct wvs_server *srv, struct lws *wsi, const char *uri);

/* ---- trace.c ---- */

/* The session's trace, audio and log hooks, for a recorded or logged
   call (user is the conn). */
void wvs_on_trace(void *user, enum wvs_dir dir, const struct wv_event *ev,
		  const char *problem, int64_t now);
void wvs_on_audio(void *user, enum wvs_dir dir, uint64_t pos,
		  const int16_t *pcm, size_t n);
void wvs_on_log(void *user, const char *line);
/* Starts the call's recording, with its connect line. */
void wvs_trace_open(struct conn *c);
/* The recording's last line: the end reason, the close code and reason,
   and who closed. */
void wvs_trace_end(struct conn *c);

#endif
