/*
 * Capture: device blocks of any size become exact 20 ms frames at 8 kHz, the
 * same frames whatever the block split, at exactly 50 a second over a long
 * call; mute sends zeros after the audio written before it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <wvoice/capture.h>
#include <wvoice/error.h>
#include <wvoice/pcm.h>
#include <wvoice/resampler.h>

/*
 * The test program's malloc family wraps glibc's and counts calls; being in
 * the program, it also takes the calls of every library (speexdsp included).
 * Sanitizers bring their own allocator, so under them the count is skipped.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) ||           \
	!defined(__GLIBC__)
#define COUNT_ALLOCATIONS 0
#else
#define COUNT_ALLOCATIONS 1
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static atomic_ulong allocations;

void *malloc(size_t size)
{
	atomic_fetch_add(&allocations, 1);
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	atomic_fetch_add(&allocations, 1);
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	atomic_fetch_add(&allocations, 1);
	return __libc_realloc(p, size);
}

void free(void *p)
{
	__libc_free(p);
}
#endif

#define PI 3.14159265358979323846
#define TONE_AMPLITUDE 0.5
#define RANDOM_BLOCKS 0 /* a block size meaning "random, 1 to 5000" */

static uint32_t next_random(uint32_t *state)
{
	*state = *state * 1664525u + 1013904223u;
	return *state >> 8;
}

/* Three tones across the voice band and some noise. */
static void make_signal(float *x, size_t n, unsigned rate)
{
	uint32_t rnd = 1;

	for (size_t i = 0; i < n; i++) {
		double t = (double)i / rate;
		double noise = (double)next_random(&rnd) / 16777216.0 - 0.5;

		x[i] = (float)(0.3 * sin(2 * PI * 300 * t) +
			       0.2 * sin(2 * PI * 1100 * t) +
			       0.1 * sin(2 * PI * 2900 * t) + 0.1 * noise);
	}
}

static void make_tone(float *x, size_t n, unsigned rate)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(TONE_AMPLITUDE *
			       sin(2 * PI * 1000 * (double)i / rate));
}

static float *alloc_samples(size_t n)
{
	float *x = malloc(n * sizeof *x);

	assert_non_null(x);
	return x;
}

/* Collects every frame, and checks frames() as each one arrives. */
struct sink {
	struct wv_capture *capture;
	int16_t *samples; /* count frames, back to back */
	size_t count, cap;
};

static void collect(void *user, const int16_t *frame)
{
	struct sink *s = user;

	assert_true(s->count < s->cap);
	memcpy(s->samples + s->count * WV_FRAME_SAMPLES, frame,
	       WV_FRAME_SAMPLES * sizeof *frame);
	s->count++;
	assert_int_equal(wv_capture_frames(s->capture), s->count);
}

static void sink_open(struct sink *s, unsigned rate, size_t max_frames)
{
	s->count = 0;
	s->cap = max_frames;
	s->samples = malloc(max_frames * WV_FRAME_SAMPLES * sizeof *s->samples);
	assert_non_null(s->samples);
	assert_int_equal(wv_capture_create(&s->capture, rate, -1, collect, s),
			 0);
}

static void sink_close(struct sink *s)
{
	wv_capture_destroy(s->capture);
	free(s->samples);
}

/* The frames that n device samples must give: the resampler's output is
 * ceil(n * 8000 / rate), and a frame goes out when its last sample is in. */
static size_t expected_frames(size_t n, unsigned rate)
{
	return (size_t)(((uint64_t)n * WV_RATE + rate - 1) / rate /
			WV_FRAME_SAMPLES);
}

static void write_blocks(struct wv_capture *c, const float *x, size_t n,
			 size_t block)
{
	uint32_t rnd = 42;

	while (n > 0) {
		size_t len = block ? block : 1 + next_random(&rnd) % 5000;

		if (len > n)
			len = n;
		assert_int_equal(wv_capture_write(c, x, len), 0);
		x += len;
		n -= len;
	}
}

static void check_block_sizes(unsigned rate)
{
	static const size_t blocks[] = { 1, 7, 160, 441, 960, 4096,
					 RANDOM_BLOCKS };
	size_t n = rate + rate / 7 + 3, want = expected_frames(n, rate);
	float *x = alloc_samples(n);
	struct sink whole;

	make_signal(x, n, rate);
	sink_open(&whole, rate, want + 1);
	assert_int_equal(wv_capture_write(whole.capture, x, n), 0);
	assert_int_equal(whole.count, want);
	for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
		struct sink split;

		sink_open(&split, rate, want + 1);
		write_blocks(split.capture, x, n, blocks[i]);
		if (split.count != want)
			fail_msg("%u Hz in blocks of %zu: %zu frames, want %zu",
				 rate, blocks[i], split.count, want);
		assert_memory_equal(split.samples, whole.samples,
				    want * WV_FRAME_SAMPLES * sizeof(int16_t));
		sink_close(&split);
	}
	sink_close(&whole);
	free(x);
}

static void test_capture_frames_do_not_depend_on_block_size(void **state)
{
	static const unsigned rates[] = { 48000, 44100, 8000, 16000, 192000 };
	(void)state;

	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
		check_block_sizes(rates[i]);
}

static void test_capture_8k_input_reaches_frames_unchanged(void **state)
{
	enum { N = 1000 };
	float x[N];
	int16_t want[N];
	struct sink s;
	uint32_t rnd = 9;
	(void)state;

	for (size_t i = 0; i < N; i++)
		x[i] = (float)next_random(&rnd) / 8388608.0f - 1.0f;
	x[0] = -1.0f;
	x[1] = 1.0f;
	wv_pcm_from_float(want, x, N);
	sink_open(&s, 8000, N / WV_FRAME_SAMPLES);
	assert_int_equal(wv_capture_latency_us(s.capture), 0);
	write_blocks(s.capture, x, N, 37);
	assert_int_equal(s.count, N / WV_FRAME_SAMPLES);
	assert_memory_equal(s.samples, want,
			    s.count * WV_FRAME_SAMPLES * sizeof(int16_t));
	sink_close(&s);
}

static int16_t peak(const int16_t *x, size_t n)
{
	int16_t p = 0;

	for (size_t i = 0; i < n; i++) {
		int16_t a = x[i] < 0 ? (int16_t)-(x[i] + 1) : x[i];

		if (a > p)
			p = a;
	}
	return p;
}

/*
 * Mute lands mid-frame and while the resampler still holds audio. With D the
 * filter delay in 8 kHz samples and M the output written before the mute,
 * output m uses device samples up to time m, centred D earlier: so every
 * m < M is as without mute, m in [M, M + D) still carries the tone at full
 * level (it is centred before the mute), and from M + 2D on all is zero.
 */
static void test_capture_mute_sends_pre_mute_audio_then_zeros(void **state)
{
	const unsigned rate = 48000;
	const size_t n = rate, pre = rate / 2 + 300;
	const size_t m_pre = (pre * WV_RATE + rate - 1) / rate;
	float *x = alloc_samples(n);
	struct sink muted, plain;
	size_t d;
	(void)state;

	make_tone(x, n, rate);
	sink_open(&muted, rate, 60);
	sink_open(&plain, rate, 60);
	d = wv_capture_latency_us(muted.capture) * (size_t)WV_RATE / 1000000;
	assert_true(d > 0);
	write_blocks(plain.capture, x, n, 960);
	write_blocks(muted.capture, x, pre, 960);
	wv_capture_set_muted(muted.capture, true);
	write_blocks(muted.capture, x + pre, n - pre, 960);

	assert_true(m_pre % WV_FRAME_SAMPLES != 0);
	assert_int_equal(muted.count, expected_frames(n, rate));
	assert_memory_equal(muted.samples, plain.samples,
			    m_pre * sizeof(int16_t));
	assert_true(peak(muted.samples + m_pre, d / 2) >=
		    0.45 * TONE_AMPLITUDE * 32767);
	for (size_t m = m_pre + 2 * d; m < muted.count * WV_FRAME_SAMPLES; m++)
		if (muted.samples[m] != 0)
			fail_msg("sample %zu is %d after the mute", m,
				 muted.samples[m]);
	sink_close(&muted);
	sink_close(&plain);
	free(x);
}

static void test_capture_muted_frames_keep_flowing(void **state)
{
	const unsigned rate = 44100;
	const size_t n = 10 * rate;
	float *x = alloc_samples(n);
	struct sink s;
	(void)state;

	make_signal(x, n, rate);
	sink_open(&s, rate, 600);
	wv_capture_set_muted(s.capture, true);
	write_blocks(s.capture, x, n, 441);
	assert_int_equal(s.count, 500);
	assert_int_equal(peak(s.samples, s.count * WV_FRAME_SAMPLES), 0);
	sink_close(&s);
	free(x);
}

static void test_capture_unmute_restores_audio(void **state)
{
	const unsigned rate = 48000;
	const size_t half = rate / 2;
	float *x = alloc_samples(2 * half);
	struct sink s;
	size_t first_loud;
	(void)state;

	make_tone(x, 2 * half, rate);
	sink_open(&s, rate, 60);
	wv_capture_set_muted(s.capture, true);
	write_blocks(s.capture, x, half, 960);
	wv_capture_set_muted(s.capture, false);
	write_blocks(s.capture, x + half, half, 960);
	assert_int_equal(s.count, 50);
	/* Silence up to the unmute, the tone at full level from one frame
	 * later (the filter delay is well under a frame). */
	first_loud = expected_frames(half, rate) + 1;
	assert_int_equal(peak(s.samples, (first_loud - 1) * WV_FRAME_SAMPLES),
			 0);
	for (size_t f = first_loud; f < s.count; f++)
		assert_true(peak(s.samples + f * WV_FRAME_SAMPLES,
				 WV_FRAME_SAMPLES) >=
			    0.45 * TONE_AMPLITUDE * 32767);
	sink_close(&s);
	free(x);
}

static void test_capture_muted_reflects_state(void **state)
{
	struct sink s;
	(void)state;

	sink_open(&s, 48000, 1);
	assert_false(wv_capture_muted(s.capture));
	wv_capture_set_muted(s.capture, true);
	assert_true(wv_capture_muted(s.capture));
	wv_capture_set_muted(s.capture, true);
	assert_true(wv_capture_muted(s.capture));
	wv_capture_set_muted(s.capture, false);
	assert_false(wv_capture_muted(s.capture));
	sink_close(&s);
}

struct toggler {
	struct wv_capture *capture;
	atomic_bool stop;
	unsigned long toggles;
};

static void *toggle_mute(void *arg)
{
	struct toggler *t = arg;

	while (!atomic_load(&t->stop)) {
		wv_capture_set_muted(t->capture,
				     !wv_capture_muted(t->capture));
		t->toggles++;
	}
	return NULL;
}

/* Run under ThreadSanitizer, this fails if the mute flag is a plain bool. */
static void test_capture_mute_from_another_thread(void **state)
{
	const unsigned rate = 44100;
	const size_t n = 5 * rate;
	float *x = alloc_samples(n);
	struct toggler t = { .toggles = 0 };
	struct sink s;
	pthread_t thread;
	(void)state;

	make_signal(x, n, rate);
	sink_open(&s, rate, 300);
	t.capture = s.capture;
	atomic_init(&t.stop, false);
	assert_int_equal(pthread_create(&thread, NULL, toggle_mute, &t), 0);
	write_blocks(s.capture, x, n, 441);
	atomic_store(&t.stop, true);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(s.count, expected_frames(n, rate));
	assert_true(t.toggles > 0);
	sink_close(&s);
	free(x);
}

static const struct {
	unsigned rate;
	int quality;
	bool callback;
	int want;
} create_rows[] = {
	{ 7999, -1, true, WV_ERR_RATE },
	{ 192001, -1, true, WV_ERR_RATE },
	{ 0, -1, true, WV_ERR_RATE },
	{ 48000, -1, false, WV_ERR_INVALID },
	{ 48000, 11, true, WV_ERR_INVALID },
	{ 48000, -2, true, WV_ERR_INVALID },
	{ 8000, -1, true, 0 },
	{ 192000, 10, true, 0 },
	{ 44100, 0, true, 0 },
};

static void ignore_frame(void *user, const int16_t *frame)
{
	(void)user;
	(void)frame;
}

static void test_capture_create_checks_arguments(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof create_rows / sizeof create_rows[0];
	     i++) {
		struct wv_capture *c = (struct wv_capture *)(void *)&c;
		int rc = wv_capture_create(
			&c, create_rows[i].rate, create_rows[i].quality,
			create_rows[i].callback ? ignore_frame : NULL, NULL);

		if (rc != create_rows[i].want)
			fail_msg("row %zu: got %s, want %s", i,
				 wv_error_name(rc),
				 wv_error_name(create_rows[i].want));
		if (rc != 0)
			assert_null(c);
		wv_capture_destroy(c);
	}
	assert_int_equal(wv_capture_create(NULL, 48000, -1, ignore_frame, NULL),
			 WV_ERR_INVALID);
}

/* The audio thread may write: no allocation, muted or not, whatever the
 * block size. */
static void test_capture_write_does_not_allocate(void **state)
{
#if COUNT_ALLOCATIONS
	const unsigned rate = 44100;
	const size_t n = 3 * rate;
	float *x = alloc_samples(n);
	struct wv_capture *c;
	unsigned long before;
	(void)state;

	make_signal(x, n, rate);
	assert_int_equal(wv_capture_create(&c, rate, -1, ignore_frame, NULL),
			 0);
	before = atomic_load(&allocations);
	write_blocks(c, x, n / 2, RANDOM_BLOCKS);
	wv_capture_set_muted(c, true);
	write_blocks(c, x + n / 2, n - n / 2, RANDOM_BLOCKS);
	assert_int_equal(atomic_load(&allocations), before);
	wv_capture_destroy(c);
	free(x);
#else
	(void)state;
	skip();
#endif
}

static void test_capture_write_rejects_missing_samples(void **state)
{
	struct wv_capture *c;
	float x = 0;
	(void)state;

	assert_int_equal(wv_capture_create(&c, 48000, -1, ignore_frame, NULL),
			 0);
	assert_int_equal(wv_capture_write(c, NULL, 5), WV_ERR_INVALID);
	assert_int_equal(wv_capture_write(c, NULL, 0), 0);
	assert_int_equal(wv_capture_write(NULL, &x, 1), WV_ERR_INVALID);
	assert_int_equal(wv_capture_frames(c), 0);
	wv_capture_destroy(c);
}

static size_t frames_for(unsigned rate, size_t n, size_t block)
{
	float *x = alloc_samples(n);
	struct sink s;
	size_t count;

	make_signal(x, n, rate);
	sink_open(&s, rate, n / rate * 50 + 50);
	write_blocks(s.capture, x, n, block);
	count = s.count;
	sink_close(&s);
	free(x);
	return count;
}

static void test_capture_ten_seconds_at_44k1_give_500_frames(void **state)
{
	size_t count = frames_for(44100, 10 * 44100, 512);
	(void)state;

	assert_in_range(count, 499, 501);
}

/*
 * The browser guide resampled each 960-sample chunk alone, rounding 174.15
 * samples up to 175, so a minute at 44.1 kHz gave about 3014 frames.
 */
/* The guide resamples each 960-sample chunk on its own: 175 samples instead
 * of 174.15 at 44.1 kHz, 0.5% fast, about 3014 frames a minute. */
static void test_capture_defect4_chunked_44k1_does_not_drift(void **state)
{
	size_t count = frames_for(44100, 60 * 44100, 960);
	(void)state;

	assert_in_range(count, 2999, 3001);
}

static void test_capture_latency_is_the_resamplers(void **state)
{
	static const unsigned rates[] = { 8000, 44100, 48000, 192000 };
	(void)state;

	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		struct wv_resampler *r;
		struct wv_capture *c;

		assert_int_equal(wv_resampler_create(&r, rates[i], WV_RATE, -1),
				 0);
		assert_int_equal(wv_capture_create(&c, rates[i], -1,
						   ignore_frame, NULL),
				 0);
		assert_int_equal(wv_capture_latency_us(c),
				 wv_resampler_latency_us(r));
		assert_true(wv_capture_latency_us(c) < 5000);
		wv_resampler_destroy(r);
		wv_capture_destroy(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture_frames_do_not_depend_on_block_size),
		cmocka_unit_test(test_capture_8k_input_reaches_frames_unchanged),
		cmocka_unit_test(test_capture_mute_sends_pre_mute_audio_then_zeros),
		cmocka_unit_test(test_capture_muted_frames_keep_flowing),
		cmocka_unit_test(test_capture_unmute_restores_audio),
		cmocka_unit_test(test_capture_muted_reflects_state),
		cmocka_unit_test(test_capture_mute_from_another_thread),
		cmocka_unit_test(test_capture_create_checks_arguments),
		cmocka_unit_test(test_capture_write_does_not_allocate),
		cmocka_unit_test(test_capture_write_rejects_missing_samples),
		cmocka_unit_test(test_capture_ten_seconds_at_44k1_give_500_frames),
		cmocka_unit_test(test_capture_defect4_chunked_44k1_does_not_drift),
		cmocka_unit_test(test_capture_latency_is_the_resamplers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
