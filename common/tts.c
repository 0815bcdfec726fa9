/* Text to speech over espeak-ng: see tts.h. */
#include "tts.h"
#include "errbuf.h"
#include "grow.h"

#include <wvoice/error.h>
#include <wvoice/pcm.h>

#include <espeak-ng/espeak_ng.h>
#include <espeak-ng/speak_lib.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_VOICE "en-us"
#define VOICE_MAX 64
/* How much audio espeak-ng hands the callback at a time. */
#define SYNTH_CHUNK_MS 200
/* Trimming: a sample at or above this magnitude is sound. 104 is -50 dBFS
 * of 16-bit full scale (32768 * 10^(-50/20) = 103.6). */
#define SILENCE_LEVEL 104
/* Silence kept before the first and after the last sound, so that a
 * consonant's soft onset and the final release are not cut. */
#define MARGIN_SAMPLES (30 * WVS_RATE / 1000)

struct wvs_tts {
	char voice[VOICE_MAX];
	int wpm; /* never 0: espeak's default is filled in */
};

/*
 * espeak-ng keeps its whole engine in process globals (data, voice, rate,
 * synth callback, output buffer), so this is the server's one piece of
 * global state, and it mirrors that engine. lock is held around every call
 * into espeak-ng, so renders from different threads take turns. voice and
 * wpm record what the engine is set to, so that a render switches only when
 * another wvs_tts asked for something else.
 *
 * The first wvs_tts_create starts the engine and it is never terminated:
 * espeak-ng 1.51 (Debian bookworm) cannot be started again after
 * espeak_ng_Terminate(). Its fifo thread, which it starts even in
 * synchronous mode, leaves my_command_is_running set when it is told to
 * terminate, so the next espeak_ng_Terminate() waits forever for an
 * acknowledgement (fifo.c; 1.52 no longer starts that thread in
 * synchronous mode). A reference count that terminates with the last
 * wvs_tts would therefore hang the process the second time round.
 */
static struct {
	pthread_mutex_t lock;
	bool initialized; /* espeak_ng_Initialize() succeeded */
	int rate;	  /* its output rate; 0 until the engine is ready */
	char voice[VOICE_MAX]; /* "" when no voice is set */
	int wpm;
} engine = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int collect(short *wav, int n, espeak_EVENT *events);

/* Lock held. A failure leaves nothing started, so a later wvs_tts_create
 * tries again (after the data is installed, say). espeak_ng_Initialize()
 * also sets the process's LC_CTYPE locale (to C.UTF-8), which is one more
 * reason to create the engine before other threads start. */
static int engine_start(char *err, size_t errlen)
{
	espeak_ng_ERROR_CONTEXT ctx = NULL;
	espeak_ng_STATUS st;
	const char *path = NULL;
	char why[160];

	if (engine.rate > 0)
		return 0;
	if (!engine.initialized) {
		espeak_ng_InitializePath(NULL);
		st = espeak_ng_Initialize(&ctx);
		if (st != ENS_OK) {
			espeak_Info(&path);
			espeak_ng_GetStatusCodeMessage(st, why, sizeof why);
			espeak_ng_ClearErrorContext(&ctx);
			return wvs_errorf(
				err, errlen, WV_ERR_INTERNAL,
				"espeak-ng: cannot load its data from %s: "
				"%s",
				path ? path : "?", why);
		}
		engine.initialized = true;
	}
	st = espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS,
					SYNTH_CHUNK_MS, NULL);
	if (st != ENS_OK) {
		espeak_ng_GetStatusCodeMessage(st, why, sizeof why);
		return wvs_errorf(err, errlen, WV_ERR_INTERNAL, "espeak-ng: %s",
				  why);
	}
	espeak_SetSynthCallback(collect);
	engine.rate = espeak_ng_GetSampleRate();
	return 0;
}

/* Lock held: sets the engine to tts's voice and rate. */
static int engine_select(const struct wvs_tts *tts, char *err, size_t errlen)
{
	espeak_ng_STATUS st;
	char why[160];

	if (strcmp(engine.voice, tts->voice) != 0) {
		engine.voice[0] = '\0';
		st = espeak_ng_SetVoiceByName(tts->voice);
		if (st != ENS_OK) {
			espeak_ng_GetStatusCodeMessage(st, why, sizeof why);
			return wvs_errorf(err, errlen, WV_ERR_INVALID,
					  "espeak-ng voice \"%s\": %s",
					  tts->voice, why);
		}
		strcpy(engine.voice, tts->voice);
		engine.wpm = 0; /* a new voice may bring its own rate */
	}
	if (engine.wpm != tts->wpm) {
		st = espeak_ng_SetParameter(espeakRATE, tts->wpm, 0);
		if (st != ENS_OK) {
			espeak_ng_GetStatusCodeMessage(st, why, sizeof why);
			return wvs_errorf(err, errlen, WV_ERR_INTERNAL,
					  "espeak-ng rate %d: %s", tts->wpm,
					  why);
		}
		engine.wpm = tts->wpm;
	}
	return 0;
}

int wvs_tts_create(struct wvs_tts **out, const char *voice, int wpm, char *err,
		   size_t errlen)
{
	struct wvs_tts *tts;
	int rc;

	if (!out)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "no place for the tts");
	*out = NULL;
	if (!voice)
		voice = DEFAULT_VOICE;
	if (strlen(voice) >= VOICE_MAX || voice[0] == '\0')
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "voice name \"%.*s\" is empty or too long",
				  VOICE_MAX, voice);
	if (wpm != 0 && (wpm < espeakRATE_MINIMUM || wpm > espeakRATE_MAXIMUM))
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "speech rate %d wpm is outside %d to %d", wpm,
				  espeakRATE_MINIMUM, espeakRATE_MAXIMUM);
	tts = calloc(1, sizeof *tts);
	if (!tts)
		return wvs_errorf(err, errlen, WV_ERR_NOMEM, "out of memory");
	strcpy(tts->voice, voice);
	tts->wpm = wpm ? wpm : espeakRATE_NORMAL;

	pthread_mutex_lock(&engine.lock);
	rc = engine_start(err, errlen);
	/* An unknown voice is reported now, not at the first render. */
	if (rc == 0)
		rc = engine_select(tts, err, errlen);
	pthread_mutex_unlock(&engine.lock);
	if (rc < 0) {
		free(tts);
		return rc;
	}
	*out = tts;
	return 0;
}

/* The engine stays: see above. */
void wvs_tts_destroy(struct wvs_tts *tts)
{
	free(tts);
}

/* espeak-ng's samples of one render, gathered by the synth callback. */
struct speech {
	short *pcm;
	size_t len;
	size_t cap;
	bool nomem;
};

static bool speech_append(struct speech *sp, const short *wav, size_t n)
{
	short *p = wvs_grow(sp->pcm, &sp->cap, sp->len + n, sizeof *p, 8192);

	if (!p)
		return false;
	sp->pcm = p;
	memcpy(sp->pcm + sp->len, wav, n * sizeof *wav);
	sp->len += n;
	return true;
}

/* Called by espeak-ng inside espeak_ng_Synthesize(), so with the lock held;
 * the render's struct speech comes through the events' user_data. Returning
 * 1 stops the synthesis. */
static int collect(short *wav, int n, espeak_EVENT *events)
{
	struct speech *sp = events ? events->user_data : NULL;

	if (!sp || !wav || n <= 0)
		return 0;
	if (!speech_append(sp, wav, (size_t)n)) {
		sp->nomem = true;
		return 1;
	}
	return 0;
}

/* Lock held. */
static int synthesize(const char *text, struct speech *sp)
{
	espeak_ng_STATUS st;

	st = espeak_ng_Synthesize(text, strlen(text) + 1, 0, POS_CHARACTER, 0,
				  espeakCHARS_UTF8, NULL, sp);
	if (sp->nomem)
		return WV_ERR_NOMEM;
	return st == ENS_OK ? 0 : WV_ERR_INTERNAL;
}

static bool is_sound(int16_t x)
{
	return x >= SILENCE_LEVEL || x <= -SILENCE_LEVEL;
}

/* Copies clip, less its leading and trailing silence beyond the margin, to
 * out; all silence gives an empty clip. */
static int trim(struct wvs_clip *out, const struct wvs_clip *clip)
{
	size_t first = 0, end = clip->len;

	while (first < end && !is_sound(clip->pcm[first]))
		first++;
	while (end > first && !is_sound(clip->pcm[end - 1]))
		end--;
	if (first == end)
		return wvs_clip_copy(out, NULL, 0);
	first = first > MARGIN_SAMPLES ? first - MARGIN_SAMPLES : 0;
	end = clip->len - end > MARGIN_SAMPLES ? end + MARGIN_SAMPLES
					       : clip->len;
	return wvs_clip_copy(out, clip->pcm + first, end - first);
}

#define SPEECH_GAIN 0.708f /* -3 dB */

static int to_clip(struct wvs_clip *out, const struct speech *sp, int rate)
{
	struct wvs_clip full = {0};
	float *x;
	int rc;

	if (sp->len == 0)
		return 0;
	x = malloc(sp->len * sizeof *x);
	if (!x)
		return WV_ERR_NOMEM;
	wv_pcm_to_float(x, sp->pcm, sp->len);
	/* espeak-ng peaks at full scale, and the resampler's filter can
	   overshoot that: 3 dB of headroom keeps every peak unclipped. */
	for (size_t i = 0; i < sp->len; i++)
		x[i] *= SPEECH_GAIN;
	rc = wvs_clip_from_float(&full, x, sp->len, (unsigned)rate);
	free(x);
	if (rc == 0)
		rc = trim(out, &full);
	wvs_clip_cleanup(&full);
	return rc;
}

int wvs_tts_render(struct wvs_tts *tts, const char *text, struct wvs_clip *out)
{
	struct speech sp = {0};
	int rc, rate;

	if (!tts || !text || !out)
		return WV_ERR_INVALID;
	*out = (struct wvs_clip){0};
	if (text[0] == '\0')
		return 0;
	pthread_mutex_lock(&engine.lock);
	rc = engine_select(tts, NULL, 0);
	if (rc == 0)
		rc = synthesize(text, &sp);
	rate = engine.rate;
	pthread_mutex_unlock(&engine.lock);
	/* The resampling and trimming need no engine. */
	if (rc == 0)
		rc = to_clip(out, &sp, rate);
	free(sp.pcm);
	return rc;
}
