#include <wvoice/capture.h>
#include <wvoice/error.h>
#include <wvoice/pcm.h>
#include <wvoice/resampler.h>

#include <stdatomic.h>
#include <stdlib.h>

#include "alloc.h"

/* Muted blocks are fed from this, a piece at a time, so that muting needs
 * neither a buffer per capture nor a write into the caller's samples. */
#define SILENCE_SAMPLES 256
static const float silence[SILENCE_SAMPLES];

struct wv_capture {
	struct wv_resampler *resampler;
	wv_frame_fn *on_frame;
	void *user;
	atomic_bool muted;
	uint64_t frames;
	size_t fill;                     /* samples in pending */
	float pending[WV_FRAME_SAMPLES]; /* the frame being filled, at 8 kHz */
	int16_t frame[WV_FRAME_SAMPLES]; /* the frame handed to on_frame */
};

int wv_capture_create(struct wv_capture **out, unsigned device_rate,
		      int quality, wv_frame_fn *on_frame, void *user)
{
	struct wv_capture *c;
	int rc;

	if (!out)
		return WV_ERR_INVALID;
	*out = NULL;
	if (!on_frame)
		return WV_ERR_INVALID;
	c = wv__calloc(1, sizeof *c);
	if (!c)
		return WV_ERR_NOMEM;
	rc = wv_resampler_create(&c->resampler, device_rate, WV_RATE, quality);
	if (rc != 0) {
		wv_free(c);
		return rc;
	}
	c->on_frame = on_frame;
	c->user = user;
	atomic_init(&c->muted, false);
	*out = c;
	return 0;
}

void wv_capture_destroy(struct wv_capture *c)
{
	if (!c)
		return;
	wv_resampler_destroy(c->resampler);
	wv_free(c);
}

static void deliver_frame(struct wv_capture *c)
{
	wv_pcm_from_float(c->frame, c->pending, WV_FRAME_SAMPLES);
	c->fill = 0;
	c->frames++;
	c->on_frame(c->user, c->frame);
}

/* The resampler writes straight into the pending frame, at most up to its
 * end, so a block of any size needs no scratch buffer. */
static void feed(struct wv_capture *c, const float *in, size_t n)
{
	while (n > 0) {
		size_t in_len = n;
		size_t out_len = WV_FRAME_SAMPLES - c->fill;

		wv_resampler_process(c->resampler, in, &in_len,
				     c->pending + c->fill, &out_len);
		/* With room to write, the resampler always makes progress;
		 * stop rather than spin if it ever did not. */
		if (in_len == 0 && out_len == 0)
			return;
		c->fill += out_len;
		if (c->fill == WV_FRAME_SAMPLES)
			deliver_frame(c);
		in += in_len;
		n -= in_len;
	}
}

/* Zeros go through the resampler like audio, so the audio already in its
 * filter and in the pending frame is still sent, ahead of the silence. */
static void feed_silence(struct wv_capture *c, size_t n)
{
	while (n > 0) {
		size_t piece = n < SILENCE_SAMPLES ? n : SILENCE_SAMPLES;

		feed(c, silence, piece);
		n -= piece;
	}
}

int wv_capture_write(struct wv_capture *c, const float *samples, size_t n)
{
	if (!c || (!samples && n > 0))
		return WV_ERR_INVALID;
	/* The flag guards no other data, so relaxed order is enough. */
	if (atomic_load_explicit(&c->muted, memory_order_relaxed))
		feed_silence(c, n);
	else
		feed(c, samples, n);
	return 0;
}

void wv_capture_set_muted(struct wv_capture *c, bool muted)
{
	atomic_store_explicit(&c->muted, muted, memory_order_relaxed);
}

bool wv_capture_muted(const struct wv_capture *c)
{
	return atomic_load_explicit(&c->muted, memory_order_relaxed);
}

uint64_t wv_capture_frames(const struct wv_capture *c)
{
	return c->frames;
}

unsigned wv_capture_latency_us(const struct wv_capture *c)
{
	return wv_resampler_latency_us(c->resampler);
}
