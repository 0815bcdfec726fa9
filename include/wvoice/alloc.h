/*
 * Where the libraries' own memory comes from: the C library's malloc,
 * realloc and free unless the program says otherwise, before it makes any
 * wvoice object (a device with a heap of its own; a test that fails the
 * n-th allocation on purpose). The setting is process-wide, as jansson's
 * json_set_alloc_funcs() is: each object goes back to the allocator that
 * made it, so it may not change while any object exists. Its functions
 * are called from every thread the libraries run on (the program's, a
 * phone's network thread, a loop's name lookups), so they must be
 * thread-safe.
 *
 * Not covered: the memory of the libraries wvoice uses, which have hooks of
 * their own (jansson's json_set_alloc_funcs(), libwebsockets'
 * lws_set_allocator(); speexdsp and PortAudio have none). No memory crosses
 * the API: nothing a wvoice function returns is the program's to free.
 */
#ifndef WVOICE_ALLOC_H
#define WVOICE_ALLOC_H

#include <wvoice/export.h>

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sized through wv_set_allocator(): see "Structs and the ABI" in
   version.h. */
struct wv_allocator {
	void *(*malloc)(void *user, size_t n);
	void *(*realloc)(void *user, void *p, size_t n);
	void (*free)(void *user, void *p);
	void *user;
};

/* Sets the allocator (a is copied), or with a NULL the C library's again.
   WV_ERR_INVALID (nothing changes) if a function is missing. Thread: the
   only one using wvoice, while no wvoice object exists. */
WV_EXPORT int wv_set_allocator_sized(const struct wv_allocator *a,
				     size_t size);
#define wv_set_allocator(a)                                                    \
	wv_set_allocator_sized((a), sizeof(struct wv_allocator))

/* The allocator's own functions, as the libraries call them. wv_free(NULL)
   does nothing; wv_realloc(NULL, n) is wv_malloc(n). Thread: any. */
WV_EXPORT void *wv_malloc(size_t n);
WV_EXPORT void *wv_realloc(void *p, size_t n);
WV_EXPORT void wv_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
