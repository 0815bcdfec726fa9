/*
 * Caller scripts: loading and checking them (every problem named with the
 * file, the step and what is wrong), and running them on a fake clock with
 * synthetic played-out audio, where every moment is exact to the sample.
 * Clips are 8 kHz WAV files written here, so what is spoken is known.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sndfile.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wvoice/error.h>

#include "callscript.h"
#include "scratch.h"

#define T0 1000000 /* the run starts here, in us */
#define US 125	   /* one sample at 8 kHz */
#define BEEP 1000  /* samples in beep.wav */
#define BLIP 100   /* samples in blip.wav */
#define LOUD 5000  /* a played sample the run hears as the agent */

static char dir[64];

/* A sample of the test clips: never silent, different at each place. */
static short clip_sample(size_t i)
{
	return (short)(2000 + (int)(i % 97) * 10);
}

static void write_clip(const char *name, size_t n)
{
	SF_INFO info = {.samplerate = 8000, .channels = 1,
			.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
	char path[128];
	short pcm[BEEP];
	SNDFILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = sf_open(path, SFM_WRITE, &info);
	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		pcm[i] = clip_sample(i);
	assert_int_equal(sf_write_short(f, pcm, (sf_count_t)n), n);
	assert_int_equal(sf_close(f), 0);
}

static void write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	(void)state;
	if (scratch_make(dir, sizeof dir, "callscript") < 0)
		return -1;
	write_clip("beep.wav", BEEP);
	write_clip("blip.wav", BLIP);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove(dir);
}

static struct cli_callscript *parse_ok(const char *json)
{
	struct cli_callscript *s = NULL;
	char err[2048] = "";
	int rc = cli_callscript_parse(&s, "t.json", json, strlen(json), dir,
				      err, sizeof err);

	if (rc != 0)
		fail_msg("%s: %d %s", json, rc, err);
	assert_non_null(s);
	return s;
}

/* ---- loading and checking ---- */

static void test_callscript_parses_every_kind_of_step(void **state)
{
	struct cli_callscript *s;
	static const char *const names[] = {
		"say", "say", "say", "silence", "dtmf", "wait_mark",
		"wait_mark", "wait_agent_speech", "wait_agent_quiet", "mute",
		"unmute", "barge_in", "hangup",
	};

	(void)state;
	s = parse_ok("{\"steps\": ["
		     "{\"say\": \"beep.wav\"},"
		     "{\"say\": {\"file\": \"blip.wav\"}},"
		     "{\"say\": {\"text\": \"hello\"}, \"timeout_ms\": 500},"
		     "{\"silence\": 0},"
		     "{\"dtmf\": \"0123456789*#\"},"
		     "{\"wait_mark\": \"menu\", \"timeout_ms\": 1},"
		     "{\"wait_mark\": true},"
		     "{\"wait_agent_speech\": true},"
		     "{\"wait_agent_quiet\": 800, \"timeout_ms\": 3600000},"
		     "{\"mute\": true}, {\"unmute\": true},"
		     "{\"barge_in\": \"blip.wav\"},"
		     "{\"hangup\": true}]}");
	assert_int_equal(cli_callscript_steps(s), 13);
	for (size_t i = 0; i < 13; i++)
		assert_string_equal(cli_callscript_step_name(s, i), names[i]);
	assert_null(cli_callscript_step_name(s, 13));
	cli_callscript_destroy(s);
	s = parse_ok("[]");
	assert_int_equal(cli_callscript_steps(s), 0);
	cli_callscript_destroy(s);
}

struct bad_case {
	const char *json;
	int code;
	const char *want; /* the whole message after "t.json: " */
};

static const struct bad_case bad_cases[] = {
	{"[{\"say\": \"hi\"},", WV_ERR_JSON, "line 1, column "},
	{"3", WV_ERR_INVALID,
	 "a script is an array of steps or {\"steps\": [...]}, not a whole "
	 "number"},
	{"{\"steps\": 1}", WV_ERR_INVALID, "\"steps\" must be an array, not a "
					   "whole number"},
	{"{\"step\": []}", WV_ERR_INVALID,
	 "unknown key \"step\" (a script object has only \"steps\")\n"
	 "t.json: no \"steps\""},
	{"[1]", WV_ERR_INVALID,
	 "step 1: must be an object such as {\"say\": \"hello\"}, not a whole "
	 "number"},
	{"[{}]", WV_ERR_INVALID,
	 "step 1: no action (one of say, silence, dtmf, wait_mark, "
	 "wait_agent_speech, wait_agent_quiet, mute, unmute, barge_in, "
	 "hangup)"},
	{"[{\"sya\": \"hi\"}]", WV_ERR_INVALID,
	 "step 1: unknown key \"sya\" (a step is one of say, silence, dtmf, "
	 "wait_mark, wait_agent_speech, wait_agent_quiet, mute, unmute, "
	 "barge_in, hangup)"},
	{"[{\"say\": \"hi\", \"dtmf\": \"1\"}]", WV_ERR_INVALID,
	 "step 1: both \"say\" and \"dtmf\": one action per step"},
	{"[{\"say\": \"\"}]", WV_ERR_INVALID, "step 1: \"say\": the text is "
					      "empty"},
	{"[{\"say\": \" \\n\"}]", WV_ERR_INVALID,
	 "step 1: \"say\": the text is only white space"},
	{"[{\"say\": 5}]", WV_ERR_INVALID,
	 "step 1: \"say\": must be the text to speak, a .wav file, "
	 "{\"text\": T} or {\"file\": F}, not a whole number"},
	{"[{\"say\": {\"file\": \"beep.wav\", \"text\": \"x\"}}]",
	 WV_ERR_INVALID,
	 "step 1: \"say\": both \"file\" and \"text\": one or the other"},
	{"[{\"say\": {}}]", WV_ERR_INVALID,
	 "step 1: \"say\": neither \"file\" nor \"text\""},
	{"[{\"say\": {\"fil\": \"beep.wav\"}}]", WV_ERR_INVALID,
	 "step 1: \"say\": unknown key \"fil\" (\"file\" or \"text\")"},
	{"[{\"say\": {\"file\": 1}}]", WV_ERR_INVALID,
	 "step 1: \"say\": must be a file name, not a whole number"},
	{"[{\"say\": {\"file\": \"\"}}]", WV_ERR_INVALID,
	 "step 1: \"say\": the file name is empty"},
	{"[{\"barge_in\": null}]", WV_ERR_INVALID,
	 "step 1: \"barge_in\": must be the text to speak, a .wav file, "
	 "{\"text\": T} or {\"file\": F}, not null"},
	{"[{\"silence\": -1}]", WV_ERR_INVALID,
	 "step 1: \"silence\": -1 ms is out of range (0 to 3600000)"},
	{"[{\"silence\": 1.5}]", WV_ERR_INVALID,
	 "step 1: \"silence\": must be a whole number of milliseconds, not a "
	 "number with a fraction or an exponent"},
	{"[{\"silence\": 100, \"timeout_ms\": 5}]", WV_ERR_INVALID,
	 "step 1: \"timeout_ms\" on a \"silence\" step: only steps that wait "
	 "or speak (say, wait_mark, wait_agent_speech, wait_agent_quiet, "
	 "barge_in) time out"},
	{"[{\"dtmf\": \"\"}]", WV_ERR_INVALID, "step 1: \"dtmf\": no digits"},
	{"[{\"dtmf\": \"1x\"}]", WV_ERR_INVALID,
	 "step 1: \"dtmf\": 'x' is not a DTMF digit (0-9, * or #)"},
	{"[{\"dtmf\": 5}]", WV_ERR_INVALID,
	 "step 1: \"dtmf\": must be the digits to send (0-9, * or #), not a "
	 "whole number"},
	{"[{\"wait_mark\": false}]", WV_ERR_INVALID,
	 "step 1: \"wait_mark\": must be a mark name, or true for any mark, "
	 "not false"},
	{"[{\"wait_mark\": \"m\", \"timeout_ms\": 0}]", WV_ERR_INVALID,
	 "step 1: \"timeout_ms\": 0 ms is out of range (1 to 3600000)"},
	{"[{\"wait_agent_speech\": 1}]", WV_ERR_INVALID,
	 "step 1: \"wait_agent_speech\": must be true, not a whole number"},
	{"[{\"wait_agent_quiet\": 0}]", WV_ERR_INVALID,
	 "step 1: \"wait_agent_quiet\": 0 ms is out of range (1 to 3600000)"},
	{"[{\"wait_agent_quiet\": true}]", WV_ERR_INVALID,
	 "step 1: \"wait_agent_quiet\": must be a whole number of "
	 "milliseconds, not true"},
	{"[{\"mute\": false}]", WV_ERR_INVALID,
	 "step 1: \"mute\": must be true, not false"},
	{"[{\"unmute\": \"yes\"}]", WV_ERR_INVALID,
	 "step 1: \"unmute\": must be true, not a string"},
	{"[{\"hangup\": true, \"timeout_ms\": 10}]", WV_ERR_INVALID,
	 "step 1: \"timeout_ms\" on a \"hangup\" step: only steps that wait "
	 "or speak (say, wait_mark, wait_agent_speech, wait_agent_quiet, "
	 "barge_in) time out"},
	{"[{\"hangup\": true}, {\"mute\": true}, {\"unmute\": true}]",
	 WV_ERR_INVALID,
	 "step 2: comes after the \"hangup\" at step 1, so it and any step "
	 "after it could never run"},
	{"{\"steps\": [], \"x\": 1}", WV_ERR_INVALID,
	 "unknown key \"x\" (a script object has only \"steps\")"},
};

static void test_callscript_refuses_each_problem_by_name(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *c = &bad_cases[i];
		struct cli_callscript *s = (void *)1;
		char err[2048], want[1024];
		int rc = cli_callscript_parse(&s, "t.json", c->json,
					      strlen(c->json), dir, err,
					      sizeof err);

		snprintf(want, sizeof want, "t.json: %s", c->want);
		if (rc != c->code ||
		    strncmp(err, want, strlen(want)) != 0 ||
		    (c->code != WV_ERR_JSON && strcmp(err, want) != 0))
			fail_msg("case %zu %s: got %d \"%s\", want %d \"%s\"",
				 i, c->json, rc, err, c->code, want);
		assert_null(s);
	}
}

/* What a run of s says in its first 20 ms: whether any of it is loud. */
static bool first_frame_speaks(const struct cli_callscript *s)
{
	struct cli_callscript_run r;
	float out[160];
	bool loud = false;

	cli_callscript_run_init(&r, s, NULL, T0);
	cli_callscript_speak(&r, out, 160, T0);
	for (size_t i = 0; i < 160; i++)
		loud |= out[i] != 0.0f;
	return loud;
}

/* cli_callscript_check(): the same answers as parse, WAV files loaded,
   speech left silent. */
static void test_callscript_check_is_parse_without_speech(void **state)
{
	static const char *const good[] = {
		"[{\"say\": \"hello there\"}]",
		"[{\"say\": \"beep.wav\"}]",
	};
	struct cli_callscript *p, *c;

	(void)state;
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const char *json = bad_cases[i].json;
		char perr[2048], cerr[2048];
		int prc = cli_callscript_parse(&p, "t.json", json, strlen(json),
					       dir, perr, sizeof perr);
		int crc = cli_callscript_check(&c, "t.json", json, strlen(json),
					       dir, cerr, sizeof cerr);

		assert_int_equal(crc, prc);
		assert_string_equal(cerr, perr);
		assert_null(c);
		cli_callscript_destroy(p);
	}
	for (size_t i = 0; i < 2; i++) {
		char err[256];

		p = parse_ok(good[i]);
		assert_int_equal(cli_callscript_check(&c, "t.json", good[i],
						      strlen(good[i]), dir, err,
						      sizeof err),
				 0);
		assert_int_equal(cli_callscript_steps(c), 1);
		assert_true(first_frame_speaks(p));
		/* Text is not rendered; a file is loaded all the same. */
		assert_int_equal(first_frame_speaks(c), i == 1);
		cli_callscript_destroy(c);
		cli_callscript_destroy(p);
	}
}

static void test_callscript_a_missing_wav_is_named_with_its_path(void **state)
{
	struct cli_callscript *s;
	char err[1024], want[128];
	const char *json = "[{\"say\": \"gone.wav\"}]";
	int rc = cli_callscript_parse(&s, "t.json", json, strlen(json), dir,
				      err, sizeof err);

	(void)state;
	assert_true(rc < 0);
	snprintf(want, sizeof want, "t.json: step 1: \"say\": %s/gone.wav",
		 dir);
	assert_memory_equal(err, want, strlen(want));
	assert_null(strchr(err, '\n'));
}

static void test_callscript_reports_every_problem_in_step_order(void **state)
{
	struct cli_callscript *s;
	char err[4096];
	const char *json = "[{\"dtmf\": \"x\"}, {\"say\": \"beep.wav\"},"
			   "{\"sya\": 1}, {\"silence\": 10},"
			   "{\"wait_agent_quiet\": -3}]";
	int rc = cli_callscript_parse(&s, "ivr.json", json, strlen(json), dir,
				      err, sizeof err);

	(void)state;
	assert_int_equal(rc, WV_ERR_INVALID);
	assert_string_equal(
		err,
		"ivr.json: step 1: \"dtmf\": 'x' is not a DTMF digit (0-9, * "
		"or #)\n"
		"ivr.json: step 3: unknown key \"sya\" (a step is one of say, "
		"silence, dtmf, wait_mark, wait_agent_speech, wait_agent_quiet, "
		"mute, unmute, barge_in, hangup)\n"
		"ivr.json: step 5: \"wait_agent_quiet\": -3 ms is out of range "
		"(1 to 3600000)");
}

static void test_callscript_past_twenty_problems_the_rest_are_counted(
	void **state)
{
	struct cli_callscript *s;
	char json[1024] = "[", err[8192];
	const char *last;
	size_t lines = 0;
	int rc;

	(void)state;
	for (int i = 0; i < 23; i++)
		strcat(json, i ? ",{\"silence\": -1}" : "{\"silence\": -1}");
	strcat(json, "]");
	rc = cli_callscript_parse(&s, "many.json", json, strlen(json), NULL,
				  err, sizeof err);
	assert_int_equal(rc, WV_ERR_INVALID);
	for (const char *p = err; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 20);
	last = strrchr(err, '\n') + 1;
	assert_string_equal(last, "many.json: ... and 3 more problems");
	assert_non_null(strstr(err, "many.json: step 20: \"silence\": -1 ms"));
}

static void test_callscript_load_resolves_files_from_the_script(void **state)
{
	struct cli_callscript *s = NULL;
	char path[128], err[1024] = "";

	(void)state;
	write_file("ivr.json", "[{\"say\": \"beep.wav\"}, {\"hangup\": true}]");
	snprintf(path, sizeof path, "%s/ivr.json", dir);
	assert_int_equal(cli_callscript_load(&s, path, err, sizeof err), 0);
	assert_int_equal(cli_callscript_steps(s), 2);
	cli_callscript_destroy(s);

	write_file("bad.json", "[{\"hangup\": 1}]");
	snprintf(path, sizeof path, "%s/bad.json", dir);
	assert_int_equal(cli_callscript_load(&s, path, err, sizeof err),
			 WV_ERR_INVALID);
	assert_null(s);
	assert_non_null(strstr(err, "bad.json: step 1: \"hangup\": must be "
				    "true, not a whole number"));
	assert_memory_equal(err, path, strlen(path));

	snprintf(path, sizeof path, "%s/none.json", dir);
	assert_int_equal(cli_callscript_load(&s, path, err, sizeof err),
			 WV_ERR_INVALID);
	assert_non_null(strstr(err, "none.json: cannot open: "));
}

static void test_callscript_load_refuses_a_huge_file(void **state)
{
	struct cli_callscript *s = NULL;
	char path[128], err[512];
	FILE *f;

	(void)state;
	snprintf(path, sizeof path, "%s/huge.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputc('[', f);
	for (int i = 0; i < CLI_CALLSCRIPT_MAX_BYTES; i++)
		fputc(' ', f);
	fputc(']', f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(cli_callscript_load(&s, path, err, sizeof err),
			 WV_ERR_TOO_LARGE);
	assert_null(s);
}

static void test_callscript_from_wav_is_one_say(void **state)
{
	struct cli_callscript *s = NULL;
	char path[128], err[512];

	(void)state;
	snprintf(path, sizeof path, "%s/beep.wav", dir);
	assert_int_equal(cli_callscript_from_wav(&s, path, err, sizeof err), 0);
	assert_int_equal(cli_callscript_steps(s), 1);
	assert_string_equal(cli_callscript_step_name(s, 0), "say");
	cli_callscript_destroy(s);
	snprintf(path, sizeof path, "%s/gone.wav", dir);
	assert_true(cli_callscript_from_wav(&s, path, err, sizeof err) < 0);
	assert_null(s);
	assert_non_null(strstr(err, "gone.wav"));
}

/* ---- running on a fake clock ---- */

#define MAX_LOG 64

struct seen {
	enum cli_moment m; /* or -1: a step began */
	int64_t t;
	size_t step;
};

/* What the run said, and a played-out tape of the agent. */
struct rig {
	struct cli_callscript *s;
	struct cli_callscript_run r;
	struct seen log[MAX_LOG];
	size_t n_log;
	int16_t tape[8000 * 12]; /* 12 s of the agent, from T0 */
	float out[8000 * 12];	 /* what the caller said, from T0 */
	char actions[32];	/* d<digit>, m, u, h */
	size_t n_actions;
	int64_t t; /* where the fake clock is */
};

static void on_moment(void *user, enum cli_moment m, int64_t t_us,
		      size_t step)
{
	struct rig *g = user;

	assert_true(g->n_log < MAX_LOG);
	g->log[g->n_log++] = (struct seen){m, t_us, step};
}

static void on_step(void *user, size_t step, int64_t t_us)
{
	struct rig *g = user;

	assert_true(g->n_log < MAX_LOG);
	g->log[g->n_log++] = (struct seen){(enum cli_moment)-1, t_us, step};
}

static struct rig *rig_new(const char *json)
{
	struct rig *g = calloc(1, sizeof *g);
	struct cli_callscript_hooks hooks = {.moment = on_moment, .user = g,
					     .step = on_step};

	assert_non_null(g);
	g->s = parse_ok(json);
	g->t = T0;
	cli_callscript_run_init(&g->r, g->s, &hooks, T0);
	return g;
}

static void rig_free(struct rig *g)
{
	cli_callscript_destroy(g->s);
	free(g);
}

/* The agent is loud on the tape from sample from to sample to. */
static void agent_loud(struct rig *g, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		g->tape[i] = (int16_t)(i % 2 ? LOUD : -LOUD);
}

/* Runs the call for ms, in blocks of n samples as a call's media clock
   does: speak, hear, then take the actions. */
static void rig_run(struct rig *g, int ms, size_t n)
{
	int64_t end = g->t + (int64_t)ms * 1000;

	while (g->t < end) {
		size_t at = (size_t)(g->t - T0) / US;
		enum cli_action a;
		char d;

		cli_callscript_speak(&g->r, g->out + at, n, g->t);
		cli_callscript_heard(&g->r, g->tape + at, n, g->t);
		g->t += (int64_t)n * US;
		while ((a = cli_callscript_next(&g->r, g->t, &d)) !=
		       CLI_ACTION_NONE) {
			assert_true(g->n_actions + 2 < sizeof g->actions);
			if (a == CLI_ACTION_DTMF)
				g->actions[g->n_actions++] = d;
			else
				g->actions[g->n_actions++] =
					a == CLI_ACTION_MUTE	 ? 'm'
					: a == CLI_ACTION_UNMUTE ? 'u'
								 : 'h';
		}
	}
}

/* The index of the first logged m at or after from, or fails. */
static size_t find(const struct rig *g, int m, size_t from)
{
	for (size_t i = from; i < g->n_log; i++)
		if ((int)g->log[i].m == m)
			return i;
	fail_msg("moment %d not logged", m);
	return 0;
}

static int64_t when(const struct rig *g, int m)
{
	return g->log[find(g, m, 0)].t;
}

static bool logged(const struct rig *g, int m)
{
	for (size_t i = 0; i < g->n_log; i++)
		if ((int)g->log[i].m == m)
			return true;
	return false;
}

/* When step began, or fails. */
static int64_t began(const struct rig *g, size_t step)
{
	for (size_t i = 0; i < g->n_log; i++)
		if ((int)g->log[i].m == -1 && g->log[i].step == step)
			return g->log[i].t;
	fail_msg("step %zu never began", step);
	return 0;
}

static void assert_spoken(const struct rig *g, size_t at, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (g->out[at + i] != (float)clip_sample(i) / 32768.0f)
			fail_msg("sample %zu of the clip, at %zu: %f", i,
				 at + i, (double)g->out[at + i]);
}

static void assert_silent(const struct rig *g, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (g->out[i] != 0.0f)
			fail_msg("sample %zu is not silence", i);
}

static void test_callscript_say_speaks_the_clip_then_silence(void **state)
{
	static const size_t blocks[] = {160, 7, 1};

	(void)state;
	for (size_t b = 0; b < 3; b++) {
		struct rig *g = rig_new("[{\"say\": \"beep.wav\"}]");

		rig_run(g, 300, blocks[b]);
		assert_spoken(g, 0, BEEP);
		assert_silent(g, BEEP, 2400);
		assert_int_equal(when(g, CLI_MOMENT_SPEECH_START), T0);
		assert_int_equal(when(g, CLI_MOMENT_SPEECH_END),
				 T0 + BEEP * US);
		assert_int_equal(when(g, CLI_MOMENT_DONE), T0 + BEEP * US);
		assert_true(cli_callscript_done(&g->r));
		rig_free(g);
	}
}

static void test_callscript_silence_then_say_starts_on_the_sample(
	void **state)
{
	struct rig *g = rig_new("[{\"silence\": 30}, {\"say\": \"blip.wav\"},"
				"{\"say\": \"blip.wav\", \"timeout_ms\": 5}]");

	(void)state;
	rig_run(g, 100, 160);
	/* 30 ms is 240 samples: mid-block. */
	assert_silent(g, 0, 240);
	assert_spoken(g, 240, BLIP);
	assert_int_equal(began(g, 1), T0 + 30000);
	assert_int_equal(when(g, CLI_MOMENT_SPEECH_START), T0 + 30000);
	/* The second is cut at 5 ms: 40 samples. */
	assert_spoken(g, 240 + BLIP, 40);
	assert_silent(g, 240 + BLIP + 40, 800);
	assert_int_equal(when(g, CLI_MOMENT_DONE),
			 T0 + (240 + BLIP + 40) * US);
	rig_free(g);
}

static void test_callscript_wait_mark_waits_for_the_played_mark(void **state)
{
	struct rig *g = rig_new("[{\"wait_mark\": \"menu\"}, {\"dtmf\": \"1\"},"
				"{\"wait_mark\": true}, {\"hangup\": true}]");

	(void)state;
	rig_run(g, 100, 160);
	cli_callscript_mark_played(&g->r, "greeting", g->t);
	rig_run(g, 100, 160);
	assert_int_equal(g->n_actions, 0);
	cli_callscript_mark_played(&g->r, "menu", g->t);
	assert_int_equal(began(g, 1), T0 + 200000);
	rig_run(g, 20, 160);
	assert_memory_equal(g->actions, "1", 1);
	assert_int_equal(g->n_actions, 1);
	/* Any mark ends the second wait. */
	rig_run(g, 100, 160);
	assert_int_equal(g->n_actions, 1);
	cli_callscript_mark_played(&g->r, "answer", g->t);
	assert_string_equal(g->r.last_mark, "answer");
	assert_int_equal(g->r.mark_count, 3);
	rig_run(g, 20, 160);
	assert_memory_equal(g->actions, "1h", 2);
	assert_true(g->r.hung_up);
	assert_true(cli_callscript_done(&g->r));
	assert_false(logged(g, CLI_MOMENT_TIMEOUT));
	rig_free(g);
}

static void test_callscript_a_mark_before_the_wait_does_not_count(
	void **state)
{
	struct rig *g = rig_new("[{\"say\": \"beep.wav\"},"
				"{\"wait_mark\": \"menu\", \"timeout_ms\": 500}]");

	(void)state;
	rig_run(g, 60, 160);
	cli_callscript_mark_played(&g->r, "menu", g->t); /* mid-say */
	rig_run(g, 1000, 160);
	assert_int_equal(when(g, CLI_MOMENT_TIMEOUT),
			 T0 + BEEP * US + 500000);
	rig_free(g);
}

static void test_callscript_wait_agent_speech_ends_on_the_first_loud_sample(
	void **state)
{
	struct rig *g = rig_new("[{\"wait_agent_speech\": true},"
				"{\"say\": \"blip.wav\"}]");

	(void)state;
	agent_loud(g, 837, 2000); /* 104.625 ms: mid-block */
	rig_run(g, 500, 160);
	assert_int_equal(when(g, CLI_MOMENT_AGENT_START), T0 + 837 * US);
	assert_int_equal(began(g, 1), T0 + 837 * US);
	/* Spoken from the next block the caller sends. */
	assert_int_equal(when(g, CLI_MOMENT_SPEECH_START), T0 + 960 * US);
	assert_spoken(g, 960, BLIP);
	assert_int_equal(when(g, CLI_MOMENT_AGENT_QUIET), T0 + 2000 * US);
	rig_free(g);
}

static void test_callscript_wait_agent_quiet_after_the_answer(void **state)
{
	struct rig *g = rig_new("[{\"dtmf\": \"5\"},"
				"{\"wait_agent_quiet\": 300},"
				"{\"hangup\": true}]");

	(void)state;
	/* Heard before the digit: not the answer. Then the answer, with a
	   pause shorter than 300 ms in it. */
	agent_loud(g, 0, 100);
	agent_loud(g, 1600, 2400);
	agent_loud(g, 3000, 4000); /* 75 ms after 2400 */
	rig_run(g, 1500, 160);
	assert_memory_equal(g->actions, "5h", 2);
	/* The digit went at the end of the first block (20 ms); the answer
	   ended at 4000 samples (500 ms), quiet 300 ms later. */
	assert_int_equal(began(g, 1), T0 + 20000);
	assert_int_equal(began(g, 2), T0 + 4000 * US + 300000);
	rig_free(g);
}

static void test_callscript_wait_agent_quiet_needs_the_agent_heard(
	void **state)
{
	struct rig *g = rig_new("[{\"dtmf\": \"5\"},"
				"{\"wait_agent_quiet\": 100, \"timeout_ms\": 400},"
				"{\"mute\": true}]");

	(void)state;
	agent_loud(g, 0, 80); /* before the digit */
	rig_run(g, 1000, 160);
	assert_int_equal(when(g, CLI_MOMENT_TIMEOUT), T0 + 20000 + 400000);
	assert_int_equal(g->log[find(g, CLI_MOMENT_TIMEOUT, 0)].step, 1);
	assert_memory_equal(g->actions, "5m", 2);
	rig_free(g);
}

static void test_callscript_barge_in_speaks_over_the_agent(void **state)
{
	struct rig *g = rig_new("[{\"barge_in\": \"blip.wav\"},"
				"{\"wait_agent_quiet\": 200}]");

	(void)state;
	agent_loud(g, 1000, 8000);
	rig_run(g, 2000, 160);
	assert_silent(g, 0, 1120);
	assert_spoken(g, 1120, BLIP);
	assert_int_equal(when(g, CLI_MOMENT_BARGE_IN), T0 + 1120 * US);
	assert_int_equal(when(g, CLI_MOMENT_SPEECH_START), T0 + 1120 * US);
	assert_int_equal(when(g, CLI_MOMENT_SPEECH_END),
			 T0 + (1120 + BLIP) * US);
	/* The agent went on talking after the barge-in: heard since. */
	assert_int_equal(when(g, CLI_MOMENT_DONE), T0 + 8000 * US + 200000);
	rig_free(g);
}

static void test_callscript_barge_in_times_out_unspoken(void **state)
{
	struct rig *g = rig_new("[{\"barge_in\": \"blip.wav\", \"timeout_ms\": "
				"250}, {\"dtmf\": \"#\"}]");

	(void)state;
	rig_run(g, 500, 160);
	assert_int_equal(when(g, CLI_MOMENT_TIMEOUT), T0 + 250000);
	assert_false(logged(g, CLI_MOMENT_SPEECH_START));
	assert_silent(g, 0, 4000);
	assert_memory_equal(g->actions, "#", 1);
	rig_free(g);
}

static void test_callscript_timeouts_are_reported_and_it_goes_on(
	void **state)
{
	struct rig *g = rig_new("[{\"wait_mark\": \"x\", \"timeout_ms\": 100},"
				"{\"wait_agent_speech\": true, \"timeout_ms\": "
				"150},"
				"{\"wait_mark\": true},"
				"{\"say\": \"blip.wav\"}]");
	size_t i;

	(void)state;
	rig_run(g, 10500, 160);
	i = find(g, CLI_MOMENT_TIMEOUT, 0);
	assert_int_equal(g->log[i].t, T0 + 100000);
	assert_int_equal(g->log[i].step, 0);
	i = find(g, CLI_MOMENT_TIMEOUT, i + 1);
	assert_int_equal(g->log[i].t, T0 + 250000);
	assert_int_equal(g->log[i].step, 1);
	i = find(g, CLI_MOMENT_TIMEOUT, i + 1);
	assert_int_equal(g->log[i].t,
			 T0 + 250000 + CLI_CALLSCRIPT_TIMEOUT_MS * 1000LL);
	assert_int_equal(g->log[i].step, 2);
	assert_int_equal(when(g, CLI_MOMENT_SPEECH_START),
			 T0 + 250000 + CLI_CALLSCRIPT_TIMEOUT_MS * 1000LL);
	rig_free(g);
}

static void test_callscript_actions_come_in_order(void **state)
{
	struct rig *g = rig_new("[{\"dtmf\": \"12#\"}, {\"mute\": true},"
				"{\"say\": \"blip.wav\"}, {\"unmute\": true},"
				"{\"hangup\": true}]");
	char d = 0;

	(void)state;
	/* All at once, when asked. */
	assert_int_equal(cli_callscript_next(&g->r, T0, &d), CLI_ACTION_DTMF);
	assert_int_equal(d, '1');
	assert_int_equal(cli_callscript_next(&g->r, T0, &d), CLI_ACTION_DTMF);
	assert_int_equal(d, '2');
	assert_int_equal(cli_callscript_next(&g->r, T0, &d), CLI_ACTION_DTMF);
	assert_int_equal(d, '#');
	assert_int_equal(cli_callscript_next(&g->r, T0, &d), CLI_ACTION_MUTE);
	/* The say holds the unmute until it has been spoken. */
	assert_int_equal(cli_callscript_next(&g->r, T0, &d), CLI_ACTION_NONE);
	rig_run(g, 40, 160);
	assert_memory_equal(g->actions, "uh", 2);
	assert_int_equal(g->n_actions, 2);
	assert_true(cli_callscript_done(&g->r));
	assert_int_equal(cli_callscript_next(&g->r, g->t, &d), CLI_ACTION_NONE);
	rig_free(g);
}

static void test_callscript_moments_are_the_same_in_any_block_size(
	void **state)
{
	const char *json = "[{\"silence\": 13}, {\"say\": \"blip.wav\"},"
			   "{\"wait_agent_speech\": true},"
			   "{\"wait_agent_quiet\": 50},"
			   "{\"barge_in\": \"beep.wav\"}]";
	struct rig *a = rig_new(json), *b = rig_new(json);

	(void)state;
	agent_loud(a, 3001, 5003);
	agent_loud(a, 5500, 9000);
	memcpy(b->tape, a->tape, sizeof a->tape);
	rig_run(a, 2000, 160);
	rig_run(b, 2000, 3);
	assert_int_equal(a->n_log, b->n_log);
	for (size_t i = 0; i < a->n_log; i++) {
		const struct seen *x = &a->log[i], *y = &b->log[i];

		assert_int_equal(x->m, y->m);
		assert_int_equal(x->step, y->step);
		/* Except that a barge-in speaks from the next block sent
		   after the agent is heard. */
		if (x->step < 4 || x->m == CLI_MOMENT_AGENT_START ||
		    x->m == CLI_MOMENT_AGENT_QUIET || (int)x->m == -1)
			assert_int_equal(x->t, y->t);
	}
	assert_int_equal(began(a, 1), T0 + 13000);
	assert_int_equal(began(a, 2), T0 + (104 + BLIP) * US);
	assert_int_equal(began(a, 3), T0 + 3001 * US);
	assert_int_equal(began(a, 4), T0 + 5003 * US + 50000);
	assert_int_equal(when(a, CLI_MOMENT_AGENT_START), T0 + 3001 * US);
	/* The 62 ms gap is no quiet at CLI_QUIET_MS. */
	assert_int_equal(when(a, CLI_MOMENT_AGENT_QUIET), T0 + 9000 * US);
	assert_int_equal(when(a, CLI_MOMENT_BARGE_IN), T0 + 5600 * US);
	assert_int_equal(when(b, CLI_MOMENT_BARGE_IN), T0 + 5502 * US);
	rig_free(a);
	rig_free(b);
}

static void test_callscript_an_empty_script_is_done_at_once(void **state)
{
	struct rig *g = rig_new("[]");

	(void)state;
	assert_true(cli_callscript_done(&g->r));
	assert_int_equal(when(g, CLI_MOMENT_DONE), T0);
	rig_run(g, 40, 160);
	assert_silent(g, 0, 320);
	rig_free(g);
}

static void test_callscript_a_run_not_started_is_silent(void **state)
{
	struct cli_callscript_run r = {0};
	float out[160];
	int16_t in[160] = {LOUD};
	char d;

	(void)state;
	memset(out, 0x7f, sizeof out);
	cli_callscript_speak(&r, out, 160, 0);
	cli_callscript_heard(&r, in, 160, 0);
	cli_callscript_mark_played(&r, "m", 0);
	for (size_t i = 0; i < 160; i++)
		assert_true(out[i] == 0.0f);
	assert_int_equal(cli_callscript_next(&r, 0, &d), CLI_ACTION_NONE);
	assert_false(cli_callscript_done(&r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_callscript_parses_every_kind_of_step),
		cmocka_unit_test(test_callscript_refuses_each_problem_by_name),
		cmocka_unit_test(test_callscript_check_is_parse_without_speech),
		cmocka_unit_test(
			test_callscript_a_missing_wav_is_named_with_its_path),
		cmocka_unit_test(
			test_callscript_reports_every_problem_in_step_order),
		cmocka_unit_test(
			test_callscript_past_twenty_problems_the_rest_are_counted),
		cmocka_unit_test(
			test_callscript_load_resolves_files_from_the_script),
		cmocka_unit_test(test_callscript_load_refuses_a_huge_file),
		cmocka_unit_test(test_callscript_from_wav_is_one_say),
		cmocka_unit_test(
			test_callscript_say_speaks_the_clip_then_silence),
		cmocka_unit_test(
			test_callscript_silence_then_say_starts_on_the_sample),
		cmocka_unit_test(
			test_callscript_wait_mark_waits_for_the_played_mark),
		cmocka_unit_test(
			test_callscript_a_mark_before_the_wait_does_not_count),
		cmocka_unit_test(
			test_callscript_wait_agent_speech_ends_on_the_first_loud_sample),
		cmocka_unit_test(
			test_callscript_wait_agent_quiet_after_the_answer),
		cmocka_unit_test(
			test_callscript_wait_agent_quiet_needs_the_agent_heard),
		cmocka_unit_test(test_callscript_barge_in_speaks_over_the_agent),
		cmocka_unit_test(test_callscript_barge_in_times_out_unspoken),
		cmocka_unit_test(
			test_callscript_timeouts_are_reported_and_it_goes_on),
		cmocka_unit_test(test_callscript_actions_come_in_order),
		cmocka_unit_test(
			test_callscript_moments_are_the_same_in_any_block_size),
		cmocka_unit_test(test_callscript_an_empty_script_is_done_at_once),
		cmocka_unit_test(test_callscript_a_run_not_started_is_silent),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
