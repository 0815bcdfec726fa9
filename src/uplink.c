/*
 * Uplink processing; the contract is in uplink.h.
 *
 * Why at 8 kHz: the call sends 8 kHz, and speexdsp's echo canceller costs
 * grow with the rate and the tail (an FFT of twice the frame over tail/frame
 * partitions), so cancelling after the downsampling is both cheaper and all
 * the call can use. The far end goes through a resampler identical to the
 * microphone's, so both carry the same filter delay and stay aligned.
 */
#include "uplink.h"
#include "alloc.h"

#include <wvoice/error.h>
#include <wvoice/pcm.h>
#include <wvoice/resampler.h>

#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TAIL_MS 200u
#define MAX_TAIL_MS 1000u

struct wv__uplink {
	unsigned channels;
	size_t max_write;
	struct wv_resampler *mic_rs;
	struct wv_resampler *far_rs; /* NULL without echo cancellation */
	SpeexEchoState *echo;	     /* NULL without echo cancellation */
	SpeexPreprocessState *pre;   /* NULL without NS and AGC */
	bool agc;

	float *mic_in, *far_in; /* one write() deinterleaved */
	float *mic8, *far8;	/* 8 kHz, waiting for a whole frame */
	size_t pending;		/* samples in mic8 and far8 */
	size_t pending_cap;

	float *out; /* processed, oldest first */
	size_t out_len;
	size_t out_cap;
};

static int make_speex(struct wv__uplink *u, const struct wv__uplink_config *c)
{
	unsigned tail_ms = c->echo_tail_ms ? c->echo_tail_ms : DEFAULT_TAIL_MS;
	int rate = WV_RATE, on = 1;

	if (c->echo_cancellation) {
		u->echo = speex_echo_state_init(
			WV_UPLINK_FRAME, (int)(tail_ms * (WV_RATE / 1000u)));
		if (!u->echo)
			return WV_ERR_NOMEM;
		speex_echo_ctl(u->echo, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
	}
	if (!c->noise_suppression && !c->gain_control)
		return 0;
	u->pre = speex_preprocess_state_init(WV_UPLINK_FRAME, WV_RATE);
	if (!u->pre)
		return WV_ERR_NOMEM;
	on = c->noise_suppression;
	speex_preprocess_ctl(u->pre, SPEEX_PREPROCESS_SET_DENOISE, &on);
	if (c->gain_control) {
		on = 1;
		/* Fixed-point builds of speexdsp have no AGC and refuse. */
		u->agc = speex_preprocess_ctl(u->pre, SPEEX_PREPROCESS_SET_AGC,
					      &on) == 0;
	}
	/* With the echo state the preprocessor also suppresses the echo the
	 * adaptive filter leaves behind (only where it denoises). */
	if (u->echo)
		speex_preprocess_ctl(u->pre, SPEEX_PREPROCESS_SET_ECHO_STATE,
				     u->echo);
	return 0;
}

static int make_buffers(struct wv__uplink *u)
{
	size_t most8 = wv_resampler_output_max(u->mic_rs, u->max_write);

	u->pending_cap = WV_UPLINK_FRAME + most8;
	u->out_cap = 2 * (WV_UPLINK_FRAME + most8);
	u->mic_in = wv_malloc(u->max_write * sizeof(float));
	u->far_in = wv_malloc(u->max_write * sizeof(float));
	u->mic8 = wv_malloc(u->pending_cap * sizeof(float));
	u->far8 = wv_malloc(u->pending_cap * sizeof(float));
	u->out = wv_malloc(u->out_cap * sizeof(float));
	if (!u->mic_in || !u->far_in || !u->mic8 || !u->far8 || !u->out)
		return WV_ERR_NOMEM;
	return 0;
}

int wv__uplink_create(struct wv__uplink **out,
		      const struct wv__uplink_config *cfg)
{
	struct wv__uplink *u;
	int rc;

	if (!out)
		return WV_ERR_INVALID;
	*out = NULL;
	if (!cfg || cfg->max_write == 0 || cfg->max_write > (1u << 20) ||
	    cfg->echo_tail_ms > MAX_TAIL_MS)
		return WV_ERR_INVALID;
	u = wv__calloc(1, sizeof *u);
	if (!u)
		return WV_ERR_NOMEM;
	u->channels = cfg->echo_cancellation ? 2 : 1;
	u->max_write = cfg->max_write;
	rc = wv_resampler_create(&u->mic_rs, cfg->device_rate, WV_RATE,
				 WV_RESAMPLER_QUALITY_DEFAULT);
	if (rc == 0 && cfg->echo_cancellation)
		rc = wv_resampler_create(&u->far_rs, cfg->device_rate, WV_RATE,
					 WV_RESAMPLER_QUALITY_DEFAULT);
	if (rc == 0)
		rc = make_speex(u, cfg);
	if (rc == 0)
		rc = make_buffers(u);
	if (rc != 0) {
		wv__uplink_destroy(u);
		return rc;
	}
	*out = u;
	return 0;
}

void wv__uplink_destroy(struct wv__uplink *u)
{
	if (!u)
		return;
	if (u->pre)
		speex_preprocess_state_destroy(u->pre);
	if (u->echo)
		speex_echo_state_destroy(u->echo);
	wv_resampler_destroy(u->mic_rs);
	wv_resampler_destroy(u->far_rs);
	wv_free(u->mic_in);
	wv_free(u->far_in);
	wv_free(u->mic8);
	wv_free(u->far8);
	wv_free(u->out);
	wv_free(u);
}

unsigned wv__uplink_channels(const struct wv__uplink *u)
{
	return u->channels;
}

bool wv__uplink_echo_cancellation(const struct wv__uplink *u)
{
	return u->echo != NULL;
}

bool wv__uplink_noise_suppression(const struct wv__uplink *u)
{
	int on = 0;

	if (!u->pre)
		return false;
	/* speexdsp's ctl takes a non-const state even to read. */
	speex_preprocess_ctl((SpeexPreprocessState *)u->pre,
			     SPEEX_PREPROCESS_GET_DENOISE, &on);
	return on != 0;
}

bool wv__uplink_gain_control(const struct wv__uplink *u)
{
	return u->agc;
}

/* The 10 ms frame at offset `at` of mic8/far8, to the output queue. */
static void process_frame(struct wv__uplink *u, size_t at)
{
	int16_t mic[WV_UPLINK_FRAME], far[WV_UPLINK_FRAME];
	int16_t clean[WV_UPLINK_FRAME];

	wv_pcm_from_float(mic, u->mic8 + at, WV_UPLINK_FRAME);
	if (u->echo) {
		wv_pcm_from_float(far, u->far8 + at, WV_UPLINK_FRAME);
		speex_echo_cancellation(u->echo, mic, far, clean);
	} else {
		memcpy(clean, mic, sizeof clean);
	}
	if (u->pre)
		speex_preprocess_run(u->pre, clean);
	wv_pcm_to_float(u->out + u->out_len, clean, WV_UPLINK_FRAME);
	u->out_len += WV_UPLINK_FRAME;
}

/* Moves what is left after `done` samples to the front of mic8/far8. */
static void keep_rest(struct wv__uplink *u, size_t done)
{
	size_t rest = u->pending - done;

	if (done == 0)
		return;
	memmove(u->mic8, u->mic8 + done, rest * sizeof(float));
	if (u->far_rs)
		memmove(u->far8, u->far8 + done, rest * sizeof(float));
	u->pending = rest;
}

static void deinterleave(struct wv__uplink *u, const float *frames, size_t n)
{
	if (u->channels == 1) {
		memcpy(u->mic_in, frames, n * sizeof(float));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		u->mic_in[i] = frames[2 * i];
		u->far_in[i] = frames[2 * i + 1];
	}
}

/* Runs both resamplers over one write(); the two are identical, so they
 * make the same number of samples, which keeps the pair aligned. */
static int resample(struct wv__uplink *u, size_t n)
{
	size_t in_len = n, out_len = u->pending_cap - u->pending;
	size_t far_in = n, far_out = out_len;
	int rc;

	rc = wv_resampler_process(u->mic_rs, u->mic_in, &in_len,
				  u->mic8 + u->pending, &out_len);
	if (rc == 0 && u->far_rs)
		rc = wv_resampler_process(u->far_rs, u->far_in, &far_in,
					  u->far8 + u->pending, &far_out);
	if (rc != 0)
		return rc;
	if (in_len != n || (u->far_rs && (far_in != n || far_out != out_len)))
		return WV_ERR_INTERNAL;
	u->pending += out_len;
	return 0;
}

int wv__uplink_write(struct wv__uplink *u, const float *frames, size_t n)
{
	size_t done = 0;
	int rc;

	if (!u || (!frames && n > 0) || n > u->max_write)
		return WV_ERR_INVALID;
	if (n == 0)
		return 0;
	if (u->out_len + wv_resampler_output_max(u->mic_rs, n) +
		    WV_UPLINK_FRAME >
	    u->out_cap)
		return WV_ERR_FULL;
	deinterleave(u, frames, n);
	rc = resample(u, n);
	if (rc != 0)
		return rc;
	for (; u->pending - done >= WV_UPLINK_FRAME; done += WV_UPLINK_FRAME)
		process_frame(u, done);
	keep_rest(u, done);
	return 0;
}

size_t wv__uplink_available(const struct wv__uplink *u)
{
	return u->out_len;
}

size_t wv__uplink_read(struct wv__uplink *u, float *dst, size_t n)
{
	if (n > u->out_len)
		n = u->out_len;
	if (n == 0)
		return 0;
	memcpy(dst, u->out, n * sizeof(float));
	memmove(u->out, u->out + n, (u->out_len - n) * sizeof(float));
	u->out_len -= n;
	return n;
}
