/*
 * The call state machine (src/call.c) fed arbitrary sequences of what can
 * happen to a call, on a fake clock: the input is a configuration byte,
 * then operations, each a byte (which one) and its argument: a frame from
 * the server (the rest of the line), a close code, a time step, a DTMF
 * digit, captured audio, audio read by the speaker...
 *
 * Invariants: the status only moves forward, and a call that ended says
 * why; every frame the call sends is a client event that decodes, and the
 * `start` is the first of them; the call asks to close only once it has
 * ended and sent everything, with 1000; marks are answered no more often
 * than they came; errors reported are WV_ERR_* codes with a detail. With
 * a remote playout, the fake speaker replays the marks it was given.
 */
#include <wvoice/call.h>
#include <wvoice/error.h>
#include <wvoice/playout.h>
#include <wvoice/protocol.h>

#include "fuzz.h"

#define MAX_REMOTE_MARKS 16

struct state {
	struct wv_call *call;
	struct wv_decoder *dec;
	int64_t now;
	enum wv_status status;
	bool open; /* the socket: frames arrive only while it is */
	uint64_t frames_sent;
	/* A remote playout's marks, as it would play them. */
	char *marks[MAX_REMOTE_MARKS];
	size_t n_marks;
	bool flushed;
};

static struct state st;
static volatile uint8_t audio_sink;

static void on_status(void *user, enum wv_status from, enum wv_status to)
{
	(void)user;
	FUZZ_CHECK(from == st.status && to > from);
	st.status = to;
}

static void on_error(void *user, int code, const char *detail)
{
	(void)user;
	FUZZ_CHECK(code < 0 && wv_error_name(code) && detail && detail[0]);
}

static void on_event(void *user, enum wv_direction dir,
		     const struct wv_event *ev)
{
	(void)user;
	(void)dir;
	FUZZ_CHECK(ev->name);
}

static void drop_marks(void)
{
	for (size_t i = 0; i < st.n_marks; i++)
		free(st.marks[i]);
	st.n_marks = 0;
}

static void remote_audio(void *user, const uint8_t *ulaw, size_t n)
{
	(void)user;
	FUZZ_CHECK(ulaw || n == 0);
	/* Every byte handed over is there to read (ASan says if not). */
	for (size_t i = 0; i < n; i++)
		audio_sink ^= ulaw[i];
}

static void remote_mark(void *user, const char *id)
{
	(void)user;
	if (st.n_marks < MAX_REMOTE_MARKS) {
		st.marks[st.n_marks] = fuzz_strndup(id, strlen(id));
		FUZZ_CHECK(st.marks[st.n_marks]);
		st.n_marks++;
	}
}

static void remote_clear(void *user)
{
	(void)user;
	drop_marks();
}

static void remote_flush(void *user)
{
	(void)user;
	st.flushed = true;
}

static const struct wv_playout_remote remote = {
	remote_audio, remote_mark, remote_clear, remote_flush, NULL
};

/* Sends what the call has queued; each frame is a client event. */
static void send_all(void)
{
	const char *frame;
	size_t len;
	int code = 0;

	while ((frame = wv_call_peek_frame(st.call, &len))) {
		struct wv_event ev;

		FUZZ_CHECK(strlen(frame) == len);
		FUZZ_CHECK(wv_decoder_decode(st.dec, frame, len, &ev) == 0);
		FUZZ_CHECK(ev.type == WV_EVENT_START ||
			   ev.type == WV_EVENT_AUDIO ||
			   ev.type == WV_EVENT_DTMF ||
			   ev.type == WV_EVENT_MARK ||
			   ev.type == WV_EVENT_STOP);
		FUZZ_CHECK((st.frames_sent == 0) == (ev.type == WV_EVENT_START));
		FUZZ_CHECK(wv_call_peek_is_audio(st.call) ==
			   (ev.type == WV_EVENT_AUDIO));
		wv_call_frame_sent(st.call);
		st.frames_sent++;
	}
	if (wv_call_should_close(st.call, &code)) {
		FUZZ_CHECK(code == 1000);
		FUZZ_CHECK(wv_call_status(st.call) == WV_STATUS_DISCONNECTED);
	}
}

static void receive_line(struct fuzz_in *in)
{
	size_t len;
	const char *s = fuzz_line(in, &len);
	char *frame = fuzz_strndup(s, len);

	FUZZ_CHECK(frame);
	if (st.open) /* a transport reads nothing before or after */
		wv_call_receive(st.call, frame, len, st.now);
	free(frame);
}

static void write_audio(struct fuzz_in *in)
{
	size_t n = (size_t)fuzz_u8(in) * 8;
	float *pcm = malloc((n ? n : 1) * sizeof *pcm);

	FUZZ_CHECK(pcm);
	for (size_t i = 0; i < n; i++)
		pcm[i] = (float)((int)(i * 37 % 200) - 100) / 100.0f;
	wv_call_write_audio(st.call, pcm, n);
	free(pcm);
}

static void play_out(struct fuzz_in *in)
{
	int16_t out[2048];
	size_t n = (size_t)fuzz_u8(in) * 8;

	wv_playout_read(wv_call_playout(st.call), out, n);
}

static void mark_played(void)
{
	int rc;

	if (!st.n_marks)
		return;
	rc = wv_call_mark_played(st.call, st.marks[0], st.now);
	FUZZ_CHECK(rc == 0 || rc == WV_ERR_FULL);
	free(st.marks[0]);
	memmove(st.marks, st.marks + 1, --st.n_marks * sizeof st.marks[0]);
}

static void step(struct fuzz_in *in)
{
	uint8_t op = fuzz_u8(in);
	int rc;

	switch (op % 14) {
	case 0:
		rc = wv_call_connect(st.call, st.now);
		FUZZ_CHECK(rc == 0 || rc == WV_ERR_STATE);
		break;
	case 1:
		rc = wv_call_opened(st.call, st.now);
		FUZZ_CHECK(rc == 0 || rc == WV_ERR_STATE);
		st.open |= rc == 0;
		break;
	case 2:
	case 3:
		receive_line(in);
		break;
	case 4:
		wv_call_closed(st.call, fuzz_u16(in) % 5000, "gone", op & 16,
			       st.now);
		st.open = false;
		break;
	case 5:
		wv_call_tick(st.call, st.now);
		break;
	case 6: /* the clock: up to 6.5 s at a time */
		st.now += (int64_t)fuzz_u16(in) * 100;
		break;
	case 7:
		rc = wv_call_hangup(st.call, st.now);
		FUZZ_CHECK(rc == 0 || rc == WV_ERR_STATE);
		break;
	case 8:
		rc = wv_call_send_dtmf(st.call, (char)fuzz_u8(in), st.now);
		FUZZ_CHECK(rc == 0 || rc == WV_ERR_STATE || rc == WV_ERR_DTMF ||
			   rc == WV_ERR_FULL);
		break;
	case 9:
		write_audio(in);
		break;
	case 10:
		play_out(in);
		break;
	case 11:
		wv_call_set_muted(st.call, !wv_call_muted(st.call));
		break;
	case 12:
		mark_played();
		break;
	default:
		if (st.flushed)
			wv_call_playout_drained(st.call, st.now);
		break;
	}
	send_all();
	/* The deadline is never in the past after a tick. */
	wv_call_tick(st.call, st.now);
	FUZZ_CHECK(wv_call_next_deadline(st.call) > st.now ||
		   wv_call_next_deadline(st.call) == INT64_MAX ||
		   wv_call_status(st.call) == WV_STATUS_DISCONNECTED ||
		   wv_call_stopping(st.call));
	send_all();
}

static void check_end(void)
{
	struct wv_call_stats stats;
	enum wv_end_reason why = wv_call_end_reason(st.call);

	wv_call_stats(st.call, &stats);
	FUZZ_CHECK(stats.marks_answered <= stats.marks_received);
	FUZZ_CHECK((st.status == WV_STATUS_DISCONNECTED) ==
		   (why != WV_END_NONE));
	FUZZ_CHECK(wv_call_status(st.call) == st.status);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct wv_playout_config pcfg;
	struct wv_call_config cfg;
	uint8_t conf = fuzz_u8(&in);

	memset(&st, 0, sizeof st);
	st.now = 1000000;
	wv_playout_config_default(&pcfg);
	pcfg.prebuffer_ms = (conf & 3) * 100;
	pcfg.max_ms = 1000;
	pcfg.max_marks = 8;
	pcfg.answer_marks_on_clear = conf & 4;
	wv_call_config_default(&cfg);
	cfg.playout = &pcfg;
	cfg.capture_rate = conf & 8 ? 16000 : 8000;
	cfg.max_queued_audio = 4;
	cfg.last_words_ms = (conf >> 4 & 3) * 500;
	cfg.remote_playout = conf & 64 ? &remote : NULL;
	cfg.cb.status = on_status;
	cfg.cb.error = on_error;
	cfg.cb.event = on_event;
	FUZZ_CHECK(wv_call_create(&st.call, &cfg) == 0);
	FUZZ_CHECK(wv_decoder_create(&st.dec, 0) == 0);
	while (in.left)
		step(&in);
	check_end();
	wv_call_destroy(st.call);
	wv_decoder_destroy(st.dec);
	drop_marks();
	return 0;
}
