/*
 * Plain HTTP on the call port: GET /healthz, for whoever supervises the
 * server, and where the other requests go (the browser client's files,
 * web.c). It answers with counts only, so it needs no key: nothing in it
 * would help a caller in. See health.h and server_internal.h.
 */
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "server_internal.h"

#define HEALTH_PATH "/healthz"
/* The counts are a few hundred bytes; headers take about a hundred. */
#define RESPONSE_MAX 1024

int wvs_health_answer(const struct wvs_server_stats *st, int stopping,
		      char **body)
{
	json_t *root = json_object(), *refused = json_object();
	int bad = !root || !refused;

	*body = NULL;
	for (int r = 0; r < WVS_REFUSAL_COUNT && !bad; r++)
		bad = json_object_set_new(refused,
					  wvs_refusal_name((enum wvs_refusal)r),
					  json_integer((json_int_t)
						       st->refused_by[r]));
	if (!bad)
		bad = json_object_set_new(root, "status",
					  json_string(stopping ? "stopping"
							       : "ok")) ||
		      json_object_set_new(root, "calls_up",
					  json_integer((json_int_t)st->active)) ||
		      json_object_set_new(root, "calls_total",
					  json_integer((json_int_t)st->calls)) ||
		      json_object_set(root, "refused", refused);
	if (!bad)
		*body = json_dumps(root, JSON_COMPACT);
	json_decref(refused);
	json_decref(root);
	if (!*body)
		return WV_ERR_NOMEM;
	return stopping ? HTTP_STATUS_SERVICE_UNAVAILABLE : HTTP_STATUS_OK;
}

/* The next request on the connection (keep-alive) or its close, as lws
   decides from the request. A HEAD gets the headers of the GET, without
   the body. */
int wvs_http_respond(struct lws *wsi, unsigned status, const char *type,
		     const char *body, const char *allow)
{
	unsigned char buf[LWS_PRE + RESPONSE_MAX];
	unsigned char *start = buf + LWS_PRE, *p = start;
	unsigned char *end = buf + sizeof buf - 1;
	size_t len = strlen(body);
	int head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;

	if (len > RESPONSE_MAX ||
	    lws_add_http_common_headers(wsi, status, type, len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
					 (const unsigned char *)"no-store", 8,
					 &p, end) ||
	    (allow && lws_add_http_header_by_name(
			      wsi, (const unsigned char *)"allow:",
			      (const unsigned char *)allow,
			      (int)strlen(allow), &p, end)) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	if (!head && len) {
		/* The headers are out (or queued by lws): the buffer is free. */
		memcpy(start, body, len);
		if (lws_write(wsi, start, len, LWS_WRITE_HTTP_FINAL) != (int)len)
			return -1;
	}
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int wvs_http_request(struct wvs_server *srv, struct lws *wsi, const char *uri)
{
	int stopping = srv->stopping_since || atomic_load(&srv->stop);
	int get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0 ||
		  lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
	char *body;
	int status, rc;

	if (!uri || strcmp(uri, HEALTH_PATH) != 0)
		return wvs_web_request(srv, wsi, uri);
	if (!get)
		return wvs_http_respond(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED,
					"application/json",
					"{\"error\":\"method not allowed\"}",
					"GET, HEAD");
	status = wvs_health_answer(&srv->stats, stopping, &body);
	if (status < 0)
		return -1;
	rc = wvs_http_respond(wsi, (unsigned)status, "application/json", body,
			      NULL);
	free(body);
	return rc;
}
