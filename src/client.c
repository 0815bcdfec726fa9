/*
 * The client: calls over libwebsockets on a libev loop of ours. See
 * wvoice.h for the contract and call.h for the protocol, which lives in
 * the sans-I/O core; this file owns the sockets, the clock and TLS.
 *
 * How it is put together:
 * - One lws context per wv_loop, on the loop's libev loop (lws's own poll
 *   loop spins through sub-millisecond timer remainders). Our own timers
 *   only: lws 4.1.6's libev glue never re-arms its timer for a nearer
 *   deadline.
 * - One loop-wide 20 ms timer clocks every open call at once (source in,
 *   playout out, tick, send), on a grid fixed at its start, so a long call
 *   does not drift and many calls cost one wake-up per 20 ms.
 * - TLS: an OpenSSL client context of ours per CA file, given to lws, that
 *   verifies certificates itself (see verify_chain()).
 * - Names are looked up on the resolver's thread (resolve.h), never on the
 *   loop's; lws is handed one address literal at a time, the next after a
 *   refusal.
 */
#include <wvoice/wvoice.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <ev.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <wvoice/capture.h>
#include <wvoice/message.h>
#include <wvoice/resampler.h>
#include <wvoice/url.h>

#include "client.h"
#include "resolve.h"
#include "sized.h"

#define TICK_US 20000
/* epoll waits whole milliseconds: a tick due within one is done now. */
#define SLACK_US 1000
/* After a stall, at most this many ticks are caught up at once (200 ms);
   past that the grid starts again from now. */
#define MAX_CATCHUP 10
#define KEY_MAX 512
/* lws writes the request line into 2048 bytes and cuts it silently. */
#define PATH_MAX_LEN 2000
#define URL_CAP 4096
#define CONNECT_TIMEOUT_MAX_MS 60000
/* lws's own handshake timeouts, longer than ours so that ours decide. */
#define LWS_TIMEOUT_S 61
#define CLOSE_GRACE_US 1000000
#define PING_MAX_S 3600
#define PROTOCOL_NAME "wvoice-client"

struct vhost_slot {
	struct lws_vhost *vh;
	SSL_CTX *ssl;	/* ours; NULL on the ws:// vhost */
	char *ca_file;	/* NULL: the system's store */
	bool tls;
	char name[24];	/* lws keeps the pointer */
};

struct wv_loop {
	struct ev_loop *ev;
	struct lws_context *ctx;
	struct lws_protocols protocols[2];
	struct vhost_slot *vhosts;
	size_t n_vhosts;
	struct wv_client *clients; /* every call made on it, and the doomed */
	struct wv__resolver *resolver; /* name lookups, off this thread */
	ev_timer tick;		   /* the 20 ms clock of the open calls */
	int64_t tick_base;	   /* the grid: tick n is due at base + n*20ms */
	uint64_t tick_n;
	ev_timer wake;		   /* bounds one wv_loop_run() */
	bool running;
	/* How deep we are in code that may run the application's callbacks
	   (an lws callback, a timer, an API call): a call destroyed in there
	   is freed only once the outermost of them has returned. */
	int depth;
	bool reap; /* a doomed call may be freed at depth 0 */
	/* The count of calls going, redone only after a change: the loop
	   asks after every turn, and a turn may be one event of thousands. */
	int n_going;
	bool recount;
	int16_t pcm[WV_FRAME_SAMPLES];
	unsigned char tx[LWS_PRE + WV_MESSAGE_MAX];
};

struct wv_client {
	struct wv_loop *loop; /* NULL once the loop is gone */
	struct wv_client *prev, *next;
	struct wv_client_config cfg; /* strings point at our copies */
	struct wv_call_callbacks ucb; /* the application's; cleared on destroy */
	char *url, *key, *agent, *from, *metadata, *ca_file;
	char *full_url, *offer; /* offer: "apikey, KEY" */
	struct wv_url_parts addr;
	char hostport[272];	/* "host:port", for messages */
	char host_header[272];
	lws_retry_bo_t keepalive;
	struct wv_call *call;

	struct lws *wsi;
	struct lws_vhost *vhost;
	struct wv__lookup *lookup; /* the host's name, being looked up */
	struct addrinfo *addrs, *next_addr; /* its addresses, the next to try */
	ev_timer conn_timer; /* first the deferred start, then the timeout */
	ev_timer redial;     /* the next address, after one failed */
	int64_t pong_at;  /* the last sign of life lws's keepalive counts */
	bool connect_started, tcp_up, opened;
	bool in_connect;  /* inside lws_client_connect_via_info() */
	bool told_closed; /* wv_call_closed() was called */
	bool doomed;	  /* destroyed: freed once its socket is gone and
			     no code of ours on the stack uses it */
	bool mute_core;	  /* the core's own report of a failure we made */
	int close_code;	  /* to send from the writeable callback */
	char close_reason[64];
	int close_sent;	  /* the close code we sent */

	int error, http_status;
	char last_error[256];
	int pending_code; /* the first diagnosis of a failing handshake */
	char pending[256];
	uint64_t bad_frames; /* binary frames: the core never sees them */

	struct wv_message *rx; /* the server's messages, put together */

	struct wv_audio *audio; /* wv_client_open_audio()'s devices */
	bool device_playout;	/* ... whose speaker reads the playout */

	unsigned src_rate, src_acc; /* source samples owed, in 1/1000 */
	float *src_buf;

	wv__client_observer *obs;
	void *obs_user;
};

int64_t wv__now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- callbacks that may free their call ---- */

static void free_client(struct wv_client *c);

/* The application may destroy a call from any of its callbacks, which
   run deep inside our own code (an lws callback, a timer, fail()). So
   every way in from lws, libev or the application goes through enter()
   and leave(), and a call destroyed in between is freed by the outermost
   leave(), once nothing on the stack still uses it (libuv's uv_close()
   and curl's multi handle defer the same way). */
static void enter(struct wv_loop *loop)
{
	if (loop)
		loop->depth++;
}

/* Frees the destroyed calls whose sockets are gone. */
static void reap(struct wv_loop *loop)
{
	struct wv_client *c, *next;

	loop->reap = false;
	for (c = loop->clients; c; c = next) {
		next = c->next;
		if (c->doomed && !c->wsi)
			free_client(c);
	}
}

static void leave(struct wv_loop *loop)
{
	if (loop && --loop->depth == 0 && loop->reap)
		reap(loop);
}

/* ---- reporting ---- */

static void recount(struct wv_client *c)
{
	if (c->loop)
		c->loop->recount = true;
}

static void notify(struct wv_client *c, enum wv__client_note note)
{
	if (c->obs)
		c->obs(c->obs_user, c, note);
}

/* Records an error of the call and tells the application. */
static void record_error(struct wv_client *c, int code, const char *msg)
{
	snprintf(c->last_error, sizeof c->last_error, "%s", msg);
	notify(c, WV__NOTE_ERROR);
	if (c->ucb.error)
		c->ucb.error(c->cfg.user, code, c->last_error);
}

/* The reason a call reports with a close code of its own side. */
static const char *close_words(int code)
{
	switch (code) {
	case 1002:
		return "protocol error";
	case 1006:
		return "connection lost";
	case 1007:
		return "invalid UTF-8";
	case 1009:
		return "message too big";
	default:
		return NULL;
	}
}

/* Whatever was under way to connect stops: the timeout, a name lookup,
   a retry of the next address. */
static void stop_connecting(struct wv_client *c)
{
	if (!c->loop)
		return;
	ev_timer_stop(c->loop->ev, &c->conn_timer);
	ev_timer_stop(c->loop->ev, &c->redial);
	wv__resolve_cancel(c->loop->resolver, c->lookup);
	c->lookup = NULL;
}

/* Tells the core the socket has closed (once) and the observer that the
   close code is known. */
static void tell_closed(struct wv_client *c, int code, const char *reason,
			bool error)
{
	if (c->told_closed)
		return;
	c->told_closed = true;
	wv_call_closed(c->call, code, reason, error, wv__now_us());
	notify(c, WV__NOTE_CLOSED);
}

/* Ends the call with an error: the socket failed or we are closing it
   because the server broke the protocol. close_code is what the call
   reports as its close (0: none). */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void fail(struct wv_client *c, int code, int close_code,
		 const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (c->told_closed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	stop_connecting(c);
	/* The error that ended the call; a socket lost after a hang-up is
	   still told, but did not end anything. */
	if (!c->error && wv_call_status(c->call) != WV_STATUS_DISCONNECTED)
		c->error = code;
	record_error(c, code, msg);
	c->mute_core = true;
	tell_closed(c, close_code, close_words(close_code), true);
	c->mute_core = false;
}

/* The first clear diagnosis of a failing handshake wins over what lws
   says when it then gives up. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void diagnose(struct wv_client *c, int code, const char *fmt, ...)
{
	va_list ap;

	if (c->pending_code)
		return;
	c->pending_code = code;
	va_start(ap, fmt);
	vsnprintf(c->pending, sizeof c->pending, fmt, ap);
	va_end(ap);
}

/* ---- the core's callbacks, passed on ---- */

static void on_status(void *user, enum wv_status from, enum wv_status to)
{
	struct wv_client *c = user;

	if (to == WV_STATUS_DISCONNECTED && !c->error &&
	    wv_call_end_reason(c->call) == WV_END_START_TIMEOUT)
		c->error = WV_ERR_TIMEOUT;
	recount(c);
	notify(c, WV__NOTE_STATUS);
	if (c->ucb.status)
		c->ucb.status(c->cfg.user, from, to);
}

static void on_comm_id(void *user, const char *id)
{
	struct wv_client *c = user;

	notify(c, WV__NOTE_COMM_ID);
	if (c->ucb.communication_id)
		c->ucb.communication_id(c->cfg.user, id);
}

static void on_error(void *user, int code, const char *detail)
{
	struct wv_client *c = user;

	if (!c->mute_core)
		record_error(c, code, detail);
}

static void on_unknown(void *user, const char *name, const char *json,
		       size_t len)
{
	struct wv_client *c = user;

	if (c->ucb.unknown_event)
		c->ucb.unknown_event(c->cfg.user, name, json, len);
}

static void on_event(void *user, enum wv_direction dir,
		     const struct wv_event *ev)
{
	struct wv_client *c = user;

	if (c->ucb.event)
		c->ucb.event(c->cfg.user, dir, ev);
}

/* ---- the socket ---- */

/* Asks for the writeable callback when there is something to send. */
static void kick(struct wv_client *c)
{
	size_t len;

	if (!c->wsi || !c->opened)
		return;
	if (c->close_code || wv_call_peek_frame(c->call, &len) ||
	    wv_call_should_close(c->call, NULL))
		lws_callback_on_writable(c->wsi);
}

/* Takes the socket away from the call: lws calls back no more for it. */
static struct lws *detach(struct wv_client *c)
{
	struct lws *wsi = c->wsi;

	c->wsi = NULL;
	recount(c);
	if (wsi)
		lws_set_opaque_user_data(wsi, NULL);
	return wsi;
}

/* Closes a socket detached from its call. Inside our callbacks (which may
   be this socket's own) lws is told to close it on its next turn. */
static void kill_socket(const struct wv_loop *loop, struct lws *wsi)
{
	if (wsi)
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK,
				loop && loop->depth ? LWS_TO_KILL_ASYNC
						    : LWS_TO_KILL_SYNC);
}

static int append_key(struct wv_client *c, struct lws *wsi, void *in,
		      size_t len)
{
	unsigned char **p = in, *end = *p + len;

	if (c->cfg.auth != WV_AUTH_HEADER)
		return 0;
	if (lws_add_http_header_by_name(wsi, (const unsigned char *)"x-api-key:",
					(const unsigned char *)c->key,
					(int)strlen(c->key), p, end)) {
		diagnose(c, WV_ERR_INTERNAL, "handshake headers too long");
		return -1;
	}
	return 0;
}

static const char *refusal_hint(int status)
{
	switch (status) {
	case 401:
		return " (API key refused)";
	case 403:
		return " (forbidden)";
	case 404:
		return " (unknown agent or path)";
	case 503:
		return " (server at capacity)";
	case 301:
	case 302:
	case 303:
	case 307:
	case 308:
		return " (redirect not followed)";
	default:
		return "";
	}
}

/* The server's answer to the upgrade request, whatever it is. */
static int answered(struct wv_client *c, struct lws *wsi)
{
	c->http_status = lws_http_client_http_response(wsi);
	if (c->http_status != 101)
		diagnose(c, WV_ERR_REFUSED, "handshake refused: %d%s",
			 c->http_status, refusal_hint(c->http_status));
	return 0;
}

/* lws accepts an answer naming any protocol we offered, and no answer at
   all; a browser accepts only "apikey". The answer is never printed: the
   only other token we offered is the key. */
static int check_subprotocol(struct wv_client *c, struct lws *wsi)
{
	char answer[16];

	if (c->cfg.auth != WV_AUTH_SUBPROTOCOL)
		return 0;
	if (lws_hdr_copy(wsi, answer, sizeof answer, WSI_TOKEN_PROTOCOL) > 0 &&
	    strcmp(answer, "apikey") == 0)
		return 0;
	diagnose(c, WV_ERR_PROTOCOL,
		 "server at %s did not select the subprotocol \"apikey\"",
		 c->hostport);
	return 1;
}

static void start_clock(struct wv_loop *loop);
static int hangup(struct wv_client *c);

static int established(struct wv_client *c)
{
	stop_connecting(c);
	c->opened = true;
	c->pong_at = wv__now_us();
	wv_call_opened(c->call, wv__now_us());
	start_clock(c->loop);
	kick(c);
	return 0;
}

/* Closes with close_code from the next writeable callback: a close
   started from the receive callback can lose the close frame. */
static void close_for(struct wv_client *c, int code, int close_code,
		      const char *reason, const char *msg)
{
	c->close_code = close_code;
	snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
	fail(c, code, close_code, "%s", msg);
	kick(c);
}

static int receive(struct wv_client *c, struct lws *wsi, const char *in,
		   size_t len)
{
	const char *text;
	size_t n;

	if (c->told_closed)
		return 0;
	switch (wv_message_feed(c->rx, in, len, lws_is_first_fragment(wsi),
				lws_is_final_fragment(wsi),
				lws_frame_is_binary(wsi), &text, &n)) {
	case WV_MESSAGE_PARTIAL:
	case WV_MESSAGE_SKIPPED:
		return 0;
	case WV_MESSAGE_BINARY:
		/* Reported and ignored, like any other bad frame: the call
		   is worth more than a strict reading of the protocol. */
		c->bad_frames++;
		record_error(c, WV_ERR_PROTOCOL,
			     "binary frame from server ignored (the protocol is "
			     "JSON text)");
		return 0;
	case WV_MESSAGE_TOO_BIG:
		close_for(c, WV_ERR_TOO_LARGE, 1009, "message too big",
			  "message from server over 65536 bytes: closed (1009)");
		return 0;
	case WV_MESSAGE_NOT_UTF8:
		close_for(c, WV_ERR_PROTOCOL, 1007, "not UTF-8",
			  "text from server not UTF-8: closed (1007)");
		return 0;
	case WV_MESSAGE_NOMEM:
		close_for(c, WV_ERR_NOMEM, 1011, "out of memory",
			  "out of memory for a message from server");
		return 0;
	case WV_MESSAGE_TEXT:
		break;
	}
	wv_call_receive(c->call, text, n, wv__now_us());
	kick(c);
	return 0;
}

/* One lws_write() per call: the client masks the buffer in place, so the
   frame is copied out of the call's queue each time. */
static int writeable(struct wv_client *c, struct lws *wsi)
{
	unsigned char *buf = c->loop->tx + LWS_PRE;
	const char *frame;
	size_t len;
	int code;

	if (c->close_code) {
		lws_close_reason(wsi, (enum lws_close_status)c->close_code,
				 (unsigned char *)c->close_reason,
				 strlen(c->close_reason));
		c->close_sent = c->close_code;
		return -1;
	}
	if (wv_call_should_close(c->call, &code)) {
		lws_close_reason(wsi, (enum lws_close_status)code,
				 (unsigned char *)"", 0);
		c->close_sent = code;
		return -1;
	}
	frame = wv_call_peek_frame(c->call, &len);
	if (!frame)
		return 0;
	if (len <= WV_MESSAGE_MAX) {
		memcpy(buf, frame, len);
		if (lws_write(wsi, buf, len, LWS_WRITE_TEXT) < (int)len)
			return -1;
	}
	wv_call_frame_sent(c->call);
	kick(c);
	return 0;
}

static void peer_closing(struct wv_client *c, const unsigned char *in,
			 size_t len)
{
	char reason[128];
	size_t n = 0;
	int code = 1005; /* no status code in the frame */

	if (len >= 2) {
		code = in[0] << 8 | in[1];
		for (size_t i = 2; i < len && n < sizeof reason - 1; i++)
			reason[n++] = in[i] < 0x20 || in[i] == 0x7f ? '?'
								     : (char)in[i];
	}
	reason[n] = '\0';
	tell_closed(c, code, reason, false);
}

/* lws hangs up when no pong came within ping_s + 10 s: say so. */
static bool silent_too_long(const struct wv_client *c)
{
	int64_t quiet = wv__now_us() - c->pong_at;

	return c->opened && c->cfg.ping_s &&
	       quiet >= (int64_t)(c->cfg.ping_s + 10) * 1000000 - 500000;
}

/* The close lws sent by itself, when the server broke the WebSocket
   protocol (text that is not UTF-8, a bad frame): 0 if none. */
static int lws_own_close(struct lws *wsi)
{
	const unsigned char *p;
	int code;

	if (!wsi || lws_get_close_length(wsi) < 2)
		return 0;
	p = lws_get_close_payload(wsi);
	code = p[0] << 8 | p[1];
	/* The buffer also holds pings and the peer's close: only a code
	   RFC 6455 defines can be lws's own. */
	return code >= 1000 && code <= 1015 ? code : 0;
}

/* The socket is gone: from here lws calls back no more for it, so a call
   destroyed while it closed can go. wsi is NULL once lws has let go of
   its WebSocket state. */
static void socket_closed(struct wv_client *c, struct lws *wsi)
{
	int own = c->close_sent ? 0 : lws_own_close(wsi);

	/* fail() acts once: the first of these that applies is told. */
	detach(c);
	if (c->close_sent)
		tell_closed(c, c->close_sent, "", false);
	if (own == 1007)
		fail(c, WV_ERR_PROTOCOL, own,
		     "text from server not UTF-8: closed (1007)");
	if (own)
		fail(c, WV_ERR_PROTOCOL, own,
		     "server broke the WebSocket protocol: closed (%d)", own);
	if (silent_too_long(c))
		fail(c, WV_ERR_CONNECT, 1006,
		     "connection to %s lost: no answer to pings for %u s",
		     c->hostport, c->cfg.ping_s + 10);
	fail(c, WV_ERR_CONNECT, 1006, "connection to %s lost", c->hostport);
	if (c->doomed)
		c->loop->reap = true;
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* lws's words for a failed TLS handshake. */
static bool tls_failure(const char *msg)
{
	static const char *const prefixes[] = {
		"connect SSL", "connect SYSCALL", "connect unk",
		"server's cert", "Timed out waiting SSL", "bio_create failed",
		"tls restriction",
	};

	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
		if (starts(msg, prefixes[i]))
			return true;
	return false;
}

static void tls_failed(struct wv_client *c, struct lws *wsi, const char *msg)
{
	SSL *ssl = lws_get_ssl(wsi);
	long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	size_t n = strcspn(msg, "\r\n");

	if (v != X509_V_OK)
		fail(c, WV_ERR_TLS, 0,
		     "TLS handshake with %s failed: certificate rejected (%s)",
		     c->hostport, X509_verify_cert_error_string(v));
	else
		fail(c, WV_ERR_TLS, 0, "TLS handshake with %s failed: %.*s",
		     c->hostport, (int)n, msg);
}

static void connection_error(struct wv_client *c, struct lws *wsi,
			     const char *msg)
{
	detach(c);
	if (c->told_closed)
		return;
	if (!msg || !*msg)
		msg = "unknown";
	if (c->pending_code)
		fail(c, c->pending_code, 0, "%s", c->pending);
	else if (c->addr.tls && tls_failure(msg))
		tls_failed(c, wsi, msg);
	else if (starts(msg, "Unable to connect") && c->next_addr) {
		/* The host's next address, once out of lws's callback. */
		ev_timer_set(&c->redial, 0, 0);
		ev_timer_start(c->loop->ev, &c->redial);
	} else if (starts(msg, "Unable to connect"))
		fail(c, WV_ERR_CONNECT, 0,
		     "cannot connect to %s: connection refused or unreachable",
		     c->hostport);
	else if (starts(msg, "HS: PROTOCOL malformed"))
		/* lws's words for an answer naming a subprotocol we did not
		   offer; the answer itself is not printed (check_subprotocol()). */
		fail(c, WV_ERR_PROTOCOL, 0,
		     "server at %s selected a subprotocol that was not offered",
		     c->hostport);
	else if (starts(msg, "HS: "))
		fail(c, WV_ERR_PROTOCOL, 0, "bad handshake answer from %s: %s",
		     c->hostport, msg + 4);
	else if (!c->tcp_up)
		fail(c, WV_ERR_CONNECT, 0, "cannot connect to %s: %s",
		     c->hostport, msg);
	else
		fail(c, WV_ERR_CONNECT, 0,
		     "connection to %s closed during the handshake (%s)",
		     c->hostport, msg);
}

/* A socket that closed without telling us otherwise. While lws is still
   inside lws_client_connect_via_info(), its failure is reported there. */
static void wsi_gone(struct wv_client *c)
{
	if (!c->in_connect) {
		socket_closed(c, NULL);
		return;
	}
	detach(c);
}

static int dispatch(struct wv_client *c, struct lws *wsi,
		    enum lws_callback_reasons reason, void *in, size_t len)
{
	switch (reason) {
	case LWS_CALLBACK_WSI_CREATE:
		c->tcp_up = true;
		return 0;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		return append_key(c, wsi, in, len);
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		return answered(c, wsi);
	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
		return check_subprotocol(c, wsi);
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		return established(c);
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return receive(c, wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return writeable(c, wsi);
	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		c->pong_at = wv__now_us();
		return 0;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		peer_closing(c, in, len);
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		connection_error(c, wsi, in);
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		socket_closed(c, wsi);
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		wsi_gone(c);
		return 0;
	default:
		return 0;
	}
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	struct wv_client *c = lws_get_opaque_user_data(wsi);
	struct wv_loop *loop;
	int rc;

	(void)user;
	if (!c)
		return 0; /* a socket we have let go of */
	loop = c->loop;
	enter(loop);
	rc = dispatch(c, wsi, reason, in, len);
	leave(loop);
	return rc;
}

/* ---- TLS ---- */

static struct wv_client *client_of_ssl(struct wv_loop *loop, const SSL *ssl)
{
	for (struct wv_client *c = loop->clients; c; c = c->next)
		if (c->wsi && lws_get_ssl(c->wsi) == ssl)
			return c;
	return NULL;
}

static int verify_as_openssl(int ok, X509_STORE_CTX *x)
{
	(void)x;
	return ok;
}

/*
 * Certificate checks are ours, not lws's: its verify callback finds the
 * connection through an OpenSSL ex-data index that every lws context made
 * with LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT renumbers, process-wide, so a
 * second context (a second loop, the in-process server) can fail the
 * handshakes of the first. The host name check that lws set on the SSL
 * still applies: it is in the parameters X509_verify_cert() uses.
 */
static int verify_chain(X509_STORE_CTX *x, void *arg)
{
	struct wv_loop *loop = arg;
	SSL *ssl = X509_STORE_CTX_get_ex_data(x,
					      SSL_get_ex_data_X509_STORE_CTX_idx());
	struct wv_client *c = ssl ? client_of_ssl(loop, ssl) : NULL;

	if (c && c->cfg.insecure)
		return 1;
	X509_STORE_CTX_set_verify_cb(x, verify_as_openssl);
	return X509_verify_cert(x);
}

static SSL_CTX *tls_context(struct wv_loop *loop, const char *ca_file)
{
	SSL_CTX *ssl = SSL_CTX_new(TLS_client_method());

	if (!ssl)
		return NULL;
	SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION);
	SSL_CTX_set_options(ssl, SSL_OP_NO_COMPRESSION);
	if (ca_file ? SSL_CTX_load_verify_locations(ssl, ca_file, NULL) != 1
		    : SSL_CTX_set_default_verify_paths(ssl) != 1) {
		SSL_CTX_free(ssl);
		return NULL;
	}
	SSL_CTX_set_cert_verify_callback(ssl, verify_chain, loop);
	return ssl;
}

/* The vhost for a call: one for ws://, one per CA file for wss://. */
static int vhost_for(struct wv_loop *loop, struct wv_client *c,
		     struct lws_vhost **out)
{
	struct lws_context_creation_info info;
	struct vhost_slot *s, *grown;
	bool tls = c->addr.tls;

	for (size_t i = 0; i < loop->n_vhosts; i++) {
		s = &loop->vhosts[i];
		if (s->tls == tls &&
		    (!tls || (!s->ca_file && !c->ca_file) ||
		     (s->ca_file && c->ca_file && !strcmp(s->ca_file, c->ca_file)))) {
			*out = s->vh;
			return 0;
		}
	}
	grown = realloc(loop->vhosts, (loop->n_vhosts + 1) * sizeof *grown);
	if (!grown)
		return WV_ERR_NOMEM;
	loop->vhosts = grown;
	s = &loop->vhosts[loop->n_vhosts];
	memset(s, 0, sizeof *s);
	s->tls = tls;
	snprintf(s->name, sizeof s->name, "wvoice-%zu", loop->n_vhosts);
	if (tls) {
		if (c->ca_file && !(s->ca_file = strdup(c->ca_file)))
			return WV_ERR_NOMEM;
		s->ssl = tls_context(loop, c->ca_file);
		if (!s->ssl) {
			free(s->ca_file);
			diagnose(c, WV_ERR_TLS, "cannot load %s%s",
				 c->ca_file ? "CA file " : "the system's CA store",
				 c->ca_file ? c->ca_file : "");
			return WV_ERR_TLS;
		}
	}
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = loop->protocols;
	info.vhost_name = s->name;
	info.gid = -1;
	info.uid = -1;
	info.connect_timeout_secs = LWS_TIMEOUT_S;
	info.alpn = "http/1.1";
	/* On the vhost only: lws needs it to take our SSL_CTX; on the
	   context it would renumber lws's OpenSSL indexes (verify_chain()). */
	if (tls) {
		info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.provided_client_ssl_ctx = s->ssl;
	}
	s->vh = lws_create_vhost(loop->ctx, &info);
	if (!s->vh) {
		SSL_CTX_free(s->ssl);
		free(s->ca_file);
		diagnose(c, WV_ERR_INTERNAL, "cannot make a libwebsockets vhost");
		return WV_ERR_INTERNAL;
	}
	loop->n_vhosts++;
	*out = s->vh;
	return 0;
}

/* ---- connecting ---- */

/* Why a socket could not even be made: errno's words, for the failures a
   person can act on. */
static const char *socket_failure(int err)
{
	switch (err) {
	case EMFILE:
	case ENFILE:
		return "too many open files";
	case ENETUNREACH:
		return "network unreachable";
	case EHOSTUNREACH:
		return "host unreachable";
	case EADDRNOTAVAIL:
		return "no local address or port free";
	case ENOMEM:
	case ENOBUFS:
		return "out of memory";
	default:
		return NULL;
	}
}

static bool dial(struct wv_client *c, const char *address)
{
	struct lws_client_connect_info ci;
	struct lws *wsi;
	const char *why;

	memset(&ci, 0, sizeof ci);
	ci.context = c->loop->ctx;
	ci.vhost = c->vhost;
	ci.address = address; /* a literal: lws looks up nothing */
	ci.port = c->addr.port;
	ci.path = c->addr.path;
	ci.host = c->host_header; /* the Host header, SNI and the cert name */
	ci.protocol = c->offer;
	ci.local_protocol_name = PROTOCOL_NAME;
	ci.ietf_version_or_minus_one = -1;
	ci.ssl_connection = LCCSCF_HTTP_NO_FOLLOW_REDIRECT;
	if (c->addr.tls)
		ci.ssl_connection |= LCCSCF_USE_SSL;
	if (c->addr.tls && c->cfg.insecure)
		ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED |
				     LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
				     LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
	ci.alpn = "http/1.1";
	ci.opaque_user_data = c;
	ci.retry_and_idle_policy = &c->keepalive;
	ci.pwsi = &c->wsi;
	c->in_connect = true;
	errno = 0;
	wsi = lws_client_connect_via_info(&ci);
	c->in_connect = false;
	recount(c);
	if (wsi)
		return true;
	/* socket() or connect() failed at once, and lws says nothing more;
	   errno is still theirs. */
	c->wsi = NULL;
	why = socket_failure(errno);
	if (why)
		diagnose(c, WV_ERR_CONNECT, "cannot connect to %s: %s",
			 c->hostport, why);
	return false;
}

/* The next address of the host, until one connects. */
static void dial_next(struct wv_client *c)
{
	char text[INET6_ADDRSTRLEN];

	while (c->next_addr) {
		const struct addrinfo *ai = c->next_addr;
		const void *a = ai->ai_family == AF_INET6
			? (const void *)&((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr
			: (const void *)&((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr;

		c->next_addr = ai->ai_next;
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    !inet_ntop(ai->ai_family, a, text, sizeof text))
			continue;
		if (dial(c, text))
			return;
	}
	if (c->pending_code)
		fail(c, c->pending_code, 0, "%s", c->pending);
	else
		fail(c, WV_ERR_CONNECT, 0,
		     "cannot connect to %s: connection refused or unreachable",
		     c->hostport);
}

static void resolved(void *user, int rc, struct addrinfo *res)
{
	struct wv_client *c = user;
	struct wv_loop *loop = c->loop;

	enter(loop);
	c->lookup = NULL;
	if (rc != 0) {
		fail(c, WV_ERR_CONNECT, 0, "cannot connect to %s: cannot resolve "
		     "%s (%s)", c->hostport, c->addr.host, gai_strerror(rc));
	} else {
		c->addrs = c->next_addr = res;
		dial_next(c);
	}
	leave(loop);
}

/* After a refused or unreachable address, from outside lws's callbacks. */
static void redial_due(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct wv_client *c = w->data;
	struct wv_loop *loop = c->loop;

	(void)ev;
	(void)revents;
	enter(loop);
	if (!c->told_closed && !c->wsi)
		dial_next(c);
	leave(loop);
}

static void start_connecting(struct wv_client *c)
{
	struct addrinfo *one;
	int rc;

	c->connect_started = true;
	rc = vhost_for(c->loop, c, &c->vhost);
	if (rc < 0) {
		fail(c, rc, 0, "%s", c->pending_code ? c->pending : "out of memory");
		return;
	}
	/* One clock for the lookup, the connection and the handshake. */
	ev_timer_set(&c->conn_timer, c->cfg.connect_timeout_ms / 1e3, 0);
	ev_timer_start(c->loop->ev, &c->conn_timer);
	if (!wv__is_address(c->addr.host)) {
		rc = wv__resolve(c->loop->resolver, c->addr.host, resolved, c,
				 &c->lookup);
		if (rc < 0)
			fail(c, rc, 0, "cannot connect to %s: cannot start a "
			     "name lookup (%s)", c->hostport, wv_strerror(rc));
		return;
	}
	/* An address literal: getaddrinfo() of it answers at once. */
	rc = getaddrinfo(c->addr.host, NULL,
			 &(struct addrinfo){ .ai_socktype = SOCK_STREAM,
					     .ai_flags = AI_NUMERICHOST },
			 &one);
	if (rc != 0) {
		fail(c, WV_ERR_CONNECT, 0, "cannot connect to %s: %s",
		     c->hostport, gai_strerror(rc));
		return;
	}
	c->addrs = c->next_addr = one;
	dial_next(c);
}

static void connect_timed_out(struct wv_client *c)
{
	struct lws *wsi;

	if (c->opened || c->told_closed)
		return;
	wsi = detach(c);
	fail(c, WV_ERR_TIMEOUT, 0, "cannot connect to %s: no %s within %u ms",
	     c->hostport, c->lookup ? "answer to the name lookup"
			  : c->tcp_up ? "WebSocket handshake" : "connection",
	     c->cfg.connect_timeout_ms);
	kill_socket(c->loop, wsi);
}

static void connect_timer_due(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct wv_client *c = w->data;
	struct wv_loop *loop = c->loop;

	(void)ev;
	(void)revents;
	enter(loop);
	if (!c->connect_started)
		start_connecting(c);
	else
		connect_timed_out(c);
	leave(loop);
}

/* ---- the clock ---- */

static bool clocked(const struct wv_client *c)
{
	enum wv_status s = wv_call_status(c->call);

	return c->opened && c->wsi && !c->told_closed &&
	       (s == WV_STATUS_CONNECTING || s == WV_STATUS_CONNECTED);
}

/* 20 ms of one call: the source in, the playout out, marks answered, and
   the frames this makes sent. */
static void clock_call(struct wv_loop *loop, struct wv_client *c, int64_t now)
{
	size_t n;

	c->src_acc += c->src_rate * (TICK_US / 1000);
	n = c->src_acc / 1000;
	c->src_acc %= 1000;
	if (c->cfg.source.read &&
	    c->cfg.source.read(c->cfg.source.user, c->src_buf, n) < 0)
		memset(c->src_buf, 0, n * sizeof *c->src_buf);
	wv_call_write_audio(c->call, c->src_buf, n);
	if (!c->device_playout) {
		wv_playout_read(wv_call_playout(c->call), loop->pcm,
				WV_FRAME_SAMPLES);
		if (c->cfg.sink.write)
			c->cfg.sink.write(c->cfg.sink.user, loop->pcm,
					  WV_FRAME_SAMPLES);
	}
	wv_call_tick(c->call, now);
	notify(c, WV__NOTE_TICK);
	kick(c);
}

static size_t tick_all(struct wv_loop *loop, int64_t now)
{
	size_t n = 0;

	for (struct wv_client *c = loop->clients; c; c = c->next)
		if (clocked(c)) {
			clock_call(loop, c, now);
			n++;
		}
	return n;
}

static int64_t next_tick(const struct wv_loop *loop)
{
	return loop->tick_base + (int64_t)loop->tick_n * TICK_US;
}

static void tick_due(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct wv_loop *loop = w->data;
	int64_t now = wv__now_us();
	size_t live = 0;
	int done = 0;

	(void)revents;
	enter(loop);
	while (next_tick(loop) <= now + SLACK_US && done < MAX_CATCHUP) {
		live = tick_all(loop, now);
		loop->tick_n++;
		done++;
	}
	leave(loop);
	if (next_tick(loop) <= now + SLACK_US) {
		loop->tick_base = now;
		loop->tick_n = 1;
	}
	if (done && !live)
		return; /* nothing open: the clock stops until a call opens */
	ev_timer_set(w, (double)(next_tick(loop) - now) / 1e6, 0);
	ev_timer_start(ev, w);
}

static void start_clock(struct wv_loop *loop)
{
	if (ev_is_active(&loop->tick))
		return;
	loop->tick_base = wv__now_us();
	loop->tick_n = 1;
	ev_timer_set(&loop->tick, TICK_US / 1e6, 0);
	ev_timer_start(loop->ev, &loop->tick);
}

/* ---- the loop ---- */

static void wake_due(struct ev_loop *ev, ev_timer *w, int revents)
{
	(void)ev;
	(void)w;
	(void)revents;
}

int wv_loop_create(struct wv_loop **out)
{
	struct lws_context_creation_info info;
	struct wv_loop *loop;
	void *loops[1];
	int rc;

	*out = NULL;
	loop = calloc(1, sizeof *loop);
	if (!loop)
		return WV_ERR_NOMEM;
	loop->ev = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (!loop->ev) {
		free(loop);
		return WV_ERR_INTERNAL;
	}
	ev_timer_init(&loop->tick, tick_due, 0, 0);
	loop->tick.data = loop;
	ev_timer_init(&loop->wake, wake_due, 0, 0);
	loop->protocols[0] = (struct lws_protocols){
		.name = PROTOCOL_NAME,
		.callback = callback,
		.rx_buffer_size = 4096,
	};
	memset(&info, 0, sizeof info);
	loops[0] = loop->ev;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = loop->protocols;
	info.options = LWS_SERVER_OPTION_LIBEV |
		       LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.foreign_loops = loops;
	info.user = loop;
	info.gid = -1;
	info.uid = -1;
	info.timeout_secs = LWS_TIMEOUT_S;
	/* Room for the request line (the path), the offered key and an
	   X-API-Key header. */
	info.pt_serv_buf_size = 8192;
	info.max_http_header_data = 8192;
	rc = wv__resolver_create(&loop->resolver, loop->ev);
	if (rc == 0) {
		loop->ctx = lws_create_context(&info);
		if (!loop->ctx)
			rc = WV_ERR_INTERNAL;
	}
	if (rc < 0) {
		wv__resolver_destroy(loop->resolver);
		ev_loop_destroy(loop->ev);
		free(loop);
		return rc;
	}
	*out = loop;
	return 0;
}

struct ev_loop *wv__loop_ev(struct wv_loop *loop)
{
	return loop->ev;
}

/* A call is going while it is connecting or connected, or its socket is
   still closing. */
static int going(struct wv_loop *loop)
{
	int n = 0;

	if (!loop->recount)
		return loop->n_going;
	for (const struct wv_client *c = loop->clients; c; c = c->next) {
		enum wv_status s = wv_call_status(c->call);

		if (c->wsi || (!c->doomed && (s == WV_STATUS_CONNECTING ||
					      s == WV_STATUS_CONNECTED)))
			n++;
	}
	loop->recount = false;
	loop->n_going = n;
	return n;
}

/* One turn of the loop, waiting at most until `until`. */
static void run_once(struct wv_loop *loop, int64_t until)
{
	int64_t now = wv__now_us();

	if (until != INT64_MAX) {
		ev_timer_set(&loop->wake,
			     until > now ? (double)(until - now) / 1e6 : 0, 0);
		ev_timer_start(loop->ev, &loop->wake);
	}
	ev_run(loop->ev, EVRUN_ONCE);
	ev_timer_stop(loop->ev, &loop->wake);
}

int wv_loop_run(struct wv_loop *loop, int timeout_ms)
{
	int64_t until = timeout_ms < 0 ? INT64_MAX
				       : wv__now_us() + (int64_t)timeout_ms * 1000;
	int n;

	if (loop->running)
		return WV_ERR_STATE;
	loop->running = true;
	if (timeout_ms == 0)
		ev_run(loop->ev, EVRUN_NOWAIT);
	else
		while (going(loop) && wv__now_us() < until)
			run_once(loop, until);
	n = going(loop);
	loop->running = false;
	return n;
}

static bool any_socket(const struct wv_loop *loop)
{
	for (const struct wv_client *c = loop->clients; c; c = c->next)
		if (c->wsi)
			return true;
	return false;
}

void wv_loop_destroy(struct wv_loop *loop)
{
	struct wv_client *c, *next;
	int64_t until;

	if (!loop)
		return;
	enter(loop);
	for (c = loop->clients; c; c = c->next)
		if (!c->doomed)
			hangup(c);
	leave(loop);
	/* Time for the stops and closes to go out and be answered. */
	until = wv__now_us() + CLOSE_GRACE_US;
	while (any_socket(loop) && wv__now_us() < until)
		run_once(loop, until);
	lws_context_destroy(loop->ctx); /* what is left closes now */
	ev_timer_stop(loop->ev, &loop->tick);
	for (c = loop->clients; c; c = next) {
		next = c->next;
		stop_connecting(c);
		c->loop = NULL;
		c->wsi = NULL;
		c->prev = c->next = NULL;
		if (c->doomed)
			free_client(c);
	}
	for (size_t i = 0; i < loop->n_vhosts; i++) {
		SSL_CTX_free(loop->vhosts[i].ssl);
		free(loop->vhosts[i].ca_file);
	}
	free(loop->vhosts);
	wv__resolver_destroy(loop->resolver);
	ev_loop_destroy(loop->ev);
	free(loop);
}

/* ---- a call ---- */

/* wv_client_config as first published with its size: when fields are
   added, offsetof() the first of them. */
#define CONFIG_FIRST_SIZE sizeof(struct wv_client_config)

static const struct wv_client_config defaults = {
	.size = sizeof defaults,
	.auth = WV_AUTH_SUBPROTOCOL,
	.prebuffer_ms = 300,
	.connect_timeout_ms = 10000,
	.ping_s = 20,
};

void wv_client_config_default_sized(struct wv_client_config *cfg,
				    size_t size)
{
	wv__give_sized(cfg, size, &defaults, sizeof defaults);
	cfg->size = size;
}

/* A key goes into a header: visible ASCII only, and no comma where it is
   one token of a list. */
static bool key_ok(const char *key, enum wv_auth auth)
{
	size_t n = strlen(key);

	if (n == 0 || n > KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (key[i] < 0x21 || key[i] > 0x7e ||
		    (auth == WV_AUTH_SUBPROTOCOL && key[i] == ','))
			return false;
	return true;
}

static int check_config(const struct wv_client_config *cfg)
{
	if (!cfg->url || !cfg->agent_id || !*cfg->agent_id || !cfg->api_key)
		return WV_ERR_INVALID;
	if (cfg->auth != WV_AUTH_SUBPROTOCOL && cfg->auth != WV_AUTH_HEADER)
		return WV_ERR_INVALID;
	if (!key_ok(cfg->api_key, cfg->auth))
		return WV_ERR_INVALID;
	return 0;
}

static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : WV_ERR_NOMEM;
}

static int copy_strings(struct wv_client *c, const struct wv_client_config *cfg)
{
	if (dup_opt(&c->url, cfg->url) || dup_opt(&c->key, cfg->api_key) ||
	    dup_opt(&c->agent, cfg->agent_id) || dup_opt(&c->from, cfg->from) ||
	    dup_opt(&c->metadata, cfg->metadata) ||
	    dup_opt(&c->ca_file, cfg->ca_file))
		return WV_ERR_NOMEM;
	c->cfg.url = c->url;
	c->cfg.api_key = c->key;
	c->cfg.agent_id = c->agent;
	c->cfg.from = c->from;
	c->cfg.metadata = c->metadata;
	c->cfg.ca_file = c->ca_file;
	return 0;
}

/* The call URL, where it goes, and what to say in messages about it. */
static int resolve_url(struct wv_client *c)
{
	struct wv_url_params p = {
		.base = c->url, .agent_id = c->agent, .from = c->from,
		.metadata = c->metadata, .synthetic = c->cfg.synthetic,
	};
	char *buf = malloc(URL_CAP);
	const char *h = c->addr.host;
	bool v6;
	int rc;

	if (!buf)
		return WV_ERR_NOMEM;
	rc = wv_url_build(buf, URL_CAP, &p);
	if (rc >= 0)
		c->full_url = strdup(buf);
	free(buf);
	if (rc < 0)
		return rc == WV_ERR_NOMEM ? rc : WV_ERR_INVALID;
	if (!c->full_url)
		return WV_ERR_NOMEM;
	if (wv_url_split(c->full_url, &c->addr) < 0 ||
	    strlen(c->addr.path) > PATH_MAX_LEN)
		return WV_ERR_INVALID;
	v6 = c->addr.ipv6;
	snprintf(c->hostport, sizeof c->hostport, v6 ? "[%s]:%d" : "%s:%d", h,
		 c->addr.port);
	if (c->addr.port == (c->addr.tls ? 443 : 80))
		snprintf(c->host_header, sizeof c->host_header,
			 v6 ? "[%s]" : "%s", h);
	else
		snprintf(c->host_header, sizeof c->host_header, "%s",
			 c->hostport);
	return 0;
}

static int make_call(struct wv_client *c)
{
	struct wv_playout_config pc;
	struct wv_call_config cc;
	size_t cap;

	wv_playout_config_default(&pc);
	pc.prebuffer_ms = c->cfg.prebuffer_ms;
	wv_call_config_default(&cc);
	c->src_rate = c->cfg.source.read ? c->cfg.source.rate : WV_RATE;
	cc.capture_rate = c->src_rate;
	cc.playout = &pc;
	cc.cb = (struct wv_call_callbacks){
		.status = on_status,
		.communication_id = on_comm_id,
		.error = on_error,
		.unknown_event = on_unknown,
		.event = c->ucb.event ? on_event : NULL,
	};
	cc.user = c;
	if (c->src_rate < WV_RATE_MIN || c->src_rate > WV_RATE_MAX)
		return WV_ERR_RATE;
	cap = c->src_rate / 50 + 1;
	c->src_buf = calloc(cap, sizeof *c->src_buf);
	if (!c->src_buf)
		return WV_ERR_NOMEM;
	return wv_call_create(&c->call, &cc);
}

int wv_client_create(struct wv_client **out, struct wv_loop *loop,
		     const struct wv_client_config *cfg)
{
	struct wv_client_config mine = defaults;
	struct wv_client *c;
	int rc;

	*out = NULL;
	if (!loop || !cfg)
		return WV_ERR_INVALID;
	rc = wv__take_sized(&mine, sizeof mine, cfg, cfg->size,
			    CONFIG_FIRST_SIZE);
	if (rc == 0)
		rc = check_config(&mine);
	if (rc < 0)
		return rc;
	cfg = &mine;
	c = calloc(1, sizeof *c);
	if (!c)
		return WV_ERR_NOMEM;
	c->cfg = *cfg;
	c->ucb = cfg->cb;
	if (!c->cfg.connect_timeout_ms)
		c->cfg.connect_timeout_ms = 10000;
	if (c->cfg.connect_timeout_ms > CONNECT_TIMEOUT_MAX_MS)
		c->cfg.connect_timeout_ms = CONNECT_TIMEOUT_MAX_MS;
	if (c->cfg.ping_s > PING_MAX_S)
		c->cfg.ping_s = PING_MAX_S;
	/* ping_s 0: no pings (a zero hang-up time turns lws's check off). */
	if (c->cfg.ping_s)
		c->keepalive = (lws_retry_bo_t){
			.secs_since_valid_ping = (uint16_t)c->cfg.ping_s,
			.secs_since_valid_hangup = (uint16_t)(c->cfg.ping_s + 10),
		};
	rc = copy_strings(c, cfg);
	if (rc == 0)
		rc = resolve_url(c);
	if (rc == 0 && c->cfg.auth == WV_AUTH_SUBPROTOCOL) {
		size_t n = strlen(c->key) + sizeof "apikey, ";

		c->offer = malloc(n);
		if (c->offer)
			snprintf(c->offer, n, "apikey, %s", c->key);
		else
			rc = WV_ERR_NOMEM;
	}
	if (rc == 0)
		rc = make_call(c);
	if (rc == 0)
		rc = wv_message_create(&c->rx, WV_MESSAGE_MAX);
	if (rc < 0) {
		free_client(c);
		return rc;
	}
	c->loop = loop;
	ev_timer_init(&c->conn_timer, connect_timer_due, 0, 0);
	c->conn_timer.data = c;
	ev_timer_init(&c->redial, redial_due, 0, 0);
	c->redial.data = c;
	c->next = loop->clients;
	if (loop->clients)
		loop->clients->prev = c;
	loop->clients = c;
	*out = c;
	return 0;
}

/* The devices stop before anything they read goes. */
static void close_audio(struct wv_client *c)
{
	wv_audio_close(c->audio);
	c->audio = NULL;
	c->device_playout = false;
}

static void free_client(struct wv_client *c)
{
	struct wv_loop *loop = c->loop;

	if (loop) {
		loop->recount = true;
		stop_connecting(c);
		if (c->prev)
			c->prev->next = c->next;
		else if (loop->clients == c)
			loop->clients = c->next;
		if (c->next)
			c->next->prev = c->prev;
	}
	close_audio(c);
	if (c->addrs)
		freeaddrinfo(c->addrs);
	wv_call_destroy(c->call);
	if (c->key)
		OPENSSL_cleanse(c->key, strlen(c->key));
	if (c->offer)
		OPENSSL_cleanse(c->offer, strlen(c->offer));
	free(c->url);
	free(c->key);
	free(c->agent);
	free(c->from);
	free(c->metadata);
	free(c->ca_file);
	free(c->full_url);
	free(c->offer);
	wv_message_destroy(c->rx);
	free(c->src_buf);
	free(c);
}

int wv_client_open_audio(struct wv_client *c, const struct wv_audio_config *acfg,
			 char *err, size_t err_cap)
{
	struct wv_audio_info info;
	struct wv_audio *a;
	int rc;

	if (c->audio || c->doomed ||
	    wv_call_status(c->call) != WV_STATUS_IDLE) {
		if (err && err_cap)
			snprintf(err, err_cap, "audio devices are opened once, "
				 "before the call connects");
		return WV_ERR_STATE;
	}
	rc = wv_audio_open(&a, acfg, wv_call_playout(c->call), err, err_cap);
	if (rc < 0)
		return rc;
	wv_audio_get_info(a, &info);
	c->audio = a;
	c->device_playout = info.output_device != WV_DEVICE_NONE;
	if (!c->cfg.source.read && info.input_device != WV_DEVICE_NONE &&
	    wv_audio_input_rate(a) == c->src_rate)
		c->cfg.source = (struct wv_source){ c->src_rate,
						    wv_audio_source_read, a };
	return 0;
}

struct wv_audio *wv_client_audio(struct wv_client *c)
{
	return c->audio;
}

void wv_client_destroy(struct wv_client *c)
{
	struct wv_loop *loop;

	if (!c || c->doomed)
		return;
	loop = c->loop;
	/* The application may free what these point at as soon as we
	   return: nothing of its is touched again. */
	memset(&c->ucb, 0, sizeof c->ucb);
	memset(&c->cfg.source, 0, sizeof c->cfg.source);
	memset(&c->cfg.sink, 0, sizeof c->cfg.sink);
	c->obs = NULL;
	close_audio(c);
	c->doomed = true;
	recount(c);
	enter(loop);
	if (loop && c->wsi && c->opened)
		/* Ends cleanly (stop, close 1000) after we return; the loop
		   frees it when the socket is gone. */
		hangup(c);
	else
		kill_socket(loop, detach(c));
	if (!loop)
		free_client(c);
	else if (!c->wsi)
		loop->reap = true;
	leave(loop);
}

static int start_call(struct wv_client *c)
{
	int rc = wv_call_connect(c->call, wv__now_us());

	if (rc < 0 || c->doomed)
		return rc;
	/* The loop starts it: every callback then happens inside
	   wv_loop_run(), not here. */
	ev_timer_set(&c->conn_timer, 0, 0);
	ev_timer_start(c->loop->ev, &c->conn_timer);
	return 0;
}

int wv_client_connect(struct wv_client *c)
{
	struct wv_loop *loop = c->loop;
	int rc;

	if (!loop || c->doomed)
		return WV_ERR_STATE;
	enter(loop);
	rc = start_call(c);
	leave(loop);
	return rc;
}

static int hangup(struct wv_client *c)
{
	int rc = wv_call_hangup(c->call, wv__now_us());

	if (rc < 0)
		return rc;
	if (c->opened) {
		kick(c);
		return 0;
	}
	/* Not open yet: nothing to say to the server, just stop. */
	stop_connecting(c);
	kill_socket(c->loop, detach(c));
	tell_closed(c, 0, NULL, false);
	return 0;
}

int wv_client_hangup(struct wv_client *c)
{
	struct wv_loop *loop = c->loop;
	int rc;

	enter(loop);
	rc = hangup(c);
	leave(loop);
	return rc;
}

int wv_client_send_dtmf(struct wv_client *c, char digit)
{
	struct wv_loop *loop = c->loop;
	int rc;

	enter(loop);
	rc = wv_call_send_dtmf(c->call, digit, wv__now_us());
	if (rc == 0)
		kick(c);
	leave(loop);
	return rc;
}

void wv_client_set_muted(struct wv_client *c, bool muted)
{
	wv_call_set_muted(c->call, muted);
}

enum wv_status wv_client_status(const struct wv_client *c)
{
	return wv_call_status(c->call);
}

enum wv_end_reason wv_client_end_reason(const struct wv_client *c)
{
	return wv_call_end_reason(c->call);
}

const char *wv_client_communication_id(const struct wv_client *c)
{
	return wv_call_communication_id(c->call);
}

int64_t wv_client_elapsed_ms(const struct wv_client *c)
{
	return wv_call_elapsed_ms(c->call, wv__now_us());
}

const char *wv_client_last_error(const struct wv_client *c)
{
	return c->last_error;
}

int wv_client_error(const struct wv_client *c)
{
	return c->error;
}

int wv_client_http_status(const struct wv_client *c)
{
	return c->http_status;
}

int wv_client_close_code(const struct wv_client *c, const char **reason)
{
	return wv_call_close_code(c->call, reason);
}

void wv_client_stats_sized(const struct wv_client *c,
			   struct wv_call_stats *out, size_t size)
{
	struct wv_call_stats st;

	wv_call_stats(c->call, &st);
	st.bad_frames += c->bad_frames;
	wv__give_sized(out, size, &st, sizeof st);
}

void wv_client_playout_stats_sized(const struct wv_client *c,
				   struct wv_playout_stats *st, size_t size)
{
	wv_playout_stats_sized(wv_call_playout(c->call), st, size);
}

void wv__client_observe(struct wv_client *c, wv__client_observer *fn,
			void *user)
{
	c->obs = fn;
	c->obs_user = user;
}
