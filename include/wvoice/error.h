/*
 * wvoice error codes.
 *
 * Every fallible function returns an int: 0 (or a length) on success and a
 * negative WV_ERR_* code on failure. The codes, their names and their messages
 * come from one table, so wv_strerror() and the enum cannot drift apart.
 * Handles that can say more (a JSON parse offset, the field that was wrong)
 * keep that detail in their own error buffer; see each module.
 */
#ifndef WVOICE_ERROR_H
#define WVOICE_ERROR_H

#include <wvoice/export.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WV_ERROR_TABLE(X)                                                      \
	X(INVALID, -1, "invalid argument")                                     \
	X(NOMEM, -2, "out of memory")                                          \
	X(STATE, -3, "not allowed in the current call state")                  \
	X(FULL, -4, "buffer full")                                             \
	X(NOSPACE, -5, "output buffer too small")                              \
	X(JSON, -6, "not valid JSON")                                          \
	X(NOT_OBJECT, -7, "JSON value is not an object")                       \
	X(NO_EVENT, -8, "no \"event\" field")                                  \
	X(FIELD_MISSING, -9, "required field missing")                         \
	X(FIELD_TYPE, -10, "wrong field type")                                 \
	X(BASE64, -11, "bad base64")                                           \
	X(TOO_LARGE, -12, "payload too large")                                 \
	X(DTMF, -13, "bad DTMF digit")                                         \
	X(RATE, -14, "unsupported sample rate")                                \
	X(URL, -15, "bad URL")                                                 \
	X(PROTOCOL, -16, "protocol violation")                                 \
	X(TIMEOUT, -17, "timed out")                                           \
	X(INTERNAL, -18, "internal error")                                     \
	X(CONNECT, -19, "cannot connect")                                      \
	X(TLS, -20, "TLS failure")                                             \
	X(REFUSED, -21, "handshake refused")                                   \
	X(DEVICE, -22, "audio device error")

enum wv_error {
	WV_OK = 0,
#define WV_ERROR_ENUM(name, value, text) WV_ERR_##name = (value),
	WV_ERROR_TABLE(WV_ERROR_ENUM)
#undef WV_ERROR_ENUM
};

/*
 * Returns a static, human-readable message for a WV_ERR_* code (or "success"
 * for 0, "unknown error" for anything else). Never NULL. Thread: any.
 */
WV_EXPORT const char *wv_strerror(int code);

/*
 * Returns the code's name without the prefix ("BASE64" for WV_ERR_BASE64), for
 * logs and tests. Never NULL. Thread: any.
 */
WV_EXPORT const char *wv_error_name(int code);

/*
 * Whether the object that returned code can go on: 1 for WV_ERR_NOMEM and
 * WV_ERR_INTERNAL (destroy it; nothing else is worth trying), 0 for every
 * other code, which says what was wrong with one request or one piece of
 * input. Whether a call has ended is its status, not an error's code: the
 * same code can be reported and ignored (a bad frame) or end a call (a
 * message over 64 KiB). Thread: any.
 */
WV_EXPORT int wv_is_fatal(int code);

#ifdef __cplusplus
}
#endif
#endif
