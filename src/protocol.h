/*
 * Protocol internals shared with the tests (private).
 */
#ifndef WV_PROTOCOL_PRIVATE_H
#define WV_PROTOCOL_PRIVATE_H

#include <stddef.h>

#include <wvoice/protocol.h>

/*
 * The allocation-free path for {"event":"audio","payload":"..."}. Returns 0
 * with *ev filled when text is exactly that shape with valid base64 that
 * fits, and 1 when it declines (the caller then asks jansson). It never
 * reports an error of its own, so it can only agree with the slow path.
 */
int wv__decoder_decode_fast(struct wv_decoder *d, const char *text,
			    size_t len, struct wv_event *ev);

#endif
