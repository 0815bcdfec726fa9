#include <wvoice/call.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wvoice/capture.h>
#include <wvoice/codec.h>
#include <wvoice/error.h>
#include <wvoice/resampler.h>

#include "sendq.h"
#include "sized.h"
#include "alloc.h"

#define CLOSE_NORMAL 1000
/* Every queue slot starts large enough for one 20 ms audio event. */
#define SLOT_BYTES (WV_AUDIO_EVENT_LEN(WV_FRAME_SAMPLES) + 1)
/* Room for a server's id quoted in a message: a hostile one can neither
   break the line nor crowd out the rest. */
#define QUOTE_MAX 80

struct wv_call {
	struct wv_call_config cfg;
	enum wv_status status;
	enum wv_end_reason end_reason;
	bool opened;	   /* the socket is open: frames may be queued */
	bool socket_gone;  /* closed() was called: nothing more can be sent */
	bool confirmed;	   /* the server's start arrived */
	bool overflowing;  /* audio is being dropped at the playout cap... */
	uint64_t overflow_low; /* ... until no more than this is queued */
	bool stopping;	   /* the server's stop: its last words play out */
	int64_t stop_by;   /* ... until then at the latest */
	bool remote;	   /* the playout buffer is elsewhere: cfg.remote */
	bool drained;	   /* ... and has played out the last words */
	struct wv_playout_remote remote_cb;
	int64_t opened_at; /* for the start timeout */
	int64_t started_at;
	int64_t ended_at;
	char *communication_id;
	int close_code;
	char *close_reason;
	char last_error[256];

	struct wv_capture *capture;
	struct wv_playout *playout;
	struct wv_decoder *decoder;
	struct wv__sendq sendq;
	struct wv_call_stats stats;
};

const char *wv_status_name(enum wv_status status)
{
	switch (status) {
	case WV_STATUS_IDLE:
		return "idle";
	case WV_STATUS_CONNECTING:
		return "connecting";
	case WV_STATUS_CONNECTED:
		return "connected";
	case WV_STATUS_DISCONNECTED:
		return "disconnected";
	}
	return "unknown";
}

const char *wv_end_reason_name(enum wv_end_reason reason)
{
	switch (reason) {
	case WV_END_NONE:
		return "none";
	case WV_END_HANGUP:
		return "hangup";
	case WV_END_REMOTE_STOP:
		return "remote-stop";
	case WV_END_CLOSED:
		return "closed";
	case WV_END_START_TIMEOUT:
		return "start-timeout";
	case WV_END_ERROR:
		return "error";
	}
	return "unknown";
}

const char *wv_closed_by_name(enum wv_closed_by by)
{
	switch (by) {
	case WV_CLOSED_BY_NONE:
		return "none";
	case WV_CLOSED_BY_CLIENT:
		return "client";
	case WV_CLOSED_BY_SERVER:
		return "server";
	}
	return "unknown";
}

/* wv_call_config as first published with its size (0.2). */
#define CONFIG_FIRST_SIZE offsetof(struct wv_call_config, last_words_ms)

static const struct wv_call_config defaults = {
	.size = sizeof defaults,
	.capture_rate = WV_RATE,
	.resampler_quality = -1,
	.start_timeout_ms = 10000,
	.max_queued_audio = 50,
	.last_words_ms = 2000,
};

void wv_call_config_default_sized(struct wv_call_config *cfg, size_t size)
{
	wv__give_sized(cfg, size, &defaults, sizeof defaults);
	cfg->size = size;
}

/* Records a problem, tells the application, and returns code. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int report(struct wv_call *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->last_error, sizeof c->last_error, fmt, ap);
	va_end(ap);
	if (c->cfg.cb.error)
		c->cfg.cb.error(c->cfg.user, code, c->last_error);
	return code;
}

static void trace(struct wv_call *c, enum wv_direction dir,
		  const struct wv_event *ev)
{
	if (c->cfg.cb.event)
		c->cfg.cb.event(c->cfg.user, dir, ev);
}

static void set_status(struct wv_call *c, enum wv_status to)
{
	enum wv_status from = c->status;

	if (from == to)
		return;
	c->status = to;
	if (c->cfg.cb.status)
		c->cfg.cb.status(c->cfg.user, from, to);
}

static void end_call(struct wv_call *c, enum wv_end_reason reason,
		     int64_t now_us)
{
	if (c->status == WV_STATUS_DISCONNECTED)
		return;
	c->end_reason = reason;
	c->ended_at = now_us;
	set_status(c, WV_STATUS_DISCONNECTED);
}

static bool ended(const struct wv_call *c)
{
	return c->status == WV_STATUS_DISCONNECTED;
}

/* Nothing more goes to the server but answers to marks: the call has
   ended, or the agent has hung up and its last words are playing. */
static bool done_talking(const struct wv_call *c)
{
	return ended(c) || c->stopping;
}

/* Queues a control event; they are never dropped while there is room. */
static int queue_event(struct wv_call *c, const struct wv_event *ev)
{
	/* JSON escaping grows a string at most sixfold (\u00XX). */
	size_t need = SLOT_BYTES + (ev->mark ? strlen(ev->mark) * 6 : 0);
	struct wv__sendq_slot *slot;
	int len = wv__sendq_reserve(&c->sendq, need, false, &slot);

	if (len == WV_ERR_FULL)
		return report(c, len, "send queue full: %s not sent", ev->name);
	if (len < 0)
		return report(c, len, "out of memory: %s not sent", ev->name);
	len = wv_encode_event(slot->text, slot->cap, ev);
	if (len < 0)
		return report(c, len, "cannot encode %s: %s", ev->name,
			      wv_strerror(len));
	slot->len = (size_t)len;
	wv__sendq_commit(&c->sendq);
	trace(c, WV_DIR_OUT, ev);
	return 0;
}

static int queue_simple(struct wv_call *c, enum wv_event_type type)
{
	struct wv_event ev = { .type = type, .name = wv_event_name(type) };

	return queue_event(c, &ev);
}

static void on_capture_frame(void *user, const int16_t *frame)
{
	struct wv_call *c = user;
	uint8_t ulaw[WV_FRAME_SAMPLES];
	struct wv__sendq_slot *slot;
	struct wv_event ev = {
		.type = WV_EVENT_AUDIO,
		.name = "audio",
		.audio = ulaw,
		.audio_len = sizeof ulaw,
	};
	int len;

	/* Frames captured before the socket opens, or after the call ends,
	 * have nowhere to go. */
	if (!c->opened || done_talking(c))
		return;
	wv_ulaw_encode(ulaw, frame, WV_FRAME_SAMPLES);
	if (wv__sendq_reserve(&c->sendq, SLOT_BYTES, true, &slot) < 0) {
		c->stats.audio_frames_dropped++;
		return;
	}
	len = wv_encode_audio(slot->text, slot->cap, ulaw, sizeof ulaw);
	if (len < 0) {
		c->stats.audio_frames_dropped++;
		return;
	}
	slot->len = (size_t)len;
	wv__sendq_commit(&c->sendq);
	c->stats.audio_frames_sent++;
	trace(c, WV_DIR_OUT, &ev);
}

int wv_call_create(struct wv_call **out, const struct wv_call_config *cfg)
{
	struct wv_call *c;
	int rc;

	*out = NULL;
	if (!cfg)
		return WV_ERR_INVALID;
	c = wv__calloc(1, sizeof *c);
	if (!c)
		return WV_ERR_NOMEM;
	c->cfg = defaults;
	rc = wv__take_sized(&c->cfg, sizeof c->cfg, cfg, cfg->size,
			    CONFIG_FIRST_SIZE);
	if (rc == 0 && c->cfg.max_queued_audio == 0)
		rc = WV_ERR_INVALID;
	if (rc == 0)
		rc = wv_capture_create(&c->capture, c->cfg.capture_rate,
				       c->cfg.resampler_quality,
				       on_capture_frame, c);
	if (rc == 0)
		rc = wv_playout_create(&c->playout, c->cfg.playout);
	c->cfg.playout = NULL; /* the program's, not to be kept */
	if (c->cfg.remote_playout) {
		c->remote = true;
		c->remote_cb = *c->cfg.remote_playout;
		c->cfg.remote_playout = NULL;
		if (!c->remote_cb.audio || !c->remote_cb.mark ||
		    !c->remote_cb.clear || !c->remote_cb.flush)
			rc = rc ? rc : WV_ERR_INVALID;
	}
	if (rc == 0)
		rc = wv_decoder_create(&c->decoder, c->cfg.max_audio_payload);
	if (rc == 0)
		rc = wv__sendq_init(&c->sendq, c->cfg.max_queued_audio,
				    SLOT_BYTES);
	if (rc != 0) {
		wv_call_destroy(c);
		return rc;
	}
	*out = c;
	return 0;
}

void wv_call_destroy(struct wv_call *c)
{
	if (!c)
		return;
	wv_capture_destroy(c->capture);
	wv_playout_destroy(c->playout);
	wv_decoder_destroy(c->decoder);
	wv__sendq_cleanup(&c->sendq);
	wv_free(c->communication_id);
	wv_free(c->close_reason);
	wv_free(c);
}

int wv_call_connect(struct wv_call *c, int64_t now_us)
{
	(void)now_us;
	if (c->status != WV_STATUS_IDLE)
		return WV_ERR_STATE;
	set_status(c, WV_STATUS_CONNECTING);
	return 0;
}

int wv_call_opened(struct wv_call *c, int64_t now_us)
{
	if (c->status != WV_STATUS_CONNECTING || c->opened)
		return WV_ERR_STATE;
	c->opened = true;
	c->opened_at = now_us;
	return queue_simple(c, WV_EVENT_START);
}

static void answer_mark(void *user, const char *id);

/* Ends a call stopping by the server once its last words have played (or
   had their time). */
static bool played_out(const struct wv_call *c)
{
	struct wv_playout_stats st;

	if (c->remote)
		return c->drained;
	wv_playout_stats(c->playout, &st);
	return st.queued_samples == 0;
}

static void finish_last_words(struct wv_call *c, int64_t now_us)
{
	if (c->stopping && !ended(c) &&
	    (played_out(c) || now_us >= c->stop_by))
		end_call(c, WV_END_REMOTE_STOP, now_us);
}

static void on_server_start(struct wv_call *c, const struct wv_event *ev,
			    int64_t now_us)
{
	if (c->confirmed) {
		report(c, WV_ERR_PROTOCOL, "second start from server ignored");
		return;
	}
	c->confirmed = true;
	c->started_at = now_us;
	if (ev->communication_id) {
		c->communication_id = wv__strdup(ev->communication_id);
		if (!c->communication_id)
			report(c, WV_ERR_NOMEM, "cannot keep communication id");
	}
	set_status(c, WV_STATUS_CONNECTED);
	if (c->communication_id && c->cfg.cb.communication_id)
		c->cfg.cb.communication_id(c->cfg.user, c->communication_id);
}

/* Once per episode, not once per frame: a flood would otherwise bury
   everything else; the playout stats count every sample dropped. */
static void overflow(struct wv_call *c)
{
	struct wv_playout_stats st;

	if (c->overflowing)
		return;
	report(c, WV_ERR_FULL, "playout buffer full: the server sends audio "
	       "faster than it plays; dropping what does not fit");
	c->overflowing = true;
	/* The episode lasts until half the buffer has played: under a flood
	   the buffer dips below its cap by a frame each 20 ms, and each dip
	   would otherwise start another. */
	wv_playout_stats(c->playout, &st);
	c->overflow_low = st.queued_samples / 2;
}

/* Before a push: whether enough has played since to end the episode. */
static void overflow_eases(struct wv_call *c)
{
	struct wv_playout_stats st;

	wv_playout_stats(c->playout, &st);
	if (st.queued_samples <= c->overflow_low)
		c->overflowing = false;
}

static void on_server_audio(struct wv_call *c, const struct wv_event *ev)
{
	size_t accepted;

	c->stats.audio_events_received++;
	c->stats.audio_bytes_received += ev->audio_len;
	if (c->remote) { /* its cap is the other side's to report */
		c->remote_cb.audio(c->remote_cb.user, ev->audio, ev->audio_len);
		return;
	}
	if (c->overflowing)
		overflow_eases(c);
	accepted = wv_playout_push_ulaw(c->playout, ev->audio, ev->audio_len);
	if (accepted < ev->audio_len)
		overflow(c);
}

/* A mark id is the peer's text: escaped for the report that quotes it,
   and only then. */
static void report_mark(struct wv_call *c, int code, const char *mark,
			const char *what, const char *why)
{
	char id[QUOTE_MAX];

	wv_escape(id, sizeof id, mark, strlen(mark));
	report(c, code, "mark \"%s\" %s%s", id, what, why);
}

static void on_server_mark(struct wv_call *c, const struct wv_event *ev)
{
	int rc;

	c->stats.marks_received++;
	if (!c->confirmed)
		report_mark(c, WV_ERR_PROTOCOL, ev->mark, "before start", "");
	if (c->remote) {
		c->remote_cb.mark(c->remote_cb.user, ev->mark);
		return;
	}
	rc = wv_playout_mark(c->playout, ev->mark);
	if (rc < 0)
		report_mark(c, rc, ev->mark, "not placed: ",
			    wv_strerror(rc));
}

static void on_server_clear(struct wv_call *c)
{
	c->stats.clears_received++;
	if (!c->confirmed)
		report(c, WV_ERR_PROTOCOL, "clear before start");
	if (c->remote)
		c->remote_cb.clear(c->remote_cb.user);
	else
		wv_playout_clear(c->playout);
}

/* The agent hung up: nothing more to say, but what it said before goes on
   playing, without waiting for the pre-buffer, until it has all played or
   last_words_ms have passed. tick() ends the call. */
static void on_server_stop(struct wv_call *c, int64_t now_us)
{
	wv__sendq_drop_all(&c->sendq);
	if (c->remote)
		c->remote_cb.flush(c->remote_cb.user);
	else
		wv_playout_flush(c->playout);
	c->stopping = true;
	c->stop_by = now_us + (int64_t)c->cfg.last_words_ms * 1000;
	/* A mark already reached is answered before a call with nothing left
	   to play ends. */
	wv_playout_poll_marks(c->playout, answer_mark, c);
	finish_last_words(c, now_us);
}

static void dispatch(struct wv_call *c, const struct wv_event *ev,
		     int64_t now_us)
{
	switch (ev->type) {
	case WV_EVENT_START:
		on_server_start(c, ev, now_us);
		break;
	case WV_EVENT_AUDIO:
		on_server_audio(c, ev);
		break;
	case WV_EVENT_MARK:
		on_server_mark(c, ev);
		break;
	case WV_EVENT_CLEAR:
		on_server_clear(c);
		break;
	case WV_EVENT_STOP:
		on_server_stop(c, now_us);
		break;
	case WV_EVENT_DTMF:
		report(c, WV_ERR_PROTOCOL, "dtmf from server ignored");
		break;
	case WV_EVENT_UNKNOWN:
		c->stats.unknown_events++;
		if (c->cfg.cb.unknown_event)
			c->cfg.cb.unknown_event(c->cfg.user, ev->name,
						ev->json, ev->json_len);
		break;
	}
}

int wv_call_receive(struct wv_call *c, const char *text, size_t len,
		    int64_t now_us)
{
	struct wv_event ev;
	int rc;

	/* After the end (or the server's stop), late frames from the server
	   are expected and moot. */
	if (c->status != WV_STATUS_CONNECTING &&
	    c->status != WV_STATUS_CONNECTED)
		return 0;
	if (c->stopping)
		return 0;
	rc = wv_decoder_decode(c->decoder, text, len, &ev);
	if (rc < 0) {
		c->stats.bad_frames++;
		return report(c, rc, "bad frame from server: %s",
			      wv_decoder_error(c->decoder));
	}
	trace(c, WV_DIR_IN, &ev);
	dispatch(c, &ev, now_us);
	return 0;
}

void wv_call_closed(struct wv_call *c, int code, const char *reason,
		    bool error, int64_t now_us)
{
	if (c->socket_gone)
		return;
	c->socket_gone = true;
	c->close_code = code;
	c->close_reason = wv__strdup(reason ? reason : "");
	wv__sendq_drop_all(&c->sendq);
	/* The agent has hung up: its last words play on without a socket. */
	if (!ended(c) && !c->stopping) {
		if (error)
			report(c, WV_ERR_PROTOCOL, "connection failed%s%s",
			       reason && *reason ? ": " : "",
			       reason ? reason : "");
		end_call(c, error ? WV_END_ERROR : WV_END_CLOSED, now_us);
	}
}

/* A mark played: `mark` goes back, unless there is no one to tell. */
static int answer(struct wv_call *c, const char *id)
{
	struct wv_event ev = { .type = WV_EVENT_MARK, .name = "mark",
			       .mark = id };
	int rc;

	if (ended(c) || c->socket_gone)
		return 0;
	rc = queue_event(c, &ev);
	if (rc == 0)
		c->stats.marks_answered++;
	return rc;
}

static void answer_mark(void *user, const char *id)
{
	answer(user, id);
}

void wv_call_tick(struct wv_call *c, int64_t now_us)
{
	/* Reached marks are reported even after the end so that they are
	 * freed; answer_mark() sends nothing then. */
	wv_playout_poll_marks(c->playout, answer_mark, c);
	finish_last_words(c, now_us);
	if (c->status == WV_STATUS_CONNECTING && c->opened && !c->stopping &&
	    now_us >= wv_call_next_deadline(c)) {
		report(c, WV_ERR_TIMEOUT,
		       "the server did not answer start within %u ms",
		       c->cfg.start_timeout_ms);
		queue_simple(c, WV_EVENT_STOP);
		end_call(c, WV_END_START_TIMEOUT, now_us);
	}
}

int64_t wv_call_next_deadline(const struct wv_call *c)
{
	if (c->stopping && !ended(c))
		return c->stop_by;
	if (c->status == WV_STATUS_CONNECTING && c->opened)
		return c->opened_at + (int64_t)c->cfg.start_timeout_ms * 1000;
	return INT64_MAX;
}

const char *wv_call_peek_frame(struct wv_call *c, size_t *len)
{
	const struct wv__sendq_slot *s = wv__sendq_front(&c->sendq);

	if (!s || c->socket_gone)
		return NULL;
	*len = s->len;
	return s->text;
}

bool wv_call_peek_is_audio(const struct wv_call *c)
{
	const struct wv__sendq_slot *s = wv__sendq_front(&c->sendq);

	return s && !c->socket_gone && s->audio;
}

void wv_call_frame_sent(struct wv_call *c)
{
	wv__sendq_pop(&c->sendq);
}

bool wv_call_should_close(const struct wv_call *c, int *code)
{
	if (!ended(c) || c->socket_gone || !wv__sendq_empty(&c->sendq))
		return false;
	if (code)
		*code = CLOSE_NORMAL;
	return true;
}

int wv_call_hangup(struct wv_call *c, int64_t now_us)
{
	if (c->status != WV_STATUS_CONNECTING && c->status != WV_STATUS_CONNECTED)
		return WV_ERR_STATE;
	if (c->stopping) { /* the agent hung up first: cut its last words */
		end_call(c, WV_END_REMOTE_STOP, now_us);
		return 0;
	}
	if (c->opened && !c->socket_gone)
		queue_simple(c, WV_EVENT_STOP);
	end_call(c, WV_END_HANGUP, now_us);
	return 0;
}

int wv_call_send_dtmf(struct wv_call *c, char digit, int64_t now_us)
{
	struct wv_event ev = { .type = WV_EVENT_DTMF, .name = "dtmf",
			       .dtmf = digit };
	int rc;

	(void)now_us;
	if (!wv_dtmf_valid(digit))
		return WV_ERR_DTMF;
	if (c->status != WV_STATUS_CONNECTED || c->stopping)
		return WV_ERR_STATE;
	rc = queue_event(c, &ev);
	if (rc == 0)
		c->stats.dtmf_sent++;
	return rc;
}

int wv_call_mark_played(struct wv_call *c, const char *id, int64_t now_us)
{
	(void)now_us;
	if (!c->remote)
		return WV_ERR_STATE;
	return answer(c, id);
}

void wv_call_playout_drained(struct wv_call *c, int64_t now_us)
{
	if (!c->remote || !c->stopping)
		return;
	c->drained = true;
	finish_last_words(c, now_us);
}

void wv_call_set_muted(struct wv_call *c, bool muted)
{
	wv_capture_set_muted(c->capture, muted);
}

bool wv_call_muted(const struct wv_call *c)
{
	return wv_capture_muted(c->capture);
}

int wv_call_write_audio(struct wv_call *c, const float *samples, size_t n)
{
	return wv_capture_write(c->capture, samples, n);
}

struct wv_playout *wv_call_playout(struct wv_call *c)
{
	return c->playout;
}

enum wv_status wv_call_status(const struct wv_call *c)
{
	return c->status;
}

bool wv_call_stopping(const struct wv_call *c)
{
	return c->stopping && !ended(c);
}

enum wv_end_reason wv_call_end_reason(const struct wv_call *c)
{
	return c->end_reason;
}

const char *wv_call_communication_id(const struct wv_call *c)
{
	return c->communication_id;
}

int64_t wv_call_elapsed_ms(const struct wv_call *c, int64_t now_us)
{
	int64_t until;

	if (!c->confirmed)
		return 0;
	until = ended(c) ? c->ended_at : now_us;
	return until > c->started_at ? (until - c->started_at) / 1000 : 0;
}

const char *wv_call_last_error(const struct wv_call *c)
{
	return c->last_error;
}

int wv_call_close_code(const struct wv_call *c, const char **reason)
{
	if (reason)
		*reason = c->close_reason ? c->close_reason : "";
	return c->close_code;
}

void wv_call_stats_sized(const struct wv_call *c, struct wv_call_stats *st,
			 size_t size)
{
	wv__give_sized(st, size, &c->stats, sizeof c->stats);
}
