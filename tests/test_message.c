/*
 * WebSocket messages put together and checked: pieces of every size, down
 * to one byte at a time, the cap, binary messages and UTF-8 split across
 * pieces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <wvoice/error.h>
#include <wvoice/message.h>
#include <wvoice/protocol.h>

/* Feeds text in pieces of `step` bytes; returns the last result. */
static enum wv_message_result feed_in_pieces(struct wv_message *m,
					     const char *text, size_t len,
					     size_t step, const char **out,
					     size_t *out_len)
{
	enum wv_message_result r = WV_MESSAGE_PARTIAL;

	for (size_t at = 0; at < len || at == 0; at += step) {
		size_t n = len - at < step ? len - at : step;

		r = wv_message_feed(m, text + at, n, at == 0, at + n == len,
				    false, out, out_len);
		if (at + n == len)
			break;
		assert_int_equal(r, WV_MESSAGE_PARTIAL);
	}
	return r;
}

static void test_message_whole_in_one_piece_is_not_copied(void **state)
{
	static const char text[] = "{\"event\":\"start\"}";
	struct wv_message *m;
	const char *out = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(wv_message_create(&m, 0), 0);
	assert_int_equal(wv_message_feed(m, text, sizeof text - 1, true, true,
					 false, &out, &n),
			 WV_MESSAGE_TEXT);
	assert_ptr_equal(out, text);
	assert_int_equal(n, sizeof text - 1);
	wv_message_destroy(m);
}

/* Every piece size from one byte up, each message whole at the end; the
   multi-byte characters fall across pieces. */
static void test_message_pieces_of_every_size_make_the_message(void **state)
{
	static const char text[] = "{\"event\":\"mark\",\"mark\":\"caf\xc3\xa9 "
				   "\xe2\x82\xac \xf0\x9f\x8e\xb5\"}";
	size_t len = sizeof text - 1;
	struct wv_message *m;

	(void)state;
	assert_int_equal(wv_message_create(&m, 0), 0);
	for (size_t step = 1; step <= len; step++) {
		const char *out = NULL;
		size_t n = 0;

		assert_int_equal(feed_in_pieces(m, text, len, step, &out, &n),
				 WV_MESSAGE_TEXT);
		assert_int_equal(n, len);
		assert_memory_equal(out, text, len);
	}
	wv_message_destroy(m);
}

static void test_message_cap_is_inclusive_and_the_rest_skipped(void **state)
{
	char big[40];
	struct wv_message *m;
	const char *out;
	size_t n;

	(void)state;
	memset(big, 'a', sizeof big);
	assert_int_equal(wv_message_create(&m, 16), 0);
	/* Exactly the cap, in one piece and in pieces. */
	assert_int_equal(feed_in_pieces(m, big, 16, 16, &out, &n),
			 WV_MESSAGE_TEXT);
	assert_int_equal(feed_in_pieces(m, big, 16, 5, &out, &n),
			 WV_MESSAGE_TEXT);
	assert_int_equal(n, 16);
	/* One over: refused at the piece that crosses, the rest skipped. */
	assert_int_equal(wv_message_feed(m, big, 10, true, false, false, &out,
					 &n),
			 WV_MESSAGE_PARTIAL);
	assert_int_equal(wv_message_feed(m, big, 7, false, false, false, &out,
					 &n),
			 WV_MESSAGE_TOO_BIG);
	assert_int_equal(wv_message_feed(m, big, 3, false, true, false, &out,
					 &n),
			 WV_MESSAGE_SKIPPED);
	assert_int_equal(wv_message_feed(m, big, 17, true, true, false, &out,
					 &n),
			 WV_MESSAGE_TOO_BIG);
	/* The next message starts clean. */
	assert_int_equal(feed_in_pieces(m, "{}", 2, 1, &out, &n),
			 WV_MESSAGE_TEXT);
	assert_int_equal(n, 2);
	wv_message_destroy(m);
}

static void test_message_binary_is_refused_whole(void **state)
{
	struct wv_message *m;
	const char *out = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(wv_message_create(&m, 0), 0);
	assert_int_equal(wv_message_feed(m, "\x01\x02", 2, true, false, true,
					 &out, &n),
			 WV_MESSAGE_BINARY);
	assert_int_equal(wv_message_feed(m, "{}", 2, false, true, true, &out,
					 &n),
			 WV_MESSAGE_SKIPPED);
	assert_null(out);
	assert_int_equal(wv_message_feed(m, "{}", 2, true, true, false, &out,
					 &n),
			 WV_MESSAGE_TEXT);
	wv_message_destroy(m);
}

static void test_message_text_that_is_not_utf8_is_refused(void **state)
{
	static const char *const bad[] = {
		"{\"x\":\"\xff\"}", "{\"x\":\"\xc3\"}", "{\"x\":\"\xed\xa0\x80\"}",
		"{\"x\":\"\xc0\xaf\"}",
	};
	struct wv_message *m;
	const char *out;
	size_t n;

	(void)state;
	assert_int_equal(wv_message_create(&m, 0), 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		for (size_t step = 1; step <= strlen(bad[i]); step++)
			assert_int_equal(feed_in_pieces(m, bad[i],
							strlen(bad[i]), step,
							&out, &n),
					 WV_MESSAGE_NOT_UTF8);
	}
	wv_message_destroy(m);
}

/* Found by fuzz/fuzz_message.c: a message of empty fragments copied
   nothing into no buffer (undefined behaviour) and was handed back as a
   NULL text. */
static void test_message_of_empty_fragments_is_empty_text(void **state)
{
	struct wv_message *m;
	const char *text = NULL;
	size_t len = 1;

	(void)state;
	assert_int_equal(wv_message_create(&m, 0), 0);
	assert_int_equal(wv_message_feed(m, "", 0, true, false, false, &text,
					 &len),
			 WV_MESSAGE_PARTIAL);
	assert_int_equal(wv_message_feed(m, "", 0, false, true, false, &text,
					 &len),
			 WV_MESSAGE_TEXT);
	assert_non_null(text);
	assert_int_equal(len, 0);
	wv_message_destroy(m);
}

static void test_message_close_codes_are_rfc6455s(void **state)
{
	(void)state;
	assert_int_equal(wv_message_close_code(WV_MESSAGE_BINARY), 1003);
	assert_int_equal(wv_message_close_code(WV_MESSAGE_TOO_BIG), 1009);
	assert_int_equal(wv_message_close_code(WV_MESSAGE_NOT_UTF8), 1007);
	assert_int_equal(wv_message_close_code(WV_MESSAGE_NOMEM), 1011);
	assert_int_equal(wv_message_close_code(WV_MESSAGE_TEXT), 0);
	assert_int_equal(wv_message_close_code(WV_MESSAGE_PARTIAL), 0);
	assert_int_equal(wv_message_close_code(WV_MESSAGE_SKIPPED), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_whole_in_one_piece_is_not_copied),
		cmocka_unit_test(test_message_pieces_of_every_size_make_the_message),
		cmocka_unit_test(test_message_cap_is_inclusive_and_the_rest_skipped),
		cmocka_unit_test(test_message_binary_is_refused_whole),
		cmocka_unit_test(test_message_text_that_is_not_utf8_is_refused),
		cmocka_unit_test(test_message_of_empty_fragments_is_empty_text),
		cmocka_unit_test(test_message_close_codes_are_rfc6455s),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
