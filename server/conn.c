/*
 * A call on its socket: established, the caller's messages in, the
 * agent's frames out paced at real time (each sent lead_ms ahead, on the
 * loop's own timers), closed. See server_internal.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

/* epoll waits whole milliseconds: what falls due within one is done now
   (a frame then leaves up to 1 ms early, well inside its 60 ms lead). */
#define SLACK_US 1000
/* How often the bytes of control frames lws answered itself are counted:
   a ping flood gives the server no callback of its own. */
#define WATCH_S 0.25
/* The smallest frame a client can send (2 bytes of header, 4 of mask):
   control bytes count as this many frames at most. */
#define MIN_FRAME 6
/* The longest header: a frame's, read but not yet seen whole. */
#define MAX_HEADER 14

static void pace_due(struct ev_loop *loop, ev_timer *w, int revents);
static void watch_due(struct ev_loop *loop, ev_timer *w, int revents);

/* Counting control frames by their bytes: on plain TCP only, where the
   kernel's count is the WebSocket's (TLS adds its records' own). */
static void wire_start(struct conn *c, struct lws *wsi)
{
	int fd = lws_get_socket_fd(wsi);

	c->wire = !lws_is_ssl(wsi) && fd >= 0 &&
		  wvs_tcp_bytes_read(fd, &c->wire_base) == 0;
	ev_timer_init(&c->watch, watch_due, WATCH_S, WATCH_S);
	c->watch.data = c;
	if (c->wire)
		ev_timer_start(c->srv->loop, &c->watch);
}

/* A frame of len payload bytes from the client, masked, as it was on the
   wire (RFC 6455 5.2: the shortest length encoding). */
static uint64_t frame_bytes(uint64_t len)
{
	return MIN_FRAME + len + (len > 125 ? len > 65535 ? 8 : 2 : 0);
}

int wvs_conn_established(struct conn *c, struct lws *wsi)
{
	struct wvs_server *srv = c->srv;
	struct wvs_session_config cfg;

	c->wsi = wsi;
	c->opened = wvs_now_us();
	ev_timer_init(&c->pace, pace_due, 0, 0);
	c->pace.data = c;
	wvs_session_config_default(&cfg);
	cfg.agent = c->agent->agent;
	cfg.agent_arg = c->agent->arg;
	cfg.id = c->id;
	cfg.lead_ms = srv->cfg.lead_ms;
	cfg.idle_timeout_ms = srv->cfg.idle_timeout_ms;
	cfg.early_us = SLACK_US;
	cfg.trace = wvs_on_trace;
	cfg.audio = wvs_on_audio;
	cfg.log = wvs_on_log;
	cfg.user = c;
	if (wvs_session_create(&c->session, &cfg, c->opened) < 0) {
		wvs_logf(c->srv, "call %s: out of memory", c->id);
		return -1;
	}
	wvs_trace_open(c);
	wire_start(c, wsi);
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->stats.calls++;
	srv->stats.active++;
	wvs_conn_pump(c, wsi, 0); /* arms the start timeout */
	if (!srv->cfg.quiet) {
		char from[4 * sizeof c->from]; /* the caller's, escaped */

		wv_escape(from, sizeof from, c->from, strlen(c->from));
		wvs_logf(srv, "call %s start agent=%s peer=%s%s%s", c->id, c->agent->id,
			 c->peer, *from ? " from=" : "", from);
	}
	return 0;
}

/* The first side to close gives the close its code and reason. */
static void closing(struct conn *c, const char *by, int code,
		    const char *reason)
{
	if (c->closed_by)
		return;
	c->closed_by = by;
	c->close_code = code;
	snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
}

/* What lws's own short close reasons mean, for the log: "unknown opcode
   (lws: bad opc)". */
static void lws_problem(const char *reason, char *out, size_t cap)
{
	static const char *const names[][2] = {
		{ "rsv bits", "reserved bits set in a frame" },
		{ "bad opc", "unknown opcode" },
		{ "frag ctl", "fragmented control frame" },
		{ "bad cont", "continuation frame out of place" },
		{ "bad fin", "new message inside a fragmented one" },
	};
	const char *what = "a frame RFC 6455 forbids";

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(reason, names[i][0]) == 0)
			what = names[i][1];
	snprintf(out, cap, "%s (lws: %s)", what, *reason ? reason : "-");
}

/* A close neither side asked for through us: lws closed the call for a
   frame RFC 6455 forbids, with the code and reason it put in the close
   frame (1002, "rsv bits"). Named in the call's log line as the session's
   own protocol errors are. */
static void lws_closed(struct conn *c, int64_t now)
{
	const unsigned char *p = lws_get_close_payload(c->wsi);
	size_t len = lws_get_close_length(c->wsi), n = 0;
	char reason[sizeof c->close_reason], problem[192];

	if (c->closed_by || len < 2)
		return;
	for (size_t i = 2; i < len && n < sizeof reason - 1; i++)
		reason[n++] = p[i] < 0x20 || p[i] == 0x7f ? '?' : (char)p[i];
	reason[n] = '\0';
	closing(c, "server", p[0] << 8 | p[1], reason);
	lws_problem(reason, problem, sizeof problem);
	wvs_session_reject(c->session, c->close_code, problem, now);
}

void wvs_conn_finished(struct conn *c)
{
	struct wvs_server *srv = c->srv;
	const struct wvs_session_stats *st;
	int64_t now = wvs_now_us();

	wv_message_destroy(c->rx);
	free(c->metadata);
	c->rx = NULL;
	c->metadata = NULL;
	if (!c->session)
		return;
	ev_timer_stop(srv->loop, &c->pace);
	ev_timer_stop(srv->loop, &c->watch);
	lws_closed(c, now);
	/* The client may still be sending: keep its socket to drain it. */
	if (c->closed_by && strcmp(c->closed_by, "server") == 0) {
		int fd = wvs_linger_hold(srv, c->wsi);
		c->linger_fd = fd > 0 ? fd : 0;
	}
	wvs_session_closed(c->session, now);
	st = wvs_session_stats(c->session);
	srv->stats.frames_in += st->frames_in;
	srv->stats.frames_out += st->frames_out;
	srv->stats.late_frames += st->late_frames;
	if (st->max_send_delay > srv->stats.max_send_delay_us)
		srv->stats.max_send_delay_us = st->max_send_delay;
	if (!srv->cfg.quiet)
		wvs_logf(srv, "call %s end agent=%s duration=%.3fs reason=%s "
			 "frames_in=%llu frames_out=%llu marks=%llu late=%llu",
			 c->id, c->agent->id, (double)(now - c->opened) / 1e6,
			 wvs_end_name(wvs_session_end(c->session)),
			 (unsigned long long)st->frames_in,
			 (unsigned long long)st->frames_out,
			 (unsigned long long)st->marks_played,
			 (unsigned long long)st->late_frames);
	wvs_trace_end(c);
	if (c->rec)
		wvs_record_close(c->rec);
	c->rec = NULL;
	wvs_session_destroy(c->session);
	c->session = NULL;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->stats.active--;
}

void wvs_conn_peer_closing(struct conn *c, const unsigned char *in,
			   size_t len)
{
	char reason[sizeof c->close_reason];
	size_t n = 0;

	/* A close frame without a code: 1005 (RFC 6455, 7.1.5). */
	if (len < 2) {
		closing(c, "client", 1005, "");
		return;
	}
	for (size_t i = 2; i < len && n < sizeof reason - 1; i++)
		reason[n++] = in[i] < 0x20 || in[i] == 0x7f ? '?' : (char)in[i];
	reason[n] = '\0';
	closing(c, "client", in[0] << 8 | in[1], reason);
}

/* After anything happens on a call: close it, or arrange to be called
   again when it next has something to do. A close starts from the
   writeable callback: lws then sends the close frame and waits for the
   client's answer, reading and dropping what the client still sends, where
   a close from the receive callback can reset the connection under the
   close frame while a flooding client's data is unread. */
int wvs_conn_pump(struct conn *c, struct lws *wsi, int wvs_conn_writeable)
{
	int64_t now = wvs_now_us(), at;
	const char *reason;
	int code;

	wvs_session_tick(c->session, now);
	if (wvs_session_should_close(c->session, &code, &reason)) {
		if (!wvs_conn_writeable) {
			lws_callback_on_writable(wsi);
			return 0;
		}
		lws_close_reason(wsi, (enum lws_close_status)code,
				 (unsigned char *)reason, strlen(reason));
		closing(c, "server", code, reason);
		return -1;
	}
	at = wvs_session_deadline(c->session);
	ev_timer_stop(c->srv->loop, &c->pace);
	if (at <= now + SLACK_US) {
		lws_callback_on_writable(wsi);
	} else if (at != INT64_MAX) {
		/* Our own timer, not lws_set_timer_usecs(): lws 4.1.6's libev
		   glue re-arms its one timer with ev_timer_start(), which does
		   nothing while the timer runs, so a nearer deadline waits. */
		ev_timer_set(&c->pace, (double)(at - now) / 1e6, 0);
		ev_timer_start(c->srv->loop, &c->pace);
	}
	return 0;
}

static void pace_due(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = w->data;

	(void)loop;
	(void)revents;
	wvs_conn_pump(c, c->wsi, 0);
}

/* The bytes read that no message or pong accounts for are control frames
   lws took itself (pings above all), each MIN_FRAME bytes at least:
   counted against the flood limit as that many frames at most. The frame
   being read is not yet seen whole: its payload so far, and a header. */
static void watch_due(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = w->data;
	uint64_t got, seen = c->wire_seen + c->frame_len + MAX_HEADER, extra;

	(void)loop;
	(void)revents;
	if (wvs_tcp_bytes_read(lws_get_socket_fd(c->wsi), &got) < 0 ||
	    got - c->wire_base <= seen)
		return;
	extra = (got - c->wire_base - seen) / MIN_FRAME;
	c->wire_seen += extra * MIN_FRAME;
	wvs_session_control_frames(c->session, extra, wvs_now_us());
	wvs_conn_pump(c, c->wsi, 0);
}

/* One ping per writeable callback, as for any write. Not empty: lws
   4.1.6 does not report an empty pong. */
static int send_ping(struct conn *c, struct lws *wsi)
{
	unsigned char *p = (unsigned char *)c->srv->tx + LWS_PRE;

	memcpy(p, "wvoice", 6);
	if (lws_write(wsi, p, 6, LWS_WRITE_PING) < 6)
		return -1;
	return wvs_conn_pump(c, wsi, 1);
}

int wvs_conn_pong(struct conn *c, struct lws *wsi, size_t len)
{
	c->wire_seen += frame_bytes(len);
	wvs_session_pong(c->session, wvs_now_us());
	return wvs_conn_pump(c, wsi, 0);
}

int wvs_conn_writeable(struct conn *c, struct lws *wsi)
{
	char *p = c->srv->tx + LWS_PRE;
	int n;

	if (wvs_session_ping_due(c->session, wvs_now_us()))
		return send_ping(c, wsi);
	n = wvs_session_next(c->session, wvs_now_us(), p, TX_MAX);

	if (n < 0) {
		wvs_logf(c->srv, "call %s: %s encoding a message", c->id, wv_strerror(n));
		return -1;
	}
	if (n > 0 &&
	    lws_write(wsi, (unsigned char *)p, (size_t)n, LWS_WRITE_TEXT) < n)
		return -1;
	return wvs_conn_pump(c, wsi, 1);
}

int wvs_conn_receive(struct conn *c, struct lws *wsi, const char *in, size_t len)
{
	int64_t now = wvs_now_us();
	static const char *const refusal[] = {
		[WV_MESSAGE_BINARY] = "binary frame: this protocol is JSON text",
		[WV_MESSAGE_TOO_BIG] = "message over 65536 bytes",
		[WV_MESSAGE_NOT_UTF8] = "text frame not UTF-8",
		[WV_MESSAGE_NOMEM] = "out of memory",
	};
	enum wv_message_result r = WV_MESSAGE_NOMEM;
	const char *text;
	size_t n;

	/* A frame's payload comes in pieces: its header counted once, at
	   its end. */
	c->frame_len += len;
	if (lws_remaining_packet_payload(wsi) == 0) {
		c->wire_seen += frame_bytes(c->frame_len);
		c->frame_len = 0;
	}
	if (c->rx || wv_message_create(&c->rx, WV_MESSAGE_MAX) == 0)
		r = wv_message_feed(c->rx, in, len, lws_is_first_fragment(wsi),
				    lws_is_final_fragment(wsi),
				    lws_frame_is_binary(wsi), &text, &n);
	switch (r) {
	case WV_MESSAGE_PARTIAL:
	case WV_MESSAGE_SKIPPED:
		/* Each piece is a frame to the flood limit, so fragments
		   that never end (empty ones above all) are a flood. */
		wvs_session_piece(c->session, now);
		break;
	case WV_MESSAGE_TEXT:
		wvs_session_receive(c->session, text, n, now);
		break;
	default: /* refused, with the close code message.h gives it */
		wvs_session_reject(c->session, wv_message_close_code(r),
				   refusal[r], now);
		break;
	}
	return wvs_conn_pump(c, wsi, 0);
}
