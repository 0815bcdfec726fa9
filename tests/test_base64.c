/*
 * Base64: RFC 4648 vectors, a strict decoder's error offsets, and random
 * buffers of every length checked against a bit-by-bit reference encoder.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <wvoice/base64.h>
#include <wvoice/error.h>

#define STD_ALPHABET                                                           \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#define URL_ALPHABET                                                           \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* RFC 4648 section 10, plus one row that uses the last two characters. */
static const struct {
	const char *bytes;
	const char *std;
	const char *url;
} vectors[] = {
	{ "", "", "" },
	{ "f", "Zg==", "Zg" },
	{ "fo", "Zm8=", "Zm8" },
	{ "foo", "Zm9v", "Zm9v" },
	{ "foob", "Zm9vYg==", "Zm9vYg" },
	{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
	{ "\xFB\xEF\xBE", "++++", "----" },
	{ "\xFF\xFF\xFF\xFB\xFF", "////+/8=", "____-_8" },
};

#define NVECTORS (sizeof vectors / sizeof vectors[0])

typedef size_t encoder(char *dst, const uint8_t *src, size_t n);

static void assert_encodes(encoder *encode, const char *bytes, const char *want)
{
	size_t n = strlen(bytes);
	char out[32];

	memset(out, 'x', sizeof out);
	size_t got = encode(out, (const uint8_t *)bytes, n);
	assert_string_equal(out, want);
	assert_int_equal(got, strlen(want));
}

static void test_base64_encoders_match_rfc4648_vectors(void **state)
{
	(void)state;

	for (size_t i = 0; i < NVECTORS; i++) {
		size_t n = strlen(vectors[i].bytes);

		assert_encodes(wv_base64_encode, vectors[i].bytes,
			       vectors[i].std);
		assert_encodes(wv_base64url_encode, vectors[i].bytes,
			       vectors[i].url);
		assert_int_equal(strlen(vectors[i].std),
				 WV_BASE64_ENCODED_LEN(n));
		assert_int_equal(strlen(vectors[i].url),
				 WV_BASE64URL_ENCODED_LEN(n));
	}
}

static void test_base64_decode_matches_rfc4648_vectors(void **state)
{
	(void)state;

	for (size_t i = 0; i < NVECTORS; i++) {
		const char *in = vectors[i].std;
		size_t want = strlen(vectors[i].bytes);
		uint8_t out[32];
		size_t out_len = 99, off = 99;

		int rc = wv_base64_decode(out, sizeof out, &out_len, in,
					  strlen(in), &off);
		assert_int_equal(rc, 0);
		assert_int_equal(out_len, want);
		assert_memory_equal(out, vectors[i].bytes, want);
		assert_true(out_len <= WV_BASE64_DECODED_MAX(strlen(in)));
	}
}

/* len is given so that a row can hold a NUL; 0 means strlen(in). */
static const struct {
	const char *in;
	size_t len;
	size_t offset;
} bad_inputs[] = {
	{ "*AAA", 0, 0 },	/* bad character at the start */
	{ "AAAAA*AA", 0, 5 },	/* in the middle */
	{ "AAAAAAA*", 0, 7 },	/* at the end */
	{ "AAAA=AAA", 0, 4 },	/* '=' in the middle */
	{ "Zg==Zg==", 0, 2 },	/* padding in a group that is not last */
	{ "AB=C", 0, 2 },	/* '=' followed by data */
	{ "A===", 0, 1 },	/* three '=' */
	{ "====", 0, 0 },
	{ "AB==", 0, 1 },	/* 'B' leaves non-zero unused bits */
	{ "ABC=", 0, 2 },	/* 'C' leaves non-zero unused bits */
	{ "Zh==", 0, 1 },
	{ "Zm9=", 0, 2 },
	{ "A", 0, 0 },		/* lengths that are not a multiple of 4 */
	{ "AB", 0, 0 },
	{ "ABC", 0, 0 },
	{ "AAAAA", 0, 4 },
	{ "Zg=", 0, 0 },
	{ "Zm9vYg=", 0, 4 },
	{ "A*AAA", 0, 1 },	/* a bad character comes before a bad length */
	{ "AB\0D", 4, 2 },	/* embedded NUL */
	{ "AB D", 0, 2 },	/* white space */
	{ "Zm9v\nYmFy", 0, 4 },
	{ "Zm9vYmFy\r\n", 0, 8 },
	{ "\tAAA", 0, 0 },
	{ "-AAA", 0, 0 },	/* base64url characters */
	{ "AAA_", 0, 3 },
	{ "AA\xC3\xA9", 0, 2 }, /* UTF-8 */
};

static void test_base64_decode_rejects_bad_input_at_first_bad_offset(
	void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof bad_inputs / sizeof bad_inputs[0]; i++) {
		const char *in = bad_inputs[i].in;
		size_t len = bad_inputs[i].len ? bad_inputs[i].len : strlen(in);
		uint8_t out[16];
		size_t out_len = 99, off = 99;

		int rc = wv_base64_decode(out, sizeof out, &out_len, in, len,
					  &off);
		if (rc != WV_ERR_BASE64 || off != bad_inputs[i].offset)
			fail_msg("row %zu: rc %s offset %zu, want BASE64 at %zu",
				 i, wv_error_name(rc), off,
				 bad_inputs[i].offset);
		assert_int_equal(out_len, 99);
		/* err_offset is optional. */
		rc = wv_base64_decode(out, sizeof out, &out_len, in, len, NULL);
		assert_int_equal(rc, WV_ERR_BASE64);
	}
}

/* Every byte value in each position of a valid input, '=' aside. */
static void test_base64_decode_accepts_exactly_the_alphabet(void **state)
{
	static const size_t positions[] = { 0, 3, 5, 7 };
	(void)state;

	for (int c = 0; c < 256; c++) {
		if (c == '=')
			continue;
		bool valid = c != 0 && strchr(STD_ALPHABET, c) != NULL;

		for (size_t p = 0; p < 4; p++) {
			char in[] = "QUJDQUJD";
			uint8_t out[6];
			size_t out_len = 0, off = 99;

			in[positions[p]] = (char)c;
			int rc = wv_base64_decode(out, sizeof out, &out_len, in,
						  8, &off);
			if (valid ? rc != 0
				  : rc != WV_ERR_BASE64 || off != positions[p])
				fail_msg("byte 0x%02X at %zu: rc %s offset %zu",
					 c, positions[p], wv_error_name(rc),
					 off);
		}
	}
}

/* The reference: six bits at a time, each bit read on its own. */
static size_t reference_encode(char *dst, const uint8_t *src, size_t n,
			       const char *alphabet, bool pad)
{
	size_t nbits = n * 8, out = 0;

	for (size_t bit = 0; bit < nbits; bit += 6) {
		unsigned v = 0;

		for (size_t k = bit; k < bit + 6; k++) {
			unsigned b = k < nbits ? (src[k / 8] >> (7 - k % 8)) & 1
					       : 0;
			v = v << 1 | b;
		}
		dst[out++] = alphabet[v];
	}
	while (pad && out % 4 != 0)
		dst[out++] = '=';
	dst[out] = '\0';
	return out;
}

static uint32_t next_random(uint32_t *x)
{
	/* xorshift32: fixed seed, so a failure reproduces. */
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

#define MAX_RANDOM_LEN 600

static void test_base64_random_buffers_match_reference_and_round_trip(
	void **state)
{
	static uint8_t bytes[MAX_RANDOM_LEN], back[MAX_RANDOM_LEN];
	static char enc[WV_BASE64_ENCODED_LEN(MAX_RANDOM_LEN) + 1];
	static char ref[WV_BASE64_ENCODED_LEN(MAX_RANDOM_LEN) + 1];
	uint32_t seed = 0x2545F491u;
	(void)state;

	for (size_t n = 0; n <= MAX_RANDOM_LEN; n++) {
		for (size_t i = 0; i < n; i++)
			bytes[i] = (uint8_t)next_random(&seed);

		size_t len = wv_base64_encode(enc, bytes, n);
		assert_int_equal(len, reference_encode(ref, bytes, n,
						       STD_ALPHABET, true));
		assert_string_equal(enc, ref);

		size_t url_len = wv_base64url_encode(enc, bytes, n);
		assert_int_equal(url_len, reference_encode(ref, bytes, n,
							   URL_ALPHABET, false));
		assert_string_equal(enc, ref);
		size_t url_out = 0;
		assert_int_equal(wv_base64url_decode(back, n, &url_out, enc,
						     url_len, NULL),
				 0);
		assert_int_equal(url_out, n);
		assert_memory_equal(back, bytes, n);

		size_t out_len = 0;
		wv_base64_encode(enc, bytes, n);
		assert_int_equal(wv_base64_decode(back, n, &out_len, enc, len,
						  NULL),
				 0);
		assert_int_equal(out_len, n);
		assert_memory_equal(back, bytes, n);
	}
}

static void test_base64_decode_reports_nospace_without_writing(void **state)
{
	static const struct {
		const char *in;
		size_t need;
	} rows[] = {
		{ "Zm9vYmFy", 6 },
		{ "Zm9vYmE=", 5 },
		{ "Zm9vYg==", 4 },
		{ "Zg==", 1 },
	};
	(void)state;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		uint8_t out[8];
		size_t out_len = 99, off = 99;

		memset(out, 0xA5, sizeof out);
		int rc = wv_base64_decode(out, rows[i].need - 1, &out_len,
					  rows[i].in, strlen(rows[i].in), &off);
		assert_int_equal(rc, WV_ERR_NOSPACE);
		assert_int_equal(off, 0);
		assert_int_equal(out_len, 99);
		for (size_t k = 0; k < sizeof out; k++)
			assert_int_equal(out[k], 0xA5);

		/* An exact fit succeeds and writes nothing past it. */
		rc = wv_base64_decode(out, rows[i].need, &out_len, rows[i].in,
				      strlen(rows[i].in), NULL);
		assert_int_equal(rc, 0);
		assert_int_equal(out_len, rows[i].need);
		assert_int_equal(out[rows[i].need], 0xA5);
	}
}

static void test_base64_decode_bad_input_wins_over_nospace(void **state)
{
	uint8_t out[1];
	size_t out_len = 0, off = 99;
	(void)state;

	int rc = wv_base64_decode(out, 0, &out_len, "Zm9v*mFy", 8, &off);
	assert_int_equal(rc, WV_ERR_BASE64);
	assert_int_equal(off, 4);
	rc = wv_base64_decode(out, 0, &out_len, "AB==", 4, &off);
	assert_int_equal(rc, WV_ERR_BASE64);
	assert_int_equal(off, 1);
}

/* One protocol audio frame: 160 bytes, 216 characters, exactly 160 back. */
static void test_base64_audio_frame_decodes_into_exact_buffer(void **state)
{
	uint8_t frame[160], back[160];
	char text[WV_BASE64_ENCODED_LEN(160) + 1];
	size_t out_len = 0;
	(void)state;

	for (size_t i = 0; i < sizeof frame; i++)
		frame[i] = (uint8_t)(i * 37u + 11u);
	size_t len = wv_base64_encode(text, frame, sizeof frame);
	assert_int_equal(len, 216);
	assert_int_equal(wv_base64_decode(back, sizeof back, &out_len, text,
					  len, NULL),
			 0);
	assert_int_equal(out_len, 160);
	assert_memory_equal(back, frame, 160);
}

static void test_base64_decode_empty_input_is_empty_output(void **state)
{
	size_t out_len = 99;
	(void)state;

	assert_int_equal(wv_base64_decode(NULL, 0, &out_len, "", 0, NULL), 0);
	assert_int_equal(out_len, 0);
}

static void test_base64url_decode_matches_rfc4648_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < NVECTORS; i++) {
		uint8_t out[16];
		size_t n = 99;

		assert_int_equal(wv_base64url_decode(out, sizeof out, &n,
						     vectors[i].url,
						     strlen(vectors[i].url), NULL),
				 0);
		assert_int_equal(n, strlen(vectors[i].bytes));
		assert_memory_equal(out, vectors[i].bytes, n);
	}
}

/* Unpadded base64url and nothing else, each error at its first bad
   character; nothing fits in too small a buffer. */
static void test_base64url_decode_rejects_what_is_not_unpadded_url(
	void **state)
{
	static const struct {
		const char *in;
		size_t offset;
	} rows[] = {
		{ "Zg==", 2 },	   /* padding */
		{ "Zm9vY", 4 },	   /* 4k + 1 characters: six bits */
		{ "++8", 0 },	   /* the standard alphabet's '+' */
		{ "Zm9v/w", 4 },   /* ... and '/' */
		{ "Zh", 1 },	   /* bits after the last byte */
		{ "Zm9vYmF", 4 + 2 }, /* the same in a later group */
		{ "Zm 9v", 2 },
	};
	uint8_t out[16];
	size_t n, at;

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		at = 99;
		assert_int_equal(wv_base64url_decode(out, sizeof out, &n,
						     rows[i].in,
						     strlen(rows[i].in), &at),
				 WV_ERR_BASE64);
		assert_int_equal(at, rows[i].offset);
	}
	memset(out, 0xAB, sizeof out);
	assert_int_equal(wv_base64url_decode(out, 5, &n, "Zm9vYmFy", 8, &at),
			 WV_ERR_NOSPACE);
	assert_int_equal(out[0], 0xAB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_encoders_match_rfc4648_vectors),
		cmocka_unit_test(test_base64_decode_matches_rfc4648_vectors),
		cmocka_unit_test(
			test_base64_decode_rejects_bad_input_at_first_bad_offset),
		cmocka_unit_test(test_base64_decode_accepts_exactly_the_alphabet),
		cmocka_unit_test(
			test_base64_random_buffers_match_reference_and_round_trip),
		cmocka_unit_test(
			test_base64_decode_reports_nospace_without_writing),
		cmocka_unit_test(test_base64_decode_bad_input_wins_over_nospace),
		cmocka_unit_test(
			test_base64_audio_frame_decodes_into_exact_buffer),
		cmocka_unit_test(test_base64_decode_empty_input_is_empty_output),
		cmocka_unit_test(test_base64url_decode_matches_rfc4648_vectors),
		cmocka_unit_test(
			test_base64url_decode_rejects_what_is_not_unpadded_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
