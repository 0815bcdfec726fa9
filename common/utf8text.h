/* Text from a peer made fit for a JSON string: valid UTF-8, cut at a
   character. Shared by the server and the command (common/), not part of
   libwvoice. For a log line or a terminal, use wv_escape(), which leaves
   nothing but printable ASCII. */
#ifndef WVS_UTF8TEXT_H
#define WVS_UTF8TEXT_H

#include <stddef.h>

/*
 * Copies len bytes of s into dst (cap bytes, at least 1) as valid UTF-8:
 * every well-formed character is kept whole, and every byte that is not
 * part of one is written as the four characters \xNN, so that nothing is
 * lost silently and the result is always a valid JSON string's content.
 * When it does not all fit in cap - 1 bytes, it is cut before the first
 * character (or \xNN) that would not, never inside one. Returns dst,
 * NUL-terminated. Thread: any.
 */
const char *wvs_utf8_copy(char *dst, size_t cap, const char *s, size_t len);

#endif
