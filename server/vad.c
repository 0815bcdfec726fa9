/* Caller speech detection: see vad.h. */
#include "vad.h"

#include <wvoice/error.h>

#include <speex/speex_preprocess.h>

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_MS (1000u * WVS_FRAME / WVS_RATE)
#define TAIL_FRAMES (100u / FRAME_MS) /* trailing silence kept: 100 ms */

/* Config limits: beyond these a value is a mistake, and the utterance
 * buffer (2 bytes a sample, one per call) would get large. */
#define START_MS_MAX 2000u
#define END_MS_MAX 10000u
#define PREROLL_MS_MAX 5000u
#define MAX_UTTERANCE_MS_MAX 120000u
#define FLOOR_DBFS_MIN (-120.0)

/*
 * speexdsp's speech probability (percent) above which a frame is speech.
 * speex's own thresholds (35 to start, 20 to go on) leave steady noise over
 * the floor counted as speech for good: on white or pink noise its
 * probability keeps wandering between about 30 and 90 once it has learnt
 * the noise, while speech stays mostly above 90 down to about 10 dB SNR.
 * (Until it has learnt the noise, over its first second or two of sound
 * above the floor, it takes anything for speech: steady noise over the
 * floor from the start of a call gives one false start.) One
 * threshold, with no second one to go on, was measured better than a pair:
 * the end_ms wait already bridges the dips, and a lower bar to go on lets
 * noise keep an utterance alive (at 85/70 pink noise kept utterances going
 * twice as long, and ends came 100 ms later). 88 traded false starts on
 * pink noise (about 3 in 2 minutes, against 7 at 85) for start latency
 * (about 20 ms more at 10 dB SNR, none in quiet).
 *
 * speex's VAD switch (SPEEX_PREPROCESS_SET_VAD) is not used: it compares
 * this same probability, and prints a warning on stderr each time it is
 * turned on, which would be once per call.
 */
#define PROB_SPEECH 88

struct wvs_vad {
	SpeexPreprocessState *speex;
	unsigned start_frames;	 /* speech frames in a row that start */
	unsigned end_frames;	 /* silent frames in a row that end */
	unsigned preroll_frames;
	unsigned max_frames;	 /* speech part of an utterance, at most */
	double floor_energy;	 /* sum of squares of a frame at the floor */

	bool active;
	unsigned run;		 /* speech frames in a row, while idle */
	unsigned silence;	 /* silent frames in a row, while active */

	/* The last frames heard, for the pre-roll: it holds the pre-roll and
	 * the frames that had to persist before the start. */
	int16_t *ring;
	unsigned ring_frames;
	unsigned ring_head; /* where the next frame goes */
	unsigned ring_fill; /* frames in it that may still become pre-roll */

	int16_t *utt;	    /* pre-roll, then the speech */
	size_t utt_len;	    /* samples */
	size_t onset;	    /* where the speech starts in utt */
	size_t speech_len;  /* utt_len at the end of the last speech frame */
	size_t ended_len;   /* the utterance the last push ended, or 0 */
};

void wvs_vad_config_default(struct wvs_vad_config *cfg)
{
	if (!cfg)
		return;
	cfg->start_ms = 60;
	cfg->end_ms = 500;
	cfg->preroll_ms = 200;
	cfg->max_utterance_ms = 15000;
	cfg->floor_dbfs = -45.0;
}

/* Times round up to whole frames, except the cap, which rounds down so an
 * utterance is never longer than asked. */
static unsigned frames_up(unsigned ms)
{
	return (ms + FRAME_MS - 1) / FRAME_MS;
}

static bool config_valid(const struct wvs_vad_config *c)
{
	if (c->start_ms == 0 || c->start_ms > START_MS_MAX)
		return false;
	if (c->end_ms == 0 || c->end_ms > END_MS_MAX)
		return false;
	if (c->preroll_ms > PREROLL_MS_MAX)
		return false;
	if (c->max_utterance_ms > MAX_UTTERANCE_MS_MAX ||
	    c->max_utterance_ms / FRAME_MS <= frames_up(c->start_ms))
		return false;
	/* NaN fails both comparisons. */
	return c->floor_dbfs >= FLOOR_DBFS_MIN && c->floor_dbfs <= 0.0;
}

/* Level is RMS against full scale: a full-scale square wave is 0 dBFS. */
static double floor_energy(double dbfs)
{
	double rms = 32768.0 * pow(10.0, dbfs / 20.0);

	return rms * rms * WVS_FRAME;
}

static SpeexPreprocessState *speex_create(void)
{
	SpeexPreprocessState *st = speex_preprocess_state_init(WVS_FRAME,
							      WVS_RATE);
	spx_int32_t off = 0;

	/* Only the probability is read; the output frame is thrown away. */
	if (st)
		speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_DENOISE, &off);
	return st;
}

int wvs_vad_create(struct wvs_vad **out, const struct wvs_vad_config *cfg)
{
	struct wvs_vad_config def;
	struct wvs_vad *v;

	if (!out)
		return WV_ERR_INVALID;
	*out = NULL;
	if (!cfg) {
		wvs_vad_config_default(&def);
		cfg = &def;
	}
	if (!config_valid(cfg))
		return WV_ERR_INVALID;
	v = calloc(1, sizeof *v);
	if (!v)
		return WV_ERR_NOMEM;
	v->start_frames = frames_up(cfg->start_ms);
	v->end_frames = frames_up(cfg->end_ms);
	v->preroll_frames = frames_up(cfg->preroll_ms);
	v->max_frames = cfg->max_utterance_ms / FRAME_MS;
	v->floor_energy = floor_energy(cfg->floor_dbfs);
	v->ring_frames = v->preroll_frames + v->start_frames;
	v->ring = malloc((size_t)v->ring_frames * WVS_FRAME * sizeof *v->ring);
	v->utt = malloc(((size_t)v->preroll_frames + v->max_frames) *
			WVS_FRAME * sizeof *v->utt);
	v->speex = speex_create();
	if (!v->ring || !v->utt || !v->speex) {
		wvs_vad_destroy(v);
		return WV_ERR_NOMEM;
	}
	*out = v;
	return 0;
}

void wvs_vad_destroy(struct wvs_vad *vad)
{
	if (!vad)
		return;
	if (vad->speex)
		speex_preprocess_state_destroy(vad->speex);
	free(vad->ring);
	free(vad->utt);
	free(vad);
}

static bool above_floor(const struct wvs_vad *v, const int16_t *frame)
{
	int64_t sum = 0;

	for (size_t i = 0; i < WVS_FRAME; i++)
		sum += (int32_t)frame[i] * frame[i];
	return (double)sum >= v->floor_energy;
}

/*
 * Frames under the floor never reach speex. They are most of a call, and
 * speex costs about 13 us a frame, 25 to 45 us on digital silence after
 * sound (its state decays into denormals), against well under 1 us for the
 * floor test. Its noise estimate then learns only from frames above the
 * floor: steady noise there is still learnt, and over 60 synthetic
 * utterances onsets came no later than when speex heard every frame.
 * Feeding quiet frames to speex_preprocess_estimate_update() instead
 * changed no onset either, so they are not fed at all.
 */
static bool is_speech(struct wvs_vad *v, const int16_t *frame)
{
	int16_t scratch[WVS_FRAME]; /* speex writes its output over its input */
	spx_int32_t prob = 0;

	if (!above_floor(v, frame))
		return false;
	memcpy(scratch, frame, sizeof scratch);
	speex_preprocess_run(v->speex, scratch);
	speex_preprocess_ctl(v->speex, SPEEX_PREPROCESS_GET_PROB, &prob);
	return prob > PROB_SPEECH;
}

static void ring_put(struct wvs_vad *v, const int16_t *frame)
{
	memcpy(v->ring + (size_t)v->ring_head * WVS_FRAME, frame,
	       WVS_FRAME * sizeof *frame);
	v->ring_head = (v->ring_head + 1) % v->ring_frames;
	if (v->ring_fill < v->ring_frames)
		v->ring_fill++;
}

/* The utterance opens with the pre-roll and the frames that persisted. */
static void start_utterance(struct wvs_vad *v)
{
	unsigned n = v->preroll_frames + v->run;
	unsigned first;

	if (n > v->ring_fill)
		n = v->ring_fill;
	first = (v->ring_head + v->ring_frames - n) % v->ring_frames;
	v->utt_len = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned k = (first + i) % v->ring_frames;

		memcpy(v->utt + v->utt_len, v->ring + (size_t)k * WVS_FRAME,
		       WVS_FRAME * sizeof *v->utt);
		v->utt_len += WVS_FRAME;
	}
	v->onset = v->utt_len - (size_t)v->run * WVS_FRAME;
	v->speech_len = v->utt_len;
	v->active = true;
	v->silence = 0;
	v->run = 0;
}

/*
 * Trims the trailing silence, and keeps the frames heard after the kept
 * part as the only candidates for the next pre-roll, so two utterances
 * never share samples.
 */
static void end_utterance(struct wvs_vad *v)
{
	size_t keep = v->speech_len + (size_t)TAIL_FRAMES * WVS_FRAME;
	unsigned after;

	if (keep > v->utt_len)
		keep = v->utt_len;
	after = (unsigned)((v->utt_len - keep) / WVS_FRAME);
	if (v->ring_fill > after)
		v->ring_fill = after;
	v->ended_len = keep;
	v->active = false;
	v->silence = 0;
	v->run = 0;
}

static enum wvs_vad_event push_idle(struct wvs_vad *v, bool speech)
{
	v->run = speech ? v->run + 1 : 0;
	if (v->run < v->start_frames)
		return WVS_VAD_NONE;
	start_utterance(v);
	return WVS_VAD_SPEECH_START;
}

static enum wvs_vad_event push_active(struct wvs_vad *v, const int16_t *frame,
				      bool speech)
{
	memcpy(v->utt + v->utt_len, frame, WVS_FRAME * sizeof *frame);
	v->utt_len += WVS_FRAME;
	if (speech) {
		v->speech_len = v->utt_len;
		v->silence = 0;
	} else {
		v->silence++;
	}
	if (v->silence >= v->end_frames ||
	    v->utt_len - v->onset >= (size_t)v->max_frames * WVS_FRAME) {
		end_utterance(v);
		return WVS_VAD_SPEECH_END;
	}
	return WVS_VAD_NONE;
}

enum wvs_vad_event wvs_vad_push(struct wvs_vad *vad, const int16_t *frame)
{
	bool speech;

	if (!vad || !frame)
		return WVS_VAD_NONE;
	vad->ended_len = 0;
	speech = is_speech(vad, frame);
	ring_put(vad, frame);
	if (vad->active)
		return push_active(vad, frame, speech);
	return push_idle(vad, speech);
}

int wvs_vad_active(const struct wvs_vad *vad)
{
	return vad && vad->active;
}

const int16_t *wvs_vad_utterance(const struct wvs_vad *vad, size_t *len)
{
	if (!len)
		return NULL;
	*len = 0;
	if (!vad || vad->ended_len == 0)
		return NULL;
	*len = vad->ended_len;
	return vad->utt;
}

/* speex keeps its noise estimate: the line is still the same line. */
void wvs_vad_reset(struct wvs_vad *vad)
{
	if (!vad)
		return;
	vad->active = false;
	vad->run = 0;
	vad->silence = 0;
	vad->ring_fill = 0;
	vad->utt_len = 0;
	vad->onset = 0;
	vad->speech_len = 0;
	vad->ended_len = 0;
}
