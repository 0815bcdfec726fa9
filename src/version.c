#include <wvoice/version.h>

const char *wv_version(void)
{
	return WV_VERSION_STRING;
}

unsigned wv_version_num(void)
{
	return WV_VERSION_NUM;
}
