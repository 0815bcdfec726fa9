/*
 * The resampler: filter figures measured on its output at every device rate
 * (the requirements, not speexdsp's own claims), exact rate over a long call
 * in random blocks, latency against a measured step delay, and the process()
 * contract.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <wvoice/error.h>
#include <wvoice/resampler.h>

#include "tone_fit.h"

#define PI 3.14159265358979323846

/* Every device rate the issue names, and an odd one. */
static const unsigned device_rates[] = {
	8000,  11025, 12345, 16000, 22050,  24000,
	32000, 44100, 48000, 88200, 96000, 176400, 192000,
};
#define N_DEVICE_RATES (sizeof device_rates / sizeof device_rates[0])

/* Requirements */
#define PASSBAND_TOP_HZ 3400.0
#define STOPBAND_BOTTOM_HZ 4400.0
#define PASSBAND_TOLERANCE_DB 1.0
#define STOPBAND_MAX_DB (-60.0)
#define LATENCY_MAX_US 5000u

/* Each tone runs 60 ms from a reset resampler; the first 12 ms of output
 * (more than the longest filter) are left out and the next 40 ms measured. */
#define TONE_SECONDS 0.060
#define SETTLE_SECONDS 0.012
#define WINDOW_SECONDS 0.040
#define TONE_AMPLITUDE 0.5
#define REFERENCE_HZ 1000.0

static uint32_t next_random(uint32_t *state)
{
	*state = *state * 1664525u + 1013904223u;
	return *state >> 8;
}

/* A sine from a rotating phasor: cheaper than sin() per sample, and its
 * rounding error (about 1e-12 here) is far below anything measured. */
static void make_tone(float *x, size_t n, double hz, double rate, double amp)
{
	double w = 2.0 * PI * hz / rate;
	double cr = cos(w), sr = sin(w), c = cos(0.3), s = sin(0.3);

	for (size_t i = 0; i < n; i++) {
		double t = c * cr - s * sr;

		x[i] = (float)(amp * s);
		s = s * cr + c * sr;
		c = t;
	}
}

/* The amplitude a sine would need to carry all of x's power. */
static double power_amplitude(const float *x, size_t n)
{
	double e2 = 0;

	for (size_t i = 0; i < n; i++)
		e2 += (double)x[i] * x[i];
	return sqrt(2.0 * e2 / (double)n);
}

static double db(double ratio)
{
	return 20.0 * log10(ratio);
}

struct rig {
	struct wv_resampler *r;
	double in_rate, out_rate;
	float *in, *out;
	size_t in_len, out_cap, skip, window;
};

static void rig_init(struct rig *g, unsigned in_rate, unsigned out_rate)
{
	assert_int_equal(wv_resampler_create(&g->r, in_rate, out_rate,
					     WV_RESAMPLER_QUALITY_DEFAULT),
			 0);
	g->in_rate = in_rate;
	g->out_rate = out_rate;
	g->in_len = (size_t)(TONE_SECONDS * in_rate);
	g->out_cap = wv_resampler_output_max(g->r, g->in_len);
	g->skip = (size_t)(SETTLE_SECONDS * out_rate);
	g->window = (size_t)(WINDOW_SECONDS * out_rate);
	g->in = malloc(g->in_len * sizeof *g->in);
	g->out = malloc(g->out_cap * sizeof *g->out);
	assert_non_null(g->in);
	assert_non_null(g->out);
}

static void rig_cleanup(struct rig *g)
{
	wv_resampler_destroy(g->r);
	free(g->in);
	free(g->out);
}

/* Runs a tone through a fresh stream; returns the settled output window. */
static const float *rig_tone(struct rig *g, double hz)
{
	size_t in_len = g->in_len, out_len = g->out_cap;

	wv_resampler_reset(g->r);
	make_tone(g->in, in_len, hz, g->in_rate, TONE_AMPLITUDE);
	assert_int_equal(wv_resampler_process(g->r, g->in, &in_len, g->out,
					      &out_len),
			 0);
	assert_int_equal(in_len, g->in_len);
	assert_true(out_len >= g->skip + g->window);
	return g->out + g->skip;
}

struct figures {
	double ref_db;                 /* gain at REFERENCE_HZ */
	double pass_min, pass_max;     /* passband gain relative to ref_db */
	double worst_db, worst_hz;     /* strongest alias or image vs ref */
};

static void figures_init(struct figures *f)
{
	f->pass_min = INFINITY;
	f->pass_max = -INFINITY;
	f->worst_db = -INFINITY;
	f->worst_hz = 0;
}

static void note_passband(struct figures *f, double gain_db)
{
	f->pass_min = fmin(f->pass_min, gain_db - f->ref_db);
	f->pass_max = fmax(f->pass_max, gain_db - f->ref_db);
}

static void note_spur(struct figures *f, double level_db, double hz)
{
	if (level_db > f->worst_db) {
		f->worst_db = level_db;
		f->worst_hz = hz;
	}
}

static double reference_amplitude(struct rig *g, struct figures *f)
{
	double amp = tone_fit(rig_tone(g, REFERENCE_HZ), g->window,
			      REFERENCE_HZ, g->out_rate)
			     .amp;

	f->ref_db = db(amp / TONE_AMPLITUDE);
	return amp;
}

/* Finer steps near the band edge, where the filter is weakest. */
static double next_stop_hz(double hz)
{
	return hz + (hz < 12000.0 ? 100.0 : 250.0);
}

static void measure_down(struct rig *g, struct figures *f)
{
	double ref = reference_amplitude(g, f);

	for (double hz = 100; hz <= PASSBAND_TOP_HZ; hz += 100) {
		struct tone_fit t =
			tone_fit(rig_tone(g, hz), g->window, hz, 8000);

		note_passband(f, db(t.amp / TONE_AMPLITUDE));
	}
	/* A stopband tone has nothing to keep: all the output is alias,
	 * wherever it folds to. */
	for (double hz = STOPBAND_BOTTOM_HZ; hz <= g->in_rate / 2 - 100;
	     hz = next_stop_hz(hz))
		note_spur(f, db(power_amplitude(rig_tone(g, hz), g->window) / ref),
			  hz);
}

/* Images of a tone at f lie at k * 8000 +- f, so tones up to 3.6 kHz put
 * every image above 4.4 kHz; whatever is not the tone is image (or filter
 * error), wherever it folds at the device rate. */
static void measure_up(struct rig *g, struct figures *f)
{
	double ref = reference_amplitude(g, f);

	for (double hz = 100; hz <= 8000 - STOPBAND_BOTTOM_HZ; hz += 100) {
		struct tone_fit t = tone_fit(rig_tone(g, hz), g->window, hz,
					g->out_rate);

		if (hz <= PASSBAND_TOP_HZ)
			note_passband(f, db(t.amp / TONE_AMPLITUDE));
		note_spur(f, db(t.resid / ref), hz);
	}
}

static void check_figures(unsigned in_rate, unsigned out_rate,
			  const struct figures *f, unsigned latency_us)
{
	print_message("%6u -> %6u Hz: passband %+.3f..%+.3f dB (1 kHz at "
		      "%+.3f dB), latency %u us, ",
		      in_rate, out_rate, f->pass_min, f->pass_max, f->ref_db,
		      latency_us);
	if (f->worst_hz > 0)
		print_message("worst %s %.1f dB (tone at %.0f Hz)\n",
			      in_rate > out_rate ? "alias" : "image",
			      f->worst_db, f->worst_hz);
	else
		print_message("no stopband below Nyquist\n");
	if (f->pass_min < -PASSBAND_TOLERANCE_DB ||
	    f->pass_max > PASSBAND_TOLERANCE_DB ||
	    fabs(f->ref_db) > PASSBAND_TOLERANCE_DB)
		fail_msg("%u -> %u: passband not flat within 1 dB", in_rate,
			 out_rate);
	if (f->worst_db > STOPBAND_MAX_DB)
		fail_msg("%u -> %u: spur at %.1f dB from a tone at %.0f Hz",
			 in_rate, out_rate, f->worst_db, f->worst_hz);
}

static void check_device_rates(bool down)
{
	for (size_t i = 0; i < N_DEVICE_RATES; i++) {
		unsigned in_rate = down ? device_rates[i] : WV_RATE;
		unsigned out_rate = down ? WV_RATE : device_rates[i];
		struct rig g;
		struct figures f;

		figures_init(&f);
		rig_init(&g, in_rate, out_rate);
		if (down)
			measure_down(&g, &f);
		else
			measure_up(&g, &f);
		check_figures(in_rate, out_rate, &f,
			      wv_resampler_latency_us(g.r));
		rig_cleanup(&g);
	}
}

static void test_resampler_downsampling_meets_filter_figures(void **state)
{
	(void)state;
	check_device_rates(true);
}

/* The guide's linear interpolation folds a 5 kHz tone at 48 kHz back to
 * 3 kHz, in the middle of the voice band, barely attenuated. */
static void test_resampler_defect4_48k_tone_at_5k_does_not_fold_back(void **state)
{
	struct rig g;
	double folded;

	(void)state;
	rig_init(&g, 48000, WV_RATE);
	folded = tone_fit(rig_tone(&g, 5000), g.window, 3000, 8000).amp;
	assert_true(db(folded / TONE_AMPLITUDE) < STOPBAND_MAX_DB);
	assert_true(db(power_amplitude(rig_tone(&g, 5000), g.window) /
		       TONE_AMPLITUDE) < STOPBAND_MAX_DB);
	rig_cleanup(&g);
}

static void test_resampler_upsampling_meets_filter_figures(void **state)
{
	(void)state;
	check_device_rates(false);
}

/*
 * The browser guide resamples each chunk on its own and rounds up, so 44.1 kHz
 * in 960-sample chunks runs 0.5% fast. Here the output total must stay within
 * the filter delay of N * out / in, exactly ceil() of it in fact, and the
 * error must not grow over a minute of random block sizes.
 */
static void run_long_call(unsigned in_rate, unsigned out_rate, unsigned secs)
{
	enum { MAX_BLOCK = 5000 };
	struct wv_resampler *r;
	float *in = malloc(MAX_BLOCK * sizeof *in);
	float *out;
	size_t out_cap, total_in = 0, total_out = 0, next_check = in_rate;
	uint32_t rnd = 12345;
	double err_min = INFINITY, err_max = -INFINITY, delay;

	assert_int_equal(wv_resampler_create(&r, in_rate, out_rate, -1), 0);
	out_cap = wv_resampler_output_max(r, MAX_BLOCK);
	out = malloc(out_cap * sizeof *out);
	assert_non_null(in);
	assert_non_null(out);
	make_tone(in, MAX_BLOCK, 440.0, in_rate, 0.5);
	delay = wv_resampler_latency_us(r) * (double)out_rate / 1e6;
	while (total_in < (size_t)secs * in_rate) {
		size_t n = 1 + next_random(&rnd) % MAX_BLOCK, out_len = out_cap;
		size_t max = wv_resampler_output_max(r, n);

		assert_int_equal(wv_resampler_process(r, in, &n, out, &out_len),
				 0);
		assert_true(out_len <= max);
		total_in += n;
		total_out += out_len;
		if (total_in < next_check)
			continue;
		next_check += in_rate;
		double ideal = (double)total_in * out_rate / in_rate;
		double err = (double)total_out - ideal;
		size_t want = (size_t)(((uint64_t)total_in * out_rate + in_rate -
					1) / in_rate);

		if (fabs(err) > delay || total_out != want)
			fail_msg("%u -> %u after %zu in: %zu out, want %zu",
				 in_rate, out_rate, total_in, total_out, want);
		err_min = fmin(err_min, err);
		err_max = fmax(err_max, err);
	}
	print_message("%u -> %u over %u s: output error %+.3f..%+.3f samples\n",
		      in_rate, out_rate, secs, err_min, err_max);
	assert_true(err_max - err_min <= 1.0);
	wv_resampler_destroy(r);
	free(in);
	free(out);
}

static void test_resampler_rate_is_exact_over_a_long_call(void **state)
{
	(void)state;
	run_long_call(44100, 8000, 90);
	run_long_call(12345, 8000, 60);
	run_long_call(8000, 44100, 60);
}

/* Where a band-limited step crosses half height, in seconds. */
static double step_crossing(const float *x, size_t n, double rate)
{
	for (size_t m = 1; m < n; m++) {
		if (x[m - 1] < 0.5f && x[m] >= 0.5f)
			return ((double)(m - 1) +
				(0.5 - x[m - 1]) / (x[m] - x[m - 1])) /
			       rate;
	}
	fail_msg("the step never reached half height");
	return 0;
}

static void check_latency(unsigned in_rate, unsigned out_rate)
{
	struct wv_resampler *r;
	size_t n = in_rate / 10, step_at = n / 2, out_len;
	float *in = calloc(n, sizeof *in), *out;
	unsigned latency;
	double measured;

	assert_int_equal(wv_resampler_create(&r, in_rate, out_rate, -1), 0);
	out_len = wv_resampler_output_max(r, n);
	out = malloc(out_len * sizeof *out);
	assert_non_null(in);
	assert_non_null(out);
	for (size_t i = step_at; i < n; i++)
		in[i] = 1.0f;
	assert_int_equal(wv_resampler_process(r, in, &n, out, &out_len), 0);
	/* A sampled step's band-limited half-height point is half a sample
	 * before its first high sample. */
	measured = (step_crossing(out, out_len, out_rate) -
		    ((double)step_at - 0.5) / in_rate) * 1e6;
	latency = wv_resampler_latency_us(r);
	print_message("%6u -> %6u Hz: latency %u us, step delay %.1f us\n",
		      in_rate, out_rate, latency, measured);
	assert_true(latency < LATENCY_MAX_US);
	/* Within half a sample at 8 kHz. */
	assert_true(fabs(measured - latency) <= 62.5);
	wv_resampler_destroy(r);
	free(in);
	free(out);
}

static void test_resampler_latency_matches_step_delay(void **state)
{
	/* 8126 Hz has the longest delay: its filter length rounds up most. */
	static const unsigned extra[] = { 8001, 8126, 191999 };
	(void)state;

	for (size_t i = 0; i < N_DEVICE_RATES; i++) {
		check_latency(device_rates[i], WV_RATE);
		if (device_rates[i] != WV_RATE)
			check_latency(WV_RATE, device_rates[i]);
	}
	for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
		check_latency(extra[i], 8000);
		check_latency(8000, extra[i]);
	}
}

/* Calls process() and checks what it consumed and wrote. */
static void expect_process(struct wv_resampler *r, const float *in,
			   size_t in_len, float *out, size_t out_len,
			   size_t want_in, size_t want_out)
{
	assert_int_equal(wv_resampler_process(r, in, &in_len, out, &out_len),
			 0);
	assert_int_equal(in_len, want_in);
	assert_int_equal(out_len, want_out);
}

static void test_resampler_equal_rates_pass_through_unchanged(void **state)
{
	float in[100], out[100];
	uint32_t rnd = 7;
	struct wv_resampler *r;
	(void)state;

	for (size_t i = 0; i < 100; i++)
		in[i] = (float)next_random(&rnd) / 8388608.0f - 1.0f;
	assert_int_equal(wv_resampler_create(&r, 8000, 8000, -1), 0);
	assert_int_equal(wv_resampler_latency_us(r), 0);
	assert_int_equal(wv_resampler_output_max(r, 100), 100);
	expect_process(r, in, 100, out, 100, 100, 100);
	assert_memory_equal(in, out, sizeof in);
	/* A short output buffer takes what fits and leaves the rest. */
	expect_process(r, in, 100, out, 30, 30, 30);
	wv_resampler_destroy(r);
}

/* Runs in through r in random blocks into out buffers of 1 to 3 samples,
 * passing again whatever was not consumed; returns the output count. */
static size_t process_starved(struct wv_resampler *r, const float *in,
			      size_t n, float *out)
{
	size_t done_in = 0, done_out = 0;
	uint32_t rnd = 99;

	while (done_in < n) {
		size_t in_len = 1 + next_random(&rnd) % 500;
		size_t out_len = 1 + next_random(&rnd) % 3;

		if (in_len > n - done_in)
			in_len = n - done_in;
		assert_int_equal(wv_resampler_process(r, in + done_in, &in_len,
						      out + done_out, &out_len),
				 0);
		done_in += in_len;
		done_out += out_len;
	}
	return done_out;
}

static void check_starved_output(unsigned in_rate, unsigned out_rate)
{
	struct wv_resampler *whole, *starved;
	size_t n = in_rate, in_len = n, out_len, cap;
	float *in = malloc(n * sizeof *in), *a, *b;
	uint32_t rnd = 3;

	assert_int_equal(wv_resampler_create(&whole, in_rate, out_rate, -1), 0);
	assert_int_equal(wv_resampler_create(&starved, in_rate, out_rate, -1),
			 0);
	cap = wv_resampler_output_max(whole, n);
	a = malloc(cap * sizeof *a);
	b = malloc(cap * sizeof *b);
	assert_non_null(in);
	assert_non_null(a);
	assert_non_null(b);
	for (size_t i = 0; i < n; i++)
		in[i] = (float)next_random(&rnd) / 8388608.0f - 1.0f;
	out_len = cap;
	assert_int_equal(wv_resampler_process(whole, in, &in_len, a, &out_len),
			 0);
	assert_int_equal(process_starved(starved, in, n, b), out_len);
	assert_memory_equal(a, b, out_len * sizeof *a);
	wv_resampler_destroy(whole);
	wv_resampler_destroy(starved);
	free(in);
	free(a);
	free(b);
}

static void test_resampler_full_output_loses_no_input(void **state)
{
	(void)state;
	check_starved_output(44100, 8000);
	check_starved_output(8000, 48000);
	check_starved_output(8000, 8000);
}

static void test_resampler_reset_starts_a_new_stream(void **state)
{
	enum { N = 4410 };
	struct wv_resampler *fresh, *reused;
	float noise[N], tone[N], a[N], b[N];
	size_t in_len, a_len = N, b_len = N;
	uint32_t rnd = 5;
	(void)state;

	for (size_t i = 0; i < N; i++)
		noise[i] = (float)next_random(&rnd) / 8388608.0f - 1.0f;
	make_tone(tone, N, 1234.0, 44100, 0.5);
	assert_int_equal(wv_resampler_create(&fresh, 44100, 8000, -1), 0);
	assert_int_equal(wv_resampler_create(&reused, 44100, 8000, -1), 0);
	in_len = 1001; /* leaves a fractional phase behind */
	assert_int_equal(wv_resampler_process(reused, noise, &in_len, b, &b_len),
			 0);
	wv_resampler_reset(reused);
	in_len = N;
	assert_int_equal(wv_resampler_process(fresh, tone, &in_len, a, &a_len),
			 0);
	in_len = N;
	b_len = N;
	assert_int_equal(wv_resampler_process(reused, tone, &in_len, b, &b_len),
			 0);
	assert_int_equal(a_len, b_len);
	assert_memory_equal(a, b, a_len * sizeof *a);
	wv_resampler_destroy(fresh);
	wv_resampler_destroy(reused);
}

static const struct {
	unsigned in_rate, out_rate;
	int quality, want;
} create_rows[] = {
	{ 44100, 16000, -1, WV_ERR_RATE }, /* neither side is 8 kHz */
	{ 7999, 8000, -1, WV_ERR_RATE },
	{ 8000, 7999, -1, WV_ERR_RATE },
	{ 192001, 8000, -1, WV_ERR_RATE },
	{ 8000, 192001, -1, WV_ERR_RATE },
	{ 0, 8000, -1, WV_ERR_RATE },
	{ 48000, 8000, 11, WV_ERR_INVALID },
	{ 48000, 8000, -2, WV_ERR_INVALID },
	{ 8000, 8000, -1, 0 },
	{ 192000, 8000, 0, 0 },
	{ 8000, 192000, 10, 0 },
	{ 44100, 8000, 3, 0 },
};

static void test_resampler_create_checks_rates_and_quality(void **state)
{
	struct wv_resampler *r;
	(void)state;

	for (size_t i = 0; i < sizeof create_rows / sizeof create_rows[0];
	     i++) {
		int rc;

		r = (struct wv_resampler *)(void *)&r; /* any non-NULL value */
		rc = wv_resampler_create(&r, create_rows[i].in_rate,
					 create_rows[i].out_rate,
					 create_rows[i].quality);
		if (rc != create_rows[i].want)
			fail_msg("row %zu: got %s, want %s", i,
				 wv_error_name(rc),
				 wv_error_name(create_rows[i].want));
		if (rc != 0) {
			assert_null(r);
			continue;
		}
		assert_int_equal(wv_resampler_in_rate(r),
				 create_rows[i].in_rate);
		assert_int_equal(wv_resampler_out_rate(r),
				 create_rows[i].out_rate);
		wv_resampler_destroy(r);
	}
	assert_int_equal(wv_resampler_create(NULL, 48000, 8000, -1),
			 WV_ERR_INVALID);
}

static void test_resampler_process_rejects_missing_buffers(void **state)
{
	struct wv_resampler *r;
	float buf[8] = { 0 };
	size_t in_len, out_len;
	(void)state;

	assert_int_equal(wv_resampler_create(&r, 48000, 8000, -1), 0);
	in_len = 8;
	out_len = 8;
	assert_int_equal(wv_resampler_process(r, NULL, &in_len, buf, &out_len),
			 WV_ERR_INVALID);
	assert_int_equal(wv_resampler_process(r, buf, &in_len, NULL, &out_len),
			 WV_ERR_INVALID);
	assert_int_equal(wv_resampler_process(r, buf, NULL, buf, &out_len),
			 WV_ERR_INVALID);
	assert_int_equal(wv_resampler_process(NULL, buf, &in_len, buf,
					      &out_len),
			 WV_ERR_INVALID);
	expect_process(r, NULL, 0, NULL, 0, 0, 0);
	wv_resampler_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resampler_downsampling_meets_filter_figures),
		cmocka_unit_test(test_resampler_defect4_48k_tone_at_5k_does_not_fold_back),
		cmocka_unit_test(test_resampler_upsampling_meets_filter_figures),
		cmocka_unit_test(test_resampler_rate_is_exact_over_a_long_call),
		cmocka_unit_test(test_resampler_latency_matches_step_delay),
		cmocka_unit_test(test_resampler_equal_rates_pass_through_unchanged),
		cmocka_unit_test(test_resampler_full_output_loses_no_input),
		cmocka_unit_test(test_resampler_reset_starts_a_new_stream),
		cmocka_unit_test(test_resampler_create_checks_rates_and_quality),
		cmocka_unit_test(test_resampler_process_rejects_missing_buffers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
