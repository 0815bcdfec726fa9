/* Growing a buffer by doubling. Shared by the server and the command
   (common/), not part of libwvoice. */
#ifndef WVS_GROW_H
#define WVS_GROW_H

#include <stddef.h>

/*
 * Makes room for at least need elements of size bytes in buf, which holds
 * *cap of them: the capacity doubles from first (or from *cap) until it
 * fits. Returns the buffer to use from now on and updates *cap, or NULL
 * when memory (or size_t) runs out, leaving buf and *cap as they were.
 * Returns buf itself when it already fits.
 */
void *wvs_grow(void *buf, size_t *cap, size_t need, size_t size,
	       size_t first);

#endif
