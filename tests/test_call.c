/* The call state machine, driven with scripted frames and a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <wvoice/base64.h>
#include <wvoice/call.h>
#include <wvoice/capture.h>
#include <wvoice/codec.h>
#include <wvoice/error.h>

#define SEC 1000000LL /* microseconds */

/* What the callbacks saw. */
struct seen {
	enum wv_status statuses[8];
	int nstatus;
	char comm_id[64];
	int errors[32];
	char last_detail[256];
	int nerror;
	char unknown_name[32];
	char unknown_json[256];
	int nevents_in, nevents_out;
};

static void on_status(void *user, enum wv_status from, enum wv_status to)
{
	struct seen *s = user;

	(void)from;
	if (s->nstatus < 8)
		s->statuses[s->nstatus++] = to;
}

static void on_comm_id(void *user, const char *id)
{
	struct seen *s = user;

	snprintf(s->comm_id, sizeof s->comm_id, "%s", id);
}

static void on_error(void *user, int code, const char *detail)
{
	struct seen *s = user;

	if (s->nerror < 32)
		s->errors[s->nerror++] = code;
	snprintf(s->last_detail, sizeof s->last_detail, "%s", detail);
}

static void on_unknown(void *user, const char *name, const char *json,
		       size_t len)
{
	struct seen *s = user;

	snprintf(s->unknown_name, sizeof s->unknown_name, "%s", name);
	snprintf(s->unknown_json, sizeof s->unknown_json, "%.*s", (int)len,
		 json);
}

static void on_event(void *user, enum wv_direction dir,
		     const struct wv_event *ev)
{
	struct seen *s = user;

	(void)ev;
	if (dir == WV_DIR_IN)
		s->nevents_in++;
	else
		s->nevents_out++;
}

struct fixture {
	struct wv_call *call;
	struct seen seen;
};

static void config_for(struct wv_call_config *cfg, struct seen *seen)
{
	wv_call_config_default(cfg);
	cfg->cb = (struct wv_call_callbacks){
		.status = on_status,
		.communication_id = on_comm_id,
		.unknown_event = on_unknown,
		.error = on_error,
		.event = on_event,
	};
	cfg->user = seen;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct wv_call_config cfg;

	assert_non_null(f);
	config_for(&cfg, &f->seen);
	assert_int_equal(wv_call_create(&f->call, &cfg), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	wv_call_destroy(f->call);
	free(f);
	return 0;
}

/* Pops the next outgoing frame into buf; returns false when none. */
static bool pop_frame(struct wv_call *c, char *buf, size_t cap)
{
	size_t len;
	const char *text = wv_call_peek_frame(c, &len);

	if (!text)
		return false;
	assert_true(len < cap);
	memcpy(buf, text, len);
	buf[len] = '\0';
	wv_call_frame_sent(c);
	return true;
}

static void expect_frame(struct wv_call *c, const char *want)
{
	char buf[1024];

	assert_true(pop_frame(c, buf, sizeof buf));
	assert_string_equal(buf, want);
}

static void expect_no_frame(struct wv_call *c)
{
	size_t len;

	assert_null(wv_call_peek_frame(c, &len));
}

static void drain(struct wv_call *c)
{
	char buf[1024];

	while (pop_frame(c, buf, sizeof buf))
		;
}

static void receive(struct wv_call *c, const char *text, int64_t now)
{
	assert_int_equal(wv_call_receive(c, text, strlen(text), now), 0);
}

/* Connects, opens, and has the server confirm with id "c-1" at 1 s. */
static void confirm(struct wv_call *c)
{
	assert_int_equal(wv_call_connect(c, 0), 0);
	assert_int_equal(wv_call_opened(c, 0), 0);
	expect_frame(c, "{\"event\":\"start\"}");
	receive(c, "{\"event\":\"start\",\"communication_id\":\"c-1\"}", 1 * SEC);
	assert_int_equal(wv_call_status(c), WV_STATUS_CONNECTED);
}

/* Builds an audio event carrying n mu-law bytes of value b. */
static char *audio_event(size_t n, uint8_t b)
{
	uint8_t *bytes = malloc(n);
	char *text = malloc(WV_AUDIO_EVENT_LEN(n) + 1);

	assert_non_null(bytes);
	assert_non_null(text);
	memset(bytes, b, n);
	assert_int_equal(wv_encode_audio(text, WV_AUDIO_EVENT_LEN(n) + 1,
					 bytes, n),
			 (int)WV_AUDIO_EVENT_LEN(n));
	free(bytes);
	return text;
}

static void play(struct wv_call *c, size_t samples)
{
	int16_t *out = malloc(samples * sizeof *out);

	assert_non_null(out);
	wv_playout_read(wv_call_playout(c), out, samples);
	free(out);
}

static void test_call_starts_idle_and_queues_start_on_open(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(wv_call_status(f->call), WV_STATUS_IDLE);
	expect_no_frame(f->call);
	assert_int_equal(wv_call_opened(f->call, 0), WV_ERR_STATE);
	assert_int_equal(wv_call_connect(f->call, 0), 0);
	assert_int_equal(wv_call_status(f->call), WV_STATUS_CONNECTING);
	assert_int_equal(wv_call_connect(f->call, 0), WV_ERR_STATE);
	expect_no_frame(f->call);
	assert_int_equal(wv_call_opened(f->call, 0), 0);
	expect_frame(f->call, "{\"event\":\"start\"}");
	expect_no_frame(f->call);
	assert_int_equal(f->seen.nstatus, 1);
	assert_int_equal(f->seen.statuses[0], WV_STATUS_CONNECTING);
}

static void test_call_server_start_confirms_and_reports_id(void **state)
{
	struct fixture *f = *state;

	assert_null(wv_call_communication_id(f->call));
	confirm(f->call);
	assert_string_equal(f->seen.comm_id, "c-1");
	assert_string_equal(wv_call_communication_id(f->call), "c-1");
	assert_int_equal(f->seen.statuses[1], WV_STATUS_CONNECTED);
	assert_int_equal(wv_call_end_reason(f->call), WV_END_NONE);
}

static void test_call_second_start_is_reported_and_ignored(void **state)
{
	struct fixture *f = *state;

	confirm(f->call);
	receive(f->call, "{\"event\":\"start\",\"communication_id\":\"c-2\"}",
		2 * SEC);
	assert_string_equal(wv_call_communication_id(f->call), "c-1");
	assert_int_equal(f->seen.nerror, 1);
	assert_int_equal(f->seen.errors[0], WV_ERR_PROTOCOL);
}

static void test_call_elapsed_follows_injected_clock(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(wv_call_elapsed_ms(f->call, 5 * SEC), 0);
	confirm(f->call); /* confirmed at 1 s */
	assert_int_equal(wv_call_elapsed_ms(f->call, 1 * SEC), 0);
	assert_int_equal(wv_call_elapsed_ms(f->call, 3500000), 2500);
	assert_int_equal(wv_call_hangup(f->call, 4 * SEC), 0);
	assert_int_equal(wv_call_elapsed_ms(f->call, 100 * SEC), 3000);
}

static void test_call_hangup_queues_stop_then_closes(void **state)
{
	struct fixture *f = *state;
	int code = 0;

	confirm(f->call);
	assert_int_equal(wv_call_hangup(f->call, 2 * SEC), 0);
	assert_int_equal(wv_call_status(f->call), WV_STATUS_DISCONNECTED);
	assert_int_equal(wv_call_end_reason(f->call), WV_END_HANGUP);
	assert_false(wv_call_should_close(f->call, &code));
	expect_frame(f->call, "{\"event\":\"stop\"}");
	assert_true(wv_call_should_close(f->call, &code));
	assert_int_equal(code, 1000);
	assert_int_equal(wv_call_hangup(f->call, 3 * SEC), WV_ERR_STATE);
	wv_call_closed(f->call, 1000, "bye", false, 3 * SEC);
	assert_false(wv_call_should_close(f->call, &code));
	assert_int_equal(wv_call_end_reason(f->call), WV_END_HANGUP);
}

static void test_call_hangup_before_open_sends_nothing(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(wv_call_connect(f->call, 0), 0);
	assert_int_equal(wv_call_hangup(f->call, 1), 0);
	expect_no_frame(f->call);
	assert_true(wv_call_should_close(f->call, NULL));
}

static void test_call_server_stop_ends_call(void **state)
{
	struct fixture *f = *state;
	float silence[160] = { 0 };

	confirm(f->call);
	assert_int_equal(wv_call_write_audio(f->call, silence, 160), 0);
	receive(f->call, "{\"event\":\"stop\"}", 5 * SEC);
	assert_int_equal(wv_call_status(f->call), WV_STATUS_DISCONNECTED);
	assert_int_equal(wv_call_end_reason(f->call), WV_END_REMOTE_STOP);
	expect_no_frame(f->call);
	assert_true(wv_call_should_close(f->call, NULL));
	assert_int_equal(wv_call_elapsed_ms(f->call, 9 * SEC), 4000);
	/* Late frames after the end are moot, not errors. */
	receive(f->call, "not json", 6 * SEC);
	assert_int_equal(f->seen.nerror, 0);
}

/* The agent's last words: 1 s of audio and a mark after it, then stop. */
static void stop_after_last_words(struct wv_call *c, int64_t at)
{
	char *audio = audio_event(8000, 0x10);

	confirm(c);
	receive(c, audio, at);
	receive(c, "{\"event\":\"mark\",\"mark\":\"bye\"}", at);
	receive(c, "{\"event\":\"stop\"}", at);
	free(audio);
}

static void test_call_server_stop_plays_out_the_last_words(void **state)
{
	struct fixture *f = *state;
	float silence[160] = { 0 };
	struct wv_playout_stats ps;
	struct wv_call_stats st;

	stop_after_last_words(f->call, 5 * SEC);
	/* Still on: the goodbye has yet to play, past the pre-buffer. */
	assert_int_equal(wv_call_status(f->call), WV_STATUS_CONNECTED);
	assert_true(wv_call_stopping(f->call));
	assert_int_equal(wv_call_end_reason(f->call), WV_END_NONE);
	assert_int_equal(wv_call_next_deadline(f->call), 7 * SEC);
	assert_false(wv_call_should_close(f->call, NULL));
	/* Nothing more is said to the server, nor taken from it. */
	assert_int_equal(wv_call_write_audio(f->call, silence, 160), 0);
	expect_no_frame(f->call);
	assert_int_equal(wv_call_send_dtmf(f->call, '1', 5 * SEC), WV_ERR_STATE);
	receive(f->call, "{\"event\":\"clear\"}", 5 * SEC);
	wv_call_stats(f->call, &st);
	assert_int_equal(st.clears_received, 0);
	/* All of it plays, without waiting for the pre-buffer. */
	play(f->call, 160);
	wv_playout_stats(wv_call_playout(f->call), &ps);
	assert_int_equal(ps.played_samples, 160);
	play(f->call, 7839);
	wv_call_tick(f->call, 6 * SEC);
	assert_true(wv_call_stopping(f->call));
	expect_no_frame(f->call);
	play(f->call, 1);
	wv_call_tick(f->call, 6 * SEC);
	/* The mark after it is answered, then the call ends and closes. */
	expect_frame(f->call, "{\"event\":\"mark\",\"mark\":\"bye\"}");
	assert_int_equal(wv_call_status(f->call), WV_STATUS_DISCONNECTED);
	assert_int_equal(wv_call_end_reason(f->call), WV_END_REMOTE_STOP);
	assert_false(wv_call_stopping(f->call));
	assert_true(wv_call_should_close(f->call, NULL));
	assert_int_equal(wv_call_elapsed_ms(f->call, 9 * SEC), 5000);
	assert_int_equal(f->seen.nerror, 0);
}

static void test_call_last_words_are_bounded(void **state)
{
	struct fixture *f = *state;

	stop_after_last_words(f->call, 5 * SEC);
	play(f->call, 800);
	wv_call_tick(f->call, 7 * SEC - 1);
	assert_true(wv_call_stopping(f->call));
	wv_call_tick(f->call, 7 * SEC); /* last_words_ms, 2000 by default */
	assert_int_equal(wv_call_end_reason(f->call), WV_END_REMOTE_STOP);
	expect_no_frame(f->call); /* "bye" was never reached */
	assert_true(wv_call_should_close(f->call, NULL));
}

static void test_call_last_words_outlive_the_socket(void **state)
{
	struct fixture *f = *state;
	const char *reason;

	stop_after_last_words(f->call, 5 * SEC);
	wv_call_closed(f->call, 1000, "stop", false, 5 * SEC);
	assert_true(wv_call_stopping(f->call));
	assert_int_equal(wv_call_close_code(f->call, &reason), 1000);
	play(f->call, 8000);
	wv_call_tick(f->call, 6 * SEC);
	/* Reached, but there is no socket to answer on. */
	expect_no_frame(f->call);
	assert_int_equal(wv_call_end_reason(f->call), WV_END_REMOTE_STOP);
	assert_false(wv_call_should_close(f->call, NULL));
	assert_int_equal(f->seen.nerror, 0);
}

static void test_call_hangup_cuts_the_last_words(void **state)
{
	struct fixture *f = *state;

	stop_after_last_words(f->call, 5 * SEC);
	assert_int_equal(wv_call_hangup(f->call, 5 * SEC), 0);
	/* The agent hung up first: no stop of ours. */
	expect_no_frame(f->call);
	assert_int_equal(wv_call_end_reason(f->call), WV_END_REMOTE_STOP);
	assert_true(wv_call_should_close(f->call, NULL));
}

static void test_call_stop_with_nothing_to_play_ends_at_once(void **state)
{
	struct fixture *f = *state;

	confirm(f->call);
	/* A mark with nothing before it is reached: answered before the end. */
	receive(f->call, "{\"event\":\"mark\",\"mark\":\"m\"}", 2 * SEC);
	receive(f->call, "{\"event\":\"stop\"}", 2 * SEC);
	assert_int_equal(wv_call_end_reason(f->call), WV_END_REMOTE_STOP);
	expect_frame(f->call, "{\"event\":\"mark\",\"mark\":\"m\"}");
	assert_true(wv_call_should_close(f->call, NULL));
}

static void test_call_last_words_can_be_turned_off(void **state)
{
	struct wv_call_config cfg;
	struct seen seen = { 0 };
	struct wv_call *c;

	(void)state;
	config_for(&cfg, &seen);
	cfg.last_words_ms = 0;
	assert_int_equal(wv_call_create(&c, &cfg), 0);
	stop_after_last_words(c, 5 * SEC);
	assert_int_equal(wv_call_end_reason(c), WV_END_REMOTE_STOP);
	wv_call_destroy(c);

	/* A program built before the field has the default. */
	config_for(&cfg, &seen);
	cfg.size = offsetof(struct wv_call_config, last_words_ms);
	assert_int_equal(wv_call_create(&c, &cfg), 0);
	stop_after_last_words(c, 5 * SEC);
	assert_true(wv_call_stopping(c));
	assert_int_equal(wv_call_next_deadline(c), 7 * SEC);
	wv_call_destroy(c);
}

/* A playout buffer elsewhere: what reaches it, in order, as text. */
struct remote {
	char log[512];
	size_t samples;
};

static void log_remote(struct remote *r, const char *what)
{
	size_t n = strlen(r->log);

	snprintf(r->log + n, sizeof r->log - n, "%s%s", n ? " " : "", what);
}

static void remote_audio(void *user, const uint8_t *ulaw, size_t n)
{
	struct remote *r = user;
	char what[32];

	(void)ulaw;
	r->samples += n;
	snprintf(what, sizeof what, "audio:%zu", n);
	log_remote(r, what);
}

static void remote_mark(void *user, const char *id)
{
	char what[64];

	snprintf(what, sizeof what, "mark:%s", id);
	log_remote(user, what);
}

static void remote_clear(void *user)
{
	log_remote(user, "clear");
}

static void remote_flush(void *user)
{
	log_remote(user, "flush");
}

static struct wv_call *remote_call(struct remote *r, struct seen *seen)
{
	const struct wv_playout_remote cb = {
		remote_audio, remote_mark, remote_clear, remote_flush, r,
	};
	struct wv_call_config cfg;
	struct wv_call *c;

	config_for(&cfg, seen);
	cfg.remote_playout = &cb; /* copied: may go out of scope */
	assert_int_equal(wv_call_create(&c, &cfg), 0);
	confirm(c);
	return c;
}

static void test_call_remote_playout_gets_audio_marks_and_clears(void **state)
{
	struct remote r = { 0 };
	struct seen seen = { 0 };
	struct wv_call *c = remote_call(&r, &seen);
	char *audio = audio_event(160, 0x10);
	struct wv_playout_stats ps;
	struct wv_call_stats st;

	(void)state;
	receive(c, audio, 2 * SEC);
	receive(c, "{\"event\":\"mark\",\"mark\":\"m1\"}", 2 * SEC);
	receive(c, "{\"event\":\"clear\"}", 2 * SEC);
	receive(c, audio, 2 * SEC);
	receive(c, "{\"event\":\"mark\",\"mark\":\"m2\"}", 2 * SEC);
	assert_string_equal(r.log, "audio:160 mark:m1 clear audio:160 mark:m2");
	/* The call's own buffer gets none of it, and answers nothing. */
	wv_playout_stats(wv_call_playout(c), &ps);
	assert_int_equal(ps.pushed_samples, 0);
	wv_call_tick(c, 3 * SEC);
	expect_no_frame(c);
	/* The other side says what it played; the call answers. */
	assert_int_equal(wv_call_mark_played(c, "m2", 3 * SEC), 0);
	expect_frame(c, "{\"event\":\"mark\",\"mark\":\"m2\"}");
	wv_call_stats(c, &st);
	assert_int_equal(st.audio_events_received, 2);
	assert_int_equal(st.marks_received, 2);
	assert_int_equal(st.marks_answered, 1);
	assert_int_equal(st.clears_received, 1);
	assert_int_equal(seen.nerror, 0);
	free(audio);
	wv_call_destroy(c);
}

static void test_call_remote_playout_plays_out_the_last_words(void **state)
{
	struct remote r = { 0 };
	struct seen seen = { 0 };
	struct wv_call *c = remote_call(&r, &seen);
	char *audio = audio_event(800, 0x10);

	(void)state;
	receive(c, audio, 5 * SEC);
	receive(c, "{\"event\":\"mark\",\"mark\":\"bye\"}", 5 * SEC);
	receive(c, "{\"event\":\"stop\"}", 5 * SEC);
	assert_string_equal(r.log, "audio:800 mark:bye flush");
	assert_true(wv_call_stopping(c));
	wv_call_tick(c, 6 * SEC);
	assert_true(wv_call_stopping(c)); /* until the other side says so */
	assert_int_equal(wv_call_mark_played(c, "bye", 6 * SEC), 0);
	expect_frame(c, "{\"event\":\"mark\",\"mark\":\"bye\"}");
	wv_call_playout_drained(c, 6 * SEC);
	assert_int_equal(wv_call_end_reason(c), WV_END_REMOTE_STOP);
	assert_true(wv_call_should_close(c, NULL));
	/* After the end a mark is moot, and not an error. */
	assert_int_equal(wv_call_mark_played(c, "late", 7 * SEC), 0);
	expect_no_frame(c);
	free(audio);
	wv_call_destroy(c);

	/* A remote side that never says is bounded as the call's own. */
	memset(&r, 0, sizeof r);
	c = remote_call(&r, &seen);
	receive(c, "{\"event\":\"stop\"}", 5 * SEC);
	wv_call_tick(c, 7 * SEC - 1);
	assert_true(wv_call_stopping(c));
	wv_call_tick(c, 7 * SEC);
	assert_int_equal(wv_call_end_reason(c), WV_END_REMOTE_STOP);
	wv_call_destroy(c);
}

static void test_call_remote_playout_calls_are_checked(void **state)
{
	struct wv_playout_remote cb = { 0 };
	struct wv_call_config cfg;
	struct seen seen = { 0 };
	struct wv_call *c;

	(void)state;
	config_for(&cfg, &seen);
	cfg.remote_playout = &cb; /* every callback is needed */
	assert_int_equal(wv_call_create(&c, &cfg), WV_ERR_INVALID);
	config_for(&cfg, &seen);
	assert_int_equal(wv_call_create(&c, &cfg), 0);
	confirm(c);
	/* The call's own buffer answers its own marks. */
	assert_int_equal(wv_call_mark_played(c, "m", 0), WV_ERR_STATE);
	receive(c, "{\"event\":\"stop\"}", 5 * SEC);
	wv_call_playout_drained(c, 5 * SEC); /* nothing to say: ignored */
	wv_call_destroy(c);
}

static void test_call_close_ends_call_with_code_and_reason(void **state)
{
	struct fixture *f = *state;
	const char *reason;

	confirm(f->call);
	wv_call_closed(f->call, 1011, "agent crashed", false, 2 * SEC);
	assert_int_equal(wv_call_status(f->call), WV_STATUS_DISCONNECTED);
	assert_int_equal(wv_call_end_reason(f->call), WV_END_CLOSED);
	assert_int_equal(wv_call_close_code(f->call, &reason), 1011);
	assert_string_equal(reason, "agent crashed");
	assert_false(wv_call_should_close(f->call, NULL));
	assert_int_equal(wv_call_hangup(f->call, 3 * SEC), WV_ERR_STATE);
}

static void test_call_transport_error_ends_call_as_error(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(wv_call_connect(f->call, 0), 0);
	wv_call_closed(f->call, 0, "connection refused", true, 1);
	assert_int_equal(wv_call_end_reason(f->call), WV_END_ERROR);
	assert_int_equal(f->seen.nerror, 1);
	assert_non_null(strstr(f->seen.last_detail, "connection refused"));
}

static void test_call_dtmf_is_validated_and_queued(void **state)
{
	struct fixture *f = *state;
	const char *digits = "0123456789*#";

	assert_int_equal(wv_call_connect(f->call, 0), 0);
	assert_int_equal(wv_call_opened(f->call, 0), 0);
	drain(f->call);
	assert_int_equal(wv_call_send_dtmf(f->call, '5', 0), WV_ERR_STATE);
	receive(f->call, "{\"event\":\"start\",\"communication_id\":\"x\"}", 1);
	for (const char *d = digits; *d; d++) {
		char want[64];

		assert_int_equal(wv_call_send_dtmf(f->call, *d, 2), 0);
		snprintf(want, sizeof want, "{\"event\":\"dtmf\",\"dtmf\":\"%c\"}",
			 *d);
		expect_frame(f->call, want);
	}
	for (const char *d = "aA+-/ \n\0"; ; d++) {
		assert_int_equal(wv_call_send_dtmf(f->call, *d, 2), WV_ERR_DTMF);
		if (!*d)
			break;
	}
	expect_no_frame(f->call);
}

static void test_call_audio_flows_only_after_open(void **state)
{
	struct fixture *f = *state;
	float tone[320];
	struct wv_call_stats st;

	for (size_t i = 0; i < 320; i++)
		tone[i] = 0.25f;
	assert_int_equal(wv_call_connect(f->call, 0), 0);
	assert_int_equal(wv_call_write_audio(f->call, tone, 320), 0);
	expect_no_frame(f->call);
	assert_int_equal(wv_call_opened(f->call, 0), 0);
	assert_int_equal(wv_call_write_audio(f->call, tone, 320), 0);
	expect_frame(f->call, "{\"event\":\"start\"}");
	for (int i = 0; i < 2; i++) {
		char buf[512];
		uint8_t ulaw[WV_FRAME_SAMPLES], want[WV_FRAME_SAMPLES];
		int16_t pcm[WV_FRAME_SAMPLES];
		size_t n;
		const char *prefix = "{\"event\":\"audio\",\"payload\":\"";

		assert_true(pop_frame(f->call, buf, sizeof buf));
		assert_memory_equal(buf, prefix, strlen(prefix));
		assert_int_equal(wv_base64_decode(ulaw, sizeof ulaw, &n,
						  buf + strlen(prefix), 216, NULL),
				 0);
		assert_int_equal(n, WV_FRAME_SAMPLES);
		for (size_t k = 0; k < WV_FRAME_SAMPLES; k++)
			pcm[k] = 8191; /* 0.25 * 32767, truncated */
		wv_ulaw_encode(want, pcm, WV_FRAME_SAMPLES);
		assert_memory_equal(ulaw, want, sizeof want);
	}
	expect_no_frame(f->call);
	wv_call_stats(f->call, &st);
	assert_int_equal(st.audio_frames_sent, 2);
}

static void test_call_mute_sends_silence_frames(void **state)
{
	struct fixture *f = *state;
	float loud[WV_FRAME_SAMPLES];
	char buf[512], want[512];
	uint8_t silence[WV_FRAME_SAMPLES];

	for (size_t i = 0; i < WV_FRAME_SAMPLES; i++)
		loud[i] = (i % 2) ? 0.8f : -0.8f;
	memset(silence, WV_ULAW_SILENCE, sizeof silence);
	assert_int_equal(wv_encode_audio(want, sizeof want, silence,
					 sizeof silence),
			 (int)WV_AUDIO_EVENT_LEN(WV_FRAME_SAMPLES));
	confirm(f->call);
	assert_false(wv_call_muted(f->call));
	wv_call_set_muted(f->call, true);
	assert_true(wv_call_muted(f->call));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(
			wv_call_write_audio(f->call, loud, WV_FRAME_SAMPLES), 0);
		assert_true(pop_frame(f->call, buf, sizeof buf));
		assert_string_equal(buf, want);
	}
	wv_call_set_muted(f->call, false);
	assert_int_equal(wv_call_write_audio(f->call, loud, WV_FRAME_SAMPLES),
			 0);
	assert_true(pop_frame(f->call, buf, sizeof buf));
	assert_string_not_equal(buf, want);
}

static void test_call_mark_answered_after_its_audio_plays(void **state)
{
	struct fixture *f = *state;
	char *audio = audio_event(800, 0x10); /* 100 ms */
	struct wv_call_stats st;

	confirm(f->call);
	receive(f->call, audio, 2 * SEC);
	receive(f->call, "{\"event\":\"mark\",\"mark\":\"greeting-done\"}",
		2 * SEC);
	wv_call_tick(f->call, 2 * SEC);
	expect_no_frame(f->call);
	play(f->call, 799);
	wv_call_tick(f->call, 2 * SEC);
	expect_no_frame(f->call);
	play(f->call, 1);
	wv_call_tick(f->call, 2 * SEC);
	expect_frame(f->call, "{\"event\":\"mark\",\"mark\":\"greeting-done\"}");
	wv_call_tick(f->call, 3 * SEC);
	expect_no_frame(f->call);
	wv_call_stats(f->call, &st);
	assert_int_equal(st.marks_received, 1);
	assert_int_equal(st.marks_answered, 1);
	assert_int_equal(st.audio_bytes_received, 800);
	free(audio);
}

static void test_call_clear_drops_audio_and_pending_marks(void **state)
{
	struct wv_playout_stats pst;
	struct fixture *f = *state;
	char *audio = audio_event(4000, 0x10);
	struct wv_call_stats st;

	confirm(f->call);
	receive(f->call, audio, 2 * SEC);
	receive(f->call, "{\"event\":\"mark\",\"mark\":\"m1\"}", 2 * SEC);
	receive(f->call, "{\"event\":\"clear\"}", 2 * SEC);
	play(f->call, 8000);
	wv_call_tick(f->call, 3 * SEC);
	expect_no_frame(f->call);
	receive(f->call, "{\"event\":\"mark\",\"mark\":\"m2\"}", 3 * SEC);
	wv_call_tick(f->call, 3 * SEC);
	expect_frame(f->call, "{\"event\":\"mark\",\"mark\":\"m2\"}");
	wv_call_stats(f->call, &st);
	assert_int_equal(st.clears_received, 1);
	wv_playout_stats(wv_call_playout(f->call), &pst);
	assert_int_equal(pst.queued_samples, 0);
	free(audio);
}

static int count_errors(const struct seen *s, int code)
{
	int n = 0;

	for (int i = 0; i < s->nerror && i < 32; i++)
		n += s->errors[i] == code;
	return n;
}

/* A flood past the cap is one report per episode, not one per frame nor
   one each time playing a frame makes room for the next (issue 13, item
   5): the episode ends when half the buffer has played. The stats count
   every sample dropped. */
static void test_call_overflow_is_reported_once_per_episode(void **state)
{
	struct seen seen = { 0 };
	struct wv_playout_config pc;
	struct wv_call_config cfg;
	struct wv_playout_stats st;
	struct wv_call *c;
	char *audio = audio_event(4000, 0x10); /* 500 ms */
	char *frame = audio_event(160, 0x10);  /* 20 ms */

	(void)state;
	config_for(&cfg, &seen);
	wv_playout_config_default(&pc);
	pc.max_ms = 1000;
	cfg.playout = &pc;
	assert_int_equal(wv_call_create(&c, &cfg), 0);
	confirm(c);
	for (int i = 0; i < 10; i++)
		receive(c, audio, 2 * SEC);
	assert_int_equal(count_errors(&seen, WV_ERR_FULL), 1);
	assert_non_null(strstr(seen.last_detail, "playout buffer full"));
	/* A flood at the cap: each frame played makes room for one that
	   fits, and the next overflows. Still the same episode. */
	for (int i = 0; i < 20; i++) {
		play(c, 160);
		receive(c, frame, 2 * SEC);
		receive(c, frame, 2 * SEC);
	}
	assert_int_equal(count_errors(&seen, WV_ERR_FULL), 1);
	/* Half the buffer played: the next overflow is news. */
	play(c, 4000);
	receive(c, audio, 3 * SEC);
	assert_int_equal(count_errors(&seen, WV_ERR_FULL), 1);
	receive(c, audio, 3 * SEC);
	assert_int_equal(count_errors(&seen, WV_ERR_FULL), 2);
	wv_playout_stats(wv_call_playout(c), &st);
	assert_int_equal(st.overflow_samples, 8 * 4000 + 20 * 160 + 4000);
	wv_call_destroy(c);
	free(audio);
	free(frame);
}

/* A mark id from the server reaches an error message escaped: no
   newline or terminal escape of the server's (issue 13, item 3). */
static void test_call_mark_ids_in_messages_are_escaped(void **state)
{
	struct seen seen = { 0 };
	struct wv_call_config cfg;
	struct wv_call *c;

	(void)state;
	config_for(&cfg, &seen);
	assert_int_equal(wv_call_create(&c, &cfg), 0);
	assert_int_equal(wv_call_connect(c, 0), 0);
	assert_int_equal(wv_call_opened(c, 0), 0);
	receive(c, "{\"event\":\"mark\",\"mark\":\"x\\n\\u001b[31mFORGED\"}",
		1);
	assert_int_equal(count_errors(&seen, WV_ERR_PROTOCOL), 1);
	assert_string_equal(seen.last_detail,
			    "mark \"x\\x0A\\x1B[31mFORGED\" before start");
	wv_call_destroy(c);
}

static void test_call_mark_before_start_is_reported_and_answered(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(wv_call_connect(f->call, 0), 0);
	assert_int_equal(wv_call_opened(f->call, 0), 0);
	drain(f->call);
	receive(f->call, "{\"event\":\"mark\",\"mark\":\"early\"}", 1);
	receive(f->call, "{\"event\":\"clear\"}", 1);
	assert_int_equal(f->seen.nerror, 2);
	assert_int_equal(f->seen.errors[0], WV_ERR_PROTOCOL);
	assert_int_equal(f->seen.errors[1], WV_ERR_PROTOCOL);
	assert_int_equal(wv_call_status(f->call), WV_STATUS_CONNECTING);
}

static void test_call_bad_frames_are_reported_and_ignored(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *text;
		int code;
	} bad[] = {
		{ "{not json", WV_ERR_JSON },
		{ "[1,2]", WV_ERR_NOT_OBJECT },
		{ "{\"payload\":\"AAAA\"}", WV_ERR_NO_EVENT },
		{ "{\"event\":7}", WV_ERR_FIELD_TYPE },
		{ "{\"event\":\"audio\",\"payload\":\"A!AA\"}", WV_ERR_BASE64 },
		{ "{\"event\":\"audio\"}", WV_ERR_FIELD_MISSING },
		{ "{\"event\":\"mark\",\"mark\":3}", WV_ERR_FIELD_TYPE },
	};
	struct wv_call_stats st;

	confirm(f->call);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(wv_call_receive(f->call, bad[i].text,
						 strlen(bad[i].text), 2 * SEC),
				 bad[i].code);
		assert_int_equal(f->seen.errors[i], bad[i].code);
		assert_non_null(strstr(f->seen.last_detail, "bad frame"));
	}
	assert_int_equal(wv_call_status(f->call), WV_STATUS_CONNECTED);
	wv_call_stats(f->call, &st);
	assert_int_equal(st.bad_frames, sizeof bad / sizeof bad[0]);
}

static void test_call_unknown_event_reaches_application(void **state)
{
	struct fixture *f = *state;
	const char *text = "{\"event\":\"transcript\",\"text\":\"hello\"}";
	struct wv_call_stats st;

	confirm(f->call);
	receive(f->call, text, 2 * SEC);
	assert_string_equal(f->seen.unknown_name, "transcript");
	assert_string_equal(f->seen.unknown_json, text);
	assert_int_equal(f->seen.nerror, 0);
	wv_call_stats(f->call, &st);
	assert_int_equal(st.unknown_events, 1);
}

static void test_call_start_timeout_ends_call(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(wv_call_next_deadline(f->call), INT64_MAX);
	assert_int_equal(wv_call_connect(f->call, 0), 0);
	assert_int_equal(wv_call_opened(f->call, 1 * SEC), 0);
	drain(f->call);
	assert_int_equal(wv_call_next_deadline(f->call), 11 * SEC);
	wv_call_tick(f->call, 11 * SEC - 1);
	assert_int_equal(wv_call_status(f->call), WV_STATUS_CONNECTING);
	wv_call_tick(f->call, 11 * SEC);
	assert_int_equal(wv_call_status(f->call), WV_STATUS_DISCONNECTED);
	assert_int_equal(wv_call_end_reason(f->call), WV_END_START_TIMEOUT);
	assert_int_equal(f->seen.errors[0], WV_ERR_TIMEOUT);
	expect_frame(f->call, "{\"event\":\"stop\"}");
	assert_true(wv_call_should_close(f->call, NULL));
	assert_int_equal(wv_call_next_deadline(f->call), INT64_MAX);
}

static void test_call_send_queue_drops_audio_not_control(void **state)
{
	struct fixture *f = *state;
	float second[8000] = { 0 };
	struct wv_call_stats st;
	char buf[512];
	int frames = 0;

	confirm(f->call);
	/* Two seconds of audio while the socket sends nothing. */
	assert_int_equal(wv_call_write_audio(f->call, second, 8000), 0);
	assert_int_equal(wv_call_write_audio(f->call, second, 8000), 0);
	assert_int_equal(wv_call_send_dtmf(f->call, '#', 3 * SEC), 0);
	wv_call_stats(f->call, &st);
	assert_int_equal(st.audio_frames_sent, 50);
	assert_int_equal(st.audio_frames_dropped, 50);
	while (pop_frame(f->call, buf, sizeof buf))
		frames++;
	assert_int_equal(frames, 51);
	assert_string_equal(buf, "{\"event\":\"dtmf\",\"dtmf\":\"#\"}");
}

static void test_call_long_mark_id_round_trips(void **state)
{
	struct fixture *f = *state;
	char id[900], in[1024], out[1024];

	memset(id, 'q', sizeof id - 1);
	id[sizeof id - 1] = '\0';
	snprintf(in, sizeof in, "{\"event\":\"mark\",\"mark\":\"%s\"}", id);
	confirm(f->call);
	receive(f->call, in, 2 * SEC);
	wv_call_tick(f->call, 2 * SEC);
	assert_true(pop_frame(f->call, out, sizeof out));
	assert_string_equal(out, in);
}

static void test_call_events_are_traced_both_ways(void **state)
{
	struct fixture *f = *state;

	confirm(f->call);
	assert_int_equal(f->seen.nevents_out, 1); /* start */
	assert_int_equal(f->seen.nevents_in, 1);  /* start */
	assert_int_equal(wv_call_hangup(f->call, 2 * SEC), 0);
	assert_int_equal(f->seen.nevents_out, 2);
}

/* One loop, many calls: the sans-I/O core has no per-call thread or timer. */
static void test_call_one_loop_drives_a_thousand_calls(void **state)
{
	enum { CALLS = 1000 };
	struct wv_call **calls = calloc(CALLS, sizeof *calls);
	struct seen *seen = calloc(CALLS, sizeof *seen);
	char *audio = audio_event(160, 0x20);
	float frame[WV_FRAME_SAMPLES] = { 0 };
	int16_t out[WV_FRAME_SAMPLES];
	char buf[512];

	(void)state;
	assert_non_null(calls);
	assert_non_null(seen);
	for (int i = 0; i < CALLS; i++) {
		struct wv_playout_config pc;
		struct wv_call_config cfg;

		config_for(&cfg, &seen[i]);
		wv_playout_config_default(&pc);
		pc.max_ms = 1000;
		pc.prebuffer_ms = 0;
		cfg.playout = &pc;
		assert_int_equal(wv_call_create(&calls[i], &cfg), 0);
		assert_int_equal(wv_call_connect(calls[i], 0), 0);
		assert_int_equal(wv_call_opened(calls[i], 0), 0);
		receive(calls[i], "{\"event\":\"start\",\"communication_id\":\"n\"}",
			0);
	}
	/* One second of call: 50 turns of the loop, every call each turn. */
	for (int turn = 0; turn < 50; turn++) {
		int64_t now = turn * 20000;

		for (int i = 0; i < CALLS; i++) {
			struct wv_call *c = calls[i];

			receive(c, audio, now);
			if (turn == 25)
				receive(c, "{\"event\":\"mark\",\"mark\":\"half\"}",
					now);
			assert_int_equal(wv_call_write_audio(c, frame,
							     WV_FRAME_SAMPLES),
					 0);
			wv_playout_read(wv_call_playout(c), out,
					WV_FRAME_SAMPLES);
			wv_call_tick(c, now);
			while (pop_frame(c, buf, sizeof buf))
				;
		}
	}
	for (int i = 0; i < CALLS; i++) {
		struct wv_call_stats st;

		wv_call_stats(calls[i], &st);
		assert_int_equal(st.audio_frames_sent, 50);
		assert_int_equal(st.audio_events_received, 50);
		assert_int_equal(st.marks_answered, 1);
		assert_int_equal(wv_call_hangup(calls[i], 1 * SEC), 0);
		wv_call_destroy(calls[i]);
	}
	free(audio);
	free(seen);
	free(calls);
}

static void test_call_create_rejects_bad_config(void **state)
{
	struct wv_call_config cfg;
	struct wv_call *c = (struct wv_call *)1;

	(void)state;
	wv_call_config_default(&cfg);
	cfg.capture_rate = 4000;
	assert_int_equal(wv_call_create(&c, &cfg), WV_ERR_RATE);
	assert_null(c);
	wv_call_config_default(&cfg);
	cfg.max_queued_audio = 0;
	assert_int_equal(wv_call_create(&c, &cfg), WV_ERR_INVALID);
	assert_string_equal(wv_status_name(WV_STATUS_CONNECTED), "connected");
	assert_string_equal(wv_end_reason_name(WV_END_REMOTE_STOP),
			    "remote-stop");
	assert_string_equal(wv_closed_by_name(WV_CLOSED_BY_NONE), "none");
	assert_string_equal(wv_closed_by_name(WV_CLOSED_BY_CLIENT), "client");
	assert_string_equal(wv_closed_by_name(WV_CLOSED_BY_SERVER), "server");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_call_starts_idle_and_queues_start_on_open),
		T(test_call_server_start_confirms_and_reports_id),
		T(test_call_second_start_is_reported_and_ignored),
		T(test_call_elapsed_follows_injected_clock),
		T(test_call_hangup_queues_stop_then_closes),
		T(test_call_hangup_before_open_sends_nothing),
		T(test_call_server_stop_ends_call),
		T(test_call_server_stop_plays_out_the_last_words),
		T(test_call_last_words_are_bounded),
		T(test_call_last_words_outlive_the_socket),
		T(test_call_hangup_cuts_the_last_words),
		T(test_call_stop_with_nothing_to_play_ends_at_once),
		T(test_call_close_ends_call_with_code_and_reason),
		T(test_call_transport_error_ends_call_as_error),
		T(test_call_dtmf_is_validated_and_queued),
		T(test_call_audio_flows_only_after_open),
		T(test_call_mute_sends_silence_frames),
		T(test_call_mark_answered_after_its_audio_plays),
		T(test_call_clear_drops_audio_and_pending_marks),
		T(test_call_mark_before_start_is_reported_and_answered),
		T(test_call_bad_frames_are_reported_and_ignored),
		T(test_call_unknown_event_reaches_application),
		T(test_call_start_timeout_ends_call),
		T(test_call_send_queue_drops_audio_not_control),
		T(test_call_long_mark_id_round_trips),
		T(test_call_events_are_traced_both_ways),
		cmocka_unit_test(test_call_one_loop_drives_a_thousand_calls),
		cmocka_unit_test(test_call_create_rejects_bad_config),
		cmocka_unit_test(test_call_last_words_can_be_turned_off),
		cmocka_unit_test(test_call_remote_playout_gets_audio_marks_and_clears),
		cmocka_unit_test(test_call_remote_playout_plays_out_the_last_words),
		cmocka_unit_test(test_call_remote_playout_calls_are_checked),
		cmocka_unit_test(test_call_overflow_is_reported_once_per_episode),
		cmocka_unit_test(test_call_mark_ids_in_messages_are_escaped),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
