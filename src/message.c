/* WebSocket messages: see message.h. */
#include <wvoice/message.h>

#include <stdlib.h>
#include <string.h>

#include <wvoice/error.h>
#include <wvoice/protocol.h>

#include "alloc.h"

struct wv_message {
	size_t max;
	char *buf; /* a fragmented message, put together */
	size_t len, cap;
	bool skipping; /* the rest of a refused message */
};

int wv_message_create(struct wv_message **out, size_t max)
{
	struct wv_message *m = wv__calloc(1, sizeof *m);

	*out = NULL;
	if (!m)
		return WV_ERR_NOMEM;
	m->max = max ? max : WV_MESSAGE_MAX;
	*out = m;
	return 0;
}

void wv_message_destroy(struct wv_message *m)
{
	if (!m)
		return;
	wv_free(m->buf);
	wv_free(m);
}

/* Keeps a piece; the caller has checked that the whole fits the cap. The
   buffer doubles, from 4 KiB, up to the cap. */
static bool keep(struct wv_message *m, const char *piece, size_t len)
{
	size_t need = m->len + len;

	if (need > m->cap) {
		size_t cap = need < 4096 ? 4096 : 2 * need;
		char *grown;

		if (cap > m->max)
			cap = m->max;
		grown = wv_realloc(m->buf, cap);
		if (!grown)
			return false;
		m->buf = grown;
		m->cap = cap;
	}
	if (len) /* an empty piece may come before anything is kept */
		memcpy(m->buf + m->len, piece, len);
	m->len = need;
	return true;
}

/* The rest of this message is not worth reading. */
static enum wv_message_result refuse(struct wv_message *m,
				     enum wv_message_result r)
{
	m->skipping = true;
	m->len = 0;
	return r;
}

enum wv_message_result wv_message_feed(struct wv_message *m, const char *piece,
				       size_t len, bool first, bool last,
				       bool binary, const char **text,
				       size_t *text_len)
{
	if (first) {
		m->len = 0;
		m->skipping = false;
	}
	if (m->skipping)
		return WV_MESSAGE_SKIPPED;
	if (binary)
		return refuse(m, WV_MESSAGE_BINARY);
	if (len > m->max - m->len)
		return refuse(m, WV_MESSAGE_TOO_BIG);
	if (!(first && last)) {
		if (!keep(m, piece, len))
			return refuse(m, WV_MESSAGE_NOMEM);
		if (!last)
			return WV_MESSAGE_PARTIAL;
		piece = m->buf ? m->buf : ""; /* empty pieces, all of them */
		len = m->len;
		m->len = 0;
	}
	if (!wv_utf8_valid(piece, len))
		return WV_MESSAGE_NOT_UTF8;
	*text = piece;
	*text_len = len;
	return WV_MESSAGE_TEXT;
}

int wv_message_close_code(enum wv_message_result r)
{
	switch (r) {
	case WV_MESSAGE_BINARY:
		return 1003;
	case WV_MESSAGE_TOO_BIG:
		return 1009;
	case WV_MESSAGE_NOT_UTF8:
		return 1007;
	case WV_MESSAGE_NOMEM:
		return 1011;
	default:
		return 0;
	}
}
