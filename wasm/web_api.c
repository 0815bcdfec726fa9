/*
 * The browser's API over libwvoice-core: see web_api.h. Each part wraps one
 * of the core's objects in what JavaScript can drive through numbers and
 * pointers alone: buffers it can read after the call (capture's frames,
 * the playout's marks, the call's output records) where C would have
 * called back.
 */
#include "web_api.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <wvoice/alloc.h>
#include <wvoice/call.h>
#include <wvoice/capture.h>
#include <wvoice/error.h>
#include <wvoice/pcm.h>
#include <wvoice/playout.h>
#include <wvoice/resampler.h>
#include <wvoice/version.h>

/* Milliseconds (a double, from JavaScript) to the core's microseconds,
 * clamped; NaN counts as the earliest time. */
static int64_t to_us(double ms)
{
	double us = ms * 1000.0;

	if (!(us > -9.2e18))
		return INT64_MIN;
	if (!(us < 9.2e18))
		return INT64_MAX;
	return (int64_t)llround(us);
}

static double from_us(int64_t us)
{
	if (us == INT64_MAX)
		return INFINITY;
	return (double)us / 1000.0;
}

/*
 * int16 to float such that the core's float to int16 (wv_pcm_from_float:
 * negatives times 32768, positives times 32767, truncated) gives the same
 * sample back: the capture worklet's frames go out exactly as they came.
 * Dividing positives by 32768 instead would lose one step on each.
 */
static float exact_float(int16_t v)
{
	if (v <= 0)
		return (float)v / 32768.0f;
	return ((float)v + 0.5f) / 32767.0f;
}

void *wvw_alloc(size_t n)
{
	return wv_malloc(n ? n : 1);
}

void wvw_free(void *p)
{
	wv_free(p);
}

void wvw_init(uint32_t seed)
{
	json_object_seed(seed);
}

const char *wvw_version(void)
{
	return wv_version();
}

const char *wvw_strerror(int code)
{
	return wv_strerror(code);
}

const char *wvw_error_name(int code)
{
	return wv_error_name(code);
}

const char *wvw_status_name(int status)
{
	if (status < WV_STATUS_IDLE || status > WV_STATUS_DISCONNECTED)
		return "unknown";
	return wv_status_name((enum wv_status)status);
}

const char *wvw_end_reason_name(int reason)
{
	if (reason < WV_END_NONE || reason > WV_END_ERROR)
		return "unknown";
	return wv_end_reason_name((enum wv_end_reason)reason);
}

/*
 * Capture. The core hands each frame to a callback; the worklet reads them
 * after write(), so they wait in a ring of WVW_CAPTURE_FRAMES.
 */

struct wvw_capture {
	struct wv_capture *capture;
	uint64_t dropped;
	unsigned head, count; /* the oldest waiting frame, and how many */
	int16_t frames[WVW_CAPTURE_FRAMES][WVW_FRAME_SAMPLES];
};

static void capture_frame(void *user, const int16_t *frame)
{
	struct wvw_capture *h = user;
	unsigned slot;

	if (h->count == WVW_CAPTURE_FRAMES) { /* live audio: keep the newest */
		h->head = (h->head + 1) % WVW_CAPTURE_FRAMES;
		h->count--;
		h->dropped++;
	}
	slot = (h->head + h->count) % WVW_CAPTURE_FRAMES;
	memcpy(h->frames[slot], frame, sizeof h->frames[slot]);
	h->count++;
}

intptr_t wvw_capture_create(unsigned rate, int quality)
{
	struct wvw_capture *h = wv_malloc(sizeof *h);
	int rc;

	if (!h)
		return WV_ERR_NOMEM;
	memset(h, 0, sizeof *h);
	rc = wv_capture_create(&h->capture, rate, quality, capture_frame, h);
	if (rc < 0) {
		wv_free(h);
		return rc;
	}
	return (intptr_t)h;
}

void wvw_capture_destroy(struct wvw_capture *h)
{
	if (!h)
		return;
	wv_capture_destroy(h->capture);
	wv_free(h);
}

int wvw_capture_write(struct wvw_capture *h, const float *samples, size_t n)
{
	int rc = wv_capture_write(h->capture, samples, n);

	return rc < 0 ? rc : (int)h->count;
}

/* The oldest waiting frame, taken off the ring; NULL when none waits. */
static const int16_t *take_frame(struct wvw_capture *h)
{
	const int16_t *frame;

	if (h->count == 0)
		return NULL;
	frame = h->frames[h->head];
	h->head = (h->head + 1) % WVW_CAPTURE_FRAMES;
	h->count--;
	return frame;
}

int wvw_capture_read(struct wvw_capture *h, int16_t *out, int max_frames)
{
	const int16_t *frame;
	int n = 0;

	while (n < max_frames && (frame = take_frame(h))) {
		memcpy(out, frame, WVW_FRAME_SAMPLES * sizeof *frame);
		out += WVW_FRAME_SAMPLES;
		n++;
	}
	return n;
}

int wvw_capture_read_float(struct wvw_capture *h, float *out, int max_frames)
{
	const int16_t *frame;
	int n = 0;

	while (n < max_frames && (frame = take_frame(h))) {
		for (size_t i = 0; i < WVW_FRAME_SAMPLES; i++)
			*out++ = exact_float(frame[i]);
		n++;
	}
	return n;
}

int wvw_capture_available(const struct wvw_capture *h)
{
	return (int)h->count;
}

void wvw_capture_set_muted(struct wvw_capture *h, int muted)
{
	wv_capture_set_muted(h->capture, muted != 0);
}

int wvw_capture_muted(const struct wvw_capture *h)
{
	return wv_capture_muted(h->capture);
}

double wvw_capture_frames(const struct wvw_capture *h)
{
	return (double)wv_capture_frames(h->capture);
}

double wvw_capture_dropped(const struct wvw_capture *h)
{
	return (double)h->dropped;
}

unsigned wvw_capture_latency_us(const struct wvw_capture *h)
{
	return wv_capture_latency_us(h->capture);
}

/*
 * Playout. The buffer gives 8 kHz int16; the context wants float at its own
 * rate, in blocks (128) that are not a whole number of 8 kHz samples. So
 * read() takes from the buffer about what the block needs, and what the
 * resampler leaves of it waits in `pending` for the next block.
 */

/* 8 kHz samples taken from the buffer at a time: 16 ms, enough for one
 * render quantum at any rate down to 8 kHz. */
#define PLAYOUT_CHUNK 128

struct wvw_playout {
	struct wv_playout *playout;
	struct wv_resampler *resampler;
	unsigned rate;
	bool flushed; /* a flush whose audio has not all played */
	size_t pending, pending_at; /* unresampled samples in in8k */
	float in8k[PLAYOUT_CHUNK];
	int16_t pcm[PLAYOUT_CHUNK];
	/* Marks reached and not yet taken by next_mark(): NUL-separated. */
	char *marks;
	size_t marks_len, marks_at, marks_cap;
};

intptr_t wvw_playout_create(unsigned rate, int prebuffer_ms, int max_ms,
			    int burst_gap_ms, int max_marks, int flags)
{
	struct wv_playout_config cfg;
	struct wvw_playout *h;
	int rc;

	wv_playout_config_default(&cfg);
	if (prebuffer_ms >= 0)
		cfg.prebuffer_ms = (unsigned)prebuffer_ms;
	if (max_ms >= 0)
		cfg.max_ms = (unsigned)max_ms;
	if (burst_gap_ms >= 0)
		cfg.burst_gap_ms = (unsigned)burst_gap_ms;
	if (max_marks >= 0)
		cfg.max_marks = (unsigned)max_marks;
	cfg.answer_marks_on_clear = flags & WVW_PLAYOUT_ANSWER_MARKS_ON_CLEAR;
	if (flags & WVW_PLAYOUT_ADAPTIVE)
		cfg.policy = WV_PLAYOUT_ADAPTIVE;
	h = wv_malloc(sizeof *h);
	if (!h)
		return WV_ERR_NOMEM;
	memset(h, 0, sizeof *h);
	h->rate = rate;
	rc = wv_resampler_create(&h->resampler, WV_RATE, rate,
				 WV_RESAMPLER_QUALITY_DEFAULT);
	if (rc == 0)
		rc = wv_playout_create(&h->playout, &cfg);
	if (rc < 0) {
		wv_resampler_destroy(h->resampler);
		wv_free(h);
		return rc;
	}
	return (intptr_t)h;
}

void wvw_playout_destroy(struct wvw_playout *h)
{
	if (!h)
		return;
	wv_playout_destroy(h->playout);
	wv_resampler_destroy(h->resampler);
	wv_free(h->marks);
	wv_free(h);
}

int wvw_playout_push_ulaw(struct wvw_playout *h, const uint8_t *ulaw, size_t n)
{
	return (int)wv_playout_push_ulaw(h->playout, ulaw, n);
}

int wvw_playout_push(struct wvw_playout *h, const int16_t *pcm, size_t n)
{
	return (int)wv_playout_push(h->playout, pcm, n);
}

int wvw_playout_mark(struct wvw_playout *h, const char *id)
{
	return wv_playout_mark(h->playout, id);
}

void wvw_playout_clear(struct wvw_playout *h)
{
	wv_playout_clear(h->playout);
	/* What the resampler holds, taken but not yet heard, was queued audio
	   too: barge-in drops it, and the filter's tail with it. */
	h->pending = 0;
	wv_resampler_reset(h->resampler);
}

void wvw_playout_flush(struct wvw_playout *h)
{
	wv_playout_flush(h->playout);
	h->flushed = true;
}

/* Takes from the buffer what out_len samples at the playout's rate need
 * (rounded up, PLAYOUT_CHUNK at most), as float for the resampler. */
static void refill(struct wvw_playout *h, size_t out_len)
{
	size_t want = (out_len * WV_RATE + h->rate - 1) / h->rate;

	if (want > PLAYOUT_CHUNK)
		want = PLAYOUT_CHUNK;
	wv_playout_read(h->playout, h->pcm, want);
	wv_pcm_to_float(h->in8k, h->pcm, want);
	h->pending = want;
	h->pending_at = 0;
}

void wvw_playout_read(struct wvw_playout *h, float *out, size_t n)
{
	size_t done = 0;

	while (done < n) {
		size_t in_len, out_len = n - done;
		const float *in;

		if (h->pending == 0)
			refill(h, out_len);
		in = h->in8k + h->pending_at;
		in_len = h->pending;
		if (wv_resampler_process(h->resampler, in, &in_len, out + done,
					 &out_len) < 0 ||
		    (in_len == 0 && out_len == 0))
			break; /* never happens: never spin in process() */
		h->pending -= in_len;
		h->pending_at += in_len;
		done += out_len;
	}
	if (done < n)
		memset(out + done, 0, (n - done) * sizeof *out);
}

/* Keeps a reached mark's id for next_mark(). */
static void keep_mark(void *user, const char *id)
{
	struct wvw_playout *h = user;
	size_t n = strlen(id) + 1;

	if (h->marks_len + n > h->marks_cap) {
		size_t cap = h->marks_cap ? h->marks_cap : 256;
		char *p;

		while (cap < h->marks_len + n)
			cap *= 2;
		p = wv_realloc(h->marks, cap);
		if (!p)
			return; /* out of memory: this mark is not answered */
		h->marks = p;
		h->marks_cap = cap;
	}
	memcpy(h->marks + h->marks_len, id, n);
	h->marks_len += n;
}

const char *wvw_playout_next_mark(struct wvw_playout *h)
{
	const char *id;

	if (h->marks_at == h->marks_len) {
		h->marks_at = h->marks_len = 0;
		wv_playout_poll_marks(h->playout, keep_mark, h);
		if (h->marks_len == 0)
			return NULL;
	}
	id = h->marks + h->marks_at;
	h->marks_at += strlen(id) + 1;
	return id;
}

int wvw_playout_drained(struct wvw_playout *h)
{
	struct wv_playout_stats st;

	if (!h->flushed)
		return 0;
	wv_playout_stats(h->playout, &st);
	if (st.queued_samples > 0 || h->pending > 0)
		return 0;
	h->flushed = false;
	return 1;
}

int wvw_playout_stats(const struct wvw_playout *h, double *out)
{
	struct wv_playout_stats st;

	if (!out)
		return WVW_PLAYOUT_STATS;
	wv_playout_stats(h->playout, &st);
	out[0] = (double)st.queued_samples;
	out[1] = st.queued_ms;
	out[2] = (double)st.pushed_samples;
	out[3] = (double)st.played_samples;
	out[4] = (double)st.silence_samples;
	out[5] = (double)st.underruns;
	out[6] = (double)st.overflow_samples;
	out[7] = (double)st.cleared_samples;
	out[8] = (double)st.marks_pending;
	out[9] = (double)st.marks_reported;
	out[10] = (double)st.marks_refused;
	out[11] = st.playing;
	out[12] = (double)h->pending;
	out[13] = st.target_ms;
	out[14] = st.delay_ms;
	out[15] = st.jitter_ms;
	out[16] = (double)st.concealed_samples;
	out[17] = (double)st.inserted_samples;
	out[18] = (double)st.dropped_samples;
	out[19] = (double)st.late_arrivals;
	return WVW_PLAYOUT_STATS;
}

/*
 * The call's output queue: records with their bytes in one growing arena.
 * Offsets, not pointers, until a record is taken, since the arena may move
 * as it grows; both are emptied once every record has been taken and the
 * next one comes.
 */

#define OUTQ_MAX_RECORDS 4096
#define OUTQ_MAX_BYTES (1024 * 1024)
#define NO_OFFSET SIZE_MAX

struct out_entry {
	int kind, a, b;
	size_t data, len, text; /* offsets into bytes, or NO_OFFSET */
};

struct outq {
	struct out_entry *entries;
	size_t count, head, cap;
	char *bytes;
	size_t used, bytes_cap;
	uint64_t dropped;
	struct wvw_record taken;
};

static bool outq_reserve(struct outq *q, size_t more)
{
	size_t cap;
	void *p;

	if (q->count == q->cap) {
		cap = q->cap ? q->cap * 2 : 16;
		p = wv_realloc(q->entries, cap * sizeof *q->entries);
		if (!p)
			return false;
		q->entries = p;
		q->cap = cap;
	}
	if (q->used + more > q->bytes_cap) {
		cap = q->bytes_cap ? q->bytes_cap : 1024;
		while (cap < q->used + more)
			cap *= 2;
		p = wv_realloc(q->bytes, cap);
		if (!p)
			return false;
		q->bytes = p;
		q->bytes_cap = cap;
	}
	return true;
}

/* Copies n bytes and a NUL into the arena; returns their offset. */
static size_t outq_copy(struct outq *q, const void *s, size_t n)
{
	size_t at = q->used;

	if (n)
		memcpy(q->bytes + at, s, n);
	q->bytes[at + n] = '\0';
	q->used += n + 1;
	return at;
}

static void outq_push(struct outq *q, int kind, int a, int b, const void *data,
		      size_t len, const char *text)
{
	size_t text_len = text ? strlen(text) : 0;
	size_t need = (data ? len + 1 : 0) + (text ? text_len + 1 : 0);
	struct out_entry *e;

	if (q->head == q->count)
		q->head = q->count = q->used = 0;
	if (q->count - q->head >= OUTQ_MAX_RECORDS ||
	    q->used + need > OUTQ_MAX_BYTES || !outq_reserve(q, need)) {
		q->dropped++;
		return;
	}
	e = &q->entries[q->count++];
	e->kind = kind;
	e->a = a;
	e->b = b;
	e->len = len; /* with no data: a count (an audio event's bytes) */
	e->data = data ? outq_copy(q, data, len) : NO_OFFSET;
	e->text = text ? outq_copy(q, text, text_len) : NO_OFFSET;
}

static uint32_t outq_address(const struct outq *q, size_t offset)
{
	if (offset == NO_OFFSET)
		return 0;
	return (uint32_t)(uintptr_t)(q->bytes + offset);
}

static const struct wvw_record *outq_take(struct outq *q)
{
	const struct out_entry *e;

	if (q->head == q->count)
		return NULL;
	e = &q->entries[q->head++];
	q->taken = (struct wvw_record){
		.kind = e->kind,
		.a = e->a,
		.b = e->b,
		.data = outq_address(q, e->data),
		.len = (uint32_t)e->len,
		.text = outq_address(q, e->text),
	};
	return &q->taken;
}

static void outq_cleanup(struct outq *q)
{
	wv_free(q->entries);
	wv_free(q->bytes);
}

/*
 * The call. Its callbacks and its remote playout become records; the
 * frame being sent is remembered with its length, which JavaScript cannot
 * be handed by pointer as cheaply as the text itself.
 */

struct wvw_call {
	struct wv_call *call;
	struct outq out;
	size_t frame_len;
};

static void on_status(void *user, enum wv_status from, enum wv_status to)
{
	struct wvw_call *h = user;

	outq_push(&h->out, WVW_OUT_STATUS, (int)to, (int)from, NULL, 0, NULL);
}

static void on_communication_id(void *user, const char *id)
{
	struct wvw_call *h = user;

	outq_push(&h->out, WVW_OUT_COMMUNICATION_ID, 0, 0, NULL, 0, id);
}

static void on_unknown_event(void *user, const char *name, const char *json,
			     size_t len)
{
	struct wvw_call *h = user;

	outq_push(&h->out, WVW_OUT_UNKNOWN_EVENT, 0, 0, json, len, name);
}

static void on_error(void *user, int code, const char *detail)
{
	struct wvw_call *h = user;

	outq_push(&h->out, WVW_OUT_ERROR, code, 0, NULL, 0, detail);
}

static void on_event(void *user, enum wv_direction dir,
		     const struct wv_event *ev)
{
	struct wvw_call *h = user;
	const char *data = NULL;
	size_t len = 0;

	switch (ev->type) {
	case WV_EVENT_START:
		data = ev->communication_id;
		break;
	case WV_EVENT_MARK:
		data = ev->mark;
		break;
	case WV_EVENT_DTMF:
		data = &ev->dtmf;
		len = 1;
		break;
	case WV_EVENT_UNKNOWN:
		data = ev->json;
		len = ev->json_len;
		break;
	case WV_EVENT_AUDIO:
		len = ev->audio_len;
		break;
	case WV_EVENT_STOP:
	case WV_EVENT_CLEAR:
		break;
	}
	if (data && ev->type != WV_EVENT_DTMF && ev->type != WV_EVENT_UNKNOWN)
		len = strlen(data);
	outq_push(&h->out, WVW_OUT_EVENT, dir == WV_DIR_OUT, (int)ev->type,
		  data, len, ev->name);
}

static void on_remote_audio(void *user, const uint8_t *ulaw, size_t n)
{
	struct wvw_call *h = user;

	outq_push(&h->out, WVW_OUT_PLAYOUT_AUDIO, 0, 0, ulaw, n, NULL);
}

static void on_remote_mark(void *user, const char *id)
{
	struct wvw_call *h = user;

	outq_push(&h->out, WVW_OUT_PLAYOUT_MARK, 0, 0, NULL, 0, id);
}

static void on_remote_clear(void *user)
{
	struct wvw_call *h = user;

	outq_push(&h->out, WVW_OUT_PLAYOUT_CLEAR, 0, 0, NULL, 0, NULL);
}

static void on_remote_flush(void *user)
{
	struct wvw_call *h = user;

	outq_push(&h->out, WVW_OUT_PLAYOUT_FLUSH, 0, 0, NULL, 0, NULL);
}

intptr_t wvw_call_create(unsigned capture_rate, int start_timeout_ms,
			 int last_words_ms, int flags)
{
	struct wv_call_config cfg;
	struct wv_playout_remote remote;
	struct wvw_call *h = wv_malloc(sizeof *h);
	int rc;

	if (!h)
		return WV_ERR_NOMEM;
	memset(h, 0, sizeof *h);
	remote = (struct wv_playout_remote){
		.audio = on_remote_audio,
		.mark = on_remote_mark,
		.clear = on_remote_clear,
		.flush = on_remote_flush,
		.user = h,
	};
	wv_call_config_default(&cfg);
	cfg.capture_rate = capture_rate;
	if (start_timeout_ms >= 0)
		cfg.start_timeout_ms = (unsigned)start_timeout_ms;
	if (last_words_ms >= 0)
		cfg.last_words_ms = (unsigned)last_words_ms;
	cfg.remote_playout = &remote;
	cfg.cb.status = on_status;
	cfg.cb.communication_id = on_communication_id;
	cfg.cb.unknown_event = on_unknown_event;
	cfg.cb.error = on_error;
	if (flags & WVW_CALL_EVENTS)
		cfg.cb.event = on_event;
	cfg.user = h;
	rc = wv_call_create(&h->call, &cfg);
	if (rc < 0) {
		wv_free(h);
		return rc;
	}
	return (intptr_t)h;
}

void wvw_call_destroy(struct wvw_call *h)
{
	if (!h)
		return;
	wv_call_destroy(h->call);
	outq_cleanup(&h->out);
	wv_free(h);
}

const struct wvw_record *wvw_call_next_output(struct wvw_call *h)
{
	return outq_take(&h->out);
}

double wvw_call_output_dropped(const struct wvw_call *h)
{
	return (double)h->out.dropped;
}

int wvw_call_connect(struct wvw_call *h, double now)
{
	return wv_call_connect(h->call, to_us(now));
}

int wvw_call_opened(struct wvw_call *h, double now)
{
	return wv_call_opened(h->call, to_us(now));
}

int wvw_call_receive(struct wvw_call *h, const char *text, size_t len,
		     double now)
{
	return wv_call_receive(h->call, text, len, to_us(now));
}

void wvw_call_closed(struct wvw_call *h, int code, const char *reason,
		     int error, double now)
{
	wv_call_closed(h->call, code, reason, error != 0, to_us(now));
}

void wvw_call_tick(struct wvw_call *h, double now)
{
	wv_call_tick(h->call, to_us(now));
}

double wvw_call_next_deadline(const struct wvw_call *h)
{
	return from_us(wv_call_next_deadline(h->call));
}

const char *wvw_call_peek_frame(struct wvw_call *h)
{
	const char *frame = wv_call_peek_frame(h->call, &h->frame_len);

	if (!frame)
		h->frame_len = 0;
	return frame;
}

int wvw_call_frame_len(const struct wvw_call *h)
{
	return (int)h->frame_len;
}

void wvw_call_frame_sent(struct wvw_call *h)
{
	wv_call_frame_sent(h->call);
	h->frame_len = 0;
}

int wvw_call_should_close(const struct wvw_call *h)
{
	int code = 0;

	return wv_call_should_close(h->call, &code) ? code : 0;
}

int wvw_call_hangup(struct wvw_call *h, double now)
{
	return wv_call_hangup(h->call, to_us(now));
}

int wvw_call_send_dtmf(struct wvw_call *h, int digit, double now)
{
	if (digit <= 0 || digit > 127)
		return WV_ERR_DTMF;
	return wv_call_send_dtmf(h->call, (char)digit, to_us(now));
}

void wvw_call_set_muted(struct wvw_call *h, int muted)
{
	wv_call_set_muted(h->call, muted != 0);
}

int wvw_call_muted(const struct wvw_call *h)
{
	return wv_call_muted(h->call);
}

int wvw_call_write_audio(struct wvw_call *h, const float *samples, size_t n)
{
	return wv_call_write_audio(h->call, samples, n);
}

int wvw_call_write_pcm(struct wvw_call *h, const int16_t *samples, size_t n)
{
	float block[WVW_FRAME_SAMPLES];

	while (n > 0) {
		size_t k = n < WVW_FRAME_SAMPLES ? n : WVW_FRAME_SAMPLES;
		int rc;

		for (size_t i = 0; i < k; i++)
			block[i] = exact_float(samples[i]);
		rc = wv_call_write_audio(h->call, block, k);
		if (rc < 0)
			return rc;
		samples += k;
		n -= k;
	}
	return 0;
}

int wvw_call_mark_played(struct wvw_call *h, const char *id, double now)
{
	return wv_call_mark_played(h->call, id, to_us(now));
}

void wvw_call_playout_drained(struct wvw_call *h, double now)
{
	wv_call_playout_drained(h->call, to_us(now));
}

int wvw_call_status(const struct wvw_call *h)
{
	return (int)wv_call_status(h->call);
}

int wvw_call_stopping(const struct wvw_call *h)
{
	return wv_call_stopping(h->call);
}

int wvw_call_end_reason(const struct wvw_call *h)
{
	return (int)wv_call_end_reason(h->call);
}

const char *wvw_call_communication_id(const struct wvw_call *h)
{
	return wv_call_communication_id(h->call);
}

double wvw_call_elapsed_ms(const struct wvw_call *h, double now)
{
	return (double)wv_call_elapsed_ms(h->call, to_us(now));
}

const char *wvw_call_last_error(const struct wvw_call *h)
{
	return wv_call_last_error(h->call);
}

int wvw_call_close_code(const struct wvw_call *h)
{
	return wv_call_close_code(h->call, NULL);
}

const char *wvw_call_close_reason(const struct wvw_call *h)
{
	const char *reason;

	wv_call_close_code(h->call, &reason);
	return reason;
}

int wvw_call_stats(const struct wvw_call *h, double *out)
{
	struct wv_call_stats st;

	if (!out)
		return WVW_CALL_STATS;
	wv_call_stats(h->call, &st);
	out[0] = (double)st.audio_frames_sent;
	out[1] = (double)st.audio_frames_dropped;
	out[2] = (double)st.audio_events_received;
	out[3] = (double)st.audio_bytes_received;
	out[4] = (double)st.marks_received;
	out[5] = (double)st.marks_answered;
	out[6] = (double)st.clears_received;
	out[7] = (double)st.dtmf_sent;
	out[8] = (double)st.unknown_events;
	out[9] = (double)st.bad_frames;
	return WVW_CALL_STATS;
}
