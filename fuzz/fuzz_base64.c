/*
 * Strict base64 and base64url (src/base64.c): the input is decoded as
 * text in both alphabets, and encoded as bytes.
 *
 * Invariants: a decode that succeeds gives at most WV_BASE64_DECODED_MAX
 * bytes, and encoding them gives back exactly the text (the decoder is
 * strict: every byte string has one accepted encoding); a decode that
 * fails points inside the text; a buffer one byte short is refused with
 * WV_ERR_NOSPACE, never overrun; encoding any bytes and decoding the
 * result is the identity.
 */
#include <wvoice/base64.h>
#include <wvoice/error.h>

#include "fuzz.h"

typedef size_t encode_fn(char *dst, const uint8_t *src, size_t n);
typedef int decode_fn(uint8_t *dst, size_t dst_cap, size_t *out_len,
		      const char *src, size_t len, size_t *err_offset);

static void decode_then_encode(const char *text, size_t len, encode_fn *enc,
			       decode_fn *dec)
{
	size_t cap = WV_BASE64_DECODED_MAX(len) + 3;
	uint8_t *bytes = malloc(cap);
	char *again = NULL;
	size_t n = 0, off = 0;
	int rc;

	FUZZ_CHECK(bytes);
	rc = dec(bytes, cap, &n, text, len, &off);
	if (rc < 0) {
		FUZZ_CHECK(rc == WV_ERR_BASE64);
		FUZZ_CHECK(off <= len);
		goto out;
	}
	FUZZ_CHECK(n <= WV_BASE64_DECODED_MAX(len) + 2);
	again = malloc(len + 1);
	FUZZ_CHECK(again);
	FUZZ_CHECK(enc(again, bytes, n) == len);
	FUZZ_CHECK(memcmp(again, text, len) == 0);
	if (n) {
		/* Exactly one byte too little room. */
		size_t m = 0;

		FUZZ_CHECK(dec(bytes, n - 1, &m, text, len, NULL) ==
			   WV_ERR_NOSPACE);
	}
out:
	free(again);
	free(bytes);
}

static void encode_then_decode(const uint8_t *data, size_t size,
			       size_t enc_len, encode_fn *enc, decode_fn *dec)
{
	char *text = malloc(enc_len + 1);
	uint8_t *back = malloc(size ? size : 1);
	size_t n = 0;

	FUZZ_CHECK(text && back);
	FUZZ_CHECK(enc(text, data, size) == enc_len);
	FUZZ_CHECK(text[enc_len] == '\0');
	FUZZ_CHECK(dec(back, size, &n, text, enc_len, NULL) == 0);
	FUZZ_CHECK(n == size && memcmp(back, data, size) == 0);
	free(back);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;

	decode_then_encode(text, size, wv_base64_encode, wv_base64_decode);
	decode_then_encode(text, size, wv_base64url_encode,
			   wv_base64url_decode);
	encode_then_decode(data, size, WV_BASE64_ENCODED_LEN(size),
			   wv_base64_encode, wv_base64_decode);
	encode_then_decode(data, size, WV_BASE64URL_ENCODED_LEN(size),
			   wv_base64url_encode, wv_base64url_decode);
	return 0;
}
