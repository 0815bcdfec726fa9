/* Ring sizes: the power of two at or above n, so an index wraps with a mask.
   Private to the library. */
#ifndef WV_POW2_H
#define WV_POW2_H

#include <stdint.h>

static inline uint64_t wv__pow2_at_least(uint64_t n)
{
	uint64_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

#endif
