/*
 * Clips: immutable 8 kHz mono audio that agents play (speech, prompts,
 * the caller's own words). Shared by the server and the command (common/).
 */
#ifndef WVS_CLIP_H
#define WVS_CLIP_H

#include <stddef.h>
#include <stdint.h>

#define WVS_RATE 8000
#define WVS_FRAME 160 /* samples in one 20 ms frame at 8 kHz */

struct wvs_clip {
	int16_t *pcm; /* owned; NULL when len is 0 */
	size_t len;   /* samples at 8 kHz */
};

/*
 * Reads any file libsndfile reads (any rate, channel count and sample
 * format), mixes it down to mono and resamples it to 8 kHz with the
 * library's resampler. Files longer than max_seconds are refused.
 * Returns 0, or a negative WV_ERR_* with a message naming the file and the
 * problem in err. Thread: any.
 */
int wvs_clip_load(struct wvs_clip *clip, const char *path, double max_seconds,
		  char *err, size_t errlen);

/*
 * Makes a clip from n mono float samples at rate (WV_RATE_MIN to WV_RATE_MAX)
 * with the library's resampler, its filter delay compensated: the clip
 * starts where the input starts and holds ceil(n * 8000 / rate) samples.
 * Returns 0, WV_ERR_RATE or WV_ERR_NOMEM. Thread: any.
 */
int wvs_clip_from_float(struct wvs_clip *clip, const float *in, size_t n,
			unsigned rate);

/* Copies n samples into a new clip. Returns 0 or WV_ERR_NOMEM. */
int wvs_clip_copy(struct wvs_clip *clip, const int16_t *pcm, size_t n);

/* Frees the samples and zeroes the clip; a zeroed clip is fine too. */
void wvs_clip_cleanup(struct wvs_clip *clip);

#endif
