/* The libraries' allocator: see alloc.h. */
#include <wvoice/alloc.h>

#include <stdlib.h>

#include <wvoice/error.h>

#include "sized.h"

static void *c_malloc(void *user, size_t n)
{
	(void)user;
	return malloc(n);
}

static void *c_realloc(void *user, void *p, size_t n)
{
	(void)user;
	return realloc(p, n);
}

static void c_free(void *user, void *p)
{
	(void)user;
	free(p);
}

static const struct wv_allocator c_library = { c_malloc, c_realloc, c_free,
					       NULL };
/* Process-wide, set while no object exists (alloc.h). */
static struct wv_allocator current = { c_malloc, c_realloc, c_free, NULL };

int wv_set_allocator_sized(const struct wv_allocator *a, size_t size)
{
	struct wv_allocator mine = c_library;

	if (a && wv__take_sized(&mine, sizeof mine, a, size, sizeof mine) < 0)
		return WV_ERR_INVALID;
	if (!mine.malloc || !mine.realloc || !mine.free)
		return WV_ERR_INVALID;
	current = mine;
	return 0;
}

void *wv_malloc(size_t n)
{
	return current.malloc(current.user, n ? n : 1);
}

void *wv_realloc(void *p, size_t n)
{
	return current.realloc(current.user, p, n ? n : 1);
}

void wv_free(void *p)
{
	if (p)
		current.free(current.user, p);
}
