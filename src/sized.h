/*
 * Private to both libraries: structs sized by the program's header (see
 * "Structs and the ABI" in <wvoice/version.h>). Header-only, so neither
 * library exports it.
 */
#ifndef WV_SIZED_PRIVATE_H
#define WV_SIZED_PRIVATE_H

#include <stddef.h>
#include <string.h>

#include <wvoice/error.h>

/*
 * Takes a program's config, `size` bytes as its header has the struct (the
 * struct's own size field), over *dst, which holds this library's defaults
 * (`own` bytes): what the program knows is its, the rest keeps the
 * defaults. WV_ERR_INVALID for a size below `first` (the struct as first
 * published: a config not made by its _default()), or a longer struct with
 * anything but zeros past `own` (a newer header's fields, which this
 * library cannot honour).
 */
static inline int wv__take_sized(void *dst, size_t own, const void *src,
				 size_t size, size_t first)
{
	const unsigned char *tail = (const unsigned char *)src;

	if (size < first)
		return WV_ERR_INVALID;
	for (size_t i = own; i < size; i++)
		if (tail[i])
			return WV_ERR_INVALID;
	memcpy(dst, src, size < own ? size : own);
	return 0;
}

/* Gives the program `size` bytes of *src (`own` bytes here): no more than
   its header's struct holds, and zeros for a newer header's fields. */
static inline void wv__give_sized(void *dst, size_t size, const void *src,
				  size_t own)
{
	memcpy(dst, src, size < own ? size : own);
	if (size > own)
		memset((unsigned char *)dst + own, 0, size - own);
}

#endif
