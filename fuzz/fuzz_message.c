/*
 * The WebSocket message rules (src/message.c): reassembly, the cap and
 * UTF-8, fed arbitrary sequences of pieces.
 *
 * The input: two bytes for the cap (1 to 64 KiB), then pieces, each a
 * byte of flags (first, last, binary), two bytes of length and that many
 * bytes. Each piece is fed from a buffer of its own size.
 *
 * Invariants, against a model that keeps the message's pieces as RFC 6455
 * says: every answer is the model's; a whole text message is exactly the
 * pieces since its first, at most the cap, valid UTF-8, and a message in
 * one piece is handed back in place; the close code matches the answer.
 */
#include <wvoice/error.h>
#include <wvoice/message.h>
#include <wvoice/protocol.h>

#include "fuzz.h"

struct model {
	size_t max;
	char *buf; /* max bytes */
	size_t len;
	bool skipping;
};

static enum wv_message_result model_feed(struct model *m, const char *piece,
					 size_t len, bool first, bool last,
					 bool binary)
{
	if (first) {
		m->len = 0;
		m->skipping = false;
	}
	if (m->skipping)
		return WV_MESSAGE_SKIPPED;
	if (binary || m->len + len > m->max) {
		m->skipping = true;
		m->len = 0;
		return binary ? WV_MESSAGE_BINARY : WV_MESSAGE_TOO_BIG;
	}
	memcpy(m->buf + m->len, piece, len);
	m->len += len;
	if (!last)
		return WV_MESSAGE_PARTIAL;
	return wv_utf8_valid(m->buf, m->len) ? WV_MESSAGE_TEXT
					     : WV_MESSAGE_NOT_UTF8;
}

static void feed_one(struct wv_message *msg, struct model *m,
		     struct fuzz_in *in)
{
	uint8_t flags = fuzz_u8(in);
	bool first = flags & 1, last = flags & 2, binary = flags & 4;
	size_t len = fuzz_u16(in);
	char *piece;
	const char *text = NULL;
	size_t text_len = 0;
	enum wv_message_result got, want;

	if (len > in->left)
		len = in->left;
	piece = malloc(len ? len : 1);
	FUZZ_CHECK(piece);
	memcpy(piece, in->p, len);
	in->p += len;
	in->left -= len;

	got = wv_message_feed(msg, piece, len, first, last, binary, &text,
			      &text_len);
	want = model_feed(m, piece, len, first, last, binary);
	if (got == WV_MESSAGE_NOMEM) {
		/* Only a failed allocation says this: the model gives up too. */
		m->skipping = true;
		m->len = 0;
	} else {
		FUZZ_CHECK(got == want);
	}
	if (got == WV_MESSAGE_TEXT) {
		FUZZ_CHECK(text && text_len == m->len && text_len <= m->max);
		FUZZ_CHECK(memcmp(text, m->buf, text_len) == 0);
		FUZZ_CHECK(wv_utf8_valid(text, text_len));
		if (first)
			FUZZ_CHECK(text == piece);
	}
	if (last)
		m->len = 0;
	FUZZ_CHECK((wv_message_close_code(got) == 0) ==
		   (got == WV_MESSAGE_PARTIAL || got == WV_MESSAGE_TEXT ||
		    got == WV_MESSAGE_SKIPPED));
	free(piece);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct model m = { 0 };
	struct wv_message *msg;

	m.max = 1 + fuzz_u16(&in);
	m.buf = malloc(m.max);
	FUZZ_CHECK(m.buf);
	FUZZ_CHECK(wv_message_create(&msg, m.max) == 0);
	while (in.left)
		feed_one(msg, &m, &in);
	wv_message_destroy(msg);
	free(m.buf);
	return 0;
}
