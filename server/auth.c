/*
 * Who may call: API keys, kept as SHA-256 digests and compared in constant
 * time; the subprotocol a browser offers them in; browser origins. See
 * server_internal.h.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#include <wvoice/base64.h>

#include "server_internal.h"

static int key_add(struct wvs_server *srv, const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > WVS_KEY_MAX)
		return WV_ERR_INVALID;
	SHA256((const unsigned char *)key, n, srv->keys[srv->n_keys++]);
	return 0;
}

/* Compares digests, so the time taken says nothing about the key, and
   looks at every key so it says nothing about which one matched. */
static int key_ok(const struct wvs_server *srv, const char *key, size_t n)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	int ok = 0;

	SHA256((const unsigned char *)key, n, d);
	for (size_t i = 0; i < srv->n_keys; i++)
		ok |= CRYPTO_memcmp(d, srv->keys[i], sizeof d) == 0;
	return ok;
}

int wvs_keys_init(struct wvs_server *srv, char *err, size_t errlen)
{
	size_t n = srv->cfg.n_api_keys ? srv->cfg.n_api_keys : 1;

	srv->keys = calloc(n, sizeof *srv->keys);
	if (!srv->keys)
		return WV_ERR_NOMEM;
	for (size_t i = 0; i < srv->cfg.n_api_keys; i++) {
		if (key_add(srv, srv->cfg.api_keys[i]) < 0) {
			snprintf(err, errlen,
				 "API key %zu: empty or over %d characters",
				 i + 1, WVS_KEY_MAX);
			return WV_ERR_INVALID;
		}
		/* lws reads Sec-WebSocket-Protocol into 128 bytes and drops a
		   longer one, so "apikey, KEY" must fit in 127. */
		if (strlen(srv->cfg.api_keys[i]) > WVS_SUBPROTOCOL_KEY_MAX)
			wvs_logf(srv, "API key %zu is over %d characters: clients can "
				 "present it as X-API-Key only, not as a subprotocol "
				 "(browsers)",
				 i + 1, WVS_SUBPROTOCOL_KEY_MAX);
	}
	if (srv->cfg.n_api_keys == 0) {
		uint8_t raw[24];

		if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
			snprintf(err, errlen, "no randomness for a key: %s",
				 strerror(errno));
			return WV_ERR_INTERNAL;
		}
		srv->generated_key[wv_base64url_encode(srv->generated_key, raw,
						       sizeof raw)] = '\0';
		key_add(srv, srv->generated_key);
	}
	return 0;
}

/* The key offered in `Sec-WebSocket-Protocol: apikey, KEY`: the token
   after "apikey". Returns its length, or -1 when there is none. */
static int subprotocol_key(const char *list, const char **key)
{
	const char *p = list;
	int after_apikey = 0;

	while (p && *p) {
		const char *start, *end;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (end == start)
			continue;
		if (after_apikey) {
			*key = start;
			return (int)(end - start);
		}
		after_apikey = (size_t)(end - start) == 6 &&
			       strncmp(start, "apikey", 6) == 0;
	}
	return -1;
}

int wvs_authorized(struct conn *c, struct lws *wsi, const char *offered)
{
	char key[WVS_KEY_MAX + 2];
	const char *k;
	int n;

	if (offered && (n = subprotocol_key(offered, &k)) >= 0)
		return n <= WVS_KEY_MAX && key_ok(c->srv, k, (size_t)n);
	n = lws_hdr_custom_length(wsi, "x-api-key:", 10);
	if (n <= 0 || n > WVS_KEY_MAX)
		return 0;
	if (lws_hdr_custom_copy(wsi, key, sizeof key, "x-api-key:", 10) < 0)
		return 0;
	return key_ok(c->srv, key, strlen(key));
}

/* Whether origin is scheme://HOST for the request's own Host header and
   HOST an address (a page this server served, opened by the address a
   browser reached it at: listening on 0.0.0.0 and opened from another
   machine). Not a name: anyone can point a name of theirs at this
   server (DNS rebinding); names are for --allow-origin. */
static int own_address_origin(const char *scheme, const char *origin,
			      struct lws *wsi)
{
	char host[128], want[160], *end;
	unsigned char addr[16];

	if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) <= 0)
		return 0;
	snprintf(want, sizeof want, "%s://%s", scheme, host);
	if (strcasecmp(want, origin) != 0)
		return 0;
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end || (end[1] != '\0' && end[1] != ':'))
			return 0;
		*end = '\0';
		return inet_pton(AF_INET6, host + 1, addr) == 1;
	}
	end = strchr(host, ':');
	if (end)
		*end = '\0';
	return inet_pton(AF_INET, host, addr) == 1;
}

int wvs_origin_ok(const struct wvs_server *srv, struct lws *wsi)
{
	char origin[256], own[160];
	const char *scheme = srv->cfg.tls_cert ? "https" : "http";
	static const char *const local[] = { "127.0.0.1", "localhost", "[::1]" };

	/* Clients that are not browsers send no Origin: nothing to check. */
	if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0)
		return 1;
	if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) < 0)
		return 0;
	for (size_t i = 0; i < srv->cfg.n_origins; i++)
		if (strcmp(srv->cfg.origins[i], "*") == 0 ||
		    strcasecmp(srv->cfg.origins[i], origin) == 0)
			return 1;
	if (srv->cfg.n_origins)
		return 0;
	/* By default, only pages the server itself could have served. */
	snprintf(own, sizeof own, "%s://%s:%d", scheme, srv->cfg.host,
		 srv->port);
	if (strcasecmp(own, origin) == 0)
		return 1;
	for (size_t i = 0; i < sizeof local / sizeof local[0]; i++) {
		snprintf(own, sizeof own, "%s://%s:%d", scheme, local[i],
			 srv->port);
		if (strcasecmp(own, origin) == 0)
			return 1;
	}
	return own_address_origin(scheme, origin, wsi);
}
