/*
 * Uplink processing without a device: synthetic echo through a known room
 * (two delayed, scaled copies of the far end) must come out at least 10 dB
 * down once the canceller has converged, at the protocol's rate and at a
 * device rate (which also checks that the far end stays aligned through the
 * resamplers); talk on the near end must survive it; stationary noise must be
 * suppressed; a quiet talker must be raised. Each figure compares the output
 * with that of a control run with the feature off (same signal, same
 * resampling), and checks that the control passed the signal, so a test
 * cannot pass on a broken measurement.
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

#include "tone_fit.h"
#include "uplink.h"

#define PI 3.14159265358979323846

/* The room: the speaker is heard 40 ms later at half amplitude, and again
 * 5 ms after that at a fifth (all inside the default 200 ms tail). */
#define ECHO_DELAY_S 0.040
#define ECHO_GAIN 0.5
#define ECHO2_DELAY_S 0.045
#define ECHO2_GAIN 0.2

#define RUN_S 6.0
#define MEASURE_FROM_S 4.0 /* after convergence */
#define MIN_ECHO_REDUCTION_DB 10.0

struct noise {
	uint32_t state;
	float lp;
};

/* Deterministic noise, gently low-passed so it looks like a voice band. */
static float noise_next(struct noise *n)
{
	float white;

	n->state = n->state * 1664525u + 1013904223u;
	white = (float)((n->state >> 8) / 8388608.0 - 1.0);
	n->lp = 0.6f * n->lp + 0.4f * white;
	return n->lp;
}

struct run_cfg {
	unsigned rate;
	bool aec, ns, agc;
	double far_amp;	    /* far-end noise level */
	double near_hz;	    /* near-end talk (a tone), 0: none */
	double near_amp;
	bool near_bursts;   /* talk 250 ms, pause 250 ms, like syllables */
	double mic_noise;   /* stationary noise at the microphone */
};

struct result {
	double in_energy;  /* microphone, 8 kHz-equivalent, measured window */
	double out_energy; /* processed output, measured window */
	float *out;	   /* all the output at 8 kHz */
	size_t out_len;
};

/* Feeds RUN_S seconds in blocks of 10 ms at cfg->rate and collects the output;
 * energies are per sample over [MEASURE_FROM_S, RUN_S). */
static struct result run(const struct run_cfg *rc)
{
	size_t block = rc->rate / 100, total = (size_t)(RUN_S * rc->rate);
	size_t d1 = (size_t)(ECHO_DELAY_S * rc->rate);
	size_t d2 = (size_t)(ECHO2_DELAY_S * rc->rate);
	size_t from = (size_t)(MEASURE_FROM_S * rc->rate);
	struct wv__uplink_config cfg = {
		.device_rate = rc->rate,
		.echo_cancellation = rc->aec,
		.noise_suppression = rc->ns,
		.gain_control = rc->agc,
		.max_write = block,
	};
	struct wv__uplink *u;
	unsigned ch = rc->aec ? 2 : 1;
	float *far = calloc(total, sizeof *far);
	float *frames = calloc(block * ch, sizeof *frames);
	struct result r = { 0 };
	struct noise fn = { 12345u, 0 }, mn = { 777u, 0 };
	double in_e = 0;
	size_t in_n = 0, out_from = (size_t)(MEASURE_FROM_S * 8000);

	assert_non_null(far);
	assert_non_null(frames);
	r.out = calloc((size_t)(RUN_S * 8000) + 1000, sizeof *r.out);
	assert_non_null(r.out);
	assert_int_equal(wv__uplink_create(&u, &cfg), 0);
	assert_int_equal(wv__uplink_channels(u), ch);
	for (size_t i = 0; i < total; i++)
		far[i] = (float)(rc->far_amp * noise_next(&fn));
	for (size_t at = 0; at < total; at += block) {
		for (size_t i = 0; i < block; i++) {
			size_t t = at + i;
			double mic = 0;

			if (t >= d1)
				mic += ECHO_GAIN * far[t - d1];
			if (t >= d2)
				mic += ECHO2_GAIN * far[t - d2];
			if (!rc->near_bursts || (t * 4 / rc->rate) % 2 == 0)
				mic += rc->near_amp *
				       sin(2 * PI * rc->near_hz * (double)t /
					   rc->rate);
			mic += rc->mic_noise * noise_next(&mn);
			frames[i * ch] = (float)mic;
			if (ch == 2)
				frames[i * ch + 1] = far[t];
			if (t >= from) {
				in_e += mic * mic;
				in_n++;
			}
		}
		assert_int_equal(wv__uplink_write(u, frames, block), 0);
		r.out_len += wv__uplink_read(u, r.out + r.out_len,
					     wv__uplink_available(u));
	}
	r.in_energy = in_e / (double)in_n;
	for (size_t i = out_from; i < r.out_len; i++)
		r.out_energy += (double)r.out[i] * r.out[i];
	r.out_energy /= (double)(r.out_len - out_from);
	wv__uplink_destroy(u);
	free(far);
	free(frames);
	return r;
}

static double db(double ratio)
{
	return 10.0 * log10(ratio);
}

/* The control run must have passed the signal nearly whole: within what
 * the resampler's band edge takes from noise that reaches past 4 kHz. */
static void assert_control_passes(const struct result *off)
{
	double kept = db(off->out_energy / off->in_energy);

	assert_true(kept > -6.0);
	assert_true(kept < 0.5);
}

/* How much quieter the output is with `on` than with `off` (the same run
 * with one feature off), in dB; negative when it is louder. */
static double effect_db(const struct run_cfg *on, const struct run_cfg *off)
{
	struct result r_on = run(on), r_off = run(off);
	double quieter;

	assert_control_passes(&r_off);
	quieter = db(r_off.out_energy / r_on.out_energy);
	free(r_on.out);
	free(r_off.out);
	return quieter;
}

static void check_echo_reduced(unsigned rate)
{
	struct run_cfg on = { .rate = rate, .aec = true, .far_amp = 0.5 };
	struct run_cfg off = on;
	double reduction;

	off.aec = false;
	reduction = effect_db(&on, &off);
	print_message("echo reduction at %u Hz: %.1f dB\n", rate, reduction);
	assert_true(reduction >= MIN_ECHO_REDUCTION_DB);
}

static void test_uplink_echo_is_cancelled_at_8000(void **state)
{
	(void)state;
	check_echo_reduced(8000);
}

static void test_uplink_echo_is_cancelled_through_resamplers_at_48000(
	void **state)
{
	(void)state;
	check_echo_reduced(48000);
}

static void test_uplink_echo_is_cancelled_at_44100(void **state)
{
	(void)state;
	check_echo_reduced(44100);
}

/* Double talk: the near-end talker must come through the canceller. */
static void test_uplink_near_talk_survives_echo_cancellation(void **state)
{
	struct run_cfg rc = { .rate = 48000, .aec = true, .far_amp = 0.3,
			      .near_hz = 700, .near_amp = 0.1 };
	struct result r;
	size_t from = (size_t)(MEASURE_FROM_S * 8000);
	double amp;

	(void)state;
	r = run(&rc);
	amp = tone_amp(r.out + from, r.out_len - from, 700, 8000);
	print_message("near talk after AEC: %.1f dB\n", db(amp * amp / 0.01));
	assert_true(fabs(db(amp * amp / (0.1 * 0.1))) < 3.0);
	free(r.out);
}

static void test_uplink_noise_is_suppressed(void **state)
{
	struct run_cfg on = { .rate = 16000, .ns = true, .mic_noise = 0.05 };
	struct run_cfg off = on;
	double reduction;

	(void)state;
	off.ns = false;
	reduction = effect_db(&on, &off);
	print_message("noise suppression: %.1f dB\n", reduction);
	assert_true(reduction >= 6.0);
}

static void test_uplink_gain_control_raises_a_quiet_talker(void **state)
{
	/* speexdsp adapts its gain only while it hears speech, which a
	 * steady tone stops being once the noise estimate has learnt it. */
	struct run_cfg on = { .rate = 8000, .agc = true, .near_hz = 440,
			      .near_amp = 0.01, .near_bursts = true };
	struct run_cfg off = on;
	double gain;

	(void)state;
	off.agc = false;
	gain = -effect_db(&on, &off);
	print_message("gain control: %+.1f dB\n", gain);
	assert_true(gain >= 6.0);
}

/* Plain path: a tone at the device rate comes out at 8 kHz, same frequency
 * and level, and the count of samples is exact over a long run. */
static void test_uplink_plain_path_resamples_exactly(void **state)
{
	struct run_cfg rc = { .rate = 44100, .near_hz = 1000, .near_amp = 0.5 };
	size_t total = (size_t)(RUN_S * 44100), from;
	struct result r;

	(void)state;
	r = run(&rc);
	/* ceil(N * 8000 / 44100) samples have come out of the resampler; only
	 * whole 10 ms frames leave the uplink. */
	assert_true(r.out_len <= (total * 8000 + 44099) / 44100);
	assert_true(r.out_len + 80 > (total * 8000 + 44099) / 44100);
	assert_int_equal(r.out_len % 80, 0);
	from = r.out_len / 2;
	assert_true(fabs(tone_amp(r.out + from, r.out_len - from, 1000, 8000) -
			 0.5) < 0.03);
	free(r.out);
}

static void test_uplink_write_contract(void **state)
{
	struct wv__uplink_config cfg = { .device_rate = 48000,
					 .max_write = 480 };
	struct wv__uplink *u;
	float frames[481] = { 0 };
	int full = 0;

	(void)state;
	assert_int_equal(wv__uplink_create(&u, &cfg), 0);
	assert_false(wv__uplink_echo_cancellation(u));
	assert_false(wv__uplink_noise_suppression(u));
	assert_false(wv__uplink_gain_control(u));
	assert_int_equal(wv__uplink_write(u, frames, 481), WV_ERR_INVALID);
	assert_int_equal(wv__uplink_write(u, NULL, 1), WV_ERR_INVALID);
	assert_int_equal(wv__uplink_write(u, NULL, 0), 0);
	/* Unread output fills the queue; then writes are refused whole. */
	for (int i = 0; i < 10 && !full; i++) {
		int rc = wv__uplink_write(u, frames, 480);

		full = rc == WV_ERR_FULL;
		assert_true(rc == 0 || rc == WV_ERR_FULL);
	}
	assert_true(full);
	assert_true(wv__uplink_available(u) >= 80);
	/* Reading all of it makes room again. */
	while (wv__uplink_read(u, frames, 80) > 0)
		;
	assert_int_equal(wv__uplink_write(u, frames, 480), 0);
	wv__uplink_destroy(u);
}

static void test_uplink_create_rejects_bad_config(void **state)
{
	struct wv__uplink_config ok = { .device_rate = 48000, .max_write = 480 };
	struct wv__uplink_config bad;
	struct wv__uplink *u = (struct wv__uplink *)&ok;

	(void)state;
	bad = ok;
	bad.max_write = 0;
	assert_int_equal(wv__uplink_create(&u, &bad), WV_ERR_INVALID);
	assert_null(u);
	bad = ok;
	bad.device_rate = 4000;
	assert_int_equal(wv__uplink_create(&u, &bad), WV_ERR_RATE);
	bad = ok;
	bad.echo_tail_ms = 5000;
	assert_int_equal(wv__uplink_create(&u, &bad), WV_ERR_INVALID);
	assert_int_equal(wv__uplink_create(&u, NULL), WV_ERR_INVALID);
	assert_int_equal(wv__uplink_create(NULL, &ok), WV_ERR_INVALID);
	wv__uplink_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uplink_echo_is_cancelled_at_8000),
		cmocka_unit_test(
			test_uplink_echo_is_cancelled_through_resamplers_at_48000),
		cmocka_unit_test(test_uplink_echo_is_cancelled_at_44100),
		cmocka_unit_test(
			test_uplink_near_talk_survives_echo_cancellation),
		cmocka_unit_test(test_uplink_noise_is_suppressed),
		cmocka_unit_test(test_uplink_gain_control_raises_a_quiet_talker),
		cmocka_unit_test(test_uplink_plain_path_resamples_exactly),
		cmocka_unit_test(test_uplink_write_contract),
		cmocka_unit_test(test_uplink_create_rejects_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
