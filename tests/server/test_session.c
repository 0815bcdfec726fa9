/* The server side of a call, sans-I/O: a fake clock and a test agent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include <wvoice/base64.h>
#include <wvoice/codec.h>
#include <wvoice/error.h>

#include "session.h"

#define MS 1000

/* A test agent: does what each test tells it, remembers what it saw. */
struct probe {
	int16_t clip_pcm[8000];
	struct wvs_clip clip; /* 1 s at 8 kHz */
	int on_start_play;    /* play the clip and mark "m1" on start */
	int hangup_on_mark;
	char marks[8][32];
	int cleared[8];
	size_t n_marks;
	char digits[16];
	size_t n_digits;
	int wakes;
	char log[16][256];
	size_t n_log;
	char traced_problem[256];
};

static void probe_start(struct wvs_session *s, void *state, int64_t now)
{
	struct probe *p = state;

	(void)now;
	if (p->on_start_play) {
		wvs_session_play(s, &p->clip);
		wvs_session_mark(s, "m1");
	}
}

static void probe_mark(struct wvs_session *s, void *state, const char *mark,
		       int cleared, int64_t now)
{
	struct probe *p = state;

	(void)now;
	if (p->n_marks < 8) {
		snprintf(p->marks[p->n_marks], 32, "%s", mark);
		p->cleared[p->n_marks++] = cleared;
	}
	if (p->hangup_on_mark)
		wvs_session_hangup(s);
}

static void probe_dtmf(struct wvs_session *s, void *state, char d, int64_t now)
{
	struct probe *p = state;

	(void)s;
	(void)now;
	if (p->n_digits < sizeof p->digits - 1)
		p->digits[p->n_digits++] = d;
}

static void probe_wake(struct wvs_session *s, void *state, int64_t now)
{
	struct probe *p = state;

	(void)s;
	(void)now;
	p->wakes++;
}

static void *probe_create(struct wvs_session *s, const void *arg)
{
	(void)s;
	return (void *)arg;
}

static const struct wvs_agent probe_agent = {
	.name = "probe",
	.create = probe_create,
	.on_start = probe_start,
	.on_mark = probe_mark,
	.on_dtmf = probe_dtmf,
	.on_wake = probe_wake,
};

static void probe_log(void *user, const char *line)
{
	struct probe *p = user;

	if (p->n_log < 16)
		snprintf(p->log[p->n_log++], 256, "%s", line);
}

static void probe_trace(void *user, enum wvs_dir dir, const struct wv_event *ev,
			const char *problem, int64_t now)
{
	struct probe *p = user;

	(void)dir;
	(void)now;
	if (!ev)
		snprintf(p->traced_problem, sizeof p->traced_problem, "%s",
			 problem);
}

struct fixture {
	struct probe probe;
	struct wvs_session *s;
	int64_t now;
	char out[4096];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct wvs_session_config cfg;

	assert_non_null(f);
	for (size_t i = 0; i < 8000; i++)
		f->probe.clip_pcm[i] = (int16_t)(i % 40 < 20 ? 8000 : -8000);
	f->probe.clip.pcm = f->probe.clip_pcm;
	f->probe.clip.len = 8000;
	f->now = 1000000;
	wvs_session_config_default(&cfg);
	cfg.agent = &probe_agent;
	cfg.agent_arg = &f->probe;
	cfg.id = "9f1c2d3e-0000-4000-8000-000000000001";
	cfg.log = probe_log;
	cfg.trace = probe_trace;
	cfg.user = &f->probe;
	assert_int_equal(wvs_session_create(&f->s, &cfg, f->now), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	wvs_session_destroy(f->s);
	free(f);
	return 0;
}

static void recv_text(struct fixture *f, const char *text)
{
	wvs_session_receive(f->s, text, strlen(text), f->now);
	wvs_session_tick(f->s, f->now);
}

/* The next message due now, parsed; NULL when none. */
static json_t *next_event(struct fixture *f)
{
	int n = wvs_session_next(f->s, f->now, f->out, sizeof f->out);

	assert_true(n >= 0);
	if (n == 0)
		return NULL;
	json_t *j = json_loadb(f->out, (size_t)n, 0, NULL);
	assert_non_null(j);
	return j;
}

static const char *event_name(json_t *j)
{
	return json_string_value(json_object_get(j, "event"));
}

static void expect_event(struct fixture *f, const char *name)
{
	json_t *j = next_event(f);

	assert_non_null(j);
	assert_string_equal(event_name(j), name);
	json_decref(j);
}

/* Advances the clock in 1 ms steps for ms, counting agent audio frames. */
static int run_for(struct fixture *f, int ms, int *marks)
{
	int frames = 0;
	json_t *j;

	for (int i = 0; i < ms; i++) {
		f->now += MS;
		wvs_session_tick(f->s, f->now);
		while ((j = next_event(f))) {
			if (!strcmp(event_name(j), "audio"))
				frames++;
			else if (marks && !strcmp(event_name(j), "mark"))
				++*marks;
			json_decref(j);
		}
	}
	return frames;
}

static void start_call(struct fixture *f)
{
	recv_text(f, "{\"event\":\"start\"}");
	expect_event(f, "start");
}

static void test_session_start_is_answered_with_the_id(void **state)
{
	struct fixture *f = *state;
	json_t *j;

	recv_text(f, "{\"event\":\"start\",\"from\":\"x\"}");
	j = next_event(f);
	assert_non_null(j);
	assert_string_equal(event_name(j), "start");
	assert_string_equal(
		json_string_value(json_object_get(j, "communication_id")),
		"9f1c2d3e-0000-4000-8000-000000000001");
	json_decref(j);
	assert_null(next_event(f));
	assert_true(wvs_session_started(f->s));
}

/* Found by fuzz/fuzz_session.c: a `start`, `stop` or `clear` (and a mark)
   that did not fit the buffer was dropped, not kept for the next call,
   so the caller never had its call confirmed. */
static void test_session_message_too_big_for_the_buffer_waits(void **state)
{
	struct fixture *f = *state;
	char small[16];
	bool mark = false;
	json_t *j;

	f->probe.on_start_play = 1;
	recv_text(f, "{\"event\":\"start\"}");
	assert_int_equal(wvs_session_next(f->s, f->now, small, sizeof small),
			 WV_ERR_NOSPACE);
	expect_event(f, "start");
	/* The mark after 1 s of audio, too: each message of its last 200 ms
	   tried first in too little room, then sent. */
	run_for(f, 900, NULL);
	for (int i = 0; i < 200 && !mark; i++) {
		f->now += MS;
		wvs_session_tick(f->s, f->now);
		while (wvs_session_next(f->s, f->now, small, sizeof small) ==
		       WV_ERR_NOSPACE) {
			j = next_event(f);
			assert_non_null(j);
			mark = !strcmp(event_name(j), "mark");
			json_decref(j);
		}
	}
	assert_true(mark);
	/* And the stop of a shutdown. */
	wvs_session_shutdown(f->s, f->now);
	assert_int_equal(wvs_session_next(f->s, f->now, small, 8),
			 WV_ERR_NOSPACE);
	expect_event(f, "stop");
}

static void test_session_audio_is_paced_at_real_time(void **state)
{
	struct fixture *f = *state;
	int frames;

	f->probe.on_start_play = 1;
	start_call(f);
	/* The first frame goes at once (to be heard a lead later), then one
	   every 20 ms: no burst. */
	assert_non_null(f->s);
	frames = wvs_session_next(f->s, f->now, f->out, sizeof f->out) > 0;
	assert_int_equal(frames, 1);
	assert_int_equal(run_for(f, 19, NULL), 0);
	assert_int_equal(run_for(f, 1, NULL), 1);
	frames = run_for(f, 500, NULL);
	assert_int_equal(frames, 25);
	assert_int_equal(wvs_session_stats(f->s)->late_frames, 0);
}

static void test_session_mark_follows_its_audio(void **state)
{
	struct fixture *f = *state;
	int marks = 0, frames;

	f->probe.on_start_play = 1;
	start_call(f);
	frames = run_for(f, 900, &marks);
	assert_int_equal(marks, 0);
	frames += run_for(f, 200, &marks);
	assert_int_equal(frames, 50); /* 1 s of audio: 50 frames, then the mark */
	assert_int_equal(marks, 1);
	assert_int_equal(wvs_session_talk_end(f->s, f->now) <= f->now, 1);
}

static void test_session_returned_mark_reaches_the_agent(void **state)
{
	struct fixture *f = *state;

	f->probe.on_start_play = 1;
	start_call(f);
	run_for(f, 1100, NULL);
	recv_text(f, "{\"event\":\"mark\",\"mark\":\"m1\"}");
	assert_int_equal(f->probe.n_marks, 1);
	assert_string_equal(f->probe.marks[0], "m1");
	assert_int_equal(f->probe.cleared[0], 0);
	assert_int_equal(wvs_session_stats(f->s)->marks_played, 1);
}

static void test_session_clear_drops_audio_and_voids_sent_marks(void **state)
{
	struct fixture *f = *state;
	int marks = 0, frames;
	json_t *j;

	f->probe.on_start_play = 1;
	start_call(f);
	run_for(f, 1100, &marks); /* m1 sent */
	assert_int_equal(marks, 1);
	wvs_session_play(f->s, &f->probe.clip);
	wvs_session_mark(f->s, "m2");
	run_for(f, 100, NULL);
	wvs_session_clear(f->s);
	j = next_event(f);
	assert_string_equal(event_name(j), "clear");
	json_decref(j);
	frames = run_for(f, 2000, &marks);
	assert_int_equal(frames, 0); /* the rest of the clip is gone */
	assert_int_equal(marks, 1);  /* and m2 with it */
	/* m1 was sent before the clear: coming back now, it counts as cleared */
	recv_text(f, "{\"event\":\"mark\",\"mark\":\"m1\"}");
	assert_int_equal(f->probe.n_marks, 1);
	assert_int_equal(f->probe.cleared[0], 1);
	assert_int_equal(wvs_session_stats(f->s)->marks_cleared, 1);
}

static void test_session_audio_after_clear_starts_at_once(void **state)
{
	struct fixture *f = *state;

	f->probe.on_start_play = 1;
	start_call(f);
	run_for(f, 300, NULL);
	wvs_session_clear(f->s);
	expect_event(f, "clear");
	wvs_session_play(f->s, &f->probe.clip);
	/* The new audio goes out right away, not after the old clip. */
	assert_int_equal(run_for(f, 1, NULL), 1);
}

static void test_session_hangup_waits_for_the_audio_to_play(void **state)
{
	struct fixture *f = *state;
	int code;
	const char *reason;
	json_t *j;
	int saw_stop = 0;

	f->probe.on_start_play = 1;
	start_call(f);
	wvs_session_hangup(f->s);
	for (int i = 0; i < 1200 && !saw_stop; i++) {
		f->now += MS;
		while ((j = next_event(f))) {
			if (!strcmp(event_name(j), "stop")) {
				saw_stop = 1;
				/* not before the 1 s of audio has played */
				assert_true(f->now >= 1000000 + 1060 * MS);
			}
			json_decref(j);
		}
	}
	assert_true(saw_stop);
	assert_true(wvs_session_should_close(f->s, &code, &reason));
	assert_int_equal(code, 1000);
	assert_int_equal(wvs_session_end(f->s), WVS_END_AGENT_STOP);
}

/* A clear drops the audio, not a hang-up queued behind it; a second
   hang-up is the same one. */
static void test_session_hangup_outlives_a_clear_and_comes_once(void **state)
{
	struct fixture *f = *state;
	int stops = 0;
	json_t *j;

	f->probe.on_start_play = 1;
	start_call(f);
	wvs_session_hangup(f->s);
	wvs_session_hangup(f->s);
	run_for(f, 100, NULL);
	wvs_session_clear(f->s);
	for (int i = 0; i < 2000; i++) {
		f->now += MS;
		while ((j = next_event(f))) {
			if (!strcmp(event_name(j), "stop")) {
				stops++;
				/* at once: nothing is left to play before it */
				assert_true(f->now <= 1000000 + 150 * MS);
			} else {
				assert_string_not_equal(event_name(j), "audio");
			}
			json_decref(j);
		}
	}
	assert_int_equal(stops, 1);
	assert_int_equal(wvs_session_end(f->s), WVS_END_AGENT_STOP);
}

static void test_session_client_stop_closes_with_1000(void **state)
{
	struct fixture *f = *state;
	int code;
	const char *reason;

	start_call(f);
	recv_text(f, "{\"event\":\"stop\"}");
	assert_true(wvs_session_should_close(f->s, &code, &reason));
	assert_int_equal(code, 1000);
	assert_int_equal(wvs_session_end(f->s), WVS_END_CLIENT_STOP);
	assert_null(next_event(f));
}

static void test_session_dtmf_reaches_the_agent(void **state)
{
	struct fixture *f = *state;

	start_call(f);
	recv_text(f, "{\"event\":\"dtmf\",\"dtmf\":\"5\"}");
	recv_text(f, "{\"event\":\"dtmf\",\"dtmf\":\"#\"}");
	assert_string_equal(f->probe.digits, "5#");
}

/* Frames that break the protocol: ignored (0) or closing with a code. */
static void test_session_bad_frames(void **state)
{
	static const struct {
		const char *text;
		int started;
		int close_code; /* 0: ignored, the call goes on */
		const char *log_has;
	} rows[] = {
		{ "{\"event\":", 1, 0, "not JSON" },
		{ "[1,2]", 1, 0, "not an object" },
		{ "{\"payload\":\"AA==\"}", 1, 0, "event" },
		{ "{\"event\":\"audio\",\"payload\":\"@@@@\"}", 1, 0, "base64" },
		{ "{\"event\":\"dtmf\",\"dtmf\":\"x\"}", 1, 0, "DTMF" },
		{ "{\"event\":\"hello\"}", 1, 0, "unknown event \"hello\"" },
		{ "{\"event\":\"start\"}", 1, 0, "second start" },
		{ "{\"event\":\"clear\"}", 1, 0, "server event" },
		{ "{\"event\":\"mark\",\"mark\":\"nope\"}", 1, 0, "never sent" },
		{ "{\"event\":\"audio\",\"payload\":\"/w==\"}", 0, 1008,
		  "audio before start" },
		{ "{\"event\":\"dtmf\",\"dtmf\":\"1\"}", 0, 1008,
		  "dtmf before start" },
		{ "{\"event\":\"mark\",\"mark\":\"a\"}", 0, 1008,
		  "mark before start" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct fixture *f;
		const char *reason;
		int code = 0;

		setup((void **)&f);
		if (rows[i].started)
			start_call(f);
		recv_text(f, rows[i].text);
		int closing = wvs_session_should_close(f->s, &code, &reason);
		if (rows[i].close_code) {
			assert_true(closing);
			assert_int_equal(code, rows[i].close_code);
			assert_int_equal(wvs_session_end(f->s), WVS_END_PROTOCOL);
		} else {
			assert_false(closing);
			assert_int_equal(wvs_session_stats(f->s)->bad_frames, 1);
		}
		assert_true(f->probe.n_log >= 1);
		if (!strstr(f->probe.log[0], rows[i].log_has))
			fail_msg("row %zu: log \"%s\" lacks \"%s\"", i,
				 f->probe.log[0], rows[i].log_has);
		assert_true(f->probe.traced_problem[0] != '\0');
		teardown((void **)&f);
	}
}

/* The problem in a log line and a record is named once, in the
   decoder's words (once "not valid JSON: not JSON: ..."), and a name the
   client chose is escaped: it cannot forge a log line (issue 13, item 3). */
static void test_session_bad_frame_words(void **state)
{
	static const struct {
		const char *text, *log;
	} rows[] = {
		{ "[1,2]", "bad frame: not an object: an array; ignored" },
		{ "{\"mark\":\"x\"}",
		  "bad frame: no \"event\" field; ignored" },
		{ "{\"event\":\"audio\"}",
		  "bad frame: audio without \"payload\"; ignored" },
		{ "{\"event\":\"x\\n00:00:00.000 call c-1 end FORGED\"}",
		  "bad frame: unknown event \"x\\x0A00:00:00.000 call c-1 end "
		  "FORGED\"; ignored" },
		{ "{\"event\":\"\\u001b[2J\\u00e9\"}",
		  "bad frame: unknown event \"\\x1B[2J\\xC3\\xA9\"; ignored" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct fixture *f;

		setup((void **)&f);
		start_call(f);
		recv_text(f, rows[i].text);
		assert_int_equal(f->probe.n_log, 1);
		assert_string_equal(f->probe.log[0], rows[i].log);
		teardown((void **)&f);
	}
	/* "not JSON: " and jansson's words, once. */
	{
		struct fixture *f;

		setup((void **)&f);
		start_call(f);
		recv_text(f, "{\"event\":");
		assert_int_equal(strncmp(f->probe.log[0], "bad frame: not JSON: ",
					 21), 0);
		assert_null(strstr(f->probe.log[0], "valid JSON"));
		teardown((void **)&f);
	}
}

static void test_session_too_many_bad_frames_close_with_1008(void **state)
{
	struct fixture *f = *state;
	const char *reason;
	int code;

	start_call(f);
	for (int i = 0; i < 100; i++) {
		f->now += 20 * MS;
		recv_text(f, "nonsense");
	}
	assert_false(wvs_session_should_close(f->s, &code, &reason));
	recv_text(f, "nonsense");
	assert_true(wvs_session_should_close(f->s, &code, &reason));
	assert_int_equal(code, 1008);
}

static void test_session_flood_closes_with_1008(void **state)
{
	struct fixture *f = *state;
	const char *frame = "{\"event\":\"audio\",\"payload\":\"/w==\"}";
	const char *reason;
	int code = 0, i;

	start_call(f);
	/* Real-time frames, even with a burst after a stall, are fine... */
	for (i = 0; i < 500; i++)
		recv_text(f, frame);
	for (i = 0; i < 3000; i++) {
		f->now += 20 * MS;
		recv_text(f, frame);
	}
	assert_false(wvs_session_should_close(f->s, &code, &reason));
	/* ...frames as fast as they come are not. */
	for (i = 0; i < 2000 && !code; i++) {
		recv_text(f, frame);
		wvs_session_should_close(f->s, &code, &reason);
	}
	assert_int_equal(code, 1008);
}

static void test_session_audio_faster_than_real_time_is_a_flood(void **state)
{
	struct fixture *f = *state;
	char frame[2048] = "{\"event\":\"audio\",\"payload\":\"";
	uint8_t ulaw[1000];
	const char *reason;
	int code = 0;

	memset(ulaw, 0xff, sizeof ulaw);
	wv_base64_encode(frame + strlen(frame), ulaw, sizeof ulaw);
	strcat(frame, "\"}");
	start_call(f);
	/* 1000 samples every 20 ms: 6x real time, at a modest frame rate. */
	for (int i = 0; i < 3000 && !code; i++) {
		f->now += 20 * MS;
		recv_text(f, frame);
		wvs_session_should_close(f->s, &code, &reason);
	}
	assert_int_equal(code, 1008);
}

static void test_session_no_start_times_out(void **state)
{
	struct fixture *f = *state;
	const char *reason;
	int code;

	f->now += 9999 * MS;
	wvs_session_tick(f->s, f->now);
	assert_false(wvs_session_should_close(f->s, &code, &reason));
	assert_true(wvs_session_deadline(f->s) <= f->now + 1 * MS);
	f->now += 1 * MS;
	wvs_session_tick(f->s, f->now);
	assert_true(wvs_session_should_close(f->s, &code, &reason));
	assert_int_equal(code, 1008);
	assert_int_equal(wvs_session_end(f->s), WVS_END_NO_START);
}

static const char *const silent_frame =
	"{\"event\":\"audio\",\"payload\":\"/w==\"}";

/* Audio every 20 ms for ms, answering every ping at once; returns the
   pings. */
static int talk_for(struct fixture *f, int ms, int answer)
{
	int pings = 0;

	for (int t = 0; t < ms; t += 20) {
		f->now += 20 * MS;
		recv_text(f, silent_frame);
		if (wvs_session_ping_due(f->s, f->now)) {
			pings++;
			if (answer)
				wvs_session_pong(f->s, f->now);
		}
	}
	return pings;
}

static void test_session_no_audio_for_the_idle_timeout_closes_1008(void **state)
{
	struct fixture *f = *state;
	const char *reason;
	int code;

	start_call(f);
	f->now += 9999 * MS;
	wvs_session_tick(f->s, f->now);
	assert_false(wvs_session_should_close(f->s, &code, &reason));
	assert_true(wvs_session_deadline(f->s) <= f->now + 1 * MS);
	f->now += 1 * MS;
	wvs_session_tick(f->s, f->now);
	assert_true(wvs_session_should_close(f->s, &code, &reason));
	assert_int_equal(code, 1008);
	assert_string_equal(reason, "no audio for 10 s");
	assert_int_equal(wvs_session_end(f->s), WVS_END_IDLE);
	assert_string_equal(f->probe.log[0], "no audio for 10 s; closing with 1008");
}

static void test_session_pings_every_half_timeout_once_started(void **state)
{
	struct fixture *f = *state;
	const char *reason;
	int code;

	/* Before start: no ping, the start timeout's business. */
	f->now += 9000 * MS;
	assert_false(wvs_session_ping_due(f->s, f->now));
	start_call(f);
	assert_int_equal(wvs_session_deadline(f->s), f->now + 5000 * MS);
	/* 60 s of audio, each ping answered: one ping every 5 s. */
	assert_int_equal(talk_for(f, 60000, 1), 12);
	assert_false(wvs_session_should_close(f->s, &code, &reason));
}

static void test_session_an_unanswered_ping_closes_1008(void **state)
{
	struct fixture *f = *state;
	const char *reason;
	int code = 0, pings;

	start_call(f);
	/* Audio goes on; the ping at 5 s is never answered: 10 s later the
	   call closes, though a second ping went out between. */
	pings = talk_for(f, 14980, 0);
	assert_int_equal(pings, 2);
	assert_false(wvs_session_should_close(f->s, &code, &reason));
	talk_for(f, 20, 0);
	assert_true(wvs_session_should_close(f->s, &code, &reason));
	assert_int_equal(code, 1008);
	assert_string_equal(reason, "no pong for 10 s");
	assert_int_equal(wvs_session_end(f->s), WVS_END_IDLE);
}

static void test_session_message_pieces_count_as_frames(void **state)
{
	struct fixture *f = *state;
	const char *reason;
	int code = 0, i;

	start_call(f);
	for (i = 0; i < 999; i++)
		wvs_session_piece(f->s, f->now);
	assert_false(wvs_session_should_close(f->s, &code, &reason));
	for (i = 0; i < 10 && !code; i++) {
		wvs_session_piece(f->s, f->now);
		wvs_session_should_close(f->s, &code, &reason);
	}
	assert_int_equal(code, 1008);
	assert_string_equal(reason, "flood");
}

static void test_session_control_frames_count_as_frames(void **state)
{
	struct fixture *f = *state;
	const char *reason;
	int code = 0;

	start_call(f);
	wvs_session_control_frames(f->s, 900, f->now);
	wvs_session_pong(f->s, f->now);
	assert_false(wvs_session_should_close(f->s, &code, &reason));
	/* The burst of 1000 less start, 900 and the pong: 98 left. A
	   second later 200 more, less an audio frame: 297 are allowed... */
	f->now += 1000 * MS;
	recv_text(f, silent_frame);
	wvs_session_control_frames(f->s, 297, f->now);
	assert_false(wvs_session_should_close(f->s, &code, &reason));
	/* ...but not one more. */
	wvs_session_control_frames(f->s, 1, f->now);
	assert_true(wvs_session_should_close(f->s, &code, &reason));
	assert_int_equal(code, 1008);
}

static void test_session_shutdown_sends_stop_then_1000(void **state)
{
	struct fixture *f = *state;
	const char *reason;
	int code;

	f->probe.on_start_play = 1;
	start_call(f);
	run_for(f, 100, NULL);
	wvs_session_shutdown(f->s, f->now);
	expect_event(f, "stop");
	assert_null(next_event(f));
	assert_true(wvs_session_should_close(f->s, &code, &reason));
	assert_int_equal(code, 1000);
	assert_int_equal(wvs_session_end(f->s), WVS_END_SHUTDOWN);
}

static void test_session_wake_reaches_the_agent_once(void **state)
{
	struct fixture *f = *state;

	start_call(f);
	wvs_session_wake_at(f->s, f->now + 50 * MS);
	assert_int_equal(wvs_session_deadline(f->s), f->now + 50 * MS);
	run_for(f, 49, NULL);
	assert_int_equal(f->probe.wakes, 0);
	run_for(f, 100, NULL);
	assert_int_equal(f->probe.wakes, 1);
}

static void test_session_late_sends_are_counted(void **state)
{
	struct fixture *f = *state;

	f->probe.on_start_play = 1;
	start_call(f);
	run_for(f, 100, NULL);
	/* The loop stalls for 200 ms: the frames it owed go out late. */
	f->now += 200 * MS;
	while (wvs_session_next(f->s, f->now, f->out, sizeof f->out) > 0)
		;
	assert_true(wvs_session_stats(f->s)->late_frames > 0);
	assert_true(wvs_session_stats(f->s)->max_send_delay >= 150 * MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_session_start_is_answered_with_the_id),
		T(test_session_message_too_big_for_the_buffer_waits),
		T(test_session_audio_is_paced_at_real_time),
		T(test_session_mark_follows_its_audio),
		T(test_session_returned_mark_reaches_the_agent),
		T(test_session_clear_drops_audio_and_voids_sent_marks),
		T(test_session_audio_after_clear_starts_at_once),
		T(test_session_hangup_waits_for_the_audio_to_play),
		T(test_session_hangup_outlives_a_clear_and_comes_once),
		T(test_session_client_stop_closes_with_1000),
		T(test_session_dtmf_reaches_the_agent),
		cmocka_unit_test(test_session_bad_frames),
		cmocka_unit_test(test_session_bad_frame_words),
		T(test_session_too_many_bad_frames_close_with_1008),
		T(test_session_flood_closes_with_1008),
		T(test_session_audio_faster_than_real_time_is_a_flood),
		T(test_session_no_start_times_out),
		T(test_session_no_audio_for_the_idle_timeout_closes_1008),
		T(test_session_pings_every_half_timeout_once_started),
		T(test_session_an_unanswered_ping_closes_1008),
		T(test_session_message_pieces_count_as_frames),
		T(test_session_control_frames_count_as_frames),
		T(test_session_shutdown_sends_stop_then_1000),
		T(test_session_wake_reaches_the_agent_once),
		T(test_session_late_sends_are_counted),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
