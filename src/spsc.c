/*
 * The ring's memory order: the producer fills slots and then publishes
 * `write` with release; the consumer loads it with acquire before copying
 * out, and publishes `read` with release once it no longer needs the slots,
 * which the producer loads with acquire before reusing them. Each side reads
 * its own position relaxed: nobody else writes it.
 */
#include "spsc.h"

#include <wvoice/error.h>

#include <stdlib.h>
#include <string.h>

#include "pow2.h"
#include "alloc.h"

#define MAX_CHANNELS 8u

int wv__spsc_init(struct wv__spsc *r, size_t min_frames, unsigned channels)
{
	size_t frames;

	if (!r || min_frames == 0 || channels == 0 || channels > MAX_CHANNELS ||
	    min_frames > SIZE_MAX / 2 / MAX_CHANNELS / sizeof(float))
		return WV_ERR_INVALID;
	frames = wv__pow2_size(min_frames);
	r->buf = wv__calloc(frames * channels, sizeof(float));
	if (!r->buf)
		return WV_ERR_NOMEM;
	r->frames = frames;
	r->channels = channels;
	atomic_init(&r->write, 0);
	atomic_init(&r->read, 0);
	return 0;
}

void wv__spsc_cleanup(struct wv__spsc *r)
{
	if (!r)
		return;
	wv_free(r->buf);
	r->buf = NULL;
	r->frames = 0;
}

/* Copies n frames between the ring, from frame position pos, and flat,
 * in two pieces where the ring wraps. */
static void copy_out(const struct wv__spsc *r, uint64_t pos, float *dst,
		     size_t n)
{
	size_t at = (size_t)(pos & (r->frames - 1));
	size_t first = r->frames - at < n ? r->frames - at : n;
	size_t ch = r->channels;

	memcpy(dst, r->buf + at * ch, first * ch * sizeof(float));
	if (n > first)
		memcpy(dst + first * ch, r->buf,
		       (n - first) * ch * sizeof(float));
}

static void copy_in(struct wv__spsc *r, uint64_t pos, const float *src,
		    size_t n)
{
	size_t at = (size_t)(pos & (r->frames - 1));
	size_t first = r->frames - at < n ? r->frames - at : n;
	size_t ch = r->channels;

	memcpy(r->buf + at * ch, src, first * ch * sizeof(float));
	if (n > first)
		memcpy(r->buf, src + first * ch,
		       (n - first) * ch * sizeof(float));
}

size_t wv__spsc_space(struct wv__spsc *r)
{
	uint64_t w = atomic_load_explicit(&r->write, memory_order_relaxed);
	uint64_t rd = atomic_load_explicit(&r->read, memory_order_acquire);

	return r->frames - (size_t)(w - rd);
}

size_t wv__spsc_write(struct wv__spsc *r, const float *frames, size_t n)
{
	uint64_t w = atomic_load_explicit(&r->write, memory_order_relaxed);
	size_t space = wv__spsc_space(r);

	if (n > space)
		n = space;
	if (n == 0)
		return 0;
	copy_in(r, w, frames, n);
	atomic_store_explicit(&r->write, w + n, memory_order_release);
	return n;
}

size_t wv__spsc_available(struct wv__spsc *r)
{
	uint64_t w = atomic_load_explicit(&r->write, memory_order_acquire);
	uint64_t rd = atomic_load_explicit(&r->read, memory_order_relaxed);

	return (size_t)(w - rd);
}

size_t wv__spsc_read(struct wv__spsc *r, float *dst, size_t n)
{
	uint64_t rd = atomic_load_explicit(&r->read, memory_order_relaxed);
	size_t avail = wv__spsc_available(r);

	if (n > avail)
		n = avail;
	if (n == 0)
		return 0;
	copy_out(r, rd, dst, n);
	atomic_store_explicit(&r->read, rd + n, memory_order_release);
	return n;
}

size_t wv__spsc_skip(struct wv__spsc *r, size_t n)
{
	uint64_t rd = atomic_load_explicit(&r->read, memory_order_relaxed);
	size_t avail = wv__spsc_available(r);

	if (n > avail)
		n = avail;
	atomic_store_explicit(&r->read, rd + n, memory_order_release);
	return n;
}
