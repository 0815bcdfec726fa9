/*
 * Level meters and the mm:ss clock. Expected levels are worked out from the
 * signals: a full-scale square is 0 dBFS RMS, a sine of amplitude A is
 * 20 log10(A / sqrt 2) RMS and 20 log10(A) peak.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include <wvoice/error.h>

#include "level.h"

#define RATE 8000
#define WINDOW (RATE * CLI_LEVEL_WINDOW_MS / 1000) /* samples */
#define PI 3.14159265358979323846

static void square(float *x, size_t n, float amp)
{
	for (size_t i = 0; i < n; i++)
		x[i] = i % 2 ? -amp : amp;
}

/* 1 kHz at 8 kHz: every eighth of a cycle, so the crest is sampled. */
static void sine(float *x, size_t n, float amp)
{
	for (size_t i = 0; i < n; i++)
		x[i] = amp * (float)sin(2.0 * PI * 1000.0 * (double)i / RATE);
}

static void fill(float *x, size_t n, float v)
{
	for (size_t i = 0; i < n; i++)
		x[i] = v;
}

static struct cli_level meter(void)
{
	struct cli_level l;

	assert_int_equal(cli_level_init(&l, RATE, 0), 0);
	return l;
}

/* ---- Levels of known signals ---- */

enum shape { SQUARE, SINE, CONSTANT };

struct level_case {
	const char *name;
	enum shape shape;
	float amp;
	double rms_db, peak_db;
};

static const struct level_case level_cases[] = {
	{ "full-scale square", SQUARE, 1.0f, 0.0, 0.0 },
	{ "half-scale square", SQUARE, 0.5f, -6.0206, -6.0206 },
	{ "full-scale sine", SINE, 1.0f, -3.0103, 0.0 },
	{ "sine at -20 dB", SINE, 0.1f, -23.0103, -20.0 },
	{ "constant -1", CONSTANT, -1.0f, 0.0, 0.0 },
	{ "over full scale counts as full", SQUARE, 4.0f, 0.0, 0.0 },
	{ "silence", CONSTANT, 0.0f, CLI_LEVEL_FLOOR_DB, CLI_LEVEL_FLOOR_DB },
	{ "NaN counts as silence", CONSTANT, NAN, CLI_LEVEL_FLOOR_DB,
	  CLI_LEVEL_FLOOR_DB },
	{ "below the floor reads the floor", CONSTANT, 1e-7f,
	  CLI_LEVEL_FLOOR_DB, CLI_LEVEL_FLOOR_DB },
};

static void make(float *x, size_t n, enum shape shape, float amp)
{
	if (shape == SQUARE)
		square(x, n, amp);
	else if (shape == SINE)
		sine(x, n, amp);
	else
		fill(x, n, amp);
}

static void test_level_reads_known_signals(void **state)
{
	static float x[WINDOW];

	(void)state;
	for (size_t i = 0; i < sizeof level_cases / sizeof level_cases[0];
	     i++) {
		const struct level_case *c = &level_cases[i];
		struct cli_level l = meter();

		make(x, WINDOW, c->shape, c->amp);
		cli_level_feed_float(&l, x, WINDOW);
		print_message("%s\n", c->name);
		assert_float_equal(cli_level_rms_db(&l), c->rms_db, 0.01);
		assert_float_equal(cli_level_peak_db(&l), c->peak_db, 0.01);
	}
}

struct pcm_case {
	int16_t v;
	double db;
};

static const struct pcm_case pcm_cases[] = {
	{ -32768, 0.0 },
	{ 16384, -6.0206 },
	{ 1, -90.309 },
	{ 0, CLI_LEVEL_FLOOR_DB },
};

static void test_level_pcm_scales_by_32768(void **state)
{
	static int16_t x[WINDOW];

	(void)state;
	for (size_t i = 0; i < sizeof pcm_cases / sizeof pcm_cases[0]; i++) {
		struct cli_level l = meter();

		for (size_t j = 0; j < WINDOW; j++)
			x[j] = pcm_cases[i].v;
		cli_level_feed_pcm(&l, x, WINDOW);
		assert_float_equal(cli_level_rms_db(&l), pcm_cases[i].db, 0.01);
		assert_float_equal(cli_level_peak_db(&l), pcm_cases[i].db,
				   0.01);
	}
}

/* ---- The window ---- */

static void test_level_reads_floor_before_a_block_is_complete(void **state)
{
	float x[WINDOW / CLI_LEVEL_BLOCKS - 1];
	struct cli_level l = meter();

	(void)state;
	square(x, sizeof x / sizeof x[0], 1.0f);
	cli_level_feed_float(&l, x, sizeof x / sizeof x[0]);
	assert_true(cli_level_rms_db(&l) == CLI_LEVEL_FLOOR_DB);
	/* One more sample completes the first block. */
	cli_level_feed_float(&l, x, 1);
	assert_float_equal(cli_level_rms_db(&l), 0.0, 0.01);
}

static void test_level_forgets_audio_older_than_the_window(void **state)
{
	static float loud[WINDOW], quiet[WINDOW];
	struct cli_level l = meter();

	(void)state;
	square(loud, WINDOW, 1.0f);
	fill(quiet, WINDOW, 0.0f);
	cli_level_feed_float(&l, loud, WINDOW);
	cli_level_feed_float(&l, quiet, WINDOW / 2);
	/* Half the window loud: half the power, the peak still there. */
	assert_float_equal(cli_level_rms_db(&l), -3.0103, 0.01);
	assert_float_equal(cli_level_peak_db(&l), 0.0, 0.01);
	cli_level_feed_float(&l, quiet, WINDOW / 2);
	assert_true(cli_level_rms_db(&l) == CLI_LEVEL_FLOOR_DB);
	assert_true(cli_level_peak_db(&l) == CLI_LEVEL_FLOOR_DB);
}

static void test_level_same_reading_for_any_block_size(void **state)
{
	static float x[3 * WINDOW];
	static const size_t sizes[] = { 1, 7, 160, 441, 3 * WINDOW };
	double want;

	(void)state;
	for (size_t i = 0; i < 3 * WINDOW; i++)
		x[i] = (float)((i * 7919) % 2001) / 1000.0f - 1.0f;
	{
		struct cli_level ref = meter();

		cli_level_feed_float(&ref, x, 3 * WINDOW);
		want = cli_level_rms_db(&ref);
	}
	assert_true(want > -10.0 && want < 0.0);
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		struct cli_level l = meter();

		for (size_t at = 0; at < 3 * WINDOW; at += sizes[s]) {
			size_t n = 3 * WINDOW - at < sizes[s] ? 3 * WINDOW - at
							      : sizes[s];

			cli_level_feed_float(&l, x + at, n);
		}
		assert_float_equal(cli_level_rms_db(&l), want, 1e-4);
	}
}

static void test_level_window_follows_the_rate(void **state)
{
	float x[480]; /* 10 ms at 48 kHz */
	struct cli_level l;

	(void)state;
	assert_int_equal(cli_level_init(&l, 48000, 20), 0);
	square(x, 480, 1.0f);
	cli_level_feed_float(&l, x, 480);
	fill(x, 480, 0.0f);
	cli_level_feed_float(&l, x, 480);
	/* A 20 ms window: 10 ms loud of 20. */
	assert_float_equal(cli_level_rms_db(&l), -3.0103, 0.01);
	cli_level_feed_float(&l, x, 480);
	assert_true(cli_level_rms_db(&l) == CLI_LEVEL_FLOOR_DB);
}

static void test_level_init_refuses_windows_without_samples(void **state)
{
	struct cli_level l;

	(void)state;
	assert_int_equal(cli_level_init(&l, 0, 200), WV_ERR_INVALID);
	/* 2 ms at 8 kHz is 16 samples: fewer than one per block. */
	assert_int_equal(cli_level_init(&l, 8000, 2), WV_ERR_INVALID);
	assert_int_equal(cli_level_init(&l, 8000, 3), 0);
}

/* ---- Threads: fed on one, read on another ---- */

struct feeder {
	struct cli_level *l;
	atomic_bool done;
	atomic_size_t reads; /* the reader's, so the two overlap */
};

static void *feed_thread(void *arg)
{
	struct feeder *f = arg;
	float x[160];

	/* Goes on until the other thread has read while it fed, however the
	   two are scheduled. */
	for (int round = 0; round < 2000 || atomic_load(&f->reads) < 100;
	     round++) {
		square(x, 160, round % 2 ? 1.0f : 0.01f);
		cli_level_feed_float(f->l, x, 160);
	}
	atomic_store(&f->done, true);
	return NULL;
}

static void test_level_reads_from_another_thread(void **state)
{
	struct cli_level l = meter();
	struct feeder f = { .l = &l };
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, feed_thread, &f), 0);
	while (!atomic_load(&f.done)) {
		double rms = cli_level_rms_db(&l), peak = cli_level_peak_db(&l);

		assert_true(rms >= CLI_LEVEL_FLOOR_DB && rms <= 0.0);
		assert_true(peak >= CLI_LEVEL_FLOOR_DB && peak <= 0.0);
		atomic_fetch_add(&f.reads, 1);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(atomic_load(&f.reads) >= 100);
	/* The last window held 100 ms of each level. */
	assert_float_equal(cli_level_rms_db(&l),
			   (10.0 * log10((1.0 + 1e-4) / 2.0)), 0.01);
}

/* ---- mm:ss ---- */

struct mmss_case {
	int64_t ms;
	const char *text;
};

static const struct mmss_case mmss_cases[] = {
	{ 0, "00:00" },	      { 999, "00:00" },	      { 1000, "00:01" },
	{ 59999, "00:59" },   { 60000, "01:00" },     { 61500, "01:01" },
	{ 3599999, "59:59" }, { 5999000, "99:59" },   { 6000000, "100:00" },
	{ 7507000, "125:07" }, { -1, "00:00" },	      { INT64_MIN, "00:00" },
};

static void test_level_mmss_formats_whole_seconds(void **state)
{
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof mmss_cases / sizeof mmss_cases[0]; i++) {
		int n = cli_format_mmss(buf, sizeof buf, mmss_cases[i].ms);

		assert_string_equal(buf, mmss_cases[i].text);
		assert_int_equal(n, (int)strlen(mmss_cases[i].text));
	}
}

static void test_level_mmss_refuses_a_short_buffer(void **state)
{
	char buf[6];

	(void)state;
	assert_int_equal(cli_format_mmss(buf, 5, 0), WV_ERR_NOSPACE);
	assert_int_equal(cli_format_mmss(buf, 6, 0), 5);
	assert_int_equal(cli_format_mmss(buf, 6, 6000000), WV_ERR_NOSPACE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_reads_known_signals),
		cmocka_unit_test(test_level_pcm_scales_by_32768),
		cmocka_unit_test(
			test_level_reads_floor_before_a_block_is_complete),
		cmocka_unit_test(
			test_level_forgets_audio_older_than_the_window),
		cmocka_unit_test(test_level_same_reading_for_any_block_size),
		cmocka_unit_test(test_level_window_follows_the_rate),
		cmocka_unit_test(
			test_level_init_refuses_windows_without_samples),
		cmocka_unit_test(test_level_reads_from_another_thread),
		cmocka_unit_test(test_level_mmss_formats_whole_seconds),
		cmocka_unit_test(test_level_mmss_refuses_a_short_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
