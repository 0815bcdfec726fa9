/* Peer text as valid UTF-8: see utf8text.h. */
#include "utf8text.h"

#include <stdio.h>
#include <string.h>

#include <wvoice/protocol.h>

/* The length of the well-formed character at s (at most n bytes), or 0
   if the byte there does not begin one. wv_utf8_valid() is the judge. */
static size_t char_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;

	if (len > n || !wv_utf8_valid((const char *)s, len))
		return 0;
	return len;
}

const char *wvs_utf8_copy(char *dst, size_t cap, const char *s, size_t len)
{
	const unsigned char *in = (const unsigned char *)s;
	size_t o = 0, i = 0;

	while (i < len) {
		size_t n = char_len(in + i, len - i);
		char esc[5];

		if (n == 0)
			snprintf(esc, sizeof esc, "\\x%02X", in[i]);
		if (o + (n ? n : 4) + 1 > cap)
			break;
		if (n) {
			memcpy(dst + o, in + i, n);
			o += n;
			i += n;
		} else {
			memcpy(dst + o, esc, 4);
			o += 4;
			i++;
		}
	}
	dst[o] = '\0';
	return dst;
}
