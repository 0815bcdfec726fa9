/*
 * The upgrade request, checked as the real service checks it: the path,
 * the key, the origin, the agent, the capacity; and the query the call
 * record keeps (from, metadata, synthetic). See server_internal.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include <wvoice/base64.h>
#include <wvoice/url.h>

#include "server_internal.h"
#include "utf8text.h"

static const struct {
	const char *name, *phrase;
	int status;
} refusals[] = {
#define WVS_REFUSAL_ROW(id, name, status, phrase) \
	[WVS_REFUSED_##id] = { name, phrase, status },
	WVS_REFUSALS(WVS_REFUSAL_ROW)
#undef WVS_REFUSAL_ROW
};

const char *wvs_refusal_name(enum wvs_refusal r)
{
	return (unsigned)r < WVS_REFUSAL_COUNT ? refusals[r].name : NULL;
}

/* Refuses the upgrade with the refusal's HTTP status, and counts it. The
   filter callback runs after lws has switched the connection to the ws
   role, where LWS_WRITE_HTTP goes out raw; returning nonzero then drops
   the connection. */
static int refuse(struct conn *c, struct lws *wsi, enum wvs_refusal why,
		  const char *detail)
{
	const char *reason = refusals[why].phrase;
	int status = refusals[why].status;
	char *p = c->srv->tx + LWS_PRE;
	char body[160];
	int blen, n;

	blen = snprintf(body, sizeof body, "%d %s\n", status, reason);
	n = snprintf(p, TX_MAX,
		     "HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\n"
		     "content-length: %d\r\nconnection: close\r\n\r\n%s",
		     status, reason, blen, body);
	lws_write(wsi, (unsigned char *)p, (size_t)n, LWS_WRITE_HTTP);
	c->srv->stats.refused++;
	c->srv->stats.refused_by[why]++;
	wvs_logf(c->srv, "refused %s: %d %s%s%s", c->peer, status, reason,
		 detail ? ": " : "", detail ? detail : "");
	return 1;
}

/* base64url into dst, which holds at least len bytes. Returns the
   decoded length, or -1. Unpadded, as the call URL carries metadata; the
   padding a browser's encoder may leave is taken too. */
static long base64url_decode(char *dst, const char *src, size_t len)
{
	size_t out, pad = 0;

	while (pad < 2 && len > pad && src[len - 1 - pad] == '=')
		pad++;
	if (pad && len % 4 != 0)
		return -1; /* padding, but not to a group of four */
	len -= pad;
	if (wv_base64url_decode((uint8_t *)dst, len, &out, src, len, NULL) < 0)
		return -1;
	return (long)out;
}

/* Reads from, metadata and synthetic off the query for the record. */
static void read_query(struct conn *c, struct lws *wsi)
{
	char buf[4096];
	const char *v;

	/* The caller's name, percent-decoded by lws into any bytes: kept as
	   valid UTF-8 for the record, cut at a character, so that its
	   connect line is never refused for a byte or half a character. */
	v = lws_get_urlarg_by_name(wsi, "from=", buf, sizeof buf);
	wvs_utf8_copy(c->from, sizeof c->from, v ? v : "", v ? strlen(v) : 0);
	v = lws_get_urlarg_by_name(wsi, "synthetic=", buf, sizeof buf);
	c->synthetic = v && strcmp(v, "true") == 0;
	v = lws_get_urlarg_by_name(wsi, "metadata=", buf, sizeof buf);
	if (v && *v) {
		size_t len = strlen(v);
		char *json = malloc(len + 1);
		json_error_t jerr;
		json_t *obj = NULL;
		long out = json ? base64url_decode(json, v, len) : -1;

		if (out >= 0) {
			json[out] = '\0';
			obj = json_loadb(json, (size_t)out, 0, &jerr);
		}
		if (obj && json_is_object(obj)) {
			c->metadata = json;
			json = NULL;
		} else {
			wvs_logf(c->srv, "call %s: metadata is not base64url of a JSON "
				 "object; ignored",
				 c->id);
		}
		json_decref(obj);
		free(json);
	}
}

int wvs_handshake_filter(struct conn *c, struct lws *wsi, const char *offered)
{
	struct wvs_server *srv = lws_context_user(lws_get_context(wsi));
	char path[256], agent[128];
	const char *a;
	uuid_t u;

	memset(c, 0, sizeof *c);
	c->srv = srv;
	lws_get_peer_simple(wsi, c->peer, sizeof c->peer);
	if (atomic_load(&srv->stop))
		return refuse(c, wsi, WVS_REFUSED_SHUTTING_DOWN,
			      "shutting down");
	if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) < 0)
		return refuse(c, wsi, WVS_REFUSED_WRONG_PATH, "no path");
	if (strcmp(path, WV_CALL_PATH) != 0) {
		char shown[160], why[240];

		wv_escape(shown, sizeof shown, path, strlen(path));
		snprintf(why, sizeof why, "no such path \"%s\" (calls go to "
			 "%s)", shown, WV_CALL_PATH);
		return refuse(c, wsi, WVS_REFUSED_WRONG_PATH, why);
	}
	if (!wvs_origin_ok(srv, wsi))
		return refuse(c, wsi, WVS_REFUSED_ORIGIN, "origin not allowed");
	if (!wvs_authorized(c, wsi, offered))
		return refuse(c, wsi, WVS_REFUSED_UNAUTHORIZED,
			      "missing or wrong API key");
	a = lws_get_urlarg_by_name(wsi, "agent_id=", agent, sizeof agent);
	if (!a || !(c->agent = wvs_agent_find(srv, a)))
		return refuse(c, wsi, WVS_REFUSED_UNKNOWN_AGENT,
			      a ? "unknown agent" : "no agent_id");
	if (srv->stats.active >= srv->cfg.max_calls)
		return refuse(c, wsi, WVS_REFUSED_AT_CAPACITY, "at --max-calls");
	uuid_generate_random(u);
	uuid_unparse_lower(u, c->id);
	read_query(c, wsi);
	return 0;
}
