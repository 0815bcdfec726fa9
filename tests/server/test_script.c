/*
 * Scripted agents: loading and checking scripts. Expected messages are the
 * specific phrases a script author needs to see; sound files are made here
 * with libsndfile, and `say` is rendered with the real text to speech.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <wvoice/error.h>
#include <wvoice/protocol.h>

#include "script.h"
#include "tts.h"

#define TONE_SAMPLES 4000 /* 0.5 s at 8 kHz */

/* A scratch directory with tone.wav in it and in sub/. */
struct scratch {
	char dir[64];
	char sub[96];
};

static void path_join(char *out, size_t cap, const char *dir, const char *file)
{
	int n = snprintf(out, cap, "%s/%s", dir, file);

	assert_true(n > 0 && (size_t)n < cap);
}

/* 8 kHz, 16-bit, mono: a sawtooth, so the clip is not silence. */
static void write_tone(const char *path)
{
	SF_INFO info = {.samplerate = 8000,
			.channels = 1,
			.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
	SNDFILE *f = sf_open(path, SFM_WRITE, &info);
	short pcm[TONE_SAMPLES];

	assert_non_null(f);
	for (int i = 0; i < TONE_SAMPLES; i++)
		pcm[i] = (short)((i % 40) * 400 - 8000);
	assert_int_equal(sf_write_short(f, pcm, TONE_SAMPLES), TONE_SAMPLES);
	assert_int_equal(sf_close(f), 0);
}

static void write_text(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static int scratch_setup(void **state)
{
	struct scratch *sc = calloc(1, sizeof *sc);
	char path[160];

	if (!sc)
		return -1;
	strcpy(sc->dir, "/tmp/wvs-script-XXXXXX");
	if (!mkdtemp(sc->dir))
		return -1;
	path_join(sc->sub, sizeof sc->sub, sc->dir, "sub");
	if (mkdir(sc->sub, 0700) != 0)
		return -1;
	path_join(path, sizeof path, sc->dir, "tone.wav");
	write_tone(path);
	path_join(path, sizeof path, sc->sub, "tone.wav");
	write_tone(path);
	*state = sc;
	return 0;
}

static void remove_in(const char *dir, const char *file)
{
	char path[160];

	path_join(path, sizeof path, dir, file);
	unlink(path);
}

static int scratch_teardown(void **state)
{
	struct scratch *sc = *state;

	remove_in(sc->sub, "tone.wav");
	remove_in(sc->sub, "s.json");
	rmdir(sc->sub);
	remove_in(sc->dir, "tone.wav");
	remove_in(sc->dir, "s.json");
	remove_in(sc->dir, "big.json");
	rmdir(sc->dir);
	free(sc);
	return 0;
}

static int parse(struct wvs_script *s, const char *json, const char *dir,
		 struct wvs_tts *tts, char *err, size_t errlen)
{
	return wvs_script_parse(s, "t.json", json, strlen(json), dir, tts, err,
				errlen);
}

static void assert_zeroed(const struct wvs_script *s)
{
	assert_null(s->name);
	assert_null(s->steps);
	assert_int_equal(s->n_steps, 0);
}

/* ---- checking ------------------------------------------------------------- */

struct bad_row {
	const char *json;
	int code;
	const char *message; /* what the error must say, after "t.json: " */
};

static const struct bad_row bad_rows[] = {
	/* Not JSON: jansson's own words, with where. */
	{"", WV_ERR_JSON, "line 1, column 0: "},
	{"[\n  {\"say\": \"hi\"},\n  {\"say\": }\n]", WV_ERR_JSON,
	 "line 3, column 11: "},
	{"[{\"say\": \"a\", \"say\": \"b\"}]", WV_ERR_JSON, "duplicate"},
	/* Not a script. */
	{"42", WV_ERR_INVALID,
	 "a script is an array of steps or {\"steps\": [...]}, not a whole "
	 "number"},
	{"\"say\"", WV_ERR_INVALID, "not a string"},
	{"null", WV_ERR_INVALID, "not null"},
	{"{}", WV_ERR_INVALID, "no \"steps\""},
	{"{\"steps\": {}}", WV_ERR_INVALID,
	 "\"steps\" must be an array, not an object"},
	{"{\"steps\": [], \"name\": \"x\"}", WV_ERR_INVALID,
	 "unknown key \"name\" (a script object has only \"steps\")"},
	/* Steps that are not one action. */
	{"[1]", WV_ERR_INVALID,
	 "step 1: must be an object such as {\"say\": \"hello\"}, not a whole "
	 "number"},
	{"[{}]", WV_ERR_INVALID,
	 "step 1: no action (one of say, play, mark, wait_mark, wait_speech, "
	 "wait_dtmf, pause, clear, hangup)"},
	{"[{\"timeout_ms\": 5}]", WV_ERR_INVALID, "step 1: no action"},
	{"[{\"sya\": \"hi\"}]", WV_ERR_INVALID,
	 "step 1: unknown key \"sya\" (a step is one of say, play"},
	{"[{\"say\": \"a\", \"play\": \"b.wav\"}]", WV_ERR_INVALID,
	 "step 1: both \"say\" and \"play\": one action per step"},
	{"[{\"say\": \"ok\"}, {\"pause\": 1}, {\"hangup\": true, \"clear\": "
	 "true}]",
	 WV_ERR_INVALID, "step 3: both \"hangup\" and \"clear\""},
	/* say and play */
	{"[{\"say\": 5}]", WV_ERR_INVALID,
	 "step 1: \"say\": must be the text to speak, not a whole number"},
	{"[{\"say\": \"\"}]", WV_ERR_INVALID, "step 1: \"say\": the text is empty"},
	{"[{\"say\": \" \\n\\t\"}]", WV_ERR_INVALID,
	 "step 1: \"say\": the text is only white space"},
	{"[{\"play\": \"\"}]", WV_ERR_INVALID,
	 "step 1: \"play\": the file name is empty"},
	{"[{\"play\": null}]", WV_ERR_INVALID,
	 "step 1: \"play\": must be a file name, not null"},
	/* marks */
	{"[{\"mark\": \"\"}]", WV_ERR_INVALID,
	 "step 1: \"mark\": the mark name is empty"},
	{"[{\"mark\": [\"a\"]}]", WV_ERR_INVALID,
	 "step 1: \"mark\": must be a mark name, not an array"},
	{"[{\"wait_mark\": \"\"}]", WV_ERR_INVALID,
	 "step 1: \"wait_mark\": the mark name is empty"},
	{"[{\"wait_mark\": \"end\"}]", WV_ERR_INVALID,
	 "step 1: \"wait_mark\": no earlier \"mark\" step queues \"end\", so "
	 "this wait could only time out"},
	{"[{\"wait_mark\": \"end\"}, {\"mark\": \"end\"}]", WV_ERR_INVALID,
	 "step 1: \"wait_mark\": no earlier \"mark\" step queues \"end\""},
	{"[{\"mark\": \"end\"}, {\"wait_mark\": \"End\"}]", WV_ERR_INVALID,
	 "step 2: \"wait_mark\": no earlier \"mark\" step queues \"End\""},
	/* waits */
	{"[{\"wait_dtmf\": \"12x#\"}]", WV_ERR_INVALID,
	 "step 1: \"wait_dtmf\": 'x' is not a DTMF digit (0-9, * or #)"},
	{"[{\"wait_dtmf\": \"A\"}]", WV_ERR_INVALID,
	 "step 1: \"wait_dtmf\": 'A' is not a DTMF digit"},
	{"[{\"wait_dtmf\": \"1 2\"}]", WV_ERR_INVALID,
	 "step 1: \"wait_dtmf\": ' ' is not a DTMF digit"},
	{"[{\"wait_dtmf\": \"\\u0001\"}]", WV_ERR_INVALID,
	 "step 1: \"wait_dtmf\": '\\x01' is not a DTMF digit"},
	{"[{\"wait_dtmf\": false}]", WV_ERR_INVALID,
	 "step 1: \"wait_dtmf\": must be the digits to wait for (0-9, * or #), "
	 "or true for any digit, not false"},
	{"[{\"wait_dtmf\": 5}]", WV_ERR_INVALID,
	 "step 1: \"wait_dtmf\": must be the digits"},
	{"[{\"wait_speech\": false}]", WV_ERR_INVALID,
	 "step 1: \"wait_speech\": must be true, not false"},
	{"[{\"wait_speech\": true, \"timeout_ms\": 0}]", WV_ERR_INVALID,
	 "step 1: \"timeout_ms\": 0 ms is out of range (1 to 3600000)"},
	{"[{\"wait_speech\": true, \"timeout_ms\": -5}]", WV_ERR_INVALID,
	 "step 1: \"timeout_ms\": -5 ms is out of range"},
	{"[{\"wait_dtmf\": true, \"timeout_ms\": 3600001}]", WV_ERR_INVALID,
	 "step 1: \"timeout_ms\": 3600001 ms is out of range"},
	{"[{\"wait_dtmf\": true, \"timeout_ms\": 99999999999999}]",
	 WV_ERR_INVALID, "step 1: \"timeout_ms\": 99999999999999 ms is out"},
	{"[{\"wait_speech\": true, \"timeout_ms\": \"10\"}]", WV_ERR_INVALID,
	 "step 1: \"timeout_ms\": must be a whole number of milliseconds, not a "
	 "string"},
	{"[{\"wait_speech\": true, \"timeout_ms\": 10.0}]", WV_ERR_INVALID,
	 "not a number with a fraction or an exponent"},
	{"[{\"say\": \"hi\", \"timeout_ms\": 100}]", WV_ERR_INVALID,
	 "step 1: \"timeout_ms\" on a \"say\" step: only waits (wait_mark, "
	 "wait_speech, wait_dtmf) time out"},
	{"[{\"timeout_ms\": 100, \"pause\": 10}]", WV_ERR_INVALID,
	 "step 1: \"timeout_ms\" on a \"pause\" step"},
	/* pause, clear, hangup */
	{"[{\"pause\": -1}]", WV_ERR_INVALID,
	 "step 1: \"pause\": -1 ms is out of range (0 to 3600000)"},
	{"[{\"pause\": 3600001}]", WV_ERR_INVALID,
	 "step 1: \"pause\": 3600001 ms is out of range"},
	{"[{\"pause\": 1.5}]", WV_ERR_INVALID,
	 "step 1: \"pause\": must be a whole number of milliseconds, not a "
	 "number with a fraction"},
	{"[{\"pause\": \"500\"}]", WV_ERR_INVALID,
	 "step 1: \"pause\": must be a whole number of milliseconds, not a "
	 "string"},
	{"[{\"clear\": 1}]", WV_ERR_INVALID,
	 "step 1: \"clear\": must be true, not a whole number"},
	{"[{\"hangup\": \"yes\"}]", WV_ERR_INVALID,
	 "step 1: \"hangup\": must be true, not a string"},
	{"{\"steps\": [{\"mark\": \"a\"}, {\"hangup\": null}]}", WV_ERR_INVALID,
	 "step 2: \"hangup\": must be true, not null"},
};

static void test_script_rejects_each_mistake_with_a_specific_message(
	void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_rows / sizeof bad_rows[0]; i++) {
		const struct bad_row *r = &bad_rows[i];
		struct wvs_script s;
		char err[512] = "";
		int rc;

		memset(&s, 0xA5, sizeof s);
		rc = parse(&s, r->json, NULL, NULL, err, sizeof err);
		if (rc != r->code || strncmp(err, "t.json: ", 8) != 0 ||
		    !strstr(err, r->message))
			fail_msg("row %zu (%s): rc %d, message \"%s\"; want %d "
				 "and \"%s\"",
				 i, r->json, rc, err, r->code, r->message);
		assert_zeroed(&s);
		wvs_script_cleanup(&s);
	}
}

struct good_row {
	const char *json;
	size_t n_steps;
	unsigned last_ms;
};

static const struct good_row good_rows[] = {
	/* An empty script is an agent that answers and never speaks. */
	{"[]", 0, 0},
	{"{\"steps\": []}", 0, 0},
	{" \n[ ]\n ", 0, 0},
	{"[{\"pause\": 0}]", 1, 0},
	{"[{\"pause\": 3600000}]", 1, 3600000},
	{"[{\"wait_speech\": true, \"timeout_ms\": 1}]", 1, 1},
	{"[{\"timeout_ms\": 3600000, \"wait_speech\": true}]", 1, 3600000},
	{"[{\"wait_dtmf\": \"0123456789*#\"}]", 1, WVS_SCRIPT_TIMEOUT_MS},
	{"[{\"mark\": \"m\"}, {\"clear\": true}, {\"wait_mark\": \"m\"}]", 3,
	 WVS_SCRIPT_TIMEOUT_MS},
	{"[{\"mark\": \"m\"}, {\"mark\": \"m\"}, {\"wait_mark\": \"m\"}, "
	 "{\"wait_mark\": \"m\"}]",
	 4, WVS_SCRIPT_TIMEOUT_MS},
	{"[{\"say\": \"h\\u00e9llo \\u4f60\\u597d\"}]", 1, 0},
};

static void test_script_accepts_valid_scripts(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof good_rows / sizeof good_rows[0]; i++) {
		const struct good_row *r = &good_rows[i];
		struct wvs_script s;
		char err[256] = "";
		int rc = parse(&s, r->json, NULL, NULL, err, sizeof err);

		if (rc != 0)
			fail_msg("row %zu (%s): %d \"%s\"", i, r->json, rc, err);
		assert_string_equal(s.name, "t.json");
		assert_int_equal(s.n_steps, r->n_steps);
		if (r->n_steps)
			assert_int_equal(s.steps[r->n_steps - 1].ms,
					 r->last_ms);
		wvs_script_cleanup(&s);
		assert_zeroed(&s);
	}
}

static void test_script_parses_every_step_type(void **state)
{
	static const char json[] =
		"{\"steps\": [\n"
		"  {\"say\": \"Hello there.\"},\n"
		"  {\"mark\": \"greeting\"},\n"
		"  {\"wait_mark\": \"greeting\"},\n"
		"  {\"wait_speech\": true, \"timeout_ms\": 2500},\n"
		"  {\"wait_dtmf\": \"12#\"},\n"
		"  {\"wait_dtmf\": true, \"timeout_ms\": 700},\n"
		"  {\"wait_dtmf\": \"\"},\n"
		"  {\"pause\": 500},\n"
		"  {\"clear\": true},\n"
		"  {\"hangup\": true}\n"
		"]}";
	static const struct {
		enum wvs_step_type type;
		const char *text; /* NULL: none */
		unsigned ms;
	} want[] = {
		{WVS_STEP_SAY, "Hello there.", 0},
		{WVS_STEP_MARK, "greeting", 0},
		{WVS_STEP_WAIT_MARK, "greeting", 10000},
		{WVS_STEP_WAIT_SPEECH, NULL, 2500},
		{WVS_STEP_WAIT_DTMF, "12#", 10000},
		{WVS_STEP_WAIT_DTMF, "", 700},
		{WVS_STEP_WAIT_DTMF, "", 10000},
		{WVS_STEP_PAUSE, NULL, 500},
		{WVS_STEP_CLEAR, NULL, 0},
		{WVS_STEP_HANGUP, NULL, 0},
	};
	struct wvs_script s;
	char err[256] = "";
	(void)state;

	assert_int_equal(wvs_script_parse(&s, "greeter", json, strlen(json),
					  NULL, NULL, err, sizeof err),
			 0);
	assert_string_equal(s.name, "greeter");
	assert_int_equal(s.n_steps, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < s.n_steps; i++) {
		const struct wvs_step *st = &s.steps[i];

		assert_int_equal(st->type, want[i].type);
		if (want[i].text)
			assert_string_equal(st->text, want[i].text);
		else
			assert_null(st->text);
		assert_int_equal(st->ms, want[i].ms);
		/* Without a tts nothing is rendered. */
		assert_null(st->clip.pcm);
		assert_int_equal(st->clip.len, 0);
	}
	wvs_script_cleanup(&s);
}

/* The limit is the protocol's: a mark the server could not send is refused. */
static void test_script_mark_name_limit_is_the_protocols(void **state)
{
	const char *head = "[{\"mark\": \"";
	size_t cap = strlen(head) + WV_ID_MAX + 16;
	char *json = malloc(cap);
	struct wvs_script s;
	char err[256] = "";
	(void)state;

	assert_non_null(json);
	strcpy(json, head);
	memset(json + strlen(head), 'm', WV_ID_MAX);
	strcpy(json + strlen(head) + WV_ID_MAX, "\"}]");
	assert_int_equal(parse(&s, json, NULL, NULL, err, sizeof err), 0);
	assert_int_equal(strlen(s.steps[0].text), WV_ID_MAX);
	wvs_script_cleanup(&s);

	memset(json + strlen(head), 'm', WV_ID_MAX + 1);
	strcpy(json + strlen(head) + WV_ID_MAX + 1, "\"}]");
	assert_int_equal(parse(&s, json, NULL, NULL, err, sizeof err),
			 WV_ERR_INVALID);
	assert_non_null(strstr(err, "t.json: step 1: \"mark\": the mark name "
				    "is 1025 bytes, longer than the "
				    "protocol's 1024"));
	assert_zeroed(&s);
	free(json);
}

/* A hostile key can neither fill the message nor put control bytes in it. */
static void test_script_message_quotes_hostile_values(void **state)
{
	char json[400], err[256] = "";
	struct wvs_script s;
	int n;
	(void)state;

	n = snprintf(json, sizeof json, "[{\"\\u0001%0300d\": 1}]", 0);
	assert_true(n > 0 && (size_t)n < sizeof json);
	assert_int_equal(parse(&s, json, NULL, NULL, err, sizeof err),
			 WV_ERR_INVALID);
	assert_non_null(strstr(err, "step 1: unknown key \"\\x0100000"));
	assert_non_null(strstr(err, "...\" (a step is one of say,"));
	assert_true(strlen(err) < 200);
	for (const char *c = err; *c; c++)
		assert_true(*c >= 0x20 && *c < 0x7f);
}

/* Found by fuzz/fuzz_script.c: a file name with a line break in it, and
   jansson's words on text that is not JSON (which quote the text), broke
   a problem over two lines. */
static void test_script_problem_quoting_a_line_break_keeps_one_line(
	void **state)
{
	static const char *const scripts[] = {
		"[{\"play\": \"no\\nsuch.wav\"}]",
		"[{\"say\": \"a\nb\"}]",
	};
	char err[512];
	struct wvs_script s;
	(void)state;

	for (size_t i = 0; i < sizeof scripts / sizeof *scripts; i++) {
		assert_true(parse(&s, scripts[i], NULL, NULL, err,
				  sizeof err) < 0);
		assert_true(err[0] != '\0');
		assert_null(strchr(err, '\n'));
		for (const char *c = err; *c; c++)
			assert_true(*c >= 0x20 && *c < 0x7f);
	}
	assert_non_null(strstr(err, "t.json: "));
}

/* Every problem, a line each in step order, however many a step has. */
static void test_script_reports_every_problem_in_step_order(void **state)
{
	static const char json[] =
		"{\"steps\": [\n"
		"  {\"wait_dtmf\": \"x\"},\n"
		"  {\"say\": \"fine\"},\n"
		"  {\"sya\": \"hi\", \"pause\": -1, \"timeout_ms\": 5},\n"
		"  {\"wait_mark\": \"ghost\"},\n"
		"  7\n"
		"], \"name\": \"x\"}";
	static const char *const want[] = {
		"t.json: unknown key \"name\" (a script object has only "
		"\"steps\")",
		"t.json: step 1: \"wait_dtmf\": 'x' is not a DTMF digit (0-9, * "
		"or #)",
		"t.json: step 3: unknown key \"sya\" (a step is one of say, "
		"play, mark, wait_mark, wait_speech, wait_dtmf, pause, clear, "
		"hangup)",
		"t.json: step 3: \"timeout_ms\" on a \"pause\" step: only "
		"waits (wait_mark, wait_speech, wait_dtmf) time out",
		"t.json: step 3: \"pause\": -1 ms is out of range (0 to "
		"3600000)",
		"t.json: step 4: \"wait_mark\": no earlier \"mark\" step "
		"queues \"ghost\", so this wait could only time out",
		"t.json: step 5: must be an object such as {\"say\": "
		"\"hello\"}, not a whole number",
	};
	struct wvs_script s;
	char err[2048] = "", *line = err;
	(void)state;

	assert_int_equal(parse(&s, json, NULL, NULL, err, sizeof err),
			 WV_ERR_INVALID);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		assert_string_equal(line, want[i]);
		assert_true(nl || i + 1 == sizeof want / sizeof want[0]);
		line = nl ? nl + 1 : line + strlen(line);
	}
	assert_string_equal(line, "");
	assert_zeroed(&s);
}

/* A misspelt action is one problem, not also "no action". */
static void test_script_unknown_key_alone_is_one_problem(void **state)
{
	struct wvs_script s;
	char err[512] = "";
	(void)state;

	assert_int_equal(parse(&s, "[{\"sya\": \"a\"}, {\"timeout_ms\": 1}]",
			       NULL, NULL, err, sizeof err),
			 WV_ERR_INVALID);
	assert_non_null(strstr(err, "t.json: step 1: unknown key \"sya\""));
	assert_non_null(strstr(err, "\nt.json: step 2: no action (one of"));
	assert_null(strstr(err, "step 1: no action"));
}

/* The first WVS_SCRIPT_PROBLEMS_MAX, then how many more. */
static void test_script_lists_a_bounded_number_of_problems(void **state)
{
	size_t n = WVS_SCRIPT_PROBLEMS_MAX + 7, lines = 1;
	char *json = malloc(n * 16 + 4), *o = json, err[8192] = "";
	struct wvs_script s;
	const char *last;
	(void)state;

	assert_non_null(json);
	*o++ = '[';
	for (size_t i = 0; i < n; i++)
		o += sprintf(o, "%s{\"pause\": -1}", i ? ", " : "");
	strcpy(o, "]");
	assert_int_equal(parse(&s, json, NULL, NULL, err, sizeof err),
			 WV_ERR_INVALID);
	for (const char *c = err; *c; c++)
		lines += *c == '\n';
	assert_int_equal(lines, WVS_SCRIPT_PROBLEMS_MAX + 1);
	last = strrchr(err, '\n') + 1;
	assert_string_equal(last, "t.json: ... and 7 more problems");
	assert_non_null(strstr(err, "t.json: step 20: \"pause\": -1 ms"));
	assert_null(strstr(err, "step 21:"));
	assert_zeroed(&s);
	free(json);
}

static void test_script_small_or_missing_error_buffer_is_safe(void **state)
{
	struct wvs_script s;
	char err[12];
	(void)state;

	memset(err, 'x', sizeof err);
	assert_int_equal(parse(&s, "[{\"say\": 1}]", NULL, NULL, err,
			       sizeof err),
			 WV_ERR_INVALID);
	assert_string_equal(err, "t.json: ste");
	assert_int_equal(parse(&s, "[{\"say\": 1}]", NULL, NULL, NULL, 0),
			 WV_ERR_INVALID);
	assert_int_equal(parse(&s, "nope", NULL, NULL, NULL, 0), WV_ERR_JSON);
	assert_zeroed(&s);
}

static void test_script_cleanup_is_safe_on_zeroed_and_twice(void **state)
{
	struct wvs_script s = {0};
	char err[128];
	(void)state;

	wvs_script_cleanup(&s);
	wvs_script_cleanup(NULL);
	assert_int_equal(parse(&s, "[{\"say\": \"a\"}, {\"mark\": \"b\"}]",
			       NULL, NULL, err, sizeof err),
			 0);
	wvs_script_cleanup(&s);
	assert_zeroed(&s);
	wvs_script_cleanup(&s);
}

/* ---- audio ---------------------------------------------------------------- */

static void test_script_play_loads_the_file_relative_to_dir(void **state)
{
	struct scratch *sc = *state;
	char want[160], json[256], dir_slash[96];
	struct wvs_script s;
	char err[512] = "";

	path_join(want, sizeof want, sc->dir, "tone.wav");
	assert_int_equal(parse(&s, "[{\"play\": \"tone.wav\"}]", sc->dir, NULL,
			       err, sizeof err),
			 0);
	assert_string_equal(s.steps[0].text, want);
	assert_int_equal(s.steps[0].clip.len, TONE_SAMPLES);
	assert_non_null(s.steps[0].clip.pcm);
	assert_int_not_equal(s.steps[0].clip.pcm[TONE_SAMPLES / 2], 0);
	wvs_script_cleanup(&s);

	/* A trailing slash on dir does not double up. */
	snprintf(dir_slash, sizeof dir_slash, "%s/", sc->dir);
	assert_int_equal(parse(&s, "[{\"play\": \"tone.wav\"}]", dir_slash,
			       NULL, err, sizeof err),
			 0);
	assert_string_equal(s.steps[0].text, want);
	wvs_script_cleanup(&s);

	/* An absolute path is used as it is, whatever dir says. */
	snprintf(json, sizeof json, "[{\"play\": \"%s\"}]", want);
	assert_int_equal(parse(&s, json, "/nowhere", NULL, err, sizeof err),
			 0);
	assert_string_equal(s.steps[0].text, want);
	assert_int_equal(s.steps[0].clip.len, TONE_SAMPLES);
	wvs_script_cleanup(&s);
}

static void test_script_play_error_names_script_step_and_file(void **state)
{
	struct scratch *sc = *state;
	char missing[160];
	struct wvs_script s;
	char err[512] = "";
	int rc;

	path_join(missing, sizeof missing, sc->dir, "missing.wav");
	rc = parse(&s,
		   "[{\"play\": \"tone.wav\"}, {\"say\": \"a\"}, "
		   "{\"play\": \"missing.wav\"}]",
		   sc->dir, NULL, err, sizeof err);
	assert_true(rc < 0);
	assert_non_null(strstr(err, "t.json: step 3: \"play\": "));
	assert_non_null(strstr(err, missing));
	/* The clip already loaded for step 1 is freed (ASan would say). */
	assert_zeroed(&s);
}

/* A missing sound file is a problem among the others, in its place. */
static void test_script_play_error_comes_in_step_order(void **state)
{
	struct scratch *sc = *state;
	char err[1024] = "";
	struct wvs_script s;
	const char *bad, *missing, *after;

	assert_int_equal(parse(&s,
			       "[{\"pause\": -1}, {\"play\": \"gone.wav\"}, "
			       "{\"play\": \"tone.wav\"}, {\"clear\": 1}]",
			       sc->dir, NULL, err, sizeof err),
			 WV_ERR_INVALID);
	bad = strstr(err, "t.json: step 1: \"pause\"");
	missing = strstr(err, "\nt.json: step 2: \"play\": ");
	after = strstr(err, "\nt.json: step 4: \"clear\": must be true");
	assert_true(bad == err && missing && after && missing < after);
	assert_non_null(strstr(missing, "gone.wav"));
	assert_null(strstr(err, "step 3"));
	assert_zeroed(&s);
}

static void test_script_say_renders_speech_with_tts(void **state)
{
	struct wvs_tts *tts = NULL;
	struct wvs_script s;
	char err[256] = "";
	int peak = 0;
	(void)state;

	if (wvs_tts_create(&tts, NULL, 0, err, sizeof err) != 0) {
		print_message("skipped: no text to speech here: %s\n", err);
		skip();
	}
	assert_int_equal(parse(&s,
			       "[{\"say\": \"Hello, this is a test.\"}, "
			       "{\"pause\": 10}]",
			       NULL, tts, err, sizeof err),
			 0);
	/* Several words take well over a tenth of a second to say. */
	assert_true(s.steps[0].clip.len > WVS_RATE / 10);
	for (size_t i = 0; i < s.steps[0].clip.len; i++) {
		int a = abs(s.steps[0].clip.pcm[i]);

		peak = a > peak ? a : peak;
	}
	assert_true(peak > 1000);
	assert_int_equal(s.steps[1].clip.len, 0);
	wvs_script_cleanup(&s);
	wvs_tts_destroy(tts);
}

/* ---- files ---------------------------------------------------------------- */

static void test_script_load_resolves_play_from_the_scripts_directory(
	void **state)
{
	static const char json[] = "[{\"say\": \"hi\"}, {\"play\": "
				   "\"tone.wav\"}, {\"play\": "
				   "\"../tone.wav\"}]";
	struct scratch *sc = *state;
	char path[160], want[160], up[160];
	struct wvs_script s;
	char err[512] = "";

	path_join(path, sizeof path, sc->sub, "s.json");
	path_join(want, sizeof want, sc->sub, "tone.wav");
	path_join(up, sizeof up, sc->sub, "../tone.wav");
	write_text(path, json, strlen(json));
	assert_int_equal(wvs_script_load(&s, "agent", path, NULL, err,
					 sizeof err),
			 0);
	assert_string_equal(s.name, "agent");
	assert_int_equal(s.n_steps, 3);
	assert_string_equal(s.steps[1].text, want);
	assert_int_equal(s.steps[1].clip.len, TONE_SAMPLES);
	assert_string_equal(s.steps[2].text, up);
	assert_int_equal(s.steps[2].clip.len, TONE_SAMPLES);
	wvs_script_cleanup(&s);
}

static void test_script_load_errors_start_with_the_path(void **state)
{
	static const struct {
		const char *json;
		const char *message;
	} rows[] = {
		{"[\n{\"pause\": 1},\n{\"say\" \"x\"}]", ": line 3, column "},
		{"[{\"pause\": 1}, {\"wait_dtmf\": \"x\"}]",
		 ": step 2: \"wait_dtmf\": 'x' is not a DTMF digit"},
		{"[{\"play\": \"nothing.wav\"}]", ": step 1: \"play\": "},
	};
	struct scratch *sc = *state;
	char path[160], prefix[200];
	struct wvs_script s;
	char err[512];

	path_join(path, sizeof path, sc->dir, "s.json");
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		write_text(path, rows[i].json, strlen(rows[i].json));
		snprintf(prefix, sizeof prefix, "%s%s", path, rows[i].message);
		err[0] = '\0';
		assert_true(wvs_script_load(&s, "agent", path, NULL, err,
					    sizeof err) < 0);
		if (strncmp(err, prefix, strlen(prefix)) != 0)
			fail_msg("row %zu: \"%s\" does not start \"%s\"", i,
				 err, prefix);
		assert_zeroed(&s);
	}
}

static void test_script_load_reports_a_missing_file(void **state)
{
	struct scratch *sc = *state;
	char path[160], want[200];
	struct wvs_script s;
	char err[512] = "";

	path_join(path, sizeof path, sc->dir, "absent.json");
	snprintf(want, sizeof want, "%s: cannot open: ", path);
	assert_int_equal(wvs_script_load(&s, "a", path, NULL, err, sizeof err),
			 WV_ERR_INVALID);
	assert_memory_equal(err, want, strlen(want));
	assert_zeroed(&s);

	/* A directory opens but cannot be read. */
	snprintf(want, sizeof want, "%s: cannot read: ", sc->dir);
	assert_int_equal(wvs_script_load(&s, "a", sc->dir, NULL, err,
					 sizeof err),
			 WV_ERR_INVALID);
	assert_memory_equal(err, want, strlen(want));
	assert_zeroed(&s);
}

/* A script at the size limit loads; one byte more is refused. */
static void test_script_load_limits_the_file_size(void **state)
{
	struct scratch *sc = *state;
	size_t n = WVS_SCRIPT_MAX_BYTES + 1;
	char *text = malloc(n);
	char path[160];
	struct wvs_script s;
	char err[512] = "";

	assert_non_null(text);
	path_join(path, sizeof path, sc->dir, "big.json");
	memset(text, ' ', n);
	text[0] = '[';
	text[WVS_SCRIPT_MAX_BYTES - 1] = ']';
	write_text(path, text, WVS_SCRIPT_MAX_BYTES);
	assert_int_equal(wvs_script_load(&s, "a", path, NULL, err, sizeof err),
			 0);
	assert_int_equal(s.n_steps, 0);
	wvs_script_cleanup(&s);

	write_text(path, text, n);
	assert_int_equal(wvs_script_load(&s, "a", path, NULL, err, sizeof err),
			 WV_ERR_TOO_LARGE);
	assert_non_null(strstr(err, "larger than 1048576 bytes"));
	assert_zeroed(&s);
	free(text);
}

#define SCRATCH(t) cmocka_unit_test_setup_teardown(t, scratch_setup, \
						   scratch_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_script_rejects_each_mistake_with_a_specific_message),
		cmocka_unit_test(test_script_accepts_valid_scripts),
		cmocka_unit_test(test_script_parses_every_step_type),
		cmocka_unit_test(test_script_mark_name_limit_is_the_protocols),
		cmocka_unit_test(test_script_message_quotes_hostile_values),
		cmocka_unit_test(
			test_script_problem_quoting_a_line_break_keeps_one_line),
		cmocka_unit_test(
			test_script_reports_every_problem_in_step_order),
		cmocka_unit_test(test_script_unknown_key_alone_is_one_problem),
		cmocka_unit_test(test_script_lists_a_bounded_number_of_problems),
		cmocka_unit_test(
			test_script_small_or_missing_error_buffer_is_safe),
		cmocka_unit_test(
			test_script_cleanup_is_safe_on_zeroed_and_twice),
		SCRATCH(test_script_play_loads_the_file_relative_to_dir),
		SCRATCH(test_script_play_error_names_script_step_and_file),
		SCRATCH(test_script_play_error_comes_in_step_order),
		cmocka_unit_test(test_script_say_renders_speech_with_tts),
		SCRATCH(
		test_script_load_resolves_play_from_the_scripts_directory),
		SCRATCH(test_script_load_errors_start_with_the_path),
		SCRATCH(test_script_load_reports_a_missing_file),
		SCRATCH(test_script_load_limits_the_file_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
