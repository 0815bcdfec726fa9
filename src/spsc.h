/*
 * A single-producer single-consumer ring of float frames (private).
 *
 * Between the audio callback and the network thread: each side owns one
 * position and only reads the other's, so neither ever blocks or locks, and
 * the memory is allocated once, by init. A frame is `channels` floats,
 * interleaved, and is written and read whole.
 *
 * Threads: write() and space() belong to the producer; read(), skip() and
 * available() to the consumer; init and cleanup to neither side running.
 */
#ifndef WV_SPSC_H
#define WV_SPSC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#if ATOMIC_LLONG_LOCK_FREE != 2
#error "the ring needs lock-free 64-bit atomics"
#endif

struct wv__spsc {
	float *buf;
	size_t frames; /* capacity, a power of two */
	unsigned channels;
	/* Positions count frames ever written and read; 2^64 never wraps in
	 * practice, so fill is a subtraction. Padded apart, so the two
	 * threads do not share a cache line (padding rather than _Alignas,
	 * which malloc'd holders of the ring would not honour). */
	char pad0[64];
	_Atomic uint64_t write;
	char pad1[64];
	_Atomic uint64_t read;
	char pad2[64];
};

/* Room for at least min_frames frames of channels (1..8) floats.
 * Errors: WV_ERR_INVALID, WV_ERR_NOMEM. */
int wv__spsc_init(struct wv__spsc *r, size_t min_frames, unsigned channels);
void wv__spsc_cleanup(struct wv__spsc *r);

/* Producer. Copies up to n frames in; returns how many fitted. */
size_t wv__spsc_write(struct wv__spsc *r, const float *frames, size_t n);
/* Producer. Frames that would fit now. */
size_t wv__spsc_space(struct wv__spsc *r);

/* Consumer. Copies up to n frames out, oldest first; returns how many. */
size_t wv__spsc_read(struct wv__spsc *r, float *dst, size_t n);
/* Consumer. Drops up to n of the oldest frames; returns how many. */
size_t wv__spsc_skip(struct wv__spsc *r, size_t n);
/* Consumer. Frames waiting. */
size_t wv__spsc_available(struct wv__spsc *r);

#endif
