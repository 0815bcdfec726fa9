#include <wvoice/error.h>

const char *wv_strerror(int code)
{
	switch (code) {
	case WV_OK:
		return "success";
#define WV_ERROR_TEXT(name, value, text)                                       \
	case WV_ERR_##name:                                                    \
		return text;
		WV_ERROR_TABLE(WV_ERROR_TEXT)
#undef WV_ERROR_TEXT
	}
	return "unknown error";
}

const char *wv_error_name(int code)
{
	switch (code) {
	case WV_OK:
		return "OK";
#define WV_ERROR_NAME(name, value, text)                                       \
	case WV_ERR_##name:                                                    \
		return #name;
		WV_ERROR_TABLE(WV_ERROR_NAME)
#undef WV_ERROR_NAME
	}
	return "UNKNOWN";
}

int wv_is_fatal(int code)
{
	return code == WV_ERR_NOMEM || code == WV_ERR_INTERNAL;
}
