/*
 * A program as a user builds one: the installed headers of both libraries,
 * nothing but pkg-config for flags. It touches each library and checks that
 * the library it runs with is the one its headers describe.
 */
#include <stdio.h>
#include <string.h>

#include <wvoice/codec.h>
#include <wvoice/version.h>
#include <wvoice/wvoice.h>

int main(void)
{
	struct wv_client_config cfg;
	struct wv_loop *loop;
	const int16_t zero = 0;
	uint8_t code = 0;

	if (strcmp(wv_version(), WV_VERSION_STRING) != 0 ||
	    wv_version_num() != WV_VERSION_NUM) {
		fprintf(stderr, "headers %s, library %s\n", WV_VERSION_STRING,
			wv_version());
		return 1;
	}
	/* The core: mu-law silence, and an error's words. */
	wv_ulaw_encode(&code, &zero, 1);
	if (code != 0xFF || strcmp(wv_error_name(WV_ERR_URL), "URL") != 0)
		return 1;
	/* The client library: a loop made and gone, a config's defaults. */
	wv_client_config_default(&cfg);
	if (cfg.prebuffer_ms != 300 || wv_loop_create(&loop) != 0)
		return 1;
	wv_loop_destroy(loop);
	printf("wvoice %s: core and client linked\n", wv_version());
	return 0;
}
