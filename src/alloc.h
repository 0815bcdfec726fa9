/* Private to both libraries: calloc and strdup over wv_malloc(), which
   every allocation of theirs goes through (see <wvoice/alloc.h>). */
#ifndef WV_ALLOC_PRIVATE_H
#define WV_ALLOC_PRIVATE_H

#include <stdint.h>
#include <string.h>

#include <wvoice/alloc.h>

static inline void *wv__calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	p = wv_malloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

static inline char *wv__strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = wv_malloc(n);

	if (p)
		memcpy(p, s, n);
	return p;
}

#endif
