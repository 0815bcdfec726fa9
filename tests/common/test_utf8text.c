/* Peer text made valid UTF-8 for a JSON string (issue 13, item 4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <wvoice/protocol.h>

#include "utf8text.h"

static const struct {
	const char *in;
	size_t cap;
	const char *want;
} rows[] = {
	{ "alice", 16, "alice" },
	{ "", 4, "" },
	/* Well-formed characters stay whole, of every length. */
	{ "\xC3\xA9t\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x93\x9E", 32,
	  "\xC3\xA9t\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x93\x9E" },
	/* A byte that is never UTF-8, a lone continuation, an overlong form,
	   a surrogate, a character cut short at the end. */
	{ "a\xFF" "b", 16, "a\\xFFb" },
	{ "\x80", 16, "\\x80" },
	{ "\xC0\xAF", 16, "\\xC0\\xAF" },
	{ "\xED\xA0\x80", 16, "\\xED\\xA0\\x80" },
	{ "x\xC3", 16, "x\\xC3" },
	/* Control characters are valid UTF-8: JSON escapes them itself. */
	{ "a\nb", 16, "a\nb" },
	/* Cut before a character that does not fit, never inside it:
	   "é" is two bytes, so five fit in 11 bytes with the NUL, not 5.5. */
	{ "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 12,
	  "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9" },
	{ "ab\xE2\x9C\x93", 5, "ab" },
	{ "ab\xFF", 6, "ab" },
	{ "ab\xFF", 7, "ab\\xFF" },
	{ "abc", 1, "" },
};

static void test_utf8_copy_rows(void **state)
{
	char dst[64];

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const char *got = wvs_utf8_copy(dst, rows[i].cap, rows[i].in,
						strlen(rows[i].in));

		assert_ptr_equal(got, dst);
		assert_string_equal(got, rows[i].want);
		assert_true(strlen(got) < rows[i].cap);
	}
}

/* Whatever the bytes and wherever the cut, the result is valid UTF-8:
   every pair of bytes, and every cap, for a text of both kinds. */
static void test_utf8_copy_is_always_valid(void **state)
{
	char in[4], dst[16];

	(void)state;
	for (int a = 0; a < 256; a++)
		for (int b = 0; b < 256; b++) {
			in[0] = (char)a;
			in[1] = (char)b;
			in[2] = '\xA9';
			in[3] = 'z';
			for (size_t cap = 1; cap <= sizeof dst; cap += 3) {
				wvs_utf8_copy(dst, cap, in, sizeof in);
				assert_true(wv_utf8_valid(dst, strlen(dst)));
			}
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_copy_rows),
		cmocka_unit_test(test_utf8_copy_is_always_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
