/*
 * Caller speech detection, on synthetic calls: speech-like sound (a 120 Hz
 * voiced source through three formants, in 250 ms syllables) laid over
 * silence or noise at known places, so onsets and offsets are exact.
 * Figures are in frames of the stream, never wall-clock time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <wvoice/error.h>

#include "vad.h"

#define PI 3.14159265358979323846
#define SAMPLES(ms) ((size_t)(ms) * WVS_RATE / 1000)
#define FRAME_MS (1000 * WVS_FRAME / WVS_RATE)
#define MAX_EVENTS 64

/* ---- Sound ---- */

static double next_uniform(uint32_t *state) /* in [-0.5, 0.5) */
{
	*state = *state * 1664525u + 1013904223u;
	return (double)(*state >> 8) / 16777216.0 - 0.5;
}

/* A two-pole resonance at f Hz, bandwidth bw Hz. */
struct resonator {
	double a1, a2, gain, y1, y2;
};

static void resonator_tune(struct resonator *r, double f, double bw)
{
	double radius = exp(-PI * bw / WVS_RATE);

	r->a1 = 2.0 * radius * cos(2.0 * PI * f / WVS_RATE);
	r->a2 = -radius * radius;
	r->gain = 1.0 - radius;
}

static double resonator_run(struct resonator *r, double x)
{
	double y = r->gain * x + r->a1 * r->y1 + r->a2 * r->y2;

	r->y2 = r->y1;
	r->y1 = y;
	return y;
}

/* Formants of three vowels (a, i, u), one vowel a syllable. */
static const double vowels[3][3] = {
	{ 700, 1200, 2500 }, { 300, 2200, 2900 }, { 350, 800, 2400 },
};

#define SYLLABLE_HZ 4.0
#define VALLEY 0.3 /* envelope between syllables: about -10 dB */

/*
 * Speech-like sound, unscaled: a glottal pulse train with vibrato and a
 * little breath, three formants, and a syllable envelope that starts and
 * ends in a valley (so lengths in whole syllables end cleanly).
 */
static void speech_raw(double *x, size_t n, uint32_t seed)
{
	struct resonator f[3] = { { 0 } };
	double phase = 0, glottis = 0;

	for (size_t i = 0; i < n; i++) {
		double t = (double)i / WVS_RATE;
		const double *v = vowels[(size_t)(t * SYLLABLE_HZ) % 3];
		double s = sin(PI * SYLLABLE_HZ * t), y = 0;

		for (int k = 0; k < 3; k++)
			resonator_tune(&f[k], v[k], 80.0 + 40.0 * k);
		phase += (120.0 + 8.0 * sin(2.0 * PI * 3.0 * t)) / WVS_RATE;
		glottis *= 0.7;
		if (phase >= 1.0) {
			phase -= 1.0;
			glottis += 1.0;
		}
		glottis += 0.05 * next_uniform(&seed);
		for (int k = 0; k < 3; k++)
			y += resonator_run(&f[k], glottis) * (k ? 0.6 : 1.0);
		x[i] = y * (VALLEY + (1.0 - VALLEY) * s * s);
	}
}

/* Pink-ish noise: three one-pole bands summed (about -3 dB an octave). */
static void pink_raw(double *x, size_t n, uint32_t seed)
{
	double b0 = 0, b1 = 0, b2 = 0;

	for (size_t i = 0; i < n; i++) {
		double w = next_uniform(&seed);

		b0 = 0.99765 * b0 + w * 0.0990460;
		b1 = 0.96300 * b1 + w * 0.2965164;
		b2 = 0.57000 * b2 + w * 1.0526913;
		x[i] = b0 + b1 + b2 + w * 0.1848;
	}
}

enum kind { SPEECH, WHITE, PINK, TONE };

static void raw(enum kind kind, double *x, size_t n, uint32_t seed)
{
	switch (kind) {
	case SPEECH:
		speech_raw(x, n, seed);
		break;
	case WHITE:
		for (size_t i = 0; i < n; i++)
			x[i] = next_uniform(&seed);
		break;
	case PINK:
		pink_raw(x, n, seed);
		break;
	case TONE:
		for (size_t i = 0; i < n; i++)
			x[i] = sin(2.0 * PI * 1000.0 * (double)i / WVS_RATE);
		break;
	}
}

/* RMS of the loudest 20 ms for speech (its peak level), of all for noise. */
static double level_rms(enum kind kind, const double *x, size_t n)
{
	double best = 0, all = 0;

	for (size_t at = 0; at < n; at += WVS_FRAME) {
		size_t len = n - at < WVS_FRAME ? n - at : WVS_FRAME;
		double e = 0;

		for (size_t i = 0; i < len; i++)
			e += x[at + i] * x[at + i];
		all += e;
		if (e / (double)len > best)
			best = e / (double)len;
	}
	return sqrt(kind == SPEECH ? best : all / (double)n);
}

/* A call's caller side, built in doubles, then read as int16. */
struct scene {
	double *x;
	int16_t *pcm;
	size_t n;
};

static void scene_init(struct scene *s, unsigned ms)
{
	s->n = SAMPLES(ms);
	s->x = calloc(s->n, sizeof *s->x);
	s->pcm = calloc(s->n, sizeof *s->pcm);
	assert_non_null(s->x);
	assert_non_null(s->pcm);
}

static void scene_cleanup(struct scene *s)
{
	free(s->x);
	free(s->pcm);
}

/* Adds sound over [at_ms, at_ms + len_ms) at a level in dBFS (RMS against
 * full scale; speech by its loudest 20 ms). */
static void scene_add(struct scene *s, enum kind kind, unsigned at_ms,
		      unsigned len_ms, double dbfs, uint32_t seed)
{
	size_t at = SAMPLES(at_ms), n = SAMPLES(len_ms);
	double *x = malloc(n * sizeof *x), gain;

	assert_non_null(x);
	assert_true(at + n <= s->n);
	raw(kind, x, n, seed);
	gain = 32768.0 * pow(10.0, dbfs / 20.0) / level_rms(kind, x, n);
	for (size_t i = 0; i < n; i++)
		s->x[at + i] += gain * x[i];
	free(x);
}

static const int16_t *scene_pcm(struct scene *s)
{
	for (size_t i = 0; i < s->n; i++) {
		double v = round(s->x[i]);

		s->pcm[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768
								    : v);
	}
	return s->pcm;
}

/* ---- Running a detector over a scene ---- */

struct event {
	enum wvs_vad_event type;
	size_t end_ms;	    /* end of the frame whose push reported it */
	size_t utt_len;	    /* samples, for an END */
	long utt_at;	    /* where that utterance lies in the input, or -1 */
};

struct trace {
	struct event ev[MAX_EVENTS];
	size_t n;
	unsigned starts, ends;
};

/* Where the n samples of u are in pcm, ending by `by`: the latest match. */
static long locate(const int16_t *pcm, size_t by, const int16_t *u, size_t n)
{
	if (n == 0 || n > by)
		return -1;
	for (size_t at = by - n + 1; at-- > 0;)
		if (memcmp(pcm + at, u, n * sizeof *u) == 0)
			return (long)at;
	return -1;
}

static void record(struct trace *t, const struct wvs_vad *v,
		   enum wvs_vad_event e, const int16_t *pcm, size_t done)
{
	struct event *ev;

	assert_true(t->n < MAX_EVENTS);
	ev = &t->ev[t->n++];
	ev->type = e;
	ev->end_ms = done * 1000 / WVS_RATE;
	ev->utt_len = 0;
	ev->utt_at = -1;
	if (e == WVS_VAD_SPEECH_START) {
		t->starts++;
		return;
	}
	t->ends++;
	const int16_t *u = wvs_vad_utterance(v, &ev->utt_len);
	assert_non_null(u);
	ev->utt_at = locate(pcm, done, u, ev->utt_len);
}

/* Feeds samples [from, to) frame by frame; both are whole frames. The
 * frames are the caller's: pushing one must leave it as it was. */
static void feed(struct wvs_vad *v, const int16_t *pcm, size_t from,
		 size_t to, struct trace *t)
{
	for (size_t at = from; at + WVS_FRAME <= to; at += WVS_FRAME) {
		int16_t frame[WVS_FRAME];
		enum wvs_vad_event e;

		memcpy(frame, pcm + at, sizeof frame);
		e = wvs_vad_push(v, frame);
		assert_memory_equal(frame, pcm + at, sizeof frame);
		if (e != WVS_VAD_NONE)
			record(t, v, e, pcm, at + WVS_FRAME);
		assert_int_equal(wvs_vad_active(v), t->starts > t->ends);
	}
}

static struct wvs_vad *vad_new(const struct wvs_vad_config *cfg)
{
	struct wvs_vad *v = NULL;

	assert_int_equal(wvs_vad_create(&v, cfg), 0);
	assert_non_null(v);
	return v;
}

static void run_scene(struct scene *s, const struct wvs_vad_config *cfg,
		      struct trace *t)
{
	struct wvs_vad *v = vad_new(cfg);

	memset(t, 0, sizeof *t);
	feed(v, scene_pcm(s), 0, s->n, t);
	wvs_vad_destroy(v);
}

/* Checks that events alternate START, END, ... and returns the pairs. */
static unsigned pairs(const struct trace *t)
{
	for (size_t i = 0; i < t->n; i++)
		assert_int_equal(t->ev[i].type, i % 2 == 0
							? WVS_VAD_SPEECH_START
							: WVS_VAD_SPEECH_END);
	return t->ends;
}

static struct wvs_vad_config defaults(void)
{
	struct wvs_vad_config c;

	wvs_vad_config_default(&c);
	return c;
}

/* ---- Configuration ---- */

static void test_vad_config_default_is_the_documented_one(void **state)
{
	struct wvs_vad_config c = defaults();

	(void)state;
	assert_int_equal(c.start_ms, 60);
	assert_int_equal(c.end_ms, 500);
	assert_int_equal(c.preroll_ms, 200);
	assert_int_equal(c.max_utterance_ms, 15000);
	assert_true(c.floor_dbfs == -45.0);
}

struct config_case {
	const char *what;
	unsigned start_ms, end_ms, preroll_ms, max_utterance_ms;
	double floor_dbfs;
	int rc;
};

static void test_vad_create_checks_the_config(void **state)
{
	static const struct config_case cases[] = {
		{ "defaults", 60, 500, 200, 15000, -45, 0 },
		{ "no start time", 0, 500, 200, 15000, -45, WV_ERR_INVALID },
		{ "no end time", 60, 0, 200, 15000, -45, WV_ERR_INVALID },
		{ "no pre-roll", 60, 500, 0, 15000, -45, 0 },
		{ "one frame to start and end", 20, 20, 0, 40, -45, 0 },
		{ "cap no longer than the start", 60, 500, 200, 60, -45,
		  WV_ERR_INVALID },
		{ "cap one frame past the start", 60, 500, 200, 80, -45, 0 },
		{ "start too long", 2001, 500, 200, 15000, -45,
		  WV_ERR_INVALID },
		{ "end too long", 60, 10001, 200, 15000, -45, WV_ERR_INVALID },
		{ "pre-roll too long", 60, 500, 5001, 15000, -45,
		  WV_ERR_INVALID },
		{ "cap too long", 60, 500, 200, 120001, -45, WV_ERR_INVALID },
		{ "longest of all", 2000, 10000, 5000, 120000, -45, 0 },
		{ "floor above full scale", 60, 500, 200, 15000, 0.5,
		  WV_ERR_INVALID },
		{ "floor at full scale", 60, 500, 200, 15000, 0, 0 },
		{ "floor at -120", 60, 500, 200, 15000, -120, 0 },
		{ "floor below -120", 60, 500, 200, 15000, -121,
		  WV_ERR_INVALID },
		{ "floor -inf", 60, 500, 200, 15000, -INFINITY,
		  WV_ERR_INVALID },
		{ "floor NaN", 60, 500, 200, 15000, NAN, WV_ERR_INVALID },
	};

	/* What *out held before must not survive a failure. */
	struct wvs_vad *stale = vad_new(NULL);

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct config_case *c = &cases[i];
		struct wvs_vad_config cfg = {
			c->start_ms, c->end_ms, c->preroll_ms,
			c->max_utterance_ms, c->floor_dbfs,
		};
		struct wvs_vad *v = stale;
		int rc = wvs_vad_create(&v, &cfg);

		print_message("%s\n", c->what);
		assert_int_equal(rc, c->rc);
		assert_true(v != stale);
		assert_true((rc == 0) == (v != NULL));
		wvs_vad_destroy(v);
	}
	assert_int_equal(wvs_vad_create(NULL, NULL), WV_ERR_INVALID);
	wvs_vad_destroy(stale);
}

static void test_vad_null_arguments_are_harmless(void **state)
{
	int16_t frame[WVS_FRAME] = { 0 };
	struct wvs_vad *v = vad_new(NULL);
	size_t len = 99;

	(void)state;
	assert_int_equal(wvs_vad_push(NULL, frame), WVS_VAD_NONE);
	assert_int_equal(wvs_vad_push(v, NULL), WVS_VAD_NONE);
	assert_int_equal(wvs_vad_active(NULL), 0);
	assert_null(wvs_vad_utterance(NULL, &len));
	assert_int_equal(len, 0);
	assert_null(wvs_vad_utterance(v, NULL));
	wvs_vad_reset(NULL);
	wvs_vad_config_default(NULL);
	wvs_vad_destroy(NULL);
	wvs_vad_destroy(v);
}

/* ---- What never starts ---- */

static void test_vad_digital_silence_never_starts(void **state)
{
	struct scene s;
	struct trace t;
	size_t len = 99;
	struct wvs_vad *v = vad_new(NULL);

	(void)state;
	scene_init(&s, 60000);
	memset(&t, 0, sizeof t);
	feed(v, scene_pcm(&s), 0, s.n, &t);
	assert_int_equal(t.n, 0);
	assert_int_equal(wvs_vad_active(v), 0);
	assert_null(wvs_vad_utterance(v, &len));
	assert_int_equal(len, 0);
	wvs_vad_destroy(v);
	scene_cleanup(&s);
}

struct quiet_case {
	const char *what;
	enum kind kind;
	double dbfs;
	double floor_dbfs;
};

static void test_vad_sound_below_the_floor_never_starts(void **state)
{
	static const struct quiet_case cases[] = {
		{ "white noise 5 dB under", WHITE, -50, -45 },
		{ "pink noise 5 dB under", PINK, -50, -45 },
		{ "a 1 kHz hum 3 dB under", TONE, -48, -45 },
		{ "white noise under a raised floor", WHITE, -35, -30 },
		{ "quiet speech under a raised floor", SPEECH, -33, -30 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct quiet_case *c = &cases[i];
		struct wvs_vad_config cfg = defaults();
		struct scene s;
		struct trace t;

		print_message("%s\n", c->what);
		cfg.floor_dbfs = c->floor_dbfs;
		scene_init(&s, 30000);
		scene_add(&s, c->kind, 0, 30000, c->dbfs, 11u + (uint32_t)i);
		run_scene(&s, &cfg, &t);
		assert_int_equal(t.n, 0);
		scene_cleanup(&s);
	}
}

/*
 * speex learns steady noise over the floor as noise: after it has heard
 * some (it starts out taking everything for speech), the noise alone starts
 * nothing and speech over it still starts at once. The floor alone would
 * call this noise speech all along.
 */
struct steady_case {
	const char *what;
	enum kind kind;
	double dbfs;
};

static void test_vad_steady_noise_above_the_floor_is_learnt(void **state)
{
	static const struct steady_case cases[] = {
		{ "white noise 5 dB over", WHITE, -40 },
		{ "white noise 15 dB over", WHITE, -30 },
		{ "a 1 kHz hum 5 dB over", TONE, -40 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct steady_case *c = &cases[i];
		struct scene s;
		struct trace t;
		struct wvs_vad *v = vad_new(NULL);
		const int16_t *pcm;
		size_t onset = SAMPLES(40000);

		print_message("%s\n", c->what);
		scene_init(&s, 45000);
		scene_add(&s, c->kind, 0, 45000, c->dbfs, 5);
		scene_add(&s, SPEECH, 40000, 2000, c->dbfs + 20, 6);
		pcm = scene_pcm(&s);
		memset(&t, 0, sizeof t);
		feed(v, pcm, 0, SAMPLES(10000), &t); /* learning */
		assert_int_equal(wvs_vad_active(v), 0);
		memset(&t, 0, sizeof t);
		feed(v, pcm, SAMPLES(10000), onset, &t);
		assert_int_equal(t.n, 0);
		feed(v, pcm, onset, s.n, &t);
		assert_int_equal(pairs(&t), 1);
		assert_in_range(t.ev[0].end_ms, 40000, 40200);
		wvs_vad_destroy(v);
		scene_cleanup(&s);
	}
}

/* ---- One utterance ---- */

struct talker {
	const char *what;
	double dbfs;	      /* speech, by its loudest 20 ms */
	enum kind noise;      /* SPEECH here means silence */
	double noise_dbfs;
};

static const struct talker talkers[] = {
	{ "loud", -15, SPEECH, 0 },
	{ "normal", -20, SPEECH, 0 },
	{ "quiet", -30, SPEECH, 0 },
	{ "normal over white noise", -20, WHITE, -60 },
	{ "normal over pink noise", -20, PINK, -55 },
	{ "quiet over white noise just under the floor", -28, WHITE, -48 },
};

#define ONSET_MS 2000
#define SPEECH_MS 2000 /* whole syllables: it ends in a valley */

static void talk(struct scene *s, const struct talker *k, unsigned onset_ms,
		 unsigned len_ms, uint32_t seed)
{
	if (k->noise != SPEECH)
		scene_add(s, k->noise, 0, (unsigned)(s->n * 1000 / WVS_RATE),
			  k->noise_dbfs, seed + 100);
	scene_add(s, SPEECH, onset_ms, len_ms, k->dbfs, seed);
}

/* Barge-in: the server sends `clear` on START, and must within 300 ms. */
static void test_vad_speech_starts_within_100ms_of_onset(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof talkers / sizeof talkers[0]; i++) {
		const struct talker *k = &talkers[i];
		struct wvs_vad_config cfg = defaults();
		struct scene s;
		struct trace t;

		scene_init(&s, ONSET_MS + SPEECH_MS + 1000);
		talk(&s, k, ONSET_MS, SPEECH_MS, 1);
		run_scene(&s, &cfg, &t);
		print_message("%s: start %zu ms after onset\n", k->what,
			      t.n ? t.ev[0].end_ms - ONSET_MS : 0);
		assert_int_equal(pairs(&t), 1);
		assert_in_range(t.ev[0].end_ms, ONSET_MS + cfg.start_ms,
				ONSET_MS + 100);
		scene_cleanup(&s);
	}
}

static void test_vad_speech_ends_end_ms_after_offset(void **state)
{
	static const unsigned end_ms[] = { 200, 500, 900 };

	(void)state;
	for (size_t i = 0; i < sizeof talkers / sizeof talkers[0]; i++) {
		for (size_t j = 0; j < sizeof end_ms / sizeof end_ms[0]; j++) {
			const struct talker *k = &talkers[i];
			struct wvs_vad_config cfg = defaults();
			unsigned offset = ONSET_MS + SPEECH_MS;
			struct scene s;
			struct trace t;

			cfg.end_ms = end_ms[j];
			scene_init(&s, offset + 1000);
			talk(&s, k, ONSET_MS, SPEECH_MS, 2);
			run_scene(&s, &cfg, &t);
			print_message("%s, end_ms %u: end %ld ms after offset\n",
				      k->what, end_ms[j],
				      t.n > 1 ? (long)t.ev[1].end_ms -
							(long)offset
					      : 0L);
			assert_int_equal(pairs(&t), 1);
			/* The last syllable may fade under the floor a frame
			 * or two before the sound stops. */
			assert_in_range(t.ev[1].end_ms,
					offset + end_ms[j] - 2 * FRAME_MS,
					offset + end_ms[j]);
			scene_cleanup(&s);
		}
	}
}

/* The utterance is the input itself, from the pre-roll before the onset to
 * 100 ms after the last speech. */
static void test_vad_utterance_is_preroll_speech_and_100ms_tail(void **state)
{
	static const unsigned preroll_ms[] = { 0, 200, 500 };

	(void)state;
	for (size_t i = 0; i < sizeof talkers / sizeof talkers[0]; i++) {
		for (size_t j = 0; j < sizeof preroll_ms / sizeof preroll_ms[0];
		     j++) {
			const struct talker *k = &talkers[i];
			struct wvs_vad_config cfg = defaults();
			struct scene s;
			struct trace t;
			const struct event *e;
			long first, last;

			cfg.preroll_ms = preroll_ms[j];
			scene_init(&s, ONSET_MS + SPEECH_MS + 1000);
			talk(&s, k, ONSET_MS, SPEECH_MS, 3);
			run_scene(&s, &cfg, &t);
			assert_int_equal(pairs(&t), 1);
			e = &t.ev[1];
			assert_true(e->utt_at >= 0);
			first = e->utt_at * 1000 / WVS_RATE;
			last = (e->utt_at + (long)e->utt_len) * 1000 / WVS_RATE;
			print_message("%s, pre-roll %u: utterance %ld..%ld ms\n",
				      k->what, preroll_ms[j], first, last);
			assert_in_range(first,
					ONSET_MS - (long)preroll_ms[j],
					ONSET_MS - (long)preroll_ms[j] +
						2 * FRAME_MS);
			assert_in_range(last, ONSET_MS + SPEECH_MS + 100 -
						      2 * FRAME_MS,
					ONSET_MS + SPEECH_MS + 100);
			scene_cleanup(&s);
		}
	}
}

static void test_vad_utterance_lasts_until_the_next_push(void **state)
{
	struct scene s;
	struct trace t;
	struct wvs_vad *v = vad_new(NULL);
	const int16_t *pcm;
	size_t len = 0, end;

	(void)state;
	scene_init(&s, 4000);
	scene_add(&s, SPEECH, 1000, 1000, -20, 4);
	pcm = scene_pcm(&s);
	memset(&t, 0, sizeof t);
	for (end = 0; end < s.n && t.ends == 0; end += WVS_FRAME)
		feed(v, pcm, end, end + WVS_FRAME, &t);
	assert_int_equal(t.ends, 1);
	assert_non_null(wvs_vad_utterance(v, &len));
	assert_true(len > 0);
	assert_int_equal(wvs_vad_push(v, pcm + end), WVS_VAD_NONE);
	assert_null(wvs_vad_utterance(v, &len));
	assert_int_equal(len, 0);
	wvs_vad_destroy(v);
	scene_cleanup(&s);
}

/* ---- Several utterances ---- */

struct gap_case {
	unsigned gap_ms;
	unsigned utterances;
};

static void test_vad_gap_longer_than_end_ms_splits_utterances(void **state)
{
	static const struct gap_case cases[] = {
		{ 100, 1 }, { 300, 1 }, { 480, 1 },
		{ 520, 2 }, { 700, 2 }, { 2000, 2 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct gap_case *c = &cases[i];
		unsigned second = 1000 + 1500 + c->gap_ms;
		struct wvs_vad_config cfg = defaults();
		struct scene s;
		struct trace t;

		scene_init(&s, second + 1500 + 1000);
		scene_add(&s, SPEECH, 1000, 1500, -20, 7);
		scene_add(&s, SPEECH, second, 1500, -20, 8);
		run_scene(&s, &cfg, &t);
		print_message("gap %u ms: %u utterances\n", c->gap_ms, t.ends);
		assert_int_equal(pairs(&t), c->utterances);
		scene_cleanup(&s);
	}
}

/* A long pre-roll stops where the previous utterance's kept part ends. */
static void test_vad_preroll_never_reaches_the_previous_utterance(void **state)
{
	struct wvs_vad_config cfg = defaults();
	struct scene s;
	struct trace t;
	unsigned second = 1000 + 1500 + 700;

	(void)state;
	cfg.preroll_ms = 1000;
	scene_init(&s, second + 1500 + 1000);
	scene_add(&s, SPEECH, 1000, 1500, -20, 9);
	scene_add(&s, SPEECH, second, 1500, -20, 10);
	run_scene(&s, &cfg, &t);
	assert_int_equal(pairs(&t), 2);
	assert_true(t.ev[1].utt_at >= 0 && t.ev[3].utt_at >= 0);
	assert_int_equal(t.ev[3].utt_at,
			 t.ev[1].utt_at + (long)t.ev[1].utt_len);
	/* ... and that leaves it most of the gap (100 ms went to the tail). */
	assert_in_range(t.ev[3].utt_at, (long)SAMPLES(second - 600),
			(long)SAMPLES(second - 600 + 2 * FRAME_MS));
	scene_cleanup(&s);
}

/* At the cap the utterance ends; talk that goes on starts the next one
 * where the last stopped. */
static void test_vad_max_utterance_ends_it_and_talk_goes_on(void **state)
{
	static const unsigned caps_ms[] = { 1000, 2500 };

	(void)state;
	for (size_t i = 0; i < sizeof caps_ms / sizeof caps_ms[0]; i++) {
		struct wvs_vad_config cfg = defaults();
		struct scene s;
		struct trace t;
		size_t cap = SAMPLES(caps_ms[i]), pre = SAMPLES(cfg.preroll_ms);

		cfg.max_utterance_ms = caps_ms[i];
		scene_init(&s, 1000 + 6000 + 1000);
		scene_add(&s, SPEECH, 1000, 6000, -20, 12);
		run_scene(&s, &cfg, &t);
		print_message("cap %u ms: %u utterances\n", caps_ms[i], t.ends);
		assert_true(pairs(&t) >= 6000 / caps_ms[i]);
		assert_int_equal(t.ev[1].end_ms, 1000 + caps_ms[i]);
		assert_int_equal(t.ev[1].utt_at, (long)SAMPLES(1000) - (long)pre);
		assert_int_equal(t.ev[1].utt_len, pre + cap);
		for (size_t e = 3; e < t.n; e += 2) {
			assert_int_equal(t.ev[e].utt_at,
					 t.ev[e - 2].utt_at +
						 (long)t.ev[e - 2].utt_len);
			assert_true(t.ev[e].utt_len <= pre + cap);
		}
		/* The next start comes as soon as speech has persisted. */
		assert_in_range(t.ev[2].end_ms, t.ev[1].end_ms + cfg.start_ms,
				t.ev[1].end_ms + cfg.start_ms + 2 * FRAME_MS);
		scene_cleanup(&s);
	}
}

/* ---- Reset ---- */

struct reset_case {
	const char *what;
	unsigned reset_ms; /* after this much of the stream */
};

static void test_vad_reset_forgets_the_utterance(void **state)
{
	/* Speech from 1000 to 3000 ms; it starts at 1060. */
	static const struct reset_case cases[] = {
		{ "while speech persists to start", 1040 },
		{ "early in the utterance", 1200 },
		{ "late in the utterance", 2800 },
		{ "in the silence before the end", 3200 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct reset_case *c = &cases[i];
		struct scene s;
		struct trace before, after;
		struct wvs_vad *v = vad_new(NULL);
		size_t cut = SAMPLES(c->reset_ms), len = 99;
		const int16_t *pcm;

		print_message("%s\n", c->what);
		scene_init(&s, 5000);
		scene_add(&s, SPEECH, 1000, 2000, -20, 13);
		pcm = scene_pcm(&s);
		memset(&before, 0, sizeof before);
		feed(v, pcm, 0, cut, &before);
		assert_int_equal(before.ends, 0);
		wvs_vad_reset(v);
		assert_int_equal(wvs_vad_active(v), 0);
		assert_null(wvs_vad_utterance(v, &len));
		assert_int_equal(len, 0);
		memset(&after, 0, sizeof after);
		feed(v, pcm, cut, s.n, &after);
		if (c->reset_ms >= 3000) {
			/* Nothing is left to end. */
			assert_int_equal(after.n, 0);
		} else {
			/* A new utterance, from after the reset only, once
			 * speech has persisted again. */
			assert_int_equal(pairs(&after), 1);
			assert_int_equal(after.ev[0].end_ms,
					 c->reset_ms + 60);
			assert_int_equal(after.ev[1].utt_at, (long)cut);
		}
		wvs_vad_destroy(v);
		scene_cleanup(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vad_config_default_is_the_documented_one),
		cmocka_unit_test(test_vad_create_checks_the_config),
		cmocka_unit_test(test_vad_null_arguments_are_harmless),
		cmocka_unit_test(test_vad_digital_silence_never_starts),
		cmocka_unit_test(test_vad_sound_below_the_floor_never_starts),
		cmocka_unit_test(
			test_vad_steady_noise_above_the_floor_is_learnt),
		cmocka_unit_test(test_vad_speech_starts_within_100ms_of_onset),
		cmocka_unit_test(test_vad_speech_ends_end_ms_after_offset),
		cmocka_unit_test(
			test_vad_utterance_is_preroll_speech_and_100ms_tail),
		cmocka_unit_test(test_vad_utterance_lasts_until_the_next_push),
		cmocka_unit_test(
			test_vad_gap_longer_than_end_ms_splits_utterances),
		cmocka_unit_test(
			test_vad_preroll_never_reaches_the_previous_utterance),
		cmocka_unit_test(
			test_vad_max_utterance_ends_it_and_talk_goes_on),
		cmocka_unit_test(test_vad_reset_forgets_the_utterance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
