/*
 * Clips: sound files written with libsndfile at telephone and device rates,
 * in mono and stereo, 16-bit and float, loaded back and measured (length,
 * tone level and purity, timing of a click), 8 kHz 16-bit passing bit for
 * bit, and the files that must be refused, with messages naming them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sndfile.h>
#include <wvoice/error.h>

#include "clip.h"

#define PI 3.14159265358979323846
#define TONE_HZ 1000.0
/* Stereo files carry the tone at these two levels; their mean is the mono
 * level, so taking one channel or summing them shows. */
#define LEFT_AMP 0.6
#define RIGHT_AMP 0.2
#define MONO_AMP 0.4
#define EDGE 160 /* samples at each end left out of tone measurements */

static char dir[64];

static int make_dir(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/wvs-clip-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	(void)state;
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(dir);
}

static void path_for(char *path, size_t len, const char *name)
{
	snprintf(path, len, "%s/%s", dir, name);
}

static SNDFILE *create_sound(const char *path, int rate, int channels,
			     int subformat)
{
	SF_INFO info = {
		.samplerate = rate,
		.channels = channels,
		.format = SF_FORMAT_WAV | subformat,
	};
	SNDFILE *sf = sf_open(path, SFM_WRITE, &info);

	if (!sf)
		fail_msg("cannot write %s: %s", path, sf_strerror(NULL));
	return sf;
}

static void write_float(const char *path, int rate, int channels, int subformat,
			const float *x, size_t frames)
{
	SNDFILE *sf = create_sound(path, rate, channels, subformat);

	assert_int_equal(sf_writef_float(sf, x, (sf_count_t)frames), frames);
	sf_close(sf);
}

static void write_short(const char *path, int rate, int channels, int subformat,
			const short *x, size_t frames)
{
	SNDFILE *sf = create_sound(path, rate, channels, subformat);

	assert_int_equal(sf_writef_short(sf, x, (sf_count_t)frames), frames);
	sf_close(sf);
}

/* A 1 kHz tone, interleaved, at LEFT_AMP and RIGHT_AMP for stereo. */
static float *make_tone(int rate, int channels, size_t frames)
{
	float *x = malloc(frames * (size_t)channels * sizeof *x);

	assert_non_null(x);
	for (size_t i = 0; i < frames; i++) {
		double s = sin(2.0 * PI * TONE_HZ * (double)i / rate);

		if (channels == 1) {
			x[i] = (float)(MONO_AMP * s);
		} else {
			x[2 * i] = (float)(LEFT_AMP * s);
			x[2 * i + 1] = (float)(RIGHT_AMP * s);
		}
	}
	return x;
}

/* Writes a tone file called name in the temporary directory; its path
 * comes back in path. */
static void write_tone(char *path, size_t len, const char *name, int rate,
		       int channels, int subformat, size_t frames)
{
	float *x = make_tone(rate, channels, frames);

	path_for(path, len, name);
	write_float(path, rate, channels, subformat, x, frames);
	free(x);
}

struct tone {
	double amp;  /* amplitude of the best-fitting sine, in full scale */
	double rest; /* amplitude (sqrt(2) * RMS) of everything else */
};

/* Least-squares fit of a*cos + b*sin at hz over x, exact for any phase. */
static struct tone measure_tone(const int16_t *x, size_t n, double hz)
{
	double cc = 0, ss = 0, cs = 0, xc = 0, xs = 0, e2 = 0, det, a, b;
	struct tone t;

	for (size_t i = 0; i < n; i++) {
		double w = 2.0 * PI * hz * (double)i / WVS_RATE;
		double c = cos(w), s = sin(w), v = x[i] / 32768.0;

		cc += c * c;
		ss += s * s;
		cs += c * s;
		xc += v * c;
		xs += v * s;
	}
	det = cc * ss - cs * cs;
	a = (xc * ss - xs * cs) / det;
	b = (xs * cc - xc * cs) / det;
	for (size_t i = 0; i < n; i++) {
		double w = 2.0 * PI * hz * (double)i / WVS_RATE;
		double e = x[i] / 32768.0 - a * cos(w) - b * sin(w);

		e2 += e * e;
	}
	t.amp = sqrt(a * a + b * b);
	t.rest = sqrt(2.0 * e2 / (double)n);
	return t;
}

static double db(double ratio)
{
	return 20.0 * log10(ratio);
}

static void load_ok(struct wvs_clip *clip, const char *path, double max_s)
{
	char err[256] = "";
	int rc = wvs_clip_load(clip, path, max_s, err, sizeof err);

	if (rc != 0)
		fail_msg("%s: %s (%s)", path, wv_error_name(rc), err);
}

struct format_case {
	int rate;
	int channels;
	int subformat;
};

static const struct format_case formats[] = {
	{8000, 1, SF_FORMAT_PCM_16},  {8000, 2, SF_FORMAT_PCM_16},
	{8000, 1, SF_FORMAT_FLOAT},   {16000, 1, SF_FORMAT_PCM_16},
	{16000, 2, SF_FORMAT_FLOAT},  {44100, 1, SF_FORMAT_FLOAT},
	{44100, 2, SF_FORMAT_PCM_16}, {48000, 1, SF_FORMAT_PCM_16},
	{48000, 2, SF_FORMAT_FLOAT},  {22050, 1, SF_FORMAT_PCM_24},
	{96000, 2, SF_FORMAT_PCM_16},
};

/* One second of tone in every format: 8000 samples, the tone's level
 * within 0.5 dB (which fails if one channel were taken or the channels
 * summed), and everything else 50 dB down (which fails if the rate were
 * wrong, since the tone would then not be at 1 kHz). */
static void test_clip_load_keeps_duration_level_and_pitch(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof formats / sizeof formats[0]; k++) {
		const struct format_case *f = &formats[k];
		struct wvs_clip clip;
		struct tone t;
		char path[256];

		write_tone(path, sizeof path, "tone.wav", f->rate, f->channels,
			   f->subformat, (size_t)f->rate);
		load_ok(&clip, path, 10.0);
		print_message("%6d Hz %d ch format %#x: %zu samples\n", f->rate,
			      f->channels, f->subformat, clip.len);
		assert_int_equal(clip.len, WVS_RATE);
		t = measure_tone(clip.pcm + EDGE, clip.len - 2 * EDGE, TONE_HZ);
		print_message("  level %+.3f dB, rest %.1f dB\n",
			      db(t.amp / MONO_AMP), db(t.rest / t.amp));
		assert_true(fabs(db(t.amp / MONO_AMP)) < 0.5);
		assert_true(db(t.rest / t.amp) < -50.0);
		wvs_clip_cleanup(&clip);
		unlink(path);
	}
}

/* Lengths that are not whole seconds come out as ceil(n * 8000 / rate). */
static void test_clip_load_length_follows_the_file(void **state)
{
	static const struct {
		int rate;
		size_t frames;
		size_t want;
	} rows[] = {
		{44100, 12345, 2240}, /* 2239.46 */
		{48000, 1, 1},	      {48000, 6001, 1001},  {16000, 3, 2},
		{8000, 7, 7},	      {11025, 11025, 8000},
	};

	(void)state;
	for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
		struct wvs_clip clip;
		char path[256];

		write_tone(path, sizeof path, "len.wav", rows[k].rate, 1,
			   SF_FORMAT_FLOAT, rows[k].frames);
		load_ok(&clip, path, 10.0);
		assert_int_equal(clip.len, rows[k].want);
		wvs_clip_cleanup(&clip);
	}
}

/* A click 0.1 s into the file is 0.1 s into the clip: the resampler's
 * filter delay is taken out. */
static void test_clip_load_does_not_delay_the_audio(void **state)
{
	static const int rates[] = {11025, 16000, 22050, 44100, 48000, 192000};

	(void)state;
	for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++) {
		size_t frames = (size_t)rates[k] / 5, click = frames / 2;
		float *x = calloc(frames, sizeof *x);
		struct wvs_clip clip;
		size_t peak = 0;
		char path[256];

		assert_non_null(x);
		x[click] = 0.9f;
		path_for(path, sizeof path, "click.wav");
		write_float(path, rates[k], 1, SF_FORMAT_FLOAT, x, frames);
		free(x);
		load_ok(&clip, path, 1.0);
		for (size_t i = 1; i < clip.len; i++)
			if (abs(clip.pcm[i]) > abs(clip.pcm[peak]))
				peak = i;
		print_message("%6d Hz: click at %zu, want 800\n", rates[k],
			      peak);
		assert_true(peak >= 799 && peak <= 801);
		wvs_clip_cleanup(&clip);
	}
}

static short *random_shorts(size_t n, uint32_t seed)
{
	short *x = malloc(n * sizeof *x);

	assert_non_null(x);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1664525u + 1013904223u;
		x[i] = (short)(int16_t)(seed >> 16);
	}
	/* The extremes, where float scaling would go wrong first. */
	x[0] = INT16_MIN;
	x[1] = INT16_MAX;
	x[2] = -1;
	x[3] = 1;
	return x;
}

static void test_clip_load_8k_16bit_mono_is_bit_exact(void **state)
{
	size_t n = 8000;
	short *x = random_shorts(n, 1);
	struct wvs_clip clip;
	char path[256];

	(void)state;
	path_for(path, sizeof path, "exact.wav");
	write_short(path, WVS_RATE, 1, SF_FORMAT_PCM_16, x, n);
	load_ok(&clip, path, 10.0);
	assert_int_equal(clip.len, n);
	assert_memory_equal(clip.pcm, x, n * sizeof *x);
	wvs_clip_cleanup(&clip);
	free(x);
}

/* At 8 kHz the channels' exact mean, in integers. */
static void test_clip_load_8k_16bit_stereo_is_the_mean(void **state)
{
	size_t n = 4000;
	short *x = random_shorts(2 * n, 2);
	struct wvs_clip clip;
	char path[256];

	(void)state;
	for (size_t i = 0; i < 2 * n; i++)
		x[i] = (short)(x[i] & ~1); /* even sums: no rounding */
	path_for(path, sizeof path, "stereo8k.wav");
	write_short(path, WVS_RATE, 2, SF_FORMAT_PCM_16, x, n);
	load_ok(&clip, path, 10.0);
	assert_int_equal(clip.len, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(clip.pcm[i], (x[2 * i] + x[2 * i + 1]) / 2);
	wvs_clip_cleanup(&clip);
	free(x);
}

/* A mu-law prompt at 8 kHz comes out exactly as libsndfile decodes it. */
static void test_clip_load_8k_mulaw_is_its_decoding(void **state)
{
	size_t n = 8000;
	short *x = random_shorts(n, 3), *decoded = malloc(n * sizeof *x);
	SF_INFO info = {0};
	struct wvs_clip clip;
	SNDFILE *sf;
	char path[256];

	(void)state;
	assert_non_null(decoded);
	path_for(path, sizeof path, "ulaw.wav");
	write_short(path, WVS_RATE, 1, SF_FORMAT_ULAW, x, n);
	sf = sf_open(path, SFM_READ, &info);
	assert_non_null(sf);
	assert_int_equal(sf_readf_short(sf, decoded, (sf_count_t)n), n);
	sf_close(sf);
	load_ok(&clip, path, 10.0);
	assert_int_equal(clip.len, n);
	assert_memory_equal(clip.pcm, decoded, n * sizeof *x);
	wvs_clip_cleanup(&clip);
	free(decoded);
	free(x);
}

static void expect_refused(const char *path, double max_s, int code,
			   const char *words)
{
	struct wvs_clip clip = {(int16_t *)1, 99};
	char err[256] = "";
	int rc = wvs_clip_load(&clip, path, max_s, err, sizeof err);

	print_message("%s -> %s: %s\n", path, wv_error_name(rc), err);
	assert_int_equal(rc, code);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, words));
	assert_null(clip.pcm);
	assert_int_equal(clip.len, 0);
}

/* Sound files that libsndfile reads but a clip cannot come from. */
static void test_clip_load_refuses_unusable_sound_files(void **state)
{
	static const struct {
		const char *name;
		int rate;
		size_t frames;
		double max_s;
		int code;
		const char *words;
	} rows[] = {
		{"long.wav", 16000, 32000, 1.99, WV_ERR_TOO_LARGE,
		 "2.00 s long, over the 1.99 s limit"},
		{"empty.wav", 16000, 0, 10.0, WV_ERR_INVALID, "no audio"},
		{"slow.wav", 4000, 400, 10.0, WV_ERR_RATE, "4000 Hz"},
	};

	(void)state;
	for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
		char path[256];

		write_tone(path, sizeof path, rows[k].name, rows[k].rate, 1,
			   SF_FORMAT_PCM_16, rows[k].frames);
		expect_refused(path, rows[k].max_s, rows[k].code,
			       rows[k].words);
	}
}

static void test_clip_load_accepts_a_file_at_the_limit(void **state)
{
	struct wvs_clip clip;
	char path[256];

	(void)state;
	write_tone(path, sizeof path, "two.wav", 16000, 1, SF_FORMAT_PCM_16,
		   32000);
	load_ok(&clip, path, 2.0);
	assert_int_equal(clip.len, 16000);
	wvs_clip_cleanup(&clip);
}

static void test_clip_load_refuses_a_missing_file(void **state)
{
	char path[256];

	(void)state;
	path_for(path, sizeof path, "no-such-prompt.wav");
	expect_refused(path, 10.0, WV_ERR_INVALID, "No such file");
}

static void test_clip_load_refuses_a_file_that_is_not_audio(void **state)
{
	char path[256];
	FILE *f;

	(void)state;
	path_for(path, sizeof path, "prompt.wav");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"this is\": \"not a sound file at all\"}\n", f);
	fclose(f);
	expect_refused(path, 10.0, WV_ERR_INVALID,
		       "not a sound file libsndfile reads");
}

static void test_clip_from_float_refuses_an_unsupported_rate(void **state)
{
	float x[4] = {0};
	struct wvs_clip clip;

	(void)state;
	assert_int_equal(wvs_clip_from_float(&clip, x, 4, 4000), WV_ERR_RATE);
	assert_null(clip.pcm);
	assert_int_equal(wvs_clip_from_float(&clip, x, 0, 16000), 0);
	assert_null(clip.pcm);
	assert_int_equal(clip.len, 0);
}

static void test_clip_copy_owns_its_samples(void **state)
{
	int16_t src[5] = {1, -2, 3, -4, 5};
	struct wvs_clip clip;

	(void)state;
	assert_int_equal(wvs_clip_copy(&clip, src, 5), 0);
	src[0] = 100;
	assert_int_equal(clip.len, 5);
	assert_int_equal(clip.pcm[0], 1);
	assert_int_equal(clip.pcm[4], 5);
	wvs_clip_cleanup(&clip);
	assert_null(clip.pcm);
	assert_int_equal(clip.len, 0);
	wvs_clip_cleanup(&clip); /* a zeroed clip is fine */
	assert_int_equal(wvs_clip_copy(&clip, NULL, 0), 0);
	assert_null(clip.pcm);
	assert_int_equal(clip.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clip_load_keeps_duration_level_and_pitch),
		cmocka_unit_test(test_clip_load_length_follows_the_file),
		cmocka_unit_test(test_clip_load_does_not_delay_the_audio),
		cmocka_unit_test(test_clip_load_8k_16bit_mono_is_bit_exact),
		cmocka_unit_test(test_clip_load_8k_16bit_stereo_is_the_mean),
		cmocka_unit_test(test_clip_load_8k_mulaw_is_its_decoding),
		cmocka_unit_test(test_clip_load_refuses_unusable_sound_files),
		cmocka_unit_test(test_clip_load_accepts_a_file_at_the_limit),
		cmocka_unit_test(test_clip_load_refuses_a_missing_file),
		cmocka_unit_test(
			test_clip_load_refuses_a_file_that_is_not_audio),
		cmocka_unit_test(
			test_clip_from_float_refuses_an_unsupported_rate),
		cmocka_unit_test(test_clip_copy_owns_its_samples),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
