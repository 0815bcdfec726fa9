/*
 * The --events log: events written and the file read back, line for line,
 * against lines written out by hand. Events come both made by hand and
 * decoded from frames by the library's decoder, as the call core passes
 * them on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <wvoice/call.h>
#include <wvoice/error.h>
#include <wvoice/protocol.h>

#include "events.h"
#include "scratch.h"

struct fx {
	char dir[64];
	char path[96];
	struct cli_events *log;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	if (!f || scratch_make(f->dir, sizeof f->dir, "events") < 0) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof f->path, "%s/call.jsonl", f->dir);
	if (cli_events_open(&f->log, f->path, NULL, 0) < 0) {
		scratch_remove(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int rc;

	cli_events_close(f->log, NULL, 0);
	rc = scratch_remove(f->dir);
	free(f);
	return rc;
}

/* The file as it is on disk now. */
static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	static char buf[1 << 17];
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

/* ---- Events made by hand ---- */

struct line_case {
	int64_t t_us;
	enum wv_direction dir;
	struct wv_event ev;
	const char *line;
};

static const uint8_t two[2] = { 0xff, 0x7f };

static const struct line_case line_cases[] = {
	{ 0, WV_DIR_OUT, { .type = WV_EVENT_START, .name = "start" },
	  "{\"t\":0.000,\"dir\":\"out\",\"event\":\"start\"}" },
	{ 12345, WV_DIR_IN,
	  { .type = WV_EVENT_START, .name = "start",
	    .communication_id = "c-1" },
	  "{\"t\":0.012,\"dir\":\"in\",\"event\":\"start\","
	  "\"communication_id\":\"c-1\"}" },
	{ 20000, WV_DIR_OUT,
	  { .type = WV_EVENT_AUDIO, .name = "audio", .audio_len = 160 },
	  "{\"t\":0.020,\"dir\":\"out\",\"event\":\"audio\",\"bytes\":160}" },
	{ 1234567, WV_DIR_IN,
	  { .type = WV_EVENT_AUDIO, .name = "audio", .audio = two,
	    .audio_len = 2 },
	  "{\"t\":1.235,\"dir\":\"in\",\"event\":\"audio\",\"bytes\":2}" },
	{ 1480000, WV_DIR_IN,
	  { .type = WV_EVENT_MARK, .name = "mark", .mark = "m\"1\\" },
	  "{\"t\":1.480,\"dir\":\"in\",\"event\":\"mark\","
	  "\"mark\":\"m\\\"1\\\\\"}" },
	{ 1500000, WV_DIR_OUT,
	  { .type = WV_EVENT_MARK, .name = "mark", .mark = "" },
	  "{\"t\":1.500,\"dir\":\"out\",\"event\":\"mark\",\"mark\":\"\"}" },
	{ 2000000, WV_DIR_OUT,
	  { .type = WV_EVENT_DTMF, .name = "dtmf", .dtmf = '#' },
	  "{\"t\":2.000,\"dir\":\"out\",\"event\":\"dtmf\",\"dtmf\":\"#\"}" },
	{ 3000000, WV_DIR_IN, { .type = WV_EVENT_CLEAR, .name = "clear" },
	  "{\"t\":3.000,\"dir\":\"in\",\"event\":\"clear\"}" },
	{ 3600000000LL, WV_DIR_IN, { .type = WV_EVENT_STOP, .name = "stop" },
	  "{\"t\":3600.000,\"dir\":\"in\",\"event\":\"stop\"}" },
	/* Before the socket opened: 0, not a negative time. */
	{ -5000, WV_DIR_OUT, { .type = WV_EVENT_STOP, .name = "stop" },
	  "{\"t\":0.000,\"dir\":\"out\",\"event\":\"stop\"}" },
	/* Only start carries a communication id. */
	{ 1600000, WV_DIR_IN,
	  { .type = WV_EVENT_MARK, .name = "mark", .mark = "m",
	    .communication_id = "c-1" },
	  "{\"t\":1.600,\"dir\":\"in\",\"event\":\"mark\",\"mark\":\"m\"}" },
	/* An unknown event with no text: its name is all there is. */
	{ 4000, WV_DIR_IN, { .type = WV_EVENT_UNKNOWN, .name = "x-ping" },
	  "{\"t\":0.004,\"dir\":\"in\",\"event\":\"x-ping\"}" },
	/* A type's name when the event has none. */
	{ 5000, WV_DIR_OUT, { .type = WV_EVENT_STOP },
	  "{\"t\":0.005,\"dir\":\"out\",\"event\":\"stop\"}" },
};

static void test_events_lines_for_each_event(void **state)
{
	struct fx *f = *state;
	size_t n = sizeof line_cases / sizeof line_cases[0];
	char want[4096] = "";

	for (size_t i = 0; i < n; i++) {
		assert_int_equal(cli_events_write(f->log, line_cases[i].t_us,
						  line_cases[i].dir,
						  &line_cases[i].ev),
				 0);
		strcat(want, line_cases[i].line);
		strcat(want, "\n");
	}
	assert_string_equal(slurp(f->path), want);
}

/* ---- Events decoded from frames ---- */

struct frame_case {
	const char *frame;
	const char *line; /* after {"t":1.000,"dir":"in", */
};

static const struct frame_case frame_cases[] = {
	{ "{\"event\":\"start\",\"communication_id\":\"abc\",\"extra\":1}",
	  "\"event\":\"start\",\"communication_id\":\"abc\"}" },
	{ "{\"event\":\"audio\",\"payload\":\"//8A\"}",
	  "\"event\":\"audio\",\"bytes\":3}" },
	{ "{\"event\":\"mark\",\"mark\":\"greeting\"}",
	  "\"event\":\"mark\",\"mark\":\"greeting\"}" },
	{ "{\"event\":\"dtmf\",\"dtmf\":\"7\"}",
	  "\"event\":\"dtmf\",\"dtmf\":\"7\"}" },
	{ "{\"event\":\"x-note\",\"text\":\"hi\",\"n\":[1,2.5,null]}",
	  "\"event\":\"x-note\",\"text\":\"hi\",\"n\":[1,2.5,null]}" },
	/* Members keep their order, even with event not first. */
	{ "{\"z\":{\"b\":1,\"a\":2},\"event\":\"x\"}",
	  "\"z\":{\"b\":1,\"a\":2},\"event\":\"x\"}" },
	/* Spread over lines as received: one line in the log. */
	{ "{\n  \"event\": \"x\",\n  \"s\": \"a\\nb\"\n}",
	  "\"event\":\"x\",\"s\":\"a\\nb\"}" },
	{ "{\"event\":\"x\",\"s\":\"\xc3\xa9\"}",
	  "\"event\":\"x\",\"s\":\"\xc3\xa9\"}" },
	/* Its own t and dir would hide the log's: left out. */
	{ "{\"t\":99,\"event\":\"x\",\"dir\":\"up\",\"k\":true}",
	  "\"event\":\"x\",\"k\":true}" },
};

static void test_events_decoded_frames_logged(void **state)
{
	struct fx *f = *state;
	struct wv_decoder *d;
	char want[8192] = "";

	assert_int_equal(wv_decoder_create(&d, 0), 0);
	for (size_t i = 0; i < sizeof frame_cases / sizeof frame_cases[0];
	     i++) {
		struct wv_event ev;
		const char *fr = frame_cases[i].frame;

		print_message("%s\n", fr);
		assert_int_equal(wv_decoder_decode(d, fr, strlen(fr), &ev), 0);
		assert_int_equal(
			cli_events_write(f->log, 1000000, WV_DIR_IN, &ev), 0);
		strcat(want, "{\"t\":1.000,\"dir\":\"in\",");
		strcat(want, frame_cases[i].line);
		strcat(want, "\n");
	}
	wv_decoder_destroy(d);
	assert_string_equal(slurp(f->path), want);
}

static void test_events_long_unknown_event_whole(void **state)
{
	struct fx *f = *state;
	static char frame[WV_MESSAGE_MAX], want[WV_MESSAGE_MAX + 64];
	struct wv_decoder *d;
	struct wv_event ev;
	size_t fill = WV_MESSAGE_MAX - 64;
	int n;

	n = snprintf(frame, sizeof frame, "{\"event\":\"big\",\"s\":\"");
	memset(frame + n, 'q', fill);
	strcpy(frame + n + fill, "\"}");
	snprintf(want, sizeof want, "{\"t\":0.001,\"dir\":\"in\",%s\n",
		 frame + 1);
	assert_int_equal(wv_decoder_create(&d, 0), 0);
	assert_int_equal(wv_decoder_decode(d, frame, strlen(frame), &ev), 0);
	assert_int_equal(cli_events_write(f->log, 1000, WV_DIR_IN, &ev), 0);
	wv_decoder_destroy(d);
	assert_string_equal(slurp(f->path), want);
}

/* ---- Errors ---- */

static void test_events_error_lines(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cli_events_write_error(f->log, 2600,
						"field \"payload\": bad base64"),
			 0);
	assert_int_equal(cli_events_write_error(f->log, 3600, "bad \xff"), 0);
	assert_string_equal(
		slurp(f->path),
		"{\"t\":0.003,\"dir\":\"call\",\"event\":\"error\","
		"\"error\":\"field \\\"payload\\\": bad base64\"}\n"
		"{\"t\":0.004,\"dir\":\"call\",\"event\":\"error\","
		"\"error\":\"bad \\\\xFF\"}\n");
}

/* The end is the call's line whoever closed; a reason that is not UTF-8
   is kept, escaped. */
static void test_events_end_lines(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cli_events_write_end(f->log, 5000000, "closed", 4001,
					      "gone \xc3", WV_CLOSED_BY_SERVER,
					      NULL),
			 0);
	assert_int_equal(cli_events_write_end(f->log, 0, "error", 0, NULL,
					      WV_CLOSED_BY_NONE, NULL),
			 0);
	assert_string_equal(
		slurp(f->path),
		"{\"t\":5.000,\"dir\":\"call\",\"event\":\"end\","
		"\"reason\":\"closed\",\"close_code\":4001,"
		"\"close_reason\":\"gone \\\\xC3\",\"closed_by\":\"server\"}\n"
		"{\"t\":0.000,\"dir\":\"call\",\"event\":\"end\","
		"\"reason\":\"error\",\"close_code\":null,"
		"\"close_reason\":null,\"closed_by\":\"none\"}\n");
}

/* The log's own lines: a "playout" line with its members, and the end
   with the playout's figures after the members it always had. */
static void test_events_own_lines_and_the_end_with_more(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cli_events_write_own(f->log, 1500000, "playout",
					      json_pack("{s:i,s:i}",
							"playout_target_ms", 80,
							"playout_delay_ms", 60)),
			 0);
	assert_int_equal(cli_events_write_own(f->log, 1600000, "playout", NULL),
			 0);
	assert_int_equal(cli_events_write_end(f->log, 2000000, "hangup", 1000,
					      "", WV_CLOSED_BY_CLIENT,
					      json_pack("{s:s,s:i}", "playout",
							"fixed", "concealed_ms",
							40)),
			 0);
	assert_string_equal(
		slurp(f->path),
		"{\"t\":1.500,\"dir\":\"call\",\"event\":\"playout\","
		"\"playout_target_ms\":80,\"playout_delay_ms\":60}\n"
		"{\"t\":1.600,\"dir\":\"call\",\"event\":\"playout\"}\n"
		"{\"t\":2.000,\"dir\":\"call\",\"event\":\"end\","
		"\"reason\":\"hangup\",\"close_code\":1000,"
		"\"close_reason\":\"\",\"closed_by\":\"client\","
		"\"playout\":\"fixed\",\"concealed_ms\":40}\n");
}

/* Past its bound the log says it was truncated, once, and then only the
   end is written: the file never passes the bound (issue 13, item 5). */
static void test_events_bound_truncates_and_keeps_the_end(void **state)
{
	struct fx *f = *state;
	struct wv_event ev = { .type = WV_EVENT_MARK, .name = "mark" };
	static char id[1025], reason[124];
	const char *text, *last, *trunc;
	size_t lines = 0;

	memset(id, 'm', sizeof id - 1);
	memset(reason, 0x01, sizeof reason - 1); /* 6 bytes each in JSON */
	ev.mark = id;
	cli_events_set_max(f->log, 16384);
	for (int i = 0; i < 100; i++)
		assert_int_equal(cli_events_write(f->log, i * 1000, WV_DIR_IN,
						  &ev),
				 0);
	assert_int_equal(cli_events_write_error(f->log, 200000, "late"), 0);
	assert_int_equal(cli_events_write_own(f->log, 250000, "playout",
					      json_pack("{s:i}", "late", 1)),
			 0);
	assert_int_equal(cli_events_write_end(f->log, 300000, "closed", 4000,
					      reason, WV_CLOSED_BY_SERVER,
					      json_pack("{s:s,s:i}", "playout",
							"adaptive",
							"playout_target_ms",
							60)),
			 0);
	text = slurp(f->path);
	assert_true(strlen(text) <= 16384);
	for (const char *p = text; (p = strchr(p, '\n')); p++)
		lines++;
	trunc = strstr(text, "\"event\":\"truncated\",\"max_bytes\":16384}\n");
	assert_non_null(trunc);
	assert_null(strstr(trunc + 20, "truncated"));
	assert_null(strstr(text, "late"));
	static const char end[] = "{\"t\":0.300,\"dir\":\"call\","
				  "\"event\":\"end\",";
	last = strstr(trunc, "\n") + 1;
	assert_int_equal(strncmp(last, end, sizeof end - 1), 0);
	/* The end's own members and the playout's fit the room kept. */
	assert_non_null(strstr(last, "\"closed_by\":\"server\",\"playout\":"
				     "\"adaptive\",\"playout_target_ms\":60}\n"));
	/* 13 marks of 1 KiB in 14 KiB, the truncated line and the end. */
	assert_int_equal(lines, 13 + 2);
}

static void test_events_bound_has_a_least(void **state)
{
	struct fx *f = *state;
	struct wv_event ev = { .type = WV_EVENT_AUDIO, .name = "audio",
			       .audio_len = 160 };

	cli_events_set_max(f->log, 10);
	for (int i = 0; i < 1000; i++)
		cli_events_write(f->log, i * 20000, WV_DIR_IN, &ev);
	assert_true(strlen(slurp(f->path)) > 4096);
	assert_true(strlen(slurp(f->path)) <= CLI_EVENTS_MAX_LEAST);
}

/* Each line is on disk as soon as it is written: nothing waits for close. */
static void test_events_each_line_on_disk_at_once(void **state)
{
	struct fx *f = *state;
	struct wv_event ev = { .type = WV_EVENT_AUDIO, .name = "audio",
			       .audio_len = 160 };
	size_t lines = 0;

	for (int i = 0; i < 500; i++)
		assert_int_equal(cli_events_write(f->log, i * 20000,
						  WV_DIR_OUT, &ev),
				 0);
	for (const char *p = slurp(f->path); (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 500);
}

static void test_events_write_failure_reported_at_close(void **state)
{
	struct cli_events *log;
	struct wv_event ev = { .type = WV_EVENT_STOP, .name = "stop" };
	char err[256] = "";

	(void)state;
	if (access("/dev/full", W_OK) != 0)
		skip();
	assert_int_equal(cli_events_open(&log, "/dev/full", err, sizeof err),
			 0);
	assert_int_equal(cli_events_write(log, 0, WV_DIR_IN, &ev),
			 WV_ERR_INTERNAL);
	assert_int_equal(cli_events_write(log, 0, WV_DIR_IN, &ev),
			 WV_ERR_INTERNAL);
	assert_int_equal(cli_events_write_error(log, 0, "x"),
			 WV_ERR_INTERNAL);
	assert_int_equal(cli_events_close(log, err, sizeof err),
			 WV_ERR_INTERNAL);
	assert_string_equal(err,
			    "/dev/full: cannot write: No space left on device");
}

static void test_events_open_failure_names_the_file(void **state)
{
	struct cli_events *log = (struct cli_events *)&log;
	char err[256] = "";

	(void)state;
	assert_int_equal(cli_events_open(&log, "/nonexistent-dir/e.jsonl", err,
					 sizeof err),
			 WV_ERR_INVALID);
	assert_null(log);
	assert_string_equal(err, "/nonexistent-dir/e.jsonl: cannot create: "
				 "No such file or directory");
	assert_int_equal(cli_events_close(NULL, err, sizeof err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_events_lines_for_each_event, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_events_decoded_frames_logged, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_events_long_unknown_event_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_error_lines, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_events_own_lines_and_the_end_with_more, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_events_end_lines, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_events_bound_truncates_and_keeps_the_end, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_events_bound_has_a_least, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_events_each_line_on_disk_at_once, setup, teardown),
		cmocka_unit_test(test_events_write_failure_reported_at_close),
		cmocka_unit_test(test_events_open_failure_names_the_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
