/* wvoice --version: the command, its library and every library under it,
   each asked at run time (speexdsp, which cannot be asked, as built). */
#include <espeak-ng/speak_lib.h>
#include <ev.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <portaudio.h>
#include <sndfile.h>

#include <wvoice/version.h>

#include "versions.h"

void cli_print_versions(FILE *out)
{
	fprintf(out, "wvoice %s\n", WV_VERSION_STRING);
	fprintf(out, "libwvoice %s\n", wv_version());
	fprintf(out, "libwebsockets %s\n", lws_get_library_version());
	fprintf(out, "%s\n", OpenSSL_version(OPENSSL_VERSION));
#if JANSSON_VERSION_HEX >= 0x020d00 /* jansson_version_str() is 2.13's */
	fprintf(out, "jansson %s\n", jansson_version_str());
#else
	fprintf(out, "jansson %s (build)\n", JANSSON_VERSION);
#endif
	fprintf(out, "speexdsp %s (build)\n", WV_SPEEXDSP_VERSION);
	/* Callable before Pa_Initialize(), unlike most of PortAudio. */
	fprintf(out, "%s\n", Pa_GetVersionInfo()->versionText);
	fprintf(out, "%s\n", sf_version_string());
	/* Only returns a static string: no espeak_Initialize() needed. */
	fprintf(out, "espeak-ng %s\n", espeak_Info(NULL));
	fprintf(out, "libev %d.%d\n", ev_version_major(), ev_version_minor());
}
