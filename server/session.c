/* The server side of one call: see session.h. */
#include "session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wvoice/codec.h>
#include <wvoice/error.h>

#include "vad.h"

#define US_PER_FRAME 20000
#define US_PER_S 1000000
#define MAX_CONTROLS 8
#define MAX_MARKS 256 /* marks in flight, and cleared marks remembered */

enum item_kind { ITEM_AUDIO, ITEM_MARK, ITEM_STOP };

/* Agent output, in order: audio, the marks between it, and a hang-up. */
struct item {
	struct item *next;
	enum item_kind kind;
	const int16_t *pcm; /* audio: borrowed, or `owned` */
	int16_t *owned;
	size_t len, off;
	char *mark;
};

/* Names of marks, oldest first, with a fixed cap. */
struct mark_list {
	char *name[MAX_MARKS];
	size_t head, count;
};

/* Server events that jump the audio queue. */
enum control { CTL_START, CTL_CLEAR, CTL_STOP };

struct wvs_session {
	struct wvs_session_config cfg;
	struct wv_decoder *decoder;
	struct wvs_vad *vad;
	void *agent_state;
	int64_t t0;
	int64_t now; /* the latest time the session was driven at */
	char id[WV_ID_MAX + 1];

	int started;
	enum wvs_end end;
	int close_code; /* nonzero: close once nothing is left to send */
	const char *close_reason;
	int close_now;	/* a protocol error: drop what is queued */

	enum control controls[MAX_CONTROLS];
	size_t n_controls;

	struct item *head, *tail;
	size_t queued_samples;
	int64_t play_at;  /* when the next agent frame should be heard */
	int64_t talk_end; /* when the audio sent so far will have played */

	struct mark_list pending, cleared;

	int64_t wake_at;
	int64_t start_deadline;

	/* Liveness after start: the last audio message, the next ping, the
	   oldest ping unanswered (0: none). */
	int64_t audio_at, ping_at, ping_sent_at;
	char idle_reason[48];

	/* Caller audio: 20 ms framing for the VAD, and its recording position. */
	int16_t in_frame[WVS_FRAME];
	size_t in_fill;
	uint64_t caller_pos;
	int caller_heard;

	/* Flood limits: token buckets for frames and for audio samples. */
	double frame_tokens, sample_tokens;
	int64_t bucket_at;

	struct wvs_session_stats stats;
};

const char *wvs_end_name(enum wvs_end end)
{
	static const char *const names[] = {
		[WVS_END_NONE] = "none",
		[WVS_END_CLIENT_STOP] = "client-stop",
		[WVS_END_AGENT_STOP] = "agent-stop",
		[WVS_END_CLOSED] = "closed",
		[WVS_END_PROTOCOL] = "protocol-error",
		[WVS_END_NO_START] = "no-start",
		[WVS_END_IDLE] = "idle",
		[WVS_END_SHUTDOWN] = "shutdown",
	};
	return (unsigned)end < sizeof names / sizeof names[0] ? names[end] : "?";
}

void wvs_session_config_default(struct wvs_session_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->lead_ms = 60;
	cfg->start_timeout_ms = 10000;
	cfg->idle_timeout_ms = 10000;
	cfg->max_queue_ms = 120000;
	cfg->max_bad_frames = 100;
	cfg->max_frames_per_s = 200;
	cfg->flood_burst = 1000;
}

static uint64_t pos_of(const struct wvs_session *s, int64_t t)
{
	return t <= s->t0 ? 0 : (uint64_t)(t - s->t0) * WVS_RATE / US_PER_S;
}

void wvs_session_logf(struct wvs_session *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!s->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	s->cfg.log(s->cfg.user, line);
}

static void trace(struct wvs_session *s, enum wvs_dir dir,
		  const struct wv_event *ev, const char *problem, int64_t now)
{
	if (s->cfg.trace)
		s->cfg.trace(s->cfg.user, dir, ev, problem, now);
}

/* ---- marks ---- */

static void marks_push(struct mark_list *l, char *name)
{
	if (l->count == MAX_MARKS) { /* forget the oldest */
		free(l->name[l->head]);
		l->head = (l->head + 1) % MAX_MARKS;
		l->count--;
	}
	l->name[(l->head + l->count) % MAX_MARKS] = name;
	l->count++;
}

/* Takes the oldest entry with this name out of the list; NULL if none. */
static char *marks_take(struct mark_list *l, const char *name)
{
	for (size_t i = 0; i < l->count; i++) {
		size_t at = (l->head + i) % MAX_MARKS;
		char *found = l->name[at];

		if (strcmp(found, name) != 0)
			continue;
		for (size_t j = i; j + 1 < l->count; j++)
			l->name[(l->head + j) % MAX_MARKS] =
				l->name[(l->head + j + 1) % MAX_MARKS];
		l->count--;
		return found;
	}
	return NULL;
}

static void marks_clear(struct mark_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->name[(l->head + i) % MAX_MARKS]);
	l->head = l->count = 0;
}

/* ---- the output queue ---- */

static void item_free(struct item *it)
{
	free(it->owned);
	free(it->mark);
	free(it);
}

static void queue_drop(struct wvs_session *s)
{
	struct item *it = s->head;

	while (it) {
		struct item *next = it->next;
		item_free(it);
		it = next;
	}
	s->head = s->tail = NULL;
	s->queued_samples = 0;
}

/* A barge-in: the audio and marks go, a hang-up queued behind them stays
   (and is due at once, nothing being left to play before it). */
static void queue_drop_talk(struct wvs_session *s)
{
	struct item *it = s->head, *stop = NULL;

	while (it) {
		struct item *next = it->next;

		if (it->kind == ITEM_STOP && !stop) {
			stop = it;
			stop->next = NULL;
		} else {
			item_free(it);
		}
		it = next;
	}
	s->head = s->tail = stop;
	s->queued_samples = 0;
}

static int queue_has_audio(const struct wvs_session *s)
{
	for (const struct item *it = s->head; it; it = it->next)
		if (it->kind == ITEM_AUDIO)
			return 1;
	return 0;
}

static int64_t lead_us(const struct wvs_session *s)
{
	return (int64_t)s->cfg.lead_ms * 1000;
}

static void queue_push(struct wvs_session *s, struct item *it, int64_t now)
{
	/* Audio after a pause is heard a lead from now, and its first frame
	   goes at once; audio after audio follows on. */
	if (it->kind == ITEM_AUDIO && !queue_has_audio(s) && s->talk_end <= now)
		s->play_at = s->talk_end = now + lead_us(s);
	if (s->tail)
		s->tail->next = it;
	else
		s->head = it;
	s->tail = it;
}

static struct item *queue_pop(struct wvs_session *s)
{
	struct item *it = s->head;

	s->head = it->next;
	if (!s->head)
		s->tail = NULL;
	return it;
}

/* Agent actions carry no time of their own: they happen at the time the
   session was last driven at, which is the callback that called them. */
static int64_t clock_now(const struct wvs_session *s)
{
	return s->now;
}

static void drive(struct wvs_session *s, int64_t now)
{
	if (now > s->now)
		s->now = now;
}

static int play_item(struct wvs_session *s, const int16_t *pcm, int16_t *owned,
		     size_t n)
{
	uint64_t max = (uint64_t)s->cfg.max_queue_ms * WVS_RATE / 1000;
	struct item *it;

	if (s->end != WVS_END_NONE || n == 0) {
		free(owned);
		return 0;
	}
	if (s->queued_samples + n > max) {
		free(owned);
		wvs_session_logf(s, "agent audio queue full (%u ms); dropped %zu ms",
				 s->cfg.max_queue_ms, n * 1000 / WVS_RATE);
		return WV_ERR_FULL;
	}
	it = calloc(1, sizeof *it);
	if (!it) {
		free(owned);
		return WV_ERR_NOMEM;
	}
	it->kind = ITEM_AUDIO;
	it->pcm = owned ? owned : pcm;
	it->owned = owned;
	it->len = n;
	s->queued_samples += n;
	queue_push(s, it, clock_now(s));
	return 0;
}

int wvs_session_play(struct wvs_session *s, const struct wvs_clip *clip)
{
	return play_item(s, clip->pcm, NULL, clip->len);
}

int wvs_session_play_copy(struct wvs_session *s, const int16_t *pcm, size_t n)
{
	int16_t *copy;

	if (n == 0)
		return 0;
	copy = malloc(n * sizeof *copy);
	if (!copy)
		return WV_ERR_NOMEM;
	memcpy(copy, pcm, n * sizeof *copy);
	return play_item(s, NULL, copy, n);
}

int wvs_session_mark(struct wvs_session *s, const char *name)
{
	struct item *it;

	if (s->end != WVS_END_NONE)
		return 0;
	it = calloc(1, sizeof *it);
	if (!it || !(it->mark = strdup(name))) {
		free(it);
		return WV_ERR_NOMEM;
	}
	it->kind = ITEM_MARK;
	queue_push(s, it, clock_now(s));
	return 0;
}

static void control_push(struct wvs_session *s, enum control c)
{
	if (s->n_controls < MAX_CONTROLS)
		s->controls[s->n_controls++] = c;
}

void wvs_session_clear(struct wvs_session *s)
{
	int64_t now = clock_now(s);

	if (s->end != WVS_END_NONE || !s->started)
		return;
	queue_drop_talk(s);
	while (s->pending.count) {
		size_t at = s->pending.head;
		s->pending.head = (s->pending.head + 1) % MAX_MARKS;
		s->pending.count--;
		marks_push(&s->cleared, s->pending.name[at]);
	}
	s->play_at = s->talk_end = now;
	control_push(s, CTL_CLEAR);
}

void wvs_session_hangup(struct wvs_session *s)
{
	struct item *it;

	if (s->end != WVS_END_NONE)
		return;
	/* A second stop queued goes with the first: what follows a stop is
	   dropped when it is sent. */
	it = calloc(1, sizeof *it);
	if (!it) { /* no memory for the queue entry: stop at once instead */
		control_push(s, CTL_STOP);
		s->end = WVS_END_AGENT_STOP;
		return;
	}
	it->kind = ITEM_STOP;
	queue_push(s, it, clock_now(s));
}

int64_t wvs_session_talk_end(const struct wvs_session *s, int64_t now)
{
	int64_t end = s->talk_end > now ? s->talk_end : now;

	if (queue_has_audio(s)) {
		int64_t from = s->play_at > now ? s->play_at : now;
		end = from + (int64_t)s->queued_samples * US_PER_S / WVS_RATE;
	}
	return end;
}

int wvs_session_talking(const struct wvs_session *s, int64_t now)
{
	return queue_has_audio(s) || s->talk_end > now;
}

void wvs_session_wake_at(struct wvs_session *s, int64_t at)
{
	s->wake_at = at;
}

/* ---- ending ---- */

static void end_call(struct wvs_session *s, enum wvs_end why, int code,
		     const char *reason)
{
	if (s->end == WVS_END_NONE)
		s->end = why;
	if (!s->close_code) {
		s->close_code = code;
		s->close_reason = reason;
	}
}

static void protocol_error(struct wvs_session *s, int code, const char *reason,
			   const char *problem, int64_t now)
{
	trace(s, WVS_IN, NULL, problem, now);
	if (s->end == WVS_END_NONE)
		wvs_session_logf(s, "%s; closing with %d", problem, code);
	end_call(s, WVS_END_PROTOCOL, code, reason);
	s->close_now = 1;
}

void wvs_session_reject(struct wvs_session *s, int close_code,
			const char *problem, int64_t now)
{
	protocol_error(s, close_code, problem, problem, now);
}

/* ---- receiving ---- */

static void bad_frame(struct wvs_session *s, const char *problem, int64_t now)
{
	s->stats.bad_frames++;
	if (s->stats.bad_frames > s->cfg.max_bad_frames) {
		protocol_error(s, 1008, "too many bad frames",
			       "too many bad frames", now);
		return;
	}
	trace(s, WVS_IN, NULL, problem, now);
	wvs_session_logf(s, "bad frame: %s; ignored", problem);
}

/* True (and the call closed) when the client sends faster than any real
   client would: frames beyond max_frames_per_s, or audio beyond twice real
   time, sustained past the burst allowance. */
static int flooding(struct wvs_session *s, size_t samples, int64_t now)
{
	double dt = (double)(now - s->bucket_at) / US_PER_S;
	double frame_cap = s->cfg.flood_burst;
	double sample_cap = (double)s->cfg.flood_burst * WVS_FRAME;

	if (dt > 0) {
		s->frame_tokens += dt * s->cfg.max_frames_per_s;
		s->sample_tokens += dt * 2 * WVS_RATE;
		s->bucket_at = now;
	}
	if (s->frame_tokens > frame_cap)
		s->frame_tokens = frame_cap;
	if (s->sample_tokens > sample_cap)
		s->sample_tokens = sample_cap;
	s->frame_tokens -= 1;
	s->sample_tokens -= (double)samples;
	if (s->frame_tokens >= 0 && s->sample_tokens >= 0)
		return 0;
	protocol_error(s, 1008, "flood",
		       s->frame_tokens < 0
			       ? "flood: frames faster than the limit"
			       : "flood: audio faster than twice real time",
		       now);
	return 1;
}

void wvs_session_piece(struct wvs_session *s, int64_t now)
{
	drive(s, now);
	if (!s->close_code)
		flooding(s, 0, now);
}

void wvs_session_control_frames(struct wvs_session *s, uint64_t n,
				int64_t now)
{
	drive(s, now);
	if (s->close_code || n == 0)
		return;
	/* All at once: the bucket goes as far negative as they take it. */
	s->frame_tokens -= (double)(n - 1);
	flooding(s, 0, now);
}

static void caller_frame(struct wvs_session *s, int64_t now)
{
	const struct wvs_agent *a = s->cfg.agent;

	switch (wvs_vad_push(s->vad, s->in_frame)) {
	case WVS_VAD_SPEECH_START:
		if (a->on_speech_start)
			a->on_speech_start(s, s->agent_state, now);
		break;
	case WVS_VAD_SPEECH_END:
		if (a->on_utterance) {
			size_t n;
			const int16_t *pcm = wvs_vad_utterance(s->vad, &n);
			a->on_utterance(s, s->agent_state, pcm, n, now);
		}
		break;
	case WVS_VAD_NONE:
		break;
	}
}

static void caller_audio(struct wvs_session *s, const uint8_t *ulaw, size_t n,
			 int64_t now)
{
	uint64_t arrival = pos_of(s, now);
	int16_t pcm[WVS_FRAME];

	/* The caller's stream is laid down back to back; a gap in it (arrival
	   well past where the stream has got to) moves it on, so the recording
	   stays aligned with the agent's side. */
	if (!s->caller_heard || arrival > s->caller_pos + 2 * WVS_RATE / 10) {
		uint64_t len = n;
		s->caller_pos = arrival > len ? arrival - len : 0;
		s->caller_heard = 1;
	}
	while (n) {
		size_t take = WVS_FRAME - s->in_fill;

		if (take > n)
			take = n;
		wv_ulaw_decode(pcm, ulaw, take);
		if (s->cfg.audio)
			s->cfg.audio(s->cfg.user, WVS_IN, s->caller_pos, pcm,
				     take);
		s->caller_pos += take;
		memcpy(s->in_frame + s->in_fill, pcm, take * sizeof *pcm);
		s->in_fill += take;
		ulaw += take;
		n -= take;
		if (s->in_fill == WVS_FRAME) {
			s->in_fill = 0;
			if (s->vad)
				caller_frame(s, now);
		}
	}
}

static void got_start(struct wvs_session *s, int64_t now)
{
	const struct wvs_agent *a = s->cfg.agent;

	if (s->started) {
		bad_frame(s, "a second start", now);
		return;
	}
	s->started = 1;
	s->audio_at = now;
	s->ping_at = now + (int64_t)s->cfg.idle_timeout_ms * 1000 / 2;
	control_push(s, CTL_START);
	if (a->create) {
		s->agent_state = a->create(s, s->cfg.agent_arg);
		if (!s->agent_state) {
			protocol_error(s, 1011, "agent failed",
				       "the agent could not start", now);
			return;
		}
	}
	if (a->on_start)
		a->on_start(s, s->agent_state, now);
}

static void got_mark(struct wvs_session *s, const char *mark, int64_t now)
{
	const struct wvs_agent *a = s->cfg.agent;
	char *name = marks_take(&s->pending, mark);
	int cleared = 0;

	if (!name) {
		name = marks_take(&s->cleared, mark);
		cleared = 1;
	}
	if (!name) {
		bad_frame(s, "a mark the server never sent", now);
		return;
	}
	if (cleared)
		s->stats.marks_cleared++;
	else
		s->stats.marks_played++;
	if (a->on_mark)
		a->on_mark(s, s->agent_state, name, cleared, now);
	free(name);
}

static void dispatch(struct wvs_session *s, const struct wv_event *ev,
		     int64_t now)
{
	const struct wvs_agent *a = s->cfg.agent;

	if (!s->started && ev->type != WV_EVENT_START &&
	    ev->type != WV_EVENT_STOP && ev->type != WV_EVENT_UNKNOWN) {
		char problem[64];
		snprintf(problem, sizeof problem, "%s before start", ev->name);
		protocol_error(s, 1008, problem, problem, now);
		return;
	}
	switch (ev->type) {
	case WV_EVENT_START:
		got_start(s, now);
		break;
	case WV_EVENT_AUDIO:
		s->stats.frames_in++;
		s->audio_at = now;
		caller_audio(s, ev->audio, ev->audio_len, now);
		break;
	case WV_EVENT_DTMF:
		if (a->on_dtmf)
			a->on_dtmf(s, s->agent_state, ev->dtmf, now);
		break;
	case WV_EVENT_MARK:
		got_mark(s, ev->mark, now);
		break;
	case WV_EVENT_STOP:
		end_call(s, WVS_END_CLIENT_STOP, 1000, "stop");
		s->close_now = 1;
		break;
	case WV_EVENT_CLEAR:
		bad_frame(s, "clear is a server event", now);
		break;
	case WV_EVENT_UNKNOWN: {
		/* The name is the client's: escaped, it cannot break the log
		   line or the record. */
		char name[72], problem[96];

		wv_escape(name, sizeof name, ev->name, strlen(ev->name));
		snprintf(problem, sizeof problem, "unknown event \"%s\"", name);
		bad_frame(s, problem, now);
		break;
	}
	}
}

void wvs_session_receive(struct wvs_session *s, const char *text, size_t len,
			 int64_t now)
{
	struct wv_event ev;
	int rc;

	drive(s, now);
	if (s->close_code)
		return;
	rc = wv_decoder_decode(s->decoder, text, len, &ev);
	if (flooding(s, rc == 0 && ev.type == WV_EVENT_AUDIO ? ev.audio_len : 0,
		     now))
		return;
	if (rc < 0) {
		/* The decoder's words name the problem: "not JSON: ...". */
		bad_frame(s, wv_decoder_error(s->decoder), now);
		return;
	}
	trace(s, WVS_IN, &ev, NULL, now);
	dispatch(s, &ev, now);
}

/* ---- time ---- */

static int liveness(const struct wvs_session *s)
{
	return s->started && s->cfg.idle_timeout_ms;
}

int wvs_session_ping_due(struct wvs_session *s, int64_t now)
{
	drive(s, now);
	if (!liveness(s) || s->close_code || now < s->ping_at)
		return 0;
	s->ping_at = now + (int64_t)s->cfg.idle_timeout_ms * 1000 / 2;
	if (!s->ping_sent_at)
		s->ping_sent_at = now;
	return 1;
}

void wvs_session_pong(struct wvs_session *s, int64_t now)
{
	drive(s, now);
	s->ping_sent_at = 0;
	/* Unasked pongs are frames like any other: a flood of them is one. */
	if (!s->close_code)
		flooding(s, 0, now);
}

/* A client that stopped sending audio, or answering pings: gone, or
   stuck, and holding a call. */
static int idle(struct wvs_session *s, int64_t now)
{
	int64_t limit = (int64_t)s->cfg.idle_timeout_ms * 1000;
	const char *what;

	if (!liveness(s))
		return 0;
	if (now - s->audio_at >= limit)
		what = "audio";
	else if (s->ping_sent_at && now - s->ping_sent_at >= limit)
		what = "pong";
	else
		return 0;
	snprintf(s->idle_reason, sizeof s->idle_reason, "no %s for %g s", what,
		 s->cfg.idle_timeout_ms / 1000.0);
	protocol_error(s, 1008, s->idle_reason, s->idle_reason, now);
	s->end = WVS_END_IDLE;
	return 1;
}

void wvs_session_tick(struct wvs_session *s, int64_t now)
{
	const struct wvs_agent *a = s->cfg.agent;

	drive(s, now);
	if (s->close_code)
		return;
	if (!s->started && now >= s->start_deadline) {
		protocol_error(s, 1008, "no start", "no start from the client",
			       now);
		s->end = WVS_END_NO_START;
		return;
	}
	if (idle(s, now))
		return;
	if (s->wake_at <= now + s->cfg.early_us) {
		s->wake_at = INT64_MAX;
		if (a->on_wake)
			a->on_wake(s, s->agent_state, now);
	}
}

int64_t wvs_session_deadline(const struct wvs_session *s)
{
	int64_t lead = (int64_t)s->cfg.lead_ms * 1000;
	int64_t at = s->wake_at;

	if (s->close_code && (s->close_now || (!s->n_controls && !s->head)))
		return INT64_MIN;
	if (s->n_controls)
		return INT64_MIN;
	if (!s->started && s->start_deadline < at)
		at = s->start_deadline;
	if (liveness(s)) {
		int64_t limit = (int64_t)s->cfg.idle_timeout_ms * 1000;
		int64_t hup = s->audio_at + limit;
		if (s->ping_sent_at && s->ping_sent_at + limit < hup)
			hup = s->ping_sent_at + limit;
		if (hup < at)
			at = hup;
		if (s->ping_at < at)
			at = s->ping_at;
	}
	if (s->head) {
		int64_t due = INT64_MIN;
		if (s->head->kind == ITEM_AUDIO)
			due = s->play_at - lead;
		else if (s->head->kind == ITEM_STOP)
			due = s->talk_end;
		if (due < at)
			at = due;
	}
	return at;
}

/* ---- sending ---- */

static int send_control(struct wvs_session *s, char *dst, size_t cap,
			int64_t now)
{
	struct wv_event ev = { 0 };
	enum control c = s->controls[0];
	int n;

	switch (c) {
	case CTL_START:
		ev.type = WV_EVENT_START;
		ev.communication_id = s->cfg.id;
		break;
	case CTL_CLEAR:
		ev.type = WV_EVENT_CLEAR;
		break;
	case CTL_STOP:
		ev.type = WV_EVENT_STOP;
		break;
	}
	ev.name = wv_event_name(ev.type);
	n = wv_encode_event(dst, cap, &ev);
	/* Too little room: the control stays first, for the next call. */
	if (n < 0)
		return n;
	memmove(s->controls, s->controls + 1,
		--s->n_controls * sizeof s->controls[0]);
	if (c == CTL_STOP)
		end_call(s, s->end == WVS_END_NONE ? WVS_END_AGENT_STOP : s->end,
			 1000, "stop");
	trace(s, WVS_OUT, &ev, NULL, now);
	return n;
}

static int send_audio(struct wvs_session *s, char *dst, size_t cap,
		      int64_t now)
{
	struct item *it = s->head;
	int16_t pcm[WVS_FRAME];
	uint8_t ulaw[WVS_FRAME];
	size_t take = it->len - it->off;
	int64_t due = s->play_at - (int64_t)s->cfg.lead_ms * 1000;
	struct wv_event ev = { .type = WV_EVENT_AUDIO, .name = "audio" };
	int n;

	if (take > WVS_FRAME)
		take = WVS_FRAME;
	/* The last frame of a clip is padded with silence: every frame the
	   client gets is 20 ms, as the real service sends. */
	memcpy(pcm, it->pcm + it->off, take * sizeof *pcm);
	memset(pcm + take, 0, (WVS_FRAME - take) * sizeof *pcm);
	wv_ulaw_encode(ulaw, pcm, WVS_FRAME);
	n = wv_encode_audio(dst, cap, ulaw, WVS_FRAME);
	if (n < 0)
		return n;

	if (now - due > s->stats.max_send_delay)
		s->stats.max_send_delay = now - due;
	if (now > s->play_at)
		s->stats.late_frames++;
	if (s->cfg.audio)
		s->cfg.audio(s->cfg.user, WVS_OUT, pos_of(s, s->play_at), pcm,
			     WVS_FRAME);
	s->play_at += US_PER_FRAME;
	s->talk_end = s->play_at;
	s->stats.frames_out++;
	it->off += take;
	s->queued_samples -= take;
	if (it->off == it->len)
		item_free(queue_pop(s));
	ev.audio = ulaw;
	ev.audio_len = WVS_FRAME;
	trace(s, WVS_OUT, &ev, NULL, now);
	return n;
}

static int send_mark(struct wvs_session *s, char *dst, size_t cap, int64_t now)
{
	struct item *it = s->head;
	struct wv_event ev = { .type = WV_EVENT_MARK, .name = "mark" };
	int n;

	ev.mark = it->mark;
	n = wv_encode_event(dst, cap, &ev);
	/* Too little room: the mark stays queued, for the next call. */
	if (n < 0)
		return n;
	queue_pop(s);
	trace(s, WVS_OUT, &ev, NULL, now);
	marks_push(&s->pending, it->mark);
	it->mark = NULL;
	item_free(it);
	return n;
}

int wvs_session_next(struct wvs_session *s, int64_t now, char *dst, size_t cap)
{
	int64_t lead = (int64_t)s->cfg.lead_ms * 1000;

	drive(s, now);
	if (s->close_now)
		return 0;
	if (s->n_controls)
		return send_control(s, dst, cap, now);
	if (!s->head || s->close_code)
		return 0;
	switch (s->head->kind) {
	case ITEM_MARK:
		return send_mark(s, dst, cap, now);
	case ITEM_AUDIO:
		if (s->play_at - lead > now + s->cfg.early_us)
			return 0;
		return send_audio(s, dst, cap, now);
	case ITEM_STOP:
		if (s->talk_end > now + s->cfg.early_us)
			return 0;
		item_free(queue_pop(s));
		queue_drop(s);
		control_push(s, CTL_STOP);
		return send_control(s, dst, cap, now);
	}
	return 0;
}

int wvs_session_should_close(const struct wvs_session *s, int *code,
			     const char **reason)
{
	if (!s->close_code)
		return 0;
	if (!s->close_now && (s->n_controls || s->head))
		return 0;
	*code = s->close_code;
	*reason = s->close_reason;
	return 1;
}

void wvs_session_closed(struct wvs_session *s, int64_t now)
{
	(void)now;
	if (s->end == WVS_END_NONE)
		s->end = WVS_END_CLOSED;
	if (!s->close_code) {
		s->close_code = 1006;
		s->close_reason = "closed";
	}
}

void wvs_session_shutdown(struct wvs_session *s, int64_t now)
{
	drive(s, now);
	if (s->end != WVS_END_NONE)
		return;
	s->end = WVS_END_SHUTDOWN;
	queue_drop(s);
	control_push(s, CTL_STOP);
}

/* ---- life ---- */

int wvs_session_create(struct wvs_session **out,
		       const struct wvs_session_config *cfg, int64_t now)
{
	struct wvs_session *s;
	int rc;

	*out = NULL;
	if (!cfg || !cfg->agent || !cfg->id || strlen(cfg->id) > WV_ID_MAX)
		return WV_ERR_INVALID;
	s = calloc(1, sizeof *s);
	if (!s)
		return WV_ERR_NOMEM;
	s->cfg = *cfg;
	strcpy(s->id, cfg->id);
	s->cfg.id = s->id;
	s->t0 = s->bucket_at = s->now = now;
	s->play_at = s->talk_end = now;
	s->wake_at = INT64_MAX;
	s->start_deadline = now + (int64_t)cfg->start_timeout_ms * 1000;
	s->frame_tokens = cfg->flood_burst;
	s->sample_tokens = (double)cfg->flood_burst * WVS_FRAME;
	rc = wv_decoder_create(&s->decoder, WV_AUDIO_PAYLOAD_MAX);
	if (rc == 0 && cfg->agent->needs_vad)
		rc = wvs_vad_create(&s->vad, NULL);
	if (rc < 0) {
		wvs_session_destroy(s);
		return rc;
	}
	*out = s;
	return 0;
}

void wvs_session_destroy(struct wvs_session *s)
{
	if (!s)
		return;
	if (s->agent_state && s->cfg.agent->destroy)
		s->cfg.agent->destroy(s->agent_state);
	queue_drop(s);
	marks_clear(&s->pending);
	marks_clear(&s->cleared);
	wvs_vad_destroy(s->vad);
	wv_decoder_destroy(s->decoder);
	free(s);
}

enum wvs_end wvs_session_end(const struct wvs_session *s)
{
	return s->end;
}

int wvs_session_started(const struct wvs_session *s)
{
	return s->started;
}

const char *wvs_session_id(const struct wvs_session *s)
{
	return s->cfg.id;
}

const struct wvs_session_stats *wvs_session_stats(const struct wvs_session *s)
{
	return &s->stats;
}
