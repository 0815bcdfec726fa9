/*
 * Capture: turns device blocks of any size, at the device's rate, into exact
 * 20 ms frames of 8 kHz audio (WV_FRAME_SAMPLES samples), the unit the
 * protocol sends 50 times a second.
 *
 * Mute replaces the input with zeros from the moment it is set, so the frames
 * keep flowing at 50 a second while muted. Audio written before the mute is
 * still sent first: it finishes its trip through the resampler and the
 * partial frame it sits in, as the browser guide flushes its pending chunk
 * before muting.
 *
 * Threads: write() belongs to one thread at a time and neither allocates nor
 * locks (it may run on the audio thread); set_muted() and muted() are safe
 * from any thread.
 */
#ifndef WVOICE_CAPTURE_H
#define WVOICE_CAPTURE_H

#include <wvoice/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WV_FRAME_MS 20
#define WV_FRAME_SAMPLES 160 /* 20 ms at 8 kHz */

/* Receives one complete frame; the buffer is only valid during the call. */
typedef void wv_frame_fn(void *user, const int16_t *frame);

struct wv_capture;

/*
 * Creates a capture for a device at device_rate (WV_RATE_MIN..WV_RATE_MAX)
 * that calls on_frame(user, frame) for each complete frame. quality is the
 * resampler quality, or -1 for the default.
 * Errors: WV_ERR_RATE, WV_ERR_INVALID (on_frame NULL, quality), WV_ERR_NOMEM.
 */
WV_EXPORT int wv_capture_create(struct wv_capture **out, unsigned device_rate,
				int quality, wv_frame_fn *on_frame, void *user);
WV_EXPORT void wv_capture_destroy(struct wv_capture *c);

/*
 * Feeds n samples at the device rate (float, [-1, 1]); calls on_frame for
 * every frame completed, from this thread, before returning. The mute state is
 * read once per call and applies to the whole block. Returns 0, or
 * WV_ERR_INVALID (c NULL, or samples NULL with n > 0).
 */
WV_EXPORT int wv_capture_write(struct wv_capture *c, const float *samples, size_t n);

/* Thread: any. Takes effect from the next write(). */
WV_EXPORT void wv_capture_set_muted(struct wv_capture *c, bool muted);
/* Thread: any. */
WV_EXPORT bool wv_capture_muted(const struct wv_capture *c);

/* Frames delivered so far, counting the one being delivered when called from
 * on_frame. Thread: the one that calls write(). */
WV_EXPORT uint64_t wv_capture_frames(const struct wv_capture *c);

/* Delay from a sample entering write() to the frame that carries it leaving,
 * not counting the wait for the frame to fill: the resampler's latency. */
WV_EXPORT unsigned wv_capture_latency_us(const struct wv_capture *c);

#ifdef __cplusplus
}
#endif
#endif
