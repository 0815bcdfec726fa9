/*
 * Base64 (RFC 4648). Decoding takes one table look-up per character and four
 * characters per step; it runs on every inbound audio frame (216 characters
 * each 20 ms), so the common case is one branch per group.
 */
#include <wvoice/base64.h>

#include <stdbool.h>
#include <string.h>

#include <wvoice/error.h>

static const char std_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Any value with this bit set is not in the alphabet ('=' included). */
#define BAD 0x80u
#define XX 0xFF

/* The 6-bit value of each standard-alphabet character, XX elsewhere. */
static const uint8_t decode_table[256] = {
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0x00 */
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0x10 */
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, 62, XX, XX, XX, 63, /* 0x20 */
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, XX, XX, XX, XX, XX, XX, /* 0x30 */
	XX,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, /* 0x40 */
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, XX, XX, XX, XX, XX, /* 0x50 */
	XX, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, /* 0x60 */
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, XX, XX, XX, XX, XX, /* 0x70 */
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0x80 */
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0x90 */
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0xA0 */
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0xB0 */
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0xC0 */
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0xD0 */
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0xE0 */
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* 0xF0 */
};

#undef XX

static size_t encode(char *dst, const uint8_t *src, size_t n,
		     const char *alphabet, bool pad)
{
	char *out = dst;

	for (; n >= 3; n -= 3, src += 3) {
		uint32_t v = (uint32_t)src[0] << 16 | (uint32_t)src[1] << 8 |
			     src[2];
		*out++ = alphabet[v >> 18];
		*out++ = alphabet[(v >> 12) & 63];
		*out++ = alphabet[(v >> 6) & 63];
		*out++ = alphabet[v & 63];
	}
	if (n > 0) {
		uint32_t v = (uint32_t)src[0] << 16 |
			     (n == 2 ? (uint32_t)src[1] << 8 : 0);
		*out++ = alphabet[v >> 18];
		*out++ = alphabet[(v >> 12) & 63];
		if (n == 2)
			*out++ = alphabet[(v >> 6) & 63];
		else if (pad)
			*out++ = '=';
		if (pad)
			*out++ = '=';
	}
	*out = '\0';
	return (size_t)(out - dst);
}

size_t wv_base64_encode(char *dst, const uint8_t *src, size_t n)
{
	return encode(dst, src, n, std_alphabet, true);
}

size_t wv_base64url_encode(char *dst, const uint8_t *src, size_t n)
{
	return encode(dst, src, n, url_alphabet, false);
}

static unsigned char_value(char c)
{
	return decode_table[(unsigned char)c];
}

/* Index within a group of its first character outside the alphabet. */
static size_t first_bad_char(const char *group)
{
	size_t i = 0;

	while (i < 3 && !(char_value(group[i]) & BAD))
		i++;
	return i;
}

/*
 * Decodes groups that carry no padding, three bytes each, advancing dst by
 * step (0 checks the input without keeping the bytes). Returns the number of
 * groups decoded, which is less than ngroups if one was bad.
 */
static size_t decode_groups(uint8_t *dst, size_t step, const char *src,
			    size_t ngroups)
{
	for (size_t g = 0; g < ngroups; g++, src += 4, dst += step) {
		uint32_t a = char_value(src[0]), b = char_value(src[1]);
		uint32_t c = char_value(src[2]), d = char_value(src[3]);

		if ((a | b | c | d) & BAD)
			return g;
		uint32_t v = a << 18 | b << 12 | c << 6 | d;
		dst[0] = (uint8_t)(v >> 16);
		dst[1] = (uint8_t)(v >> 8);
		dst[2] = (uint8_t)v;
	}
	return ngroups;
}

static size_t padding_of(const char *group)
{
	if (group[3] != '=')
		return 0;
	return group[2] == '=' ? 2 : 1;
}

/*
 * Decodes the final group, which may end in one or two '='. Returns the bytes
 * written, or -1 with *bad set to the index of the first bad character.
 */
static int decode_last_group(uint8_t out[3], const char *group, size_t *bad)
{
	size_t pad = padding_of(group);
	size_t nchars = 4 - pad;
	uint32_t v = 0;

	for (size_t i = 0; i < nchars; i++) {
		unsigned d = char_value(group[i]);

		if (d & BAD) {
			*bad = i;
			return -1;
		}
		v = v << 6 | d;
	}
	v <<= 6 * pad;
	/* Bits that no byte uses must be zero: one encoding per byte string. */
	if (v & ((1u << (8 * pad)) - 1)) {
		*bad = nchars - 1;
		return -1;
	}
	for (size_t i = 0; i < 3 - pad; i++)
		out[i] = (uint8_t)(v >> (16 - 8 * i));
	return (int)(3 - pad);
}

/* The decoded length if src is valid; an upper bound otherwise. */
static size_t decoded_len(const char *src, size_t len)
{
	size_t groups = len / 4;

	if (len % 4 != 0 || groups == 0)
		return groups * 3;
	return groups * 3 - padding_of(src + len - 4);
}

static int fail(size_t *err_offset, size_t offset, int code)
{
	if (err_offset)
		*err_offset = offset;
	return code;
}

int wv_base64_decode(uint8_t *dst, size_t dst_cap, size_t *out_len,
		     const char *src, size_t len, size_t *err_offset)
{
	size_t groups = len / 4;
	size_t tail = len % 4;
	/* Only a group that ends the input may carry padding. */
	size_t plain = (tail == 0 && groups > 0) ? groups - 1 : groups;
	size_t need = decoded_len(src, len);
	/* Too small a dst is reported only for valid input, so check anyway. */
	uint8_t scratch[3];
	bool fits = need <= dst_cap;
	uint8_t *out = fits ? dst : scratch;
	size_t step = fits ? 3 : 0;

	size_t done = decode_groups(out, step, src, plain);
	if (done < plain)
		return fail(err_offset, done * 4 + first_bad_char(src + done * 4),
			    WV_ERR_BASE64);
	if (tail != 0)
		return fail(err_offset, len - tail, WV_ERR_BASE64);
	if (groups > 0) {
		size_t bad;

		if (decode_last_group(out + plain * step, src + plain * 4,
				      &bad) < 0)
			return fail(err_offset, plain * 4 + bad, WV_ERR_BASE64);
	}
	if (!fits)
		return fail(err_offset, 0, WV_ERR_NOSPACE);
	*out_len = need;
	return 0;
}

/* A base64url character as its standard one: '+' for '-', '/' for '_';
   '+' and '/' themselves, and anything else, as a character that fails. */
static char from_url(char ch)
{
	if (ch == '-')
		return '+';
	if (ch == '_')
		return '/';
	return ch == '+' || ch == '/' || ch == '=' ? '!' : ch;
}

int wv_base64url_decode(uint8_t *dst, size_t dst_cap, size_t *out_len,
			const char *src, size_t len, size_t *err_offset)
{
	size_t tail = len % 4, groups = len / 4 + (tail != 0);
	size_t need = len / 4 * 3 + (tail ? tail - 1 : 0);

	/* Each group, padded as the standard alphabet has it, goes through
	   the standard group decoder: checked whole before dst is touched. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t g = 0; g < groups; g++) {
			size_t n = len - g * 4 < 4 ? len - g * 4 : 4;
			char group[4] = { '=', '=', '=', '=' };
			uint8_t out[3];
			size_t bad;
			int got;

			if (n == 1) /* six bits: not a byte */
				return fail(err_offset, g * 4, WV_ERR_BASE64);
			for (size_t i = 0; i < n; i++)
				group[i] = from_url(src[g * 4 + i]);
			got = decode_last_group(out, group, &bad);
			if (got < 0)
				return fail(err_offset, g * 4 + bad,
					    WV_ERR_BASE64);
			if (pass == 1)
				memcpy(dst + g * 3, out, (size_t)got);
		}
		if (pass == 0 && need > dst_cap)
			return fail(err_offset, 0, WV_ERR_NOSPACE);
	}
	*out_len = need;
	return 0;
}
