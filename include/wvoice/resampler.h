/*
 * Stateful sample-rate conversion over speexdsp, mono float.
 *
 * One resampler converts one continuous stream: it keeps its filter history
 * and fractional phase between calls, so the output is exact in rate over any
 * length of call (after N input samples at rate in_rate, the total output is
 * N * out_rate / in_rate samples to within the filter delay, whatever the block
 * sizes; in fact ceil(N * out_rate / in_rate), because the output starts at
 * once, with the filter delay as its first samples). One side must be 8000 Hz,
 * the other anything from WV_RATE_MIN to WV_RATE_MAX; equal rates pass samples
 * through unchanged with no delay.
 *
 * Filter figures, at the default quality, checked by tests/test_resampler.c:
 * downsampling to 8 kHz, any tone from 4.4 kHz to the input's Nyquist
 * frequency comes out at least 60 dB down; upsampling from 8 kHz, the images
 * above 4.4 kHz are at least 60 dB down; both ways the passband is flat within
 * 1 dB up to 3.4 kHz. The added latency is wv_resampler_latency_us() (under
 * 5 ms).
 *
 * Threads: a resampler belongs to one thread at a time. process() neither
 * allocates nor locks, so it may run on the real-time audio thread.
 */
#ifndef WVOICE_RESAMPLER_H
#define WVOICE_RESAMPLER_H

#include <wvoice/export.h>

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WV_RATE 8000       /* the protocol's sample rate */
#define WV_RATE_MIN 8000   /* lowest device rate */
#define WV_RATE_MAX 192000 /* highest device rate */

/*
 * speexdsp quality, 0 (cheapest) to 10 (best). At the default:
 *   down to 8 kHz: quality 3 followed by a 3-tap droop compensation at 8 kHz
 *     (quality 3 alone leaves 3.4 kHz about 1.05 dB down; quality 4 is flat
 *     but costs about 1.5 times as much): passband within 0.7 dB, aliases
 *     over 80 dB down, latency about 3.1 ms (more for device rates just
 *     above 8 kHz);
 *   up from 8 kHz: quality 3, passband within 0.3 dB, images 76 dB down,
 *     latency 3.0 ms.
 * An explicit quality gets plain speexdsp, without the compensation.
 */
#define WV_RESAMPLER_QUALITY_DOWN 3
#define WV_RESAMPLER_QUALITY_UP 3
#define WV_RESAMPLER_QUALITY_DEFAULT (-1) /* one of the above, by direction */

struct wv_resampler;

/*
 * Creates a resampler from in_rate to out_rate. quality is 0..10, or
 * WV_RESAMPLER_QUALITY_DEFAULT (-1) for the default of the direction.
 * Errors: WV_ERR_RATE (neither side is 8000, or a rate is out of range),
 * WV_ERR_INVALID (quality), WV_ERR_NOMEM.
 */
WV_EXPORT int wv_resampler_create(struct wv_resampler **out, unsigned in_rate,
				  unsigned out_rate, int quality);
WV_EXPORT void wv_resampler_destroy(struct wv_resampler *r);

/*
 * Converts up to *in_len samples of in into up to *out_len samples of out. On
 * return *in_len is the number of input samples consumed and *out_len the
 * number written. Input that was not consumed (because out was full) must be
 * passed again. All input is consumed when out has room for
 * wv_resampler_output_max(r, *in_len) samples. Returns 0, WV_ERR_INVALID (a
 * NULL pointer, or a NULL buffer with a non-zero length) or WV_ERR_INTERNAL
 * (speexdsp reported a failure, which it does not after a successful create).
 */
WV_EXPORT int wv_resampler_process(struct wv_resampler *r, const float *in,
				   size_t *in_len, float *out, size_t *out_len);

/* An upper bound on the output that in_len input samples can produce in one
 * call: ceil(in_len * out_rate / in_rate) (in_len for equal rates). */
WV_EXPORT size_t wv_resampler_output_max(const struct wv_resampler *r, size_t in_len);

/* The delay the filter adds, in microseconds of signal. */
WV_EXPORT unsigned wv_resampler_latency_us(const struct wv_resampler *r);

/* Forgets the filter history and phase, as for a new stream. */
WV_EXPORT void wv_resampler_reset(struct wv_resampler *r);

WV_EXPORT unsigned wv_resampler_in_rate(const struct wv_resampler *r);
WV_EXPORT unsigned wv_resampler_out_rate(const struct wv_resampler *r);

#ifdef __cplusplus
}
#endif
#endif
