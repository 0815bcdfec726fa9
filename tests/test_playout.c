/*
 * Playout buffer, one thread playing both sides: the policy in playout.h,
 * sample by sample, and a regression test for each of the guide's defects
 * that concern it (design.md, "Where the guide is wrong": 1, 2, 3, 5, 6).
 *
 * Pushed audio follows pattern(position), which is never 0, so silence is
 * told apart from audio and every sample read can be checked against the
 * position it must have come from.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <wvoice/codec.h>
#include <wvoice/error.h>
#include <wvoice/playout.h>

#include "playout_pin.h"

#define BLOCK 160    /* 20 ms, a typical device block */
#define TARGET 2400  /* the default 300 ms pre-buffer */
#ifdef WV_TEST_ADAPTIVE
#define GAP TARGET   /* adaptive: the burst gap is at least the target */
#else
#define GAP 800	     /* the default 100 ms burst gap */
#endif
#define MAX_IDS 16
#define MAX_BLOCK 4096

struct fx {
	struct wv_playout *p;
	uint64_t next; /* position of the next sample pushed */
	char ids[MAX_IDS][256];
	size_t nids;
};

static int16_t pattern(uint64_t pos)
{
	return (int16_t)(1 + pos % 30011);
}

static struct wv_playout_config config(unsigned prebuffer_ms, unsigned max_ms)
{
	struct wv_playout_config cfg;

	wv_playout_config_default(&cfg);
	cfg.prebuffer_ms = prebuffer_ms;
	cfg.max_ms = max_ms;
	pin_policy(&cfg);
	return cfg;
}

static void fx_open(struct fx *f, const struct wv_playout_config *cfg)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(wv_playout_create(&f->p, cfg), 0);
	assert_non_null(f->p);
}

static void fx_open_default(struct fx *f)
{
	struct wv_playout_config cfg;

	wv_playout_config_default(&cfg);
	pin_policy(&cfg);
	fx_open(f, &cfg);
}

/* Offers the next n samples of the pattern, in pieces; returns how many
 * were taken. Positions count taken samples only, so the pattern stays
 * true to position across drops. */
static size_t push_seq(struct fx *f, size_t n)
{
	int16_t buf[512];
	size_t taken = 0;

	for (size_t done = 0; done < n;) {
		size_t chunk = n - done < 512 ? n - done : 512;
		size_t took;

		for (size_t i = 0; i < chunk; i++)
			buf[i] = pattern(f->next + i);
		took = wv_playout_push(f->p, buf, chunk);
		f->next += took;
		taken += took;
		done += chunk;
	}
	return taken;
}

static void expect_audio(const int16_t *out, size_t n, uint64_t from)
{
	for (size_t i = 0; i < n; i++)
		if (out[i] != pattern(from + i))
			fail_msg("sample %zu: got %d, want %d (position %llu)",
				 i, out[i], pattern(from + i),
				 (unsigned long long)(from + i));
}

static void expect_silence(const int16_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (out[i] != 0)
			fail_msg("sample %zu: got %d, want silence", i, out[i]);
}

/* Reads n samples and checks that they are the audio from position from. */
static void read_audio(struct fx *f, size_t n, uint64_t from)
{
	int16_t out[MAX_BLOCK];

	assert_true(n <= MAX_BLOCK);
	wv_playout_read(f->p, out, n);
	expect_audio(out, n, from);
}

/* Reads total samples in BLOCK-sized reads, checking they are the audio
 * from position from on, as a device callback would take them. */
static void read_audio_blocks(struct fx *f, size_t total, uint64_t from)
{
	for (size_t done = 0; done < total; done += BLOCK)
		read_audio(f, BLOCK, from + done);
}

static void read_silence(struct fx *f, size_t n)
{
	int16_t out[MAX_BLOCK];

	assert_true(n <= MAX_BLOCK);
	wv_playout_read(f->p, out, n);
	expect_silence(out, n);
}

static void record_mark(void *user, const char *id)
{
	struct fx *f = user;

	assert_true(f->nids < MAX_IDS);
	assert_true(strlen(id) < sizeof(f->ids[0]));
	strcpy(f->ids[f->nids++], id);
}

static size_t poll(struct fx *f)
{
	return wv_playout_poll_marks(f->p, record_mark, f);
}

static struct wv_playout_stats stats(const struct fx *f)
{
	struct wv_playout_stats st;

	wv_playout_stats(f->p, &st);
	return st;
}

/* ---- configuration ---------------------------------------------------- */

static void test_playout_config_default_matches_header(void **state)
{
	struct wv_playout_config cfg;
	(void)state;

	memset(&cfg, 0xA5, sizeof(cfg));
	wv_playout_config_default(&cfg);
	assert_int_equal(cfg.prebuffer_ms, 300);
	assert_int_equal(cfg.max_ms, 60000);
	assert_int_equal(cfg.burst_gap_ms, 100);
	assert_int_equal(cfg.max_marks, 1024);
	assert_false(cfg.answer_marks_on_clear);
}

static const struct {
	unsigned prebuffer_ms, max_ms, max_marks;
	int want;
} config_rows[] = {
	{ 0, 0, 1, WV_ERR_INVALID },	   /* zero cap */
	{ 300, 60000, 0, WV_ERR_INVALID }, /* zero max_marks */
	{ 301, 300, 1, WV_ERR_INVALID },   /* pre-buffer over the cap */
	{ 300, 300, 1, 0 },		   /* pre-buffer equal to the cap */
	{ 0, 1, 1, 0 },			   /* smallest buffer */
};

static void test_playout_create_validates_config(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof(config_rows) / sizeof(config_rows[0]);
	     i++) {
		struct wv_playout_config cfg =
			config(config_rows[i].prebuffer_ms, config_rows[i].max_ms);
		/* Not NULL, so that a failed create must clear it. */
		struct wv_playout *p = (struct wv_playout *)&cfg;
		int rc;

		cfg.max_marks = config_rows[i].max_marks;
		rc = wv_playout_create(&p, &cfg);
		if (rc != config_rows[i].want)
			fail_msg("row %zu: got %d, want %d", i, rc,
				 config_rows[i].want);
		if (rc != 0)
			assert_null(p);
		wv_playout_destroy(p);
	}
	assert_int_equal(wv_playout_create(NULL, NULL), WV_ERR_INVALID);
}

/* A NULL config means the defaults: the 300 ms pre-buffer holds audio. */
static void test_playout_create_without_config_uses_defaults(void **state)
{
	struct fx f;
	(void)state;

	memset(&f, 0, sizeof(f));
	assert_int_equal(wv_playout_create(&f.p, NULL), 0);
	assert_int_equal(push_seq(&f, TARGET - 1), TARGET - 1);
	read_silence(&f, BLOCK);
	assert_int_equal(push_seq(&f, 1), 1);
	read_audio(&f, BLOCK, 0);
	wv_playout_destroy(f.p);
}

/* ---- pre-buffering ---------------------------------------------------- */

static void test_playout_default_prebuffer_holds_silence_until_target(
	void **state)
{
	struct fx f;
	(void)state;

	fx_open_default(&f);
	/* One packet per block keeps audio arriving, so only the target can
	 * start playback. */
	for (int i = 1; i < TARGET / BLOCK; i++) {
		push_seq(&f, BLOCK);
		read_silence(&f, BLOCK);
		assert_false(stats(&f).playing);
	}
	push_seq(&f, BLOCK);
	read_audio(&f, BLOCK, 0);
	assert_true(stats(&f).playing);
	assert_int_equal(stats(&f).silence_samples, TARGET - BLOCK);
	wv_playout_destroy(f.p);
}

static void test_playout_prebuffer_zero_plays_as_soon_as_audio_is_queued(
	void **state)
{
	struct wv_playout_config cfg = config(0, 60000);
	int16_t out[BLOCK];
	struct fx f;
	(void)state;

	fx_open(&f, &cfg);
	read_silence(&f, BLOCK);
	push_seq(&f, 10);
	wv_playout_read(f.p, out, BLOCK);
	expect_audio(out, 10, 0);
	expect_silence(out + 10, BLOCK - 10);
	wv_playout_destroy(f.p);
}

/* Audio that stays short of the target plays once no new audio has come
 * for burst_gap_ms of playout, and running dry at its end is no underrun. */
static void test_playout_end_of_burst_plays_short_audio(void **state)
{
	struct fx f;
	(void)state;

	fx_open_default(&f);
	push_seq(&f, 800);
	for (int i = 0; i < GAP / BLOCK; i++)
		read_silence(&f, BLOCK);
	read_audio_blocks(&f, 800, 0);
	read_silence(&f, BLOCK);
	assert_int_equal(stats(&f).underruns, 0);
	assert_false(stats(&f).playing);
	wv_playout_destroy(f.p);
}

/* Audio still trickling in is not the end of a burst, however slowly it
 * comes: it waits for the target. */
static void test_playout_end_of_burst_waits_while_audio_arrives(void **state)
{
	struct fx f;
	(void)state;

	fx_open_default(&f);
	for (int i = 1; i < TARGET / 80; i++) {
		push_seq(&f, 80);
		read_silence(&f, BLOCK);
	}
	push_seq(&f, 80);
	read_audio(&f, BLOCK, 0);
	wv_playout_destroy(f.p);
}

static void test_playout_flush_plays_short_utterance_at_once(void **state)
{
	struct fx f;
	(void)state;

	fx_open_default(&f);
	push_seq(&f, 800);
	wv_playout_flush(f.p);
	read_audio_blocks(&f, 800, 0);
	read_silence(&f, BLOCK);
	assert_int_equal(stats(&f).underruns, 0);
	wv_playout_destroy(f.p);
}

enum ending { END_NOTHING, END_MARK, END_FLUSH };

static const struct {
	enum ending ending;
	uint64_t want_underruns;
} utterance_rows[] = {
	{ END_MARK, 0 },
	{ END_FLUSH, 0 },
	/* Running dry with no boundary there is an underrun: the control. */
	{ END_NOTHING, 1 },
};

static void test_playout_utterance_ending_with_mark_counts_no_underrun(
	void **state)
{
	(void)state;

	for (size_t r = 0; r < sizeof(utterance_rows) / sizeof(utterance_rows[0]);
	     r++) {
		struct fx f;

		fx_open_default(&f);
		push_seq(&f, 4000);
		if (utterance_rows[r].ending == END_MARK)
			assert_int_equal(wv_playout_mark(f.p, "end"), 0);
		if (utterance_rows[r].ending == END_FLUSH)
			wv_playout_flush(f.p);
		read_audio_blocks(&f, 4000, 0);
		read_silence(&f, BLOCK);
		read_silence(&f, BLOCK);
		if (stats(&f).underruns != utterance_rows[r].want_underruns)
			fail_msg("row %zu: %llu underruns, want %llu", r,
				 (unsigned long long)stats(&f).underruns,
				 (unsigned long long)utterance_rows[r]
					 .want_underruns);
		assert_false(stats(&f).playing);
		poll(&f);
		wv_playout_destroy(f.p);
	}
}

/* ---- marks ------------------------------------------------------------ */

static void test_playout_mark_with_empty_buffer_is_reported_at_once(
	void **state)
{
	struct fx f;
	(void)state;

	fx_open_default(&f);
	assert_int_equal(wv_playout_mark(f.p, "first"), 0);
	assert_int_equal(poll(&f), 1);
	assert_string_equal(f.ids[0], "first");

	/* Also once everything queued has been played. */
	push_seq(&f, 100);
	wv_playout_flush(f.p);
	read_audio(&f, 100, 0);
	assert_int_equal(wv_playout_mark(f.p, "second"), 0);
	assert_int_equal(poll(&f), 1);
	assert_string_equal(f.ids[1], "second");
	wv_playout_destroy(f.p);
}

static void test_playout_marks_reported_in_order_with_ids_unchanged(
	void **state)
{
	static const char *const ids[] = {
		"first",
		"",
		"with spaces and \"quotes\"",
		"\xc3\xbcnic\xc3\xb8" "de",
		"0123456789012345678901234567890123456789012345678901234567890123"
		"0123456789012345678901234567890123456789012345678901234567890123",
		"42",
	};
	const size_t n = sizeof(ids) / sizeof(ids[0]);
	struct fx f;
	(void)state;

	fx_open_default(&f);
	for (size_t i = 0; i < n; i++) {
		push_seq(&f, 100);
		assert_int_equal(wv_playout_mark(f.p, ids[i]), 0);
	}
	read_audio(&f, 100 * n, 0);
	assert_int_equal(poll(&f), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(f.ids[i], ids[i]);
	wv_playout_destroy(f.p);
}

static void test_playout_each_mark_reported_exactly_once(void **state)
{
	struct fx f;
	(void)state;

	fx_open_default(&f);
	push_seq(&f, 100);
	assert_int_equal(wv_playout_mark(f.p, "a"), 0);
	push_seq(&f, 100);
	assert_int_equal(wv_playout_mark(f.p, "b"), 0);
	read_audio(&f, 100, 0);
	assert_int_equal(poll(&f), 1);
	assert_int_equal(poll(&f), 0);
	read_audio(&f, 100, 100);
	assert_int_equal(poll(&f), 1);
	assert_int_equal(poll(&f), 0);
	read_silence(&f, BLOCK);
	assert_int_equal(poll(&f), 0);
	assert_int_equal(f.nids, 2);
	assert_string_equal(f.ids[0], "a");
	assert_string_equal(f.ids[1], "b");
	assert_int_equal(stats(&f).marks_reported, 2);
	assert_int_equal(stats(&f).marks_pending, 0);
	wv_playout_destroy(f.p);
}

static void place_mark_b(void *user, const char *id)
{
	struct fx *f = user;

	record_mark(user, id);
	if (strcmp(id, "a") == 0)
		assert_int_equal(wv_playout_mark(f->p, "b"), 0);
}

/* A mark placed from inside the callback has nothing queued before it. */
static void test_playout_poll_callback_may_place_marks(void **state)
{
	struct fx f;
	(void)state;

	fx_open_default(&f);
	assert_int_equal(wv_playout_mark(f.p, "a"), 0);
	assert_int_equal(wv_playout_poll_marks(f.p, place_mark_b, &f), 2);
	assert_int_equal(f.nids, 2);
	assert_string_equal(f.ids[1], "b");
	wv_playout_destroy(f.p);
}

static void test_playout_max_marks_refuses_and_counts(void **state)
{
	struct wv_playout_config cfg = config(300, 60000);
	struct fx f;
	(void)state;

	cfg.max_marks = 2;
	fx_open(&f, &cfg);
	push_seq(&f, 10);
	assert_int_equal(wv_playout_mark(f.p, "a"), 0);
	assert_int_equal(wv_playout_mark(f.p, "b"), 0);
	assert_int_equal(wv_playout_mark(f.p, "c"), WV_ERR_FULL);
	assert_int_equal(stats(&f).marks_refused, 1);
	assert_int_equal(stats(&f).marks_pending, 2);
	read_audio(&f, 10, 0);
	assert_int_equal(poll(&f), 2);
	assert_int_equal(wv_playout_mark(f.p, "d"), 0);
	assert_int_equal(poll(&f), 1);
	assert_string_equal(f.ids[2], "d");
	wv_playout_destroy(f.p);
}

static void test_playout_mark_without_id_is_invalid(void **state)
{
	struct fx f;
	(void)state;

	fx_open_default(&f);
	assert_int_equal(wv_playout_mark(f.p, NULL), WV_ERR_INVALID);
	assert_int_equal(stats(&f).marks_pending, 0);
	wv_playout_destroy(f.p);
}

/* ---- clear ------------------------------------------------------------ */

static void test_playout_clear_drops_queued_audio_and_pending_marks(
	void **state)
{
	struct fx f;
	(void)state;

	fx_open_default(&f);
	push_seq(&f, 3000);
	assert_int_equal(wv_playout_mark(f.p, "dropped"), 0);
	push_seq(&f, 500);
	wv_playout_clear(f.p);
	assert_int_equal(stats(&f).queued_samples, 0);
	assert_int_equal(stats(&f).marks_pending, 0);
	assert_int_equal(poll(&f), 0);
	read_silence(&f, BLOCK);
	assert_int_equal(stats(&f).cleared_samples, 3500);
	assert_int_equal(stats(&f).played_samples, 0);
	assert_int_equal(poll(&f), 0);

	/* Marks after the clear still work. */
	push_seq(&f, 100);
	assert_int_equal(wv_playout_mark(f.p, "kept"), 0);
	read_audio(&f, 100, 3500);
	assert_int_equal(poll(&f), 1);
	assert_string_equal(f.ids[0], "kept");
	wv_playout_destroy(f.p);
}

static void test_playout_answer_marks_on_clear_reports_them_at_once(
	void **state)
{
	struct wv_playout_config cfg = config(300, 60000);
	struct fx f;
	(void)state;

	cfg.answer_marks_on_clear = true;
	fx_open(&f, &cfg);
	push_seq(&f, 500);
	assert_int_equal(wv_playout_mark(f.p, "a"), 0);
	push_seq(&f, 500);
	assert_int_equal(wv_playout_mark(f.p, "b"), 0);
	assert_int_equal(poll(&f), 0);
	wv_playout_clear(f.p);
	assert_int_equal(poll(&f), 2);
	assert_string_equal(f.ids[0], "a");
	assert_string_equal(f.ids[1], "b");
	read_silence(&f, BLOCK);
	assert_int_equal(stats(&f).cleared_samples, 1000);
	wv_playout_destroy(f.p);
}

static void test_playout_clear_while_playing_drops_the_rest(void **state)
{
	struct fx f;
	(void)state;

	fx_open_default(&f);
	push_seq(&f, 4000);
	read_audio(&f, 1000, 0);
	assert_true(stats(&f).playing);
	wv_playout_clear(f.p);
	push_seq(&f, 500);
	wv_playout_flush(f.p);
	read_audio(&f, 500, 4000);
	assert_int_equal(stats(&f).cleared_samples, 3000);
	read_silence(&f, BLOCK);
	assert_int_equal(stats(&f).underruns, 0);
	wv_playout_destroy(f.p);
}

/* After a clear the consumer goes back to BUFFERING: new audio waits for
 * the target again. */
static void test_playout_clear_returns_to_buffering(void **state)
{
	struct fx f;
	(void)state;

	fx_open_default(&f);
	push_seq(&f, 4000);
	read_audio(&f, BLOCK, 0);
	wv_playout_clear(f.p);
	push_seq(&f, BLOCK);
	read_silence(&f, BLOCK);
	assert_false(stats(&f).playing);
	wv_playout_destroy(f.p);
}

/* A clear just as the queue empties is a deliberate stop, not a late
 * network: running dry after it counts no underrun. */
static void test_playout_clear_after_everything_played_is_no_underrun(
	void **state)
{
	struct fx f;
	(void)state;

	fx_open_default(&f);
	push_seq(&f, 4000);
	read_audio(&f, 4000, 0);
	assert_true(stats(&f).playing);
	wv_playout_clear(f.p);
	read_silence(&f, BLOCK);
	assert_int_equal(stats(&f).underruns, 0);
	assert_int_equal(stats(&f).cleared_samples, 0);
	wv_playout_destroy(f.p);
}

static void test_playout_mark_right_after_clear_is_reported_at_once(
	void **state)
{
	struct fx f;
	(void)state;

	fx_open_default(&f);
	push_seq(&f, 500);
	wv_playout_clear(f.p);
	assert_int_equal(wv_playout_mark(f.p, "now"), 0);
	assert_int_equal(poll(&f), 1);
	wv_playout_destroy(f.p);
}

/* The producer cannot reuse space the consumer may still be reading, so a
 * clear frees space when the consumer next reads. */
static void test_playout_clear_frees_space_at_next_read(void **state)
{
	struct wv_playout_config cfg = config(0, 10);
	struct fx f;
	(void)state;

	fx_open(&f, &cfg);
	assert_int_equal(push_seq(&f, 80), 80);
	wv_playout_clear(f.p);
	assert_int_equal(push_seq(&f, 10), 0);
	read_silence(&f, 1);
	assert_int_equal(push_seq(&f, 80), 80);
	read_audio(&f, 80, 80);
	wv_playout_destroy(f.p);
}

/* ---- cap, content, stats ---------------------------------------------- */

static void test_playout_samples_read_equal_samples_pushed_across_wrap(
	void **state)
{
	static const size_t push_sizes[] = { 1, 7, 33, 80, 19 };
	static const size_t read_sizes[] = { 5, 13, 64 };
	/* cap 80 samples in a 128-sample ring */
	struct wv_playout_config cfg = config(0, 10);
	int16_t out[64];
	uint64_t want = 0;
	struct fx f;
	(void)state;

	fx_open(&f, &cfg);
	/* 5000 turns of pushing, then enough to drain the 80 samples left. */
	for (size_t i = 0; i < 5000 + 16; i++) {
		size_t n = read_sizes[i % 3];

		if (i < 5000)
			push_seq(&f, push_sizes[i % 5]);
		wv_playout_read(f.p, out, n);
		for (size_t j = 0; j < n; j++)
			if (out[j] != 0 && out[j] != pattern(want++))
				fail_msg("position %llu: got %d",
					 (unsigned long long)(want - 1), out[j]);
	}
	assert_int_equal(want, f.next);
	assert_true(f.next > 50 * 128);
	assert_int_equal(stats(&f).pushed_samples, f.next);
	assert_int_equal(stats(&f).played_samples, f.next);
	assert_true(stats(&f).overflow_samples > 0);
	wv_playout_destroy(f.p);
}

static void test_playout_push_ulaw_decodes_into_ring(void **state)
{
	struct wv_playout_config cfg = config(0, 10);
	uint8_t ulaw[100];
	int16_t want[61], got[61];
	struct fx f;
	(void)state;

	fx_open(&f, &cfg);
	/* 40 rounds of 61 codes cover all 256 and wrap the 128-sample ring
	 * at a different offset each time. */
	for (unsigned r = 0; r < 40; r++) {
		for (unsigned i = 0; i < 61; i++)
			ulaw[i] = (uint8_t)(r * 61 + i);
		assert_int_equal(wv_playout_push_ulaw(f.p, ulaw, 61), 61);
		wv_playout_read(f.p, got, 61);
		wv_ulaw_decode(want, ulaw, 61);
		assert_memory_equal(got, want, sizeof(want));
	}
	memset(ulaw, 0x80, sizeof(ulaw));
	assert_int_equal(wv_playout_push_ulaw(f.p, ulaw, 100), 80);
	assert_int_equal(stats(&f).overflow_samples, 20);
	wv_playout_destroy(f.p);
}

static void test_playout_stats_report_queue_and_counters(void **state)
{
	struct wv_playout_stats st;
	struct fx f;
	(void)state;

	fx_open_default(&f);
	push_seq(&f, 1000);
	st = stats(&f);
	assert_int_equal(st.queued_samples, 1000);
	assert_int_equal(st.queued_ms, 125);
	assert_int_equal(st.pushed_samples, 1000);
	assert_false(st.playing);
	assert_int_equal(wv_playout_mark(f.p, "m"), 0);
	assert_int_equal(stats(&f).marks_pending, 1);

	read_audio(&f, 400, 0);
	st = stats(&f);
	assert_int_equal(st.played_samples, 400);
	assert_int_equal(st.queued_samples, 600);
	assert_int_equal(st.queued_ms, 75);
	assert_int_equal(st.silence_samples, 0);
	assert_true(st.playing);

	read_audio(&f, 600, 400);
	read_silence(&f, 400);
	assert_int_equal(poll(&f), 1);
	st = stats(&f);
	assert_int_equal(st.played_samples, 1000);
	assert_int_equal(st.silence_samples, 400);
	assert_int_equal(st.queued_samples, 0);
	assert_int_equal(st.underruns, 0);
	assert_int_equal(st.overflow_samples, 0);
	assert_int_equal(st.cleared_samples, 0);
	assert_int_equal(st.marks_pending, 0);
	assert_int_equal(st.marks_reported, 1);
	assert_int_equal(st.marks_refused, 0);
	assert_false(st.playing);
	wv_playout_destroy(f.p);
}

/* ---- the guide's defects ---------------------------------------------- */

/* Defect 1: 100 ms and a mark, under the 300 ms pre-buffer: the audio plays
 * at once and the mark is reported right after its last sample. */
static void test_playout_defect1_mark_after_short_utterance_fires(void **state)
{
	struct fx f;
	(void)state;

	fx_open_default(&f);
	push_seq(&f, 800);
	assert_int_equal(wv_playout_mark(f.p, "end"), 0);
	for (int i = 0; i < 800 / BLOCK; i++) {
		assert_int_equal(poll(&f), 0);
		read_audio(&f, BLOCK, (uint64_t)i * BLOCK);
	}
	assert_int_equal(poll(&f), 1);
	assert_string_equal(f.ids[0], "end");
	read_silence(&f, BLOCK);
	assert_int_equal(stats(&f).underruns, 0);
	wv_playout_destroy(f.p);
}

/* Reads n samples in pieces of 13, checking they are audio from from. */
static void read_audio_in_pieces(struct fx *f, size_t n, uint64_t from)
{
	while (n > 0) {
		size_t k = n < 13 ? n : 13;

		read_audio(f, k, from);
		from += k;
		n -= k;
	}
}

/* Defect 2: after a clear, a mark behind N samples is reported after
 * exactly N samples have been read, clear after clear. */
static void test_playout_defect2_marks_after_clear_fire_on_time(void **state)
{
	struct fx f;
	(void)state;

	fx_open_default(&f);
	for (unsigned r = 0; r < 6; r++) {
		size_t n = 160 * r + 7;
		uint64_t start;
		char id[16];

		start = f.next;
		/* Odd rounds clear with the consumer mid-stream, even ones
		 * before it has seen the audio at all. */
		push_seq(&f, r % 2 ? TARGET + 100 * r : 500 + 100 * r);
		if (r % 2)
			read_audio(&f, BLOCK, start);
		wv_playout_clear(f.p);
		start = f.next;
		push_seq(&f, n);
		snprintf(id, sizeof(id), "m%u", r);
		assert_int_equal(wv_playout_mark(f.p, id), 0);
		assert_int_equal(poll(&f), 0);
		read_audio_in_pieces(&f, n - 1, start);
		assert_int_equal(poll(&f), 0);
		read_audio(&f, 1, start + n - 1);
		assert_int_equal(poll(&f), 1);
		assert_string_equal(f.ids[r], id);
		read_silence(&f, BLOCK);
	}
	assert_int_equal(stats(&f).underruns, 0);
	wv_playout_destroy(f.p);
}

/* Defect 3: audio and marks queued before the consumer ever ran keep their
 * order: no mark is reported before the audio ahead of it is played. */
static void test_playout_defect3_mark_never_overtakes_audio(void **state)
{
	static const char *const ids[] = { "a", "b", "c" };
	struct fx f;
	(void)state;

	fx_open_default(&f);
	for (int i = 0; i < 3; i++) {
		push_seq(&f, 800);
		assert_int_equal(wv_playout_mark(f.p, ids[i]), 0);
	}
	assert_int_equal(poll(&f), 0);
	for (uint64_t i = 0; i < 3; i++) {
		read_audio(&f, 799, 800 * i);
		assert_int_equal(poll(&f), 0);
		read_audio(&f, 1, 800 * i + 799);
		assert_int_equal(poll(&f), 1);
		assert_string_equal(f.ids[i], ids[i]);
	}
	wv_playout_destroy(f.p);
}

/* Defect 5: pushing twice the cap keeps the cap; the newest audio is
 * dropped and counted, and a later mark still follows the accepted audio. */
static void test_playout_defect5_cap_bounds_memory(void **state)
{
	struct wv_playout_config cfg = config(50, 100); /* cap 800 samples */
	struct fx f;
	(void)state;

	fx_open(&f, &cfg);
	assert_int_equal(push_seq(&f, 1600), 800);
	assert_int_equal(push_seq(&f, 1), 0);
	assert_int_equal(stats(&f).pushed_samples, 800);
	assert_int_equal(stats(&f).overflow_samples, 801);
	assert_int_equal(stats(&f).queued_ms, 100);
	assert_int_equal(wv_playout_mark(f.p, "after"), 0);
	read_audio(&f, 799, 0);
	assert_int_equal(poll(&f), 0);
	read_audio(&f, 1, 799);
	assert_int_equal(poll(&f), 1);
	assert_int_equal(push_seq(&f, 800), 800);
	wv_playout_destroy(f.p);

	/* The default cap: 60 s. */
	fx_open_default(&f);
	assert_int_equal(push_seq(&f, 2 * 480000), 480000);
	assert_int_equal(stats(&f).overflow_samples, 480000);
	wv_playout_destroy(f.p);
}

/* Defect 6: starved mid-stream, the buffer counts one underrun, plays
 * silence, and then waits to refill to the target instead of playing each
 * packet as it comes. */
static void test_playout_defect6_midstream_underrun_rebuffers(void **state)
{
	uint64_t pos = 0;
	struct fx f;
	(void)state;

	fx_open_default(&f);
	push_seq(&f, TARGET);
	for (int i = 0; i < 20; i++, pos += BLOCK) {
		read_audio(&f, BLOCK, pos);
		push_seq(&f, BLOCK);
	}
	/* The network stalls: the queue drains, then runs dry. */
	for (int i = 0; i < TARGET / BLOCK; i++, pos += BLOCK)
		read_audio(&f, BLOCK, pos);
	for (int i = 0; i < 5; i++)
		read_silence(&f, BLOCK);
	assert_int_equal(stats(&f).underruns, 1);
	assert_false(stats(&f).playing);
	/* Packets come back one per block: silence until the target. */
	for (int i = 1; i < TARGET / BLOCK; i++) {
		push_seq(&f, BLOCK);
		read_silence(&f, BLOCK);
	}
	for (int i = 0; i < 10; i++, pos += BLOCK) {
		push_seq(&f, BLOCK);
		read_audio(&f, BLOCK, pos);
	}
	assert_int_equal(stats(&f).underruns, 1);
	assert_int_equal(stats(&f).silence_samples,
			 5 * BLOCK + TARGET - BLOCK);
	wv_playout_destroy(f.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_playout_config_default_matches_header),
		cmocka_unit_test(test_playout_create_validates_config),
		cmocka_unit_test(test_playout_create_without_config_uses_defaults),
		cmocka_unit_test(
			test_playout_default_prebuffer_holds_silence_until_target),
		cmocka_unit_test(
			test_playout_prebuffer_zero_plays_as_soon_as_audio_is_queued),
		cmocka_unit_test(test_playout_end_of_burst_plays_short_audio),
		cmocka_unit_test(
			test_playout_end_of_burst_waits_while_audio_arrives),
		cmocka_unit_test(test_playout_flush_plays_short_utterance_at_once),
		cmocka_unit_test(
			test_playout_utterance_ending_with_mark_counts_no_underrun),
		cmocka_unit_test(
			test_playout_mark_with_empty_buffer_is_reported_at_once),
		cmocka_unit_test(
			test_playout_marks_reported_in_order_with_ids_unchanged),
		cmocka_unit_test(test_playout_each_mark_reported_exactly_once),
		cmocka_unit_test(test_playout_poll_callback_may_place_marks),
		cmocka_unit_test(test_playout_max_marks_refuses_and_counts),
		cmocka_unit_test(test_playout_mark_without_id_is_invalid),
		cmocka_unit_test(
			test_playout_clear_drops_queued_audio_and_pending_marks),
		cmocka_unit_test(
			test_playout_answer_marks_on_clear_reports_them_at_once),
		cmocka_unit_test(test_playout_clear_while_playing_drops_the_rest),
		cmocka_unit_test(test_playout_clear_returns_to_buffering),
		cmocka_unit_test(
			test_playout_clear_after_everything_played_is_no_underrun),
		cmocka_unit_test(
			test_playout_mark_right_after_clear_is_reported_at_once),
		cmocka_unit_test(test_playout_clear_frees_space_at_next_read),
		cmocka_unit_test(
			test_playout_samples_read_equal_samples_pushed_across_wrap),
		cmocka_unit_test(test_playout_push_ulaw_decodes_into_ring),
		cmocka_unit_test(test_playout_stats_report_queue_and_counters),
		cmocka_unit_test(
			test_playout_defect1_mark_after_short_utterance_fires),
		cmocka_unit_test(
			test_playout_defect2_marks_after_clear_fire_on_time),
		cmocka_unit_test(test_playout_defect3_mark_never_overtakes_audio),
		cmocka_unit_test(test_playout_defect5_cap_bounds_memory),
		cmocka_unit_test(
			test_playout_defect6_midstream_underrun_rebuffers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
