/* Ring sizes: the power of two at or above n, so an index wraps with a mask.
   Private to the library. */
#ifndef WV_POW2_H
#define WV_POW2_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t wv__pow2_at_least(uint64_t n)
{
	uint64_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/* The same for a count of things in memory: 0 if it would not fit a
   size_t (on a 32-bit device). */
static inline size_t wv__pow2_size(size_t n)
{
	size_t p = 1;

	while (p < n) {
		if (p > SIZE_MAX / 2)
			return 0;
		p <<= 1;
	}
	return p;
}

#endif
