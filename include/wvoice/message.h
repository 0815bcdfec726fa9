/*
 * WebSocket messages as the protocol takes them: the rules both ends of a
 * call share. A message is JSON text: it arrives whole, in one frame or in
 * fragments that are put together here, it is at most WV_MESSAGE_MAX bytes
 * (64 KiB, far above any real event), and it is UTF-8. What breaks a rule is
 * named with the close code RFC 6455 gives it (1003, 1009, 1007); the caller
 * decides whether to close or to report and go on.
 *
 * Sans-I/O: the transport hands over each piece of a message as it reads
 * it, saying whether it is the first and the last piece, and whether the
 * message is binary. Memory: a message that comes in one piece is handed
 * back in place, never copied; a fragmented one is copied into a buffer
 * that grows up to the cap and is kept for the next.
 *
 * Thread: one at a time per wv_message (a connection's network thread).
 */
#ifndef WVOICE_MESSAGE_H
#define WVOICE_MESSAGE_H

#include <wvoice/export.h>

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum wv_message_result {
	WV_MESSAGE_PARTIAL,   /* a piece kept: more of the message to come */
	WV_MESSAGE_TEXT,      /* a whole text message, in *text and *len */
	WV_MESSAGE_BINARY,    /* a binary message (1003); the rest of it is
				 skipped */
	WV_MESSAGE_TOO_BIG,   /* over the cap (1009); the rest is skipped */
	WV_MESSAGE_NOT_UTF8,  /* text that is not UTF-8 (1007) */
	WV_MESSAGE_SKIPPED,   /* a later piece of a message refused before */
	WV_MESSAGE_NOMEM,     /* no memory for the reassembly (1011) */
};

struct wv_message;

/* A reassembler for one connection's messages, of at most max bytes (0:
   WV_MESSAGE_MAX). Allocates nothing until a message is fragmented.
   Errors: WV_ERR_NOMEM. */
WV_EXPORT int wv_message_create(struct wv_message **out, size_t max);
/* NULL is a no-op. */
WV_EXPORT void wv_message_destroy(struct wv_message *m);

/*
 * One piece of a message: len bytes at piece, first and last as the
 * transport says of it (both for a message in one piece), binary for the
 * message's kind (read from its first frame). With WV_MESSAGE_TEXT, *text
 * and *len give the whole message, valid until the next call; they are
 * left alone otherwise. A first piece starts a new message whatever came
 * before it.
 */
WV_EXPORT enum wv_message_result
wv_message_feed(struct wv_message *m, const char *piece, size_t len,
		bool first, bool last, bool binary, const char **text,
		size_t *text_len);

/* The close code RFC 6455 gives a refused message (1003, 1009, 1007,
   1011), or 0 for PARTIAL, TEXT and SKIPPED. */
WV_EXPORT int wv_message_close_code(enum wv_message_result r);

#ifdef __cplusplus
}
#endif
#endif
