/*
 * The client's side of libwebsockets: one callback for every call's
 * socket, from the handshake (the key, the server's answer and its
 * subprotocol) through messages in and out to the closes, either side's.
 * See client_internal.h.
 */
#include <stdio.h>
#include <string.h>

#include "client_internal.h"

/* Asks for the writeable callback when there is something to send. */
void wv__kick(struct wv_client *c)
{
	size_t len;

	if (!c->wsi || !c->opened)
		return;
	if (c->close_code || wv_call_peek_frame(c->call, &len) ||
	    wv_call_should_close(c->call, NULL))
		lws_callback_on_writable(c->wsi);
}

/* Takes the socket away from the call: lws calls back no more for it. */
struct lws *wv__detach(struct wv_client *c)
{
	struct lws *wsi = c->wsi;

	c->wsi = NULL;
	wv__recount(c);
	if (wsi)
		lws_set_opaque_user_data(wsi, NULL);
	return wsi;
}

/* Closes a socket detached from its call. Inside our callbacks (which may
   be this socket's own) lws is told to close it on its next turn. */
void wv__kill_socket(const struct wv_loop *loop, struct lws *wsi)
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
		wv__diagnose(c, WV_ERR_INTERNAL, "handshake headers too long");
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
		return status >= 500 ? " (server error)" : "";
	}
}

/* The server's answer to the upgrade request, whatever it is. */
static int answered(struct wv_client *c, struct lws *wsi)
{
	c->http_status = lws_http_client_http_response(wsi);
	if (c->http_status != 101)
		wv__diagnose(c, WV_ERR_REFUSED, "handshake refused: %d%s",
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
	wv__diagnose(c, WV_ERR_PROTOCOL,
		     "server at %s did not select the subprotocol \"apikey\"",
		     c->hostport);
	return 1;
}


/* Closes with close_code from the next writeable callback: a close
   started from the receive callback can lose the close frame. */
static void close_for(struct wv_client *c, int code, int close_code,
		      const char *reason, const char *msg)
{
	c->close_code = close_code;
	snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
	wv__fail(c, code, close_code, "%s", msg);
	wv__kick(c);
}

void wv__end_if_fatal(struct wv_client *c)
{
	char msg[128];

	if (!c->fatal || c->told_closed)
		return;
	snprintf(msg, sizeof msg, "%s: the call cannot go on; closed (1011)",
		 wv_strerror(c->fatal));
	close_for(c, c->fatal, 1011, "internal error", msg);
}

static int established(struct wv_client *c)
{
	wv__connect_stop(c);
	c->opened = true;
	c->pong_at = wv__now_us();
	/* Queues start: without it the call cannot go on. */
	wv_call_opened(c->call, wv__now_us());
	wv__end_if_fatal(c);
	if (c->told_closed)
		return 0;
	c->timing.open = c->pong_at;
	wv__clock_join(c);
	wv__kick(c);
	return 0;
}

static int receive(struct wv_client *c, struct lws *wsi, const char *in,
		   size_t len)
{
	enum wv_message_result r;
	const char *text;
	size_t n;

	if (c->told_closed)
		return 0;
	r = wv_message_feed(c->rx, in, len, lws_is_first_fragment(wsi),
			    lws_is_final_fragment(wsi), lws_frame_is_binary(wsi),
			    &text, &n);
	switch (r) {
	case WV_MESSAGE_PARTIAL:
	case WV_MESSAGE_SKIPPED:
		return 0;
	case WV_MESSAGE_BINARY:
		/* Reported and ignored, like any other bad frame: the call
		   is worth more than a strict reading of the protocol. */
		c->bad_frames++;
		wv__record_error(c, WV_ERR_PROTOCOL,
				 "binary frame from server ignored (the protocol is "
				 "JSON text)");
		return 0;
	case WV_MESSAGE_TOO_BIG:
		close_for(c, WV_ERR_TOO_LARGE, wv_message_close_code(r),
			  "message too big",
			  "message from server over 65536 bytes: closed (1009)");
		return 0;
	case WV_MESSAGE_NOT_UTF8:
		close_for(c, WV_ERR_PROTOCOL, wv_message_close_code(r),
			  "not UTF-8",
			  "text from server not UTF-8: closed (1007)");
		return 0;
	case WV_MESSAGE_NOMEM:
		close_for(c, WV_ERR_NOMEM, wv_message_close_code(r),
			  "out of memory",
			  "out of memory for a message from server");
		return 0;
	case WV_MESSAGE_TEXT:
		break;
	}
	if (c->impair) {
		if (wv__impair_receive(c, text, n) < 0)
			close_for(c, WV_ERR_NOMEM, 1011, "out of memory",
				  "out of memory holding a message (impair)");
		return 0;
	}
	wv_call_receive(c->call, text, n, wv__now_us());
	wv__end_if_fatal(c);
	wv__kick(c);
	return 0;
}

/* One lws_write() per call: the client masks the buffer in place, so the
   frame is copied out of the call's queue each time. */
static int writeable(struct wv_client *c, struct lws *wsi)
{
	unsigned char *buf = c->loop->tx + LWS_PRE;
	const char *frame;
	size_t len;
	bool audio;
	int code;

	if (c->close_code) {
		lws_close_reason(wsi, (enum lws_close_status)c->close_code,
				 (unsigned char *)c->close_reason,
				 strlen(c->close_reason));
		c->close_sent = c->close_code;
		wv__closing(c, WV_CLOSED_BY_CLIENT);
		return -1;
	}
	if (wv_call_should_close(c->call, &code)) {
		lws_close_reason(wsi, (enum lws_close_status)code,
				 (unsigned char *)"", 0);
		c->close_sent = code;
		wv__closing(c, WV_CLOSED_BY_CLIENT);
		return -1;
	}
	frame = wv_call_peek_frame(c->call, &len);
	if (!frame)
		return 0;
	audio = wv_call_peek_is_audio(c->call);
	if (c->impair && wv__impair_hold_out(c, audio))
		return 0;
	if (len <= WV_MESSAGE_MAX) {
		memcpy(buf, frame, len);
		if (lws_write(wsi, buf, len, LWS_WRITE_TEXT) < (int)len)
			return -1;
	}
	wv_call_frame_sent(c->call);
	if (audio)
		wv__clock_sent(c, wv__now_us());
	wv__kick(c);
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
	wv__closing(c, WV_CLOSED_BY_SERVER);
	wv__tell_closed(c, code, reason, false);
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

	/* wv__fail() acts once: the first of these that applies is told. */
	wv__detach(c);
	if (own)
		wv__closing(c, WV_CLOSED_BY_CLIENT);
	if (c->close_sent)
		wv__tell_closed(c, c->close_sent, "", false);
	if (own == 1007)
		wv__fail(c, WV_ERR_PROTOCOL, own,
			 "text from server not UTF-8: closed (1007)");
	if (own)
		wv__fail(c, WV_ERR_PROTOCOL, own,
			 "server broke the WebSocket protocol: closed (%d)", own);
	if (silent_too_long(c))
		wv__fail(c, WV_ERR_CONNECT, 1006,
			 "connection to %s lost: no answer to pings for %u s",
			 c->hostport, c->cfg.ping_s + 10);
	wv__fail(c, WV_ERR_CONNECT, 1006, "connection to %s lost", c->hostport);
	if (c->doomed)
		c->loop->reap = true;
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void connection_error(struct wv_client *c, struct lws *wsi,
			     const char *msg)
{
	wv__detach(c);
	if (c->told_closed)
		return;
	if (!msg || !*msg)
		msg = "unknown";
	if (c->pending_code)
		wv__fail(c, c->pending_code, 0, "%s", c->pending);
	else if (wv__tls_failed(c, wsi, msg))
		;
	else if (starts(msg, "Unable to connect") && c->next_addr) {
		/* The host's next address, once out of lws's callback. */
		ev_timer_set(&c->redial, 0, 0);
		ev_timer_start(c->loop->ev, &c->redial);
	} else if (starts(msg, "Unable to connect"))
		wv__fail(c, WV_ERR_CONNECT, 0,
			 "cannot connect to %s: connection refused or unreachable",
			 c->hostport);
	else if (starts(msg, "HS: PROTOCOL malformed"))
		/* lws's words for an answer naming a subprotocol we did not
		   offer; the answer itself is not printed (check_subprotocol()). */
		wv__fail(c, WV_ERR_PROTOCOL, 0,
			 "server at %s selected a subprotocol that was not offered",
			 c->hostport);
	else if (starts(msg, "HS: "))
		wv__fail(c, WV_ERR_PROTOCOL, 0, "bad handshake answer from %s: %s",
			 c->hostport, msg + 4);
	else if (!c->tcp_up)
		wv__fail(c, WV_ERR_CONNECT, 0, "cannot connect to %s: %s",
			 c->hostport, msg);
	else if (!c->addr.tls && c->http_status == 0)
		/* Closed before any HTTP answer: a TLS server drops a plain
		   request it cannot read. */
		wv__fail(c, WV_ERR_CONNECT, 0,
			 "connection to %s closed during the handshake (%s), "
			 "with no HTTP answer: is it wss:// rather than ws://?",
			 c->hostport, msg);
	else
		wv__fail(c, WV_ERR_CONNECT, 0,
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
	wv__detach(c);
}

static int dispatch(struct wv_client *c, struct lws *wsi,
		    enum lws_callback_reasons reason, void *in, size_t len)
{
	switch (reason) {
	case LWS_CALLBACK_WSI_CREATE:
		c->tcp_up = true;
		return 0;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (!c->timing.tcp)
			c->timing.tcp = wv__now_us();
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

int wv__transport_callback(struct lws *wsi, enum lws_callback_reasons reason,
			   void *user, void *in, size_t len)
{
	struct wv_client *c = lws_get_opaque_user_data(wsi);
	struct wv_loop *loop;
	int rc;

	(void)user;
	if (!c)
		return 0; /* a socket we have let go of */
	loop = c->loop;
	wv__loop_enter(loop);
	rc = dispatch(c, wsi, reason, in, len);
	wv__loop_leave(loop);
	return rc;
}
