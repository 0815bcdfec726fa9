/* Error messages into a caller's buffer: see errbuf.h. */
#include "errbuf.h"

#include <stdarg.h>
#include <stdio.h>

int wvs_errorf(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}
