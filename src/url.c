/*
 * The call URL. base is checked rather than parsed: the scheme, a host, and
 * nothing that would land in the query (a '?', a '#', spaces, raw bytes).
 */
#include <wvoice/url.h>

#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <wvoice/base64.h>
#include <wvoice/error.h>

#include "sized.h"
#include "alloc.h"

/* Output that counts what it could not write, so one check at the end says
 * whether everything fit. */
struct out {
	char *dst;
	size_t cap;
	size_t len;
};

static void put(struct out *o, const char *s, size_t n)
{
	/* Once something did not fit, len >= cap and nothing more is written. */
	if (o->len + n < o->cap)
		memcpy(o->dst + o->len, s, n);
	o->len += n;
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

static void put_encoded(struct out *o, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[3] = { '%', hex[c >> 4], hex[c & 15] };

		if (unreserved(c))
			put(o, (const char *)&c, 1);
		else
			put(o, esc, sizeof esc);
	}
}

static int finish(struct out *o)
{
	if (o->len >= o->cap || o->len > INT_MAX)
		return WV_ERR_NOSPACE;
	o->dst[o->len] = '\0';
	return (int)o->len;
}

int wv_url_encode_component(char *dst, size_t cap, const char *src,
			    size_t len)
{
	struct out o = { dst, cap, 0 };

	put_encoded(&o, src, len);
	return finish(&o);
}

static size_t scheme_len(const char *base)
{
	if (strncmp(base, "ws://", 5) == 0)
		return 5;
	if (strncmp(base, "wss://", 6) == 0)
		return 6;
	return 0;
}

/* The host of an authority ([user@]host[:port]) is not empty. */
static bool has_host(const char *auth, size_t len)
{
	const char *at = NULL;

	for (const char *p = auth; p < auth + len; p++)
		if (*p == '@')
			at = p;
	if (at) {
		len -= (size_t)(at + 1 - auth);
		auth = at + 1;
	}
	if (len > 0 && auth[0] == '[') /* an IPv6 literal */
		return len > 2 && memchr(auth, ']', len) != NULL;
	return len > 0 && auth[0] != ':';
}

/* Checks base and returns the length to keep, or 0 if it is not usable. */
static size_t check_base(const char *base)
{
	size_t skip = base ? scheme_len(base) : 0;
	size_t len;

	if (skip == 0)
		return 0;
	/* A URL has no spaces, controls or raw non-ASCII; a query or fragment
	 * would end up before the call path. */
	for (const unsigned char *p = (const unsigned char *)base; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '?' || *p == '#')
			return 0;
	len = strlen(base);
	while (len > skip && base[len - 1] == '/')
		len--;
	/* The whole endpoint, pasted: its call path is written once. */
	if (len >= skip + strlen(WV_CALL_PATH) &&
	    !memcmp(base + len - strlen(WV_CALL_PATH), WV_CALL_PATH,
		    strlen(WV_CALL_PATH)))
		len -= strlen(WV_CALL_PATH);
	if (!has_host(base + skip, strcspn(base + skip, "/")))
		return 0;
	return len;
}

static int put_metadata(struct out *o, const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			       &jerr);
	char *compact = NULL;
	char *b64 = NULL;
	size_t n;
	int rc = WV_ERR_NOMEM;

	if (!j)
		return json_error_code(&jerr) == json_error_out_of_memory
			       ? WV_ERR_NOMEM
			       : WV_ERR_JSON;
	if (!json_is_object(j)) {
		rc = WV_ERR_NOT_OBJECT;
		goto out;
	}
	compact = json_dumps(j, JSON_COMPACT);
	if (!compact)
		goto out;
	n = strlen(compact);
	b64 = wv_malloc(WV_BASE64URL_ENCODED_LEN(n) + 1);
	if (!b64)
		goto out;
	n = wv_base64url_encode(b64, (const uint8_t *)compact, n);
	put_str(o, "&metadata=");
	/* base64url is all unreserved characters; encoding is a no-op kept
	 * so that the query stays correct whatever the alphabet. */
	put_encoded(o, b64, n);
	rc = 0;
out:
	wv_free(b64);
	if (compact) { /* jansson's, from jansson's allocator */
		json_free_t jfree;

		json_get_alloc_funcs(NULL, &jfree);
		jfree(compact);
	}
	json_decref(j);
	return rc;
}

static void put_param(struct out *o, const char *name, const char *value)
{
	put_str(o, name);
	put_encoded(o, value, strlen(value));
}

/* wv_url_params as first published with its size: when fields are added,
   offsetof() the first of them. */
#define PARAMS_FIRST_SIZE sizeof(struct wv_url_params)

int wv_url_build_sized(char *dst, size_t cap,
		       const struct wv_url_params *params, size_t size)
{
	struct wv_url_params mine = { 0 }, *p = &mine;
	struct out o = { dst, cap, 0 };
	size_t base_len;
	int rc;

	if (!params || wv__take_sized(&mine, sizeof mine, params, size,
				      PARAMS_FIRST_SIZE) < 0)
		return WV_ERR_INVALID;
	base_len = check_base(p->base);
	if (base_len == 0 || !p->agent_id || !*p->agent_id)
		return WV_ERR_URL;
	put(&o, p->base, base_len);
	put_str(&o, WV_CALL_PATH);
	put_param(&o, "?agent_id=", p->agent_id);
	if (p->from && *p->from)
		put_param(&o, "&from=", p->from);
	if (p->metadata && *p->metadata) {
		rc = put_metadata(&o, p->metadata);
		if (rc < 0)
			return rc;
	}
	if (p->synthetic)
		put_str(&o, "&synthetic=true");
	return finish(&o);
}

/* ---- splitting ---- */

static bool host_char(char ch, bool v6)
{
	if (v6)
		return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
		       (ch >= 'A' && ch <= 'F') || ch == ':' || ch == '.';
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_';
}

static int parse_port(const char *s, size_t len, int *port)
{
	long v = 0;

	if (len == 0 || len > 5)
		return WV_ERR_URL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return WV_ERR_URL;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return WV_ERR_URL;
	*port = (int)v;
	return 0;
}

static int split(const char *url, struct wv_url_parts *out)
{
	const char *auth, *end, *host, *host_end, *port = NULL;
	size_t hlen;

	if (!url)
		return WV_ERR_URL;
	if (strncmp(url, "ws://", 5) == 0) {
		auth = url + 5;
	} else if (strncmp(url, "wss://", 6) == 0) {
		auth = url + 6;
		out->tls = true;
	} else {
		return WV_ERR_URL;
	}
	end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(end - auth)))
		return WV_ERR_URL;
	host = auth;
	if (*auth == '[') {
		host = auth + 1;
		host_end = memchr(host, ']', (size_t)(end - host));
		if (!host_end || (host_end + 1 != end && host_end[1] != ':'))
			return WV_ERR_URL;
		out->ipv6 = true;
		if (host_end + 1 != end)
			port = host_end + 2;
	} else {
		host_end = memchr(auth, ':', (size_t)(end - auth));
		if (host_end)
			port = host_end + 1;
		else
			host_end = end;
	}
	hlen = (size_t)(host_end - host);
	if (hlen == 0 || hlen >= sizeof out->host)
		return WV_ERR_URL;
	for (size_t i = 0; i < hlen; i++)
		if (!host_char(host[i], out->ipv6))
			return WV_ERR_URL;
	memcpy(out->host, host, hlen);
	out->port = out->tls ? 443 : 80;
	if (port && parse_port(port, (size_t)(end - port), &out->port) < 0)
		return WV_ERR_URL;
	if (*end == '\0')
		out->path = "/";
	else if (*end == '/')
		out->path = end;
	else
		return WV_ERR_URL;
	return 0;
}

int wv_url_split_sized(const char *url, struct wv_url_parts *out,
		       size_t size)
{
	struct wv_url_parts parts = { 0 };
	int rc = split(url, &parts);

	if (rc < 0)
		memset(&parts, 0, sizeof parts);
	wv__give_sized(out, size, &parts, sizeof parts);
	return rc;
}
