/*
 * Base64 (RFC 4648): standard alphabet with padding for audio payloads, and
 * the URL-safe alphabet without padding for the `metadata` query parameter.
 *
 * The decoder is strict: standard alphabet only, no white space, a length
 * that is a multiple of four, `=` only as the last one or two characters, and
 * the unused bits before the padding zero (so every byte string has exactly
 * one accepted encoding). Functions are pure; safe from any thread.
 */
#ifndef WVOICE_BASE64_H
#define WVOICE_BASE64_H

#include <wvoice/export.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Characters that wv_base64_encode() writes for n bytes (without the NUL). */
#define WV_BASE64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)
/* Characters that wv_base64url_encode() writes for n bytes (no padding). */
#define WV_BASE64URL_ENCODED_LEN(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))
/* An upper bound on the bytes that len characters decode to. */
#define WV_BASE64_DECODED_MAX(len) (((len) / 4) * 3)

/*
 * Encodes n bytes of src into dst as padded standard base64 and terminates it
 * with a NUL. dst must hold WV_BASE64_ENCODED_LEN(n) + 1 characters. Returns
 * the number of characters written, not counting the NUL.
 */
WV_EXPORT size_t wv_base64_encode(char *dst, const uint8_t *src, size_t n);

/*
 * Encodes n bytes of src into dst as unpadded base64url (`-` and `_` for `+`
 * and `/`) and terminates it with a NUL. dst must hold
 * WV_BASE64URL_ENCODED_LEN(n) + 1 characters. Returns the characters written.
 */
WV_EXPORT size_t wv_base64url_encode(char *dst, const uint8_t *src, size_t n);

/*
 * Strictly decodes len characters of standard base64 from src into dst, which
 * holds dst_cap bytes. On success returns 0 and sets *out_len.
 *
 * Errors:
 *   WV_ERR_BASE64    a character outside the alphabet, padding anywhere but
 *                    at the end, non-zero bits before the padding, or a
 *                    length that is not a multiple of four. *err_offset is the
 *                    offset of the first bad character (for a bad length, the
 *                    start of the incomplete final group).
 *   WV_ERR_NOSPACE   the decoded bytes would not fit in dst_cap;
 *                    *err_offset is 0. Checked after the input is found
 *                    valid, and nothing is written to dst.
 * Offsets are in scan order: a bad character before an incomplete final
 * group is reported first. On error nothing useful is in dst. err_offset may
 * be NULL.
 */
WV_EXPORT int wv_base64_decode(uint8_t *dst, size_t dst_cap, size_t *out_len,
			       const char *src, size_t len, size_t *err_offset);

/*
 * The same for unpadded base64url (`-` and `_` for `+` and `/`, as the call
 * URL's metadata is written): a length of 4k + 1 characters, '=', '+' and
 * '/' are errors, as are non-zero bits after the last byte. Errors and
 * offsets as wv_base64_decode(). Thread: any.
 */
WV_EXPORT int wv_base64url_decode(uint8_t *dst, size_t dst_cap,
				  size_t *out_len, const char *src, size_t len,
				  size_t *err_offset);

#ifdef __cplusplus
}
#endif
#endif
