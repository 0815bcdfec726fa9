/*
 * Uplink voice processing (private): captured audio at the device rate in,
 * 8 kHz processed mono out, the way a browser's getUserMedia cleans up the
 * microphone.
 *
 * Input frames carry the microphone and, with echo cancellation, what the
 * speaker played at the same moment (the far end), side by side, so the two
 * stay aligned by construction. Both go through identical resamplers to
 * 8 kHz, then, 10 ms (80 samples) at a time: speexdsp's echo canceller
 * (far end subtracted from the microphone through an adaptive filter
 * echo_tail_ms long), its preprocessor (noise suppression, residual echo
 * suppression, automatic gain control), and into an output queue.
 *
 * No device, thread or clock here, so tests feed it synthetic echo. It
 * allocates only in create. Thread: one at a time.
 */
#ifndef WV_UPLINK_H
#define WV_UPLINK_H

#include <stdbool.h>
#include <stddef.h>

#define WV_UPLINK_FRAME 80 /* 10 ms at 8 kHz: speexdsp's processing unit */

struct wv__uplink_config {
	unsigned device_rate;	/* of the frames written, 8000..192000 */
	bool echo_cancellation; /* frames are (mic, far end) pairs */
	bool noise_suppression;
	bool gain_control;
	unsigned echo_tail_ms;	/* 0: 200 */
	size_t max_write;	/* the most frames one write() takes */
};

struct wv__uplink;

/* Errors: WV_ERR_INVALID, WV_ERR_RATE, WV_ERR_NOMEM. */
int wv__uplink_create(struct wv__uplink **out,
		      const struct wv__uplink_config *cfg);
void wv__uplink_destroy(struct wv__uplink *u);

/* Floats per input frame: 2 with echo cancellation, else 1. */
unsigned wv__uplink_channels(const struct wv__uplink *u);

/* What is in effect; gain control is off where speexdsp lacks it. */
bool wv__uplink_echo_cancellation(const struct wv__uplink *u);
bool wv__uplink_noise_suppression(const struct wv__uplink *u);
bool wv__uplink_gain_control(const struct wv__uplink *u);

/*
 * Takes n frames (n <= max_write) and processes every complete 10 ms that
 * they finish. Returns 0; WV_ERR_INVALID (n over max_write, frames NULL with
 * n > 0); WV_ERR_FULL (the output queue lacks room for what n frames can
 * make: read it first; nothing was taken). The queue always has room for
 * one write() when it is empty.
 */
int wv__uplink_write(struct wv__uplink *u, const float *frames, size_t n);

/* Processed 8 kHz samples waiting. */
size_t wv__uplink_available(const struct wv__uplink *u);

/* Moves up to n processed samples to dst; returns how many. */
size_t wv__uplink_read(struct wv__uplink *u, float *dst, size_t n);

#endif
