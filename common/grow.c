/* Growing a buffer by doubling: see grow.h. */
#include "grow.h"

#include <stdint.h>
#include <stdlib.h>

void *wvs_grow(void *buf, size_t *cap, size_t need, size_t size,
	       size_t first)
{
	size_t n = *cap ? *cap : first;
	void *p;

	if (need <= *cap)
		return buf;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return NULL;
		n *= 2;
	}
	if (n > SIZE_MAX / size)
		return NULL;
	p = realloc(buf, n * size);
	if (p)
		*cap = n;
	return p;
}
