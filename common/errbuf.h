/*
 * Error messages into a caller's buffer, for the server's functions that
 * take (char *err, size_t errlen). Shared by the server and the command
 * (common/), not part of libwvoice.
 */
#ifndef WVS_ERRBUF_H
#define WVS_ERRBUF_H

#include <stddef.h>

/*
 * Formats a message into err (truncated to errlen; nothing when err is NULL
 * or errlen is 0) and returns code, so that a failure reads
 * `return wvs_errorf(err, errlen, WV_ERR_INVALID, "%s: ...", path);`.
 * Thread: any.
 */
int wvs_errorf(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
