/*
 * Text to speech: what a render gives (length, level, trimmed edges), the
 * shared engine's life (a failed start, objects that coexist with their own
 * settings, the engine outliving its last object), and renders from two
 * threads at once, which must give what one thread gives.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wvoice/error.h>

#include "tts.h"

#define TEXT "hello world"
/* What trimming promises, as the tests read it: the first and last samples
 * at -50 dBFS or more lie within 30 ms of the clip's ends. */
#define SOUND_LEVEL 104
#define MARGIN (30 * WVS_RATE / 1000)

static struct wvs_tts *create_ok(const char *voice, int wpm)
{
	struct wvs_tts *tts = NULL;
	char err[256] = "";
	int rc = wvs_tts_create(&tts, voice, wpm, err, sizeof err);

	if (rc != 0)
		fail_msg("wvs_tts_create: %s (%s)", wv_error_name(rc), err);
	return tts;
}

static void render_ok(struct wvs_tts *tts, const char *text,
		      struct wvs_clip *clip)
{
	int rc = wvs_tts_render(tts, text, clip);

	if (rc != 0)
		fail_msg("wvs_tts_render(\"%s\"): %s", text, wv_error_name(rc));
}

static double rms_dbfs(const struct wvs_clip *clip)
{
	double e2 = 0;

	for (size_t i = 0; i < clip->len; i++)
		e2 += (double)clip->pcm[i] * clip->pcm[i];
	return 20.0 * log10(sqrt(e2 / (double)clip->len) / 32768.0);
}

/*
 * espeak-ng varies the pitch a little along a flutter table whose position
 * runs on from one render to the next (wavegen.c, Flutter_ix), so the same
 * text rendered twice differs in its samples and by a few samples in length.
 * Renders count as the same speech when their lengths agree within 1%;
 * 120 and 350 wpm differ by far more.
 */
static int same_length(size_t a, size_t b)
{
	size_t d = a > b ? a - b : b - a;

	return d * 100 <= a;
}

static int is_sound(int16_t x)
{
	return x >= SOUND_LEVEL || x <= -SOUND_LEVEL;
}

static void test_tts_hello_world_is_speech_of_plausible_length(void **state)
{
	struct wvs_tts *tts = create_ok(NULL, 0);
	struct wvs_clip clip;

	(void)state;
	render_ok(tts, TEXT, &clip);
	print_message("\"%s\": %zu samples (%.3f s), RMS %.1f dBFS\n", TEXT,
		      clip.len, (double)clip.len / WVS_RATE, rms_dbfs(&clip));
	assert_true(clip.len >= WVS_RATE * 4 / 10);
	assert_true(clip.len <= WVS_RATE * 3);
	assert_true(rms_dbfs(&clip) > -40.0);
	wvs_clip_cleanup(&clip);
	wvs_tts_destroy(tts);
}

/* espeak-ng starts speaking within a few ms; its trailing pause depends on
 * the punctuation (", ." leaves about 170 ms of it), and the clip keeps
 * exactly the margin of it. */
static void test_tts_render_trims_silence_to_the_margin(void **state)
{
	static const struct {
		const char *text;
		size_t tail; /* silent samples at the end, 0 for "at most
				the margin" */
	} rows[] = {
		{TEXT, 0},
		{TEXT ", .", MARGIN},
	};
	struct wvs_tts *tts = create_ok(NULL, 0);

	(void)state;
	for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
		struct wvs_clip clip;
		size_t first = 0, last;

		render_ok(tts, rows[k].text, &clip);
		assert_true(clip.len > 0);
		while (first < clip.len && !is_sound(clip.pcm[first]))
			first++;
		last = clip.len - 1;
		while (last > first && !is_sound(clip.pcm[last]))
			last--;
		print_message("\"%s\": first sound at %zu, %zu silent samples "
			      "at the end\n",
			      rows[k].text, first, clip.len - 1 - last);
		assert_true(first <= MARGIN);
		if (rows[k].tail)
			assert_int_equal(clip.len - 1 - last, rows[k].tail);
		else
			assert_true(clip.len - 1 - last <= MARGIN);
		wvs_clip_cleanup(&clip);
	}
	wvs_tts_destroy(tts);
}

/* Text with nothing to say renders to silence, which trims to nothing. */
static void test_tts_empty_text_gives_an_empty_clip(void **state)
{
	struct wvs_tts *tts = create_ok("en-us", 0);
	static const char *const texts[] = {"", " ", "\n\t ", ", ."};

	(void)state;
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		struct wvs_clip clip = {(int16_t *)1, 99};

		render_ok(tts, texts[i], &clip);
		assert_int_equal(clip.len, 0);
		assert_null(clip.pcm);
	}
	wvs_tts_destroy(tts);
}

/* Two objects share one engine but keep their own rate: rendering with one
 * in between does not change what the other renders. */
static void test_tts_objects_coexist_with_their_own_settings(void **state)
{
	struct wvs_tts *slow = create_ok("en-us", 120);
	struct wvs_tts *fast = create_ok("en-us", 350);
	struct wvs_clip a, b, c;

	(void)state;
	render_ok(slow, TEXT, &a);
	render_ok(fast, TEXT, &b);
	render_ok(slow, TEXT, &c);
	print_message("120 wpm: %zu samples, 350 wpm: %zu\n", a.len, b.len);
	assert_true(b.len * 3 < a.len * 2);
	assert_true(same_length(a.len, c.len));
	wvs_clip_cleanup(&a);
	wvs_clip_cleanup(&b);
	wvs_clip_cleanup(&c);
	wvs_tts_destroy(fast);
	/* The engine lives on for the remaining object. */
	render_ok(slow, TEXT, &a);
	assert_true(a.len > 0);
	wvs_clip_cleanup(&a);
	wvs_tts_destroy(slow);
}

/* The engine stays after the last object goes; a new object renders the
 * same speech. */
static void test_tts_engine_outlives_its_last_object(void **state)
{
	struct wvs_tts *tts = create_ok(NULL, 0);
	struct wvs_clip a, b;

	(void)state;
	render_ok(tts, TEXT, &a);
	wvs_tts_destroy(tts);
	tts = create_ok(NULL, 0);
	render_ok(tts, TEXT, &b);
	assert_true(same_length(a.len, b.len));
	wvs_clip_cleanup(&a);
	wvs_clip_cleanup(&b);
	wvs_tts_destroy(tts);
}

static void expect_create_fails(const char *voice, int wpm, int code,
				const char *words)
{
	struct wvs_tts *tts = (struct wvs_tts *)1;
	char err[256] = "";
	int rc = wvs_tts_create(&tts, voice, wpm, err, sizeof err);

	print_message("voice %s, %d wpm -> %s: %s\n",
		      voice ? voice : "(default)", wpm, wv_error_name(rc), err);
	assert_int_equal(rc, code);
	assert_null(tts);
	assert_non_null(strstr(err, words));
}

static void test_tts_create_refuses_bad_settings(void **state)
{
	struct wvs_tts *tts;
	struct wvs_clip clip;

	(void)state;
	expect_create_fails("xx-no-such-voice", 0, WV_ERR_INVALID,
			    "xx-no-such-voice");
	expect_create_fails("en-us", 20, WV_ERR_INVALID, "20 wpm");
	expect_create_fails("en-us", 1000, WV_ERR_INVALID, "1000 wpm");
	expect_create_fails("", 0, WV_ERR_INVALID, "voice");
	/* A refused voice leaves the engine usable, while shared and after. */
	tts = create_ok("en-us", 0);
	expect_create_fails("xx-no-such-voice", 0, WV_ERR_INVALID,
			    "xx-no-such-voice");
	render_ok(tts, TEXT, &clip);
	assert_true(clip.len > 0);
	wvs_clip_cleanup(&clip);
	wvs_tts_destroy(tts);
}

/* espeak-ng finds its data through ESPEAK_DATA_PATH first: an empty
 * directory there stands for an installation without its data. The engine,
 * once started, stays for the life of the process, so this runs first. */
static void test_tts_create_reports_missing_espeak_data(void **state)
{
	char dir[] = "/tmp/wvs-tts-XXXXXX";
	struct wvs_tts *tts;
	struct wvs_clip clip;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(setenv("ESPEAK_DATA_PATH", dir, 1), 0);
	expect_create_fails(NULL, 0, WV_ERR_INTERNAL, dir);
	assert_int_equal(unsetenv("ESPEAK_DATA_PATH"), 0);
	rmdir(dir);
	tts = create_ok(NULL, 0);
	render_ok(tts, TEXT, &clip);
	assert_true(clip.len > 0);
	wvs_clip_cleanup(&clip);
	wvs_tts_destroy(tts);
}

#define THREADS 2
#define RENDERS 10

struct worker {
	struct wvs_tts *tts;
	const struct wvs_clip *want;
	int mismatches;
	int failures;
};

static void *render_repeatedly(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < RENDERS; i++) {
		struct wvs_clip clip;

		if (wvs_tts_render(w->tts, TEXT, &clip) != 0) {
			w->failures++;
			continue;
		}
		if (!same_length(w->want->len, clip.len) ||
		    rms_dbfs(&clip) < -40.0)
			w->mismatches++;
		wvs_clip_cleanup(&clip);
	}
	return NULL;
}

/* Each thread has its own object, at its own rate, so a render that used
 * the other thread's settings, or got the other's samples, would show in
 * its length. */
static void test_tts_renders_from_two_threads_match_one(void **state)
{
	static const int wpm[THREADS] = {150, 300};
	struct wvs_clip want[THREADS];
	struct worker w[THREADS];
	pthread_t th[THREADS];

	(void)state;
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.tts = create_ok("en-us", wpm[i]),
				       .want = &want[i]};
		render_ok(w[i].tts, TEXT, &want[i]);
	}
	assert_false(same_length(want[0].len, want[1].len));
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(
			pthread_create(&th[i], NULL, render_repeatedly, &w[i]),
			0);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
		assert_int_equal(w[i].mismatches, 0);
		wvs_clip_cleanup(&want[i]);
		wvs_tts_destroy(w[i].tts);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tts_create_reports_missing_espeak_data),
		cmocka_unit_test(
			test_tts_hello_world_is_speech_of_plausible_length),
		cmocka_unit_test(test_tts_render_trims_silence_to_the_margin),
		cmocka_unit_test(test_tts_empty_text_gives_an_empty_clip),
		cmocka_unit_test(
			test_tts_objects_coexist_with_their_own_settings),
		cmocka_unit_test(test_tts_engine_outlives_its_last_object),
		cmocka_unit_test(test_tts_create_refuses_bad_settings),
		cmocka_unit_test(test_tts_renders_from_two_threads_match_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
