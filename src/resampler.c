#include <wvoice/error.h>
#include <wvoice/resampler.h>

#include <speex/speex_resampler.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

/*
 * Droop compensation for the way down. speexdsp's quality 3 leaves 3.4 kHz
 * about 1.05 dB down at 8 kHz; quality 4 is flat but costs about 1.5 times as
 * much. The symmetric FIR [a, 1 - 2a, a] with a < 0 has unit gain at DC and
 * rises towards Nyquist: with a = -0.015 it lifts 3.4 kHz by 0.40 dB relative
 * to 1 kHz (0.48 dB absolute) and 4 kHz by 0.51 dB, bringing the passband
 * within 1 dB for one output sample of delay and three multiplies a sample.
 */
#define DROOP_A (-0.015f)
#define DROOP_B (1.0f - 2.0f * DROOP_A)

struct wv_resampler {
	SpeexResamplerState *speex; /* NULL when the rates are equal */
	unsigned in_rate;
	unsigned out_rate;
	bool droop;	 /* compensate speexdsp's droop on the output */
	float hist[2]; /* the compensation's last two inputs, newest first */
};

static bool rate_in_range(unsigned rate)
{
	return rate >= WV_RATE_MIN && rate <= WV_RATE_MAX;
}

static bool rates_supported(unsigned in_rate, unsigned out_rate)
{
	if (in_rate != WV_RATE && out_rate != WV_RATE)
		return false;
	return rate_in_range(in_rate) && rate_in_range(out_rate);
}

static bool quality_valid(int quality)
{
	return quality == WV_RESAMPLER_QUALITY_DEFAULT ||
	       (quality >= SPEEX_RESAMPLER_QUALITY_MIN &&
		quality <= SPEEX_RESAMPLER_QUALITY_MAX);
}

static int speex_quality(unsigned in_rate, unsigned out_rate, int quality)
{
	if (quality != WV_RESAMPLER_QUALITY_DEFAULT)
		return quality;
	return in_rate > out_rate ? WV_RESAMPLER_QUALITY_DOWN
				  : WV_RESAMPLER_QUALITY_UP;
}

/* Filters out[0..n) in place, carrying the history across calls. */
static void compensate_droop(struct wv_resampler *r, float *out, size_t n)
{
	float x1 = r->hist[0], x2 = r->hist[1];

	for (size_t i = 0; i < n; i++) {
		float x0 = out[i];

		out[i] = DROOP_A * (x0 + x2) + DROOP_B * x1;
		x2 = x1;
		x1 = x0;
	}
	r->hist[0] = x1;
	r->hist[1] = x2;
}

int wv_resampler_create(struct wv_resampler **out, unsigned in_rate,
			unsigned out_rate, int quality)
{
	struct wv_resampler *r;
	int err;

	if (!out)
		return WV_ERR_INVALID;
	*out = NULL;
	if (!rates_supported(in_rate, out_rate))
		return WV_ERR_RATE;
	if (!quality_valid(quality))
		return WV_ERR_INVALID;
	r = wv__calloc(1, sizeof *r);
	if (!r)
		return WV_ERR_NOMEM;
	r->in_rate = in_rate;
	r->out_rate = out_rate;
	r->droop = in_rate > out_rate && quality == WV_RESAMPLER_QUALITY_DEFAULT;
	if (in_rate != out_rate) {
		/* The arguments are checked above, so a failure here can only
		 * be an allocation. */
		r->speex = speex_resampler_init(
			1, in_rate, out_rate,
			speex_quality(in_rate, out_rate, quality), &err);
		if (!r->speex) {
			wv_free(r);
			return WV_ERR_NOMEM;
		}
	}
	*out = r;
	return 0;
}

void wv_resampler_destroy(struct wv_resampler *r)
{
	if (!r)
		return;
	if (r->speex)
		speex_resampler_destroy(r->speex);
	wv_free(r);
}

/* speexdsp counts in 32 bits; a longer buffer is simply not all consumed in
 * one call, which the contract already asks the caller to handle. */
static spx_uint32_t clamp_u32(size_t n)
{
	return n > UINT32_MAX ? UINT32_MAX : (spx_uint32_t)n;
}

static void pass_through(const float *in, size_t *in_len, float *out,
			 size_t *out_len)
{
	size_t n = *in_len < *out_len ? *in_len : *out_len;

	if (n > 0)
		memcpy(out, in, n * sizeof *out);
	*in_len = n;
	*out_len = n;
}

int wv_resampler_process(struct wv_resampler *r, const float *in,
			 size_t *in_len, float *out, size_t *out_len)
{
	spx_uint32_t ilen, olen;

	if (!r || !in_len || !out_len)
		return WV_ERR_INVALID;
	/* speexdsp reads a NULL input as zeros; the contract does not. */
	if ((!in && *in_len > 0) || (!out && *out_len > 0))
		return WV_ERR_INVALID;
	if (!r->speex) {
		pass_through(in, in_len, out, out_len);
		return 0;
	}
	ilen = clamp_u32(*in_len);
	olen = clamp_u32(*out_len);
	if (speex_resampler_process_float(r->speex, 0, in, &ilen, out, &olen) !=
	    RESAMPLER_ERR_SUCCESS)
		return WV_ERR_INTERNAL;
	if (r->droop)
		compensate_droop(r, out, olen);
	*in_len = ilen;
	*out_len = olen;
	return 0;
}

size_t wv_resampler_output_max(const struct wv_resampler *r, size_t in_len)
{
	size_t whole, rest;
	uint64_t part;

	if (!r->speex)
		return in_len;
	/* The phase carried over from the previous call can only delay the
	 * next output, never add one, so ceil() is enough. It is computed in
	 * whole seconds and a rest so that the product cannot overflow. */
	whole = in_len / r->in_rate;
	rest = in_len % r->in_rate;
	if (whole >= SIZE_MAX / r->out_rate - 1)
		return SIZE_MAX;
	part = ((uint64_t)rest * r->out_rate + r->in_rate - 1) / r->in_rate;
	return whole * r->out_rate + (size_t)part;
}

unsigned wv_resampler_latency_us(const struct wv_resampler *r)
{
	uint64_t half;

	if (!r->speex)
		return 0;
	/* The filter is symmetric, so its delay is half its length, which
	 * speexdsp counts in input samples. */
	half = (uint64_t)speex_resampler_get_input_latency(r->speex);
	return (unsigned)((half * 1000000u + r->in_rate / 2) / r->in_rate) +
	       (r->droop ? 1000000u / r->out_rate : 0);
}

void wv_resampler_reset(struct wv_resampler *r)
{
	if (r->speex)
		speex_resampler_reset_mem(r->speex);
	r->hist[0] = r->hist[1] = 0.0f;
}

unsigned wv_resampler_in_rate(const struct wv_resampler *r)
{
	return r->in_rate;
}

unsigned wv_resampler_out_rate(const struct wv_resampler *r)
{
	return r->out_rate;
}
