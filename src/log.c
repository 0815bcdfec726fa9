/*
 * libwebsockets' log, routed where the application says. lws 4.1 keeps
 * one level and one emitter for the whole process (no per-context log),
 * so libwvoice never sets them on its own: see wv_log_lws() in wvoice.h.
 */
#include <wvoice/wvoice.h>

#include <string.h>

#include <libwebsockets.h>

_Static_assert(WV_LOG_ERR == LLL_ERR && WV_LOG_WARN == LLL_WARN &&
		       WV_LOG_NOTICE == LLL_NOTICE,
	       "wv_log_level mirrors lws's levels");

#define LEVELS_ALLOWED (WV_LOG_ERR | WV_LOG_WARN | WV_LOG_NOTICE)
/* lws formats a line into 256 bytes. */
#define LINE_MAX_LEN 256

/* Process-wide, like lws's own level: set before any lws context exists. */
static wv_log_fn *route;
static void *route_user;

static void emit(int level, const char *line)
{
	char buf[LINE_MAX_LEN];
	size_t n = strnlen(line, sizeof buf - 1);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	memcpy(buf, line, n);
	buf[n] = '\0';
	route(route_user, level, buf);
}

int wv_log_lws(unsigned levels, wv_log_fn *fn, void *user)
{
	if (levels & ~(unsigned)LEVELS_ALLOWED)
		return WV_ERR_INVALID;
	route = fn;
	route_user = user;
	lws_set_log_level((int)levels, fn ? emit : lwsl_emit_stderr);
	return 0;
}
