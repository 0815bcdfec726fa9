/*
 * The adaptive playout policy (playout.h, "Adaptive playout"), one thread
 * playing both sides on a fake clock: the consumer reads 20 ms blocks, and
 * the producer pushes each 20 ms frame when the scenario says it arrives.
 *
 * Every sample pushed tells its position: speech is loud (1000 and up,
 * unique over 20,000 samples), pauses are quiet but never 0 (1 to 60). The
 * buffer's own silence is exactly 0. So the checker below sees, sample by
 * sample, what the policy did: played in order, dropped (only quiet
 * samples may be skipped), or inserted (only between quiet samples).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <wvoice/error.h>
#include <wvoice/playout.h>

#define MS 8		   /* samples */
#define FRAME (20 * MS)	   /* the agent's frames */
#define BLOCK (20 * MS)	   /* the device's reads */
#define WORD (300 * MS)	   /* speech, then */
#define PAUSE (200 * MS)   /* a pause, over and over */
#define MAX_MARKS 64

static bool loud_at(uint64_t pos)
{
	return pos % (WORD + PAUSE) < WORD;
}

static int16_t sample_at(uint64_t pos)
{
	return (int16_t)(loud_at(pos) ? 1000 + pos % 20000 : 1 + pos % 60);
}

struct sim {
	struct wv_playout *p;
	uint64_t clock;	 /* samples read so far */
	uint64_t pushed; /* positions pushed so far */
	/* What the checker saw. */
	uint64_t expect;      /* the next position due out */
	bool prev_quiet;      /* the last sample out was quiet or silence */
	bool in_underrun;     /* since an underrun, until audio comes */
	uint64_t zeros_in_speech, loud_skipped, out_of_order;
	uint64_t played_seen; /* pushed samples that came out */
	uint64_t first_loud_clock; /* when the first loud sample came out */
	uint64_t mark_pos[MAX_MARKS];
	size_t marks_placed, marks_reported, marks_early;
};

static struct wv_playout_config adaptive(void)
{
	struct wv_playout_config cfg;

	wv_playout_config_default(&cfg);
	cfg.policy = WV_PLAYOUT_ADAPTIVE;
	return cfg;
}

static void sim_open(struct sim *s, const struct wv_playout_config *cfg)
{
	memset(s, 0, sizeof(*s));
	s->prev_quiet = true;
	s->first_loud_clock = UINT64_MAX;
	assert_int_equal(wv_playout_create(&s->p, cfg), 0);
}

static struct wv_playout_stats sim_stats(const struct sim *s)
{
	struct wv_playout_stats st;

	wv_playout_stats(s->p, &st);
	return st;
}

static void push_frame(struct sim *s, size_t n)
{
	int16_t buf[FRAME];

	for (size_t i = 0; i < n; i++)
		buf[i] = sample_at(s->pushed + i);
	assert_int_equal(wv_playout_push(s->p, buf, n), n);
	s->pushed += n;
}

static void place_mark(struct sim *s)
{
	char id[16];

	assert_true(s->marks_placed < MAX_MARKS);
	snprintf(id, sizeof id, "m%zu", s->marks_placed);
	assert_int_equal(wv_playout_mark(s->p, id), 0);
	s->mark_pos[s->marks_placed++] = s->pushed;
}

static void on_mark(void *user, const char *id)
{
	struct sim *s = user;
	char want[16];

	snprintf(want, sizeof want, "m%zu", s->marks_reported);
	assert_string_equal(id, want);
	/* On time: not before the speech ahead of it has been handed out
	   (silence just before it may have been dropped). */
	for (uint64_t q = s->expect; q < s->mark_pos[s->marks_reported]; q++)
		if (loud_at(q))
			s->marks_early++;
	s->marks_reported++;
}

/* Matches one pushed sample to its position: the first at or after
 * expect with its value; what it passes over was dropped. */
static void check_pushed(struct sim *s, int16_t v)
{
	uint64_t pos = s->expect;

	while (pos < s->pushed && sample_at(pos) != v)
		pos++;
	if (pos == s->pushed) {
		s->out_of_order++;
		return;
	}
	for (uint64_t q = s->expect; q < pos; q++)
		if (loud_at(q))
			s->loud_skipped++;
	s->played_seen++;
	s->expect = pos + 1;
	s->prev_quiet = !loud_at(pos);
}

/* A zero is the buffer's own silence: buffering, an underrun, or inserted.
 * Inside speech (a loud sample before it and one due after it) only an
 * underrun may put it. */
static void check_zero(struct sim *s)
{
	bool speech_due = s->expect < s->pushed && loud_at(s->expect);

	if (!s->prev_quiet && speech_due && !s->in_underrun)
		s->zeros_in_speech++;
}

static void sim_read(struct sim *s)
{
	uint64_t underruns = sim_stats(s).underruns;
	int16_t out[BLOCK];

	wv_playout_read(s->p, out, BLOCK);
	if (sim_stats(s).underruns != underruns)
		s->in_underrun = true;
	for (size_t i = 0; i < BLOCK; i++) {
		if (out[i] == 0) {
			check_zero(s);
			continue;
		}
		s->in_underrun = false;
		check_pushed(s, out[i]);
		if (out[i] >= 1000 && s->first_loud_clock == UINT64_MAX)
			s->first_loud_clock = s->clock + i;
	}
	s->clock += BLOCK;
	wv_playout_poll_marks(s->p, on_mark, s);
}

/* Reads until the clock reaches t. */
static void sim_until(struct sim *s, uint64_t t)
{
	while (s->clock < t)
		sim_read(s);
}

/* The policy kept every promise: speech whole and in order, silence only
 * where speech was not due, marks in order and on time. */
static void assert_speech_intact(const struct sim *s)
{
	assert_int_equal(s->played_seen, sim_stats(s).played_samples);
	assert_int_equal(s->out_of_order, 0);
	assert_int_equal(s->loud_skipped, 0);
	assert_int_equal(s->zeros_in_speech, 0);
	assert_int_equal(s->marks_early, 0);
	assert_int_equal(s->marks_reported, s->marks_placed);
}

/*
 * One utterance of ms milliseconds, its frame i arriving at
 * start + i * spacing + late(i) on the consumer's clock (late in samples,
 * never making a frame overtake the one before it), then a mark.
 */
typedef uint64_t late_fn(size_t i);

static uint64_t on_time(size_t i)
{
	(void)i;
	return 0;
}

static void utterance(struct sim *s, uint64_t start, unsigned ms,
		      uint64_t spacing, late_fn *late)
{
	size_t frames = ms * MS / FRAME;
	uint64_t prev = 0;

	for (size_t i = 0; i < frames; i++) {
		uint64_t at = start + i * spacing + late(i);

		if (at < prev)
			at = prev;
		prev = at;
		sim_until(s, at);
		push_frame(s, FRAME);
	}
	place_mark(s);
}

/* ---- tests ------------------------------------------------------------ */

static void test_adaptive_config_is_checked(void **state)
{
	struct wv_playout_config cfg = adaptive();
	struct wv_playout *p = NULL;
	(void)state;

	assert_int_equal(cfg.min_delay_ms, 40);
	assert_int_equal(cfg.max_delay_ms, 500);
	assert_int_equal(cfg.delay_quantile, 95);
	cfg.delay_quantile = 100;
	assert_int_equal(wv_playout_create(&p, &cfg), WV_ERR_INVALID);
	cfg = adaptive();
	cfg.min_delay_ms = 600;
	assert_int_equal(wv_playout_create(&p, &cfg), WV_ERR_INVALID);
	cfg = adaptive();
	cfg.policy = (enum wv_playout_policy)7;
	assert_int_equal(wv_playout_create(&p, &cfg), WV_ERR_INVALID);
	assert_null(p);
	/* A ceiling above the cap is held to the cap. */
	cfg = adaptive();
	cfg.max_ms = 100;
	cfg.prebuffer_ms = 100;
	assert_int_equal(wv_playout_create(&p, &cfg), 0);
	wv_playout_destroy(p);
}

/* A clean, real-time stream: the target falls to the floor, each
 * utterance starts one floor's worth after its first frame, and nothing is
 * dropped, inserted or underrun. The fixed policy at its default waits
 * 300 ms for each. */
static void test_adaptive_clean_stream_plays_at_the_floor(void **state)
{
	struct wv_playout_config cfg = adaptive();
	struct wv_playout_stats st;
	struct sim s;
	(void)state;

	sim_open(&s, &cfg);
	for (int u = 0; u < 10; u++) {
		uint64_t start = s.clock + 500 * MS;

		s.first_loud_clock = UINT64_MAX;
		utterance(&s, start, 2000, FRAME, on_time);
		sim_until(&s, s.clock + 2500 * MS);
		/* After the first second the target is the floor: the first
		 * sound comes out 40 ms after the first frame came in. */
		if (u > 0)
			assert_true(s.first_loud_clock <= start + 40 * MS);
	}
	st = sim_stats(&s);
	assert_int_equal(st.target_ms, 40);
	assert_int_equal(st.underruns, 0);
	assert_int_equal(st.concealed_samples, 0);
	/* The first utterance starts at 150 ms, not knowing the network
	   yet; what it holds past the floor is dropped in its pauses. */
	assert_true(st.dropped_samples <= 110 * MS);
	assert_int_equal(st.inserted_samples, 0);
	assert_int_equal(st.late_arrivals, 0);
	assert_int_equal(st.jitter_ms, 0);
	assert_speech_intact(&s);
	wv_playout_destroy(s.p);
}

/* An agent that sends an utterance ten times faster than real time: play
 * starts at once, and the audio sent ahead is played as sent, not
 * shortened: it is queued early, not late. */
static void test_adaptive_burst_is_played_at_once_and_whole(void **state)
{
	struct wv_playout_config cfg = adaptive();
	struct sim s;
	(void)state;

	sim_open(&s, &cfg);
	for (int u = 0; u < 5; u++) {
		uint64_t start = s.clock + 500 * MS;

		s.first_loud_clock = UINT64_MAX;
		utterance(&s, start, 3000, FRAME / 10, on_time);
		sim_until(&s, s.clock + 4000 * MS);
		assert_true(s.first_loud_clock <= start + 80 * MS);
	}
	assert_int_equal(sim_stats(&s).dropped_samples, 0);
	assert_int_equal(sim_stats(&s).underruns, 0);
	assert_speech_intact(&s);
	wv_playout_destroy(s.p);
}

/* Every 25th frame 120 ms late (and those behind it with it, as TCP
 * delivers): the target rises to cover it and the later utterances play
 * through without an underrun. */
static uint64_t every_25th_late(size_t i)
{
	return i % 25 == 12 ? 120 * MS : 0;
}

static void test_adaptive_late_frames_raise_the_target(void **state)
{
	struct wv_playout_config cfg = adaptive();
	struct sim s;
	uint64_t early;
	(void)state;

	sim_open(&s, &cfg);
	for (int u = 0; u < 12; u++) {
		utterance(&s, s.clock + 500 * MS, 3000, FRAME,
			  every_25th_late);
		sim_until(&s, s.clock + 3500 * MS);
		if (u == 3)
			early = sim_stats(&s).underruns;
	}
	assert_true(sim_stats(&s).target_ms >= 100);
	assert_true(sim_stats(&s).target_ms <= 200);
	/* Learned by the fourth utterance: none after it. */
	assert_int_equal(sim_stats(&s).underruns, early);
	assert_speech_intact(&s);
	wv_playout_destroy(s.p);
}

/* A 400 ms stall in the middle of a word, its frames then all at once:
 * one underrun, concealed while nothing came and while the buffer refilled
 * to its new target, the frames that came during it counted late. The
 * target now covers such a stall, so a second one is heard as nothing; 30
 * s after the last, the network clean since, the target is back at the
 * floor and the delay held for the stalls is taken back in the pauses,
 * never in speech. */
static uint64_t stall_at_55(size_t i)
{
	return i >= 55 && i < 75 ? (75 - i) * FRAME : 0;
}

static void test_adaptive_stall_raises_the_target_until_it_is_over(
	void **state)
{
	struct wv_playout_config cfg = adaptive();
	struct wv_playout_stats st;
	struct sim s;
	(void)state;

	sim_open(&s, &cfg);
	utterance(&s, 500 * MS, 2000, FRAME, on_time); /* learn: clean */
	sim_until(&s, s.clock + 2500 * MS);
	utterance(&s, s.clock + 500 * MS, 6000, FRAME, stall_at_55);
	sim_until(&s, s.clock + 7000 * MS);
	st = sim_stats(&s);
	assert_int_equal(st.underruns, 1);
	assert_true(st.concealed_samples >= 360 * MS);
	assert_true(st.concealed_samples <= 500 * MS);
	assert_true(st.late_arrivals >= 1);
	assert_true(st.target_ms >= 400);

	utterance(&s, s.clock + 500 * MS, 6000, FRAME, stall_at_55);
	sim_until(&s, s.clock + 7000 * MS);
	assert_int_equal(sim_stats(&s).underruns, 1);

	for (int u = 0; u < 6; u++) {
		utterance(&s, s.clock + 500 * MS, 6000, FRAME, on_time);
		sim_until(&s, s.clock + 7000 * MS);
	}
	st = sim_stats(&s);
	assert_int_equal(st.target_ms, 40);
	assert_true(st.delay_ms <= 80);
	assert_true(st.dropped_samples > 200 * MS);
	assert_int_equal(st.underruns, 1);
	assert_speech_intact(&s);
	wv_playout_destroy(s.p);
}

/* A sender whose clock runs 1% slow: its audio comes in slower than the
 * device plays it, so the delay shrinks; the policy puts it back with
 * silence inserted in the pauses, only there, and nothing underruns. (A
 * real clock is off by 200 ppm at most: this is 50 times that, to see it
 * within seconds. One that runs fast sends audio ahead, as a burst does:
 * it is played as sent.) */
static void test_adaptive_slow_sender_gets_silence_inserted(void **state)
{
	struct wv_playout_config cfg = adaptive();
	struct sim s;
	(void)state;

	sim_open(&s, &cfg);
	for (int u = 0; u < 3; u++) {
		utterance(&s, s.clock + 500 * MS, 8000, FRAME * 101 / 100,
			  on_time);
		sim_until(&s, s.clock + 1000 * MS);
	}
	assert_true(sim_stats(&s).inserted_samples > 0);
	assert_int_equal(sim_stats(&s).underruns, 0);
	assert_speech_intact(&s);
	wv_playout_destroy(s.p);
}

/* A clear during adaptive play drops everything at once, as the fixed
 * policy does, and the next utterance starts afresh. */
static void test_adaptive_clear_is_at_once(void **state)
{
	struct wv_playout_config cfg = adaptive();
	struct sim s;
	(void)state;

	sim_open(&s, &cfg);
	for (int i = 0; i < 100; i++)
		push_frame(&s, FRAME);
	sim_until(&s, 200 * MS);
	wv_playout_clear(s.p);
	s.expect = s.pushed; /* what was cleared is not due */
	s.prev_quiet = true;
	sim_read(&s);
	assert_int_equal(sim_stats(&s).queued_samples, 0);
	assert_false(sim_stats(&s).playing);
	utterance(&s, s.clock + 100 * MS, 1000, FRAME, on_time);
	sim_until(&s, s.clock + 1500 * MS);
	assert_speech_intact(&s);
	wv_playout_destroy(s.p);
}

/* RFC 3550's estimate: frames alternately 10 ms early and late settle at
 * about 20 ms of interarrival jitter (each spacing is 20 ms off). */
static uint64_t alternate(size_t i)
{
	return i % 2 ? 20 * MS : 0;
}

static void test_adaptive_jitter_is_rfc3550s(void **state)
{
	struct wv_playout_config cfg = adaptive();
	struct sim s;
	unsigned j;
	(void)state;

	sim_open(&s, &cfg);
	utterance(&s, 100 * MS, 4000, FRAME, alternate);
	j = sim_stats(&s).jitter_ms;
	assert_true(j >= 18 && j <= 20);
	wv_playout_destroy(s.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adaptive_config_is_checked),
		cmocka_unit_test(test_adaptive_clean_stream_plays_at_the_floor),
		cmocka_unit_test(test_adaptive_burst_is_played_at_once_and_whole),
		cmocka_unit_test(test_adaptive_late_frames_raise_the_target),
		cmocka_unit_test(
			test_adaptive_stall_raises_the_target_until_it_is_over),
		cmocka_unit_test(test_adaptive_slow_sender_gets_silence_inserted),
		cmocka_unit_test(test_adaptive_clear_is_at_once),
		cmocka_unit_test(test_adaptive_jitter_is_rfc3550s),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
