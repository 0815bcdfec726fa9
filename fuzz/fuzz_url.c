/*
 * The call URL (src/url.c): built from fuzzed parameters, and split.
 *
 * The input is one line each for the base, agent_id, from and metadata,
 * then a byte whose low bit asks for synthetic=true; the whole input is
 * also split as a URL, and percent-encoded as a component.
 *
 * Invariants: a built URL is printable ASCII with no space; its query
 * gives back, decoded, exactly the agent id, the caller's name, the
 * metadata's JSON (equal to what was given) and synthetic, in that order;
 * it fits a buffer of its length plus one and is refused one byte less. A
 * split URL has a host of allowed characters, a port in 1-65535 and a
 * path that starts with '/', and the URL put together again from those
 * parts splits the same. A percent-encoded component decodes back to
 * itself and holds only unreserved characters and escapes.
 */
#include <jansson.h>

#include <wvoice/base64.h>
#include <wvoice/error.h>
#include <wvoice/url.h>

#include "fuzz.h"

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* the encoder writes upper case only */
}

static bool unreserved(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

/* Percent-decodes the n characters at s into dst (n + 1 bytes); each must
   be unreserved or an escape. Returns the length. */
static size_t percent_decode(char *dst, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			FUZZ_CHECK(unreserved(s[i]));
			dst[o++] = s[i];
			continue;
		}
		FUZZ_CHECK(i + 2 < n);
		FUZZ_CHECK(hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0);
		dst[o++] = (char)(hex_value(s[i + 1]) << 4 | hex_value(s[i + 2]));
		i += 2;
	}
	dst[o] = '\0';
	return o;
}

/* The query parameter at *q, which must be name=; its value decoded equals
   want. Moves *q past it and its '&'. */
static void check_param(const char **q, const char *name, const char *want)
{
	size_t n = strlen(name), vlen;
	char *value;

	FUZZ_CHECK(strncmp(*q, name, n) == 0);
	*q += n;
	vlen = strcspn(*q, "&");
	value = malloc(vlen + 1);
	FUZZ_CHECK(value);
	FUZZ_CHECK(percent_decode(value, *q, vlen) == strlen(want));
	FUZZ_CHECK(strcmp(value, want) == 0);
	free(value);
	*q += vlen + ((*q)[vlen] == '&');
}

static void check_metadata(const char **q, const char *metadata)
{
	size_t vlen, n = 0;
	uint8_t *json;
	json_t *given, *got;

	FUZZ_CHECK(strncmp(*q, "metadata=", 9) == 0);
	*q += 9;
	vlen = strcspn(*q, "&");
	json = malloc(vlen + 1);
	FUZZ_CHECK(json);
	FUZZ_CHECK(wv_base64url_decode(json, vlen, &n, *q, vlen, NULL) == 0);
	got = json_loadb((const char *)json, n, JSON_REJECT_DUPLICATES, NULL);
	given = json_loads(metadata, JSON_REJECT_DUPLICATES, NULL);
	FUZZ_CHECK(got && given && json_equal(got, given));
	json_decref(got);
	json_decref(given);
	free(json);
	*q += vlen + ((*q)[vlen] == '&');
}

static void check_built(const struct wv_url_params *p, const char *url,
			int len)
{
	char *small = malloc((size_t)len + 1);
	const char *q = strstr(url, WV_CALL_PATH "?");

	for (const char *c = url; *c; c++)
		FUZZ_CHECK(*c > ' ' && *c < 0x7f);
	FUZZ_CHECK(strlen(url) == (size_t)len);
	FUZZ_CHECK(small);
	FUZZ_CHECK(wv_url_build(small, (size_t)len + 1, p) == len);
	FUZZ_CHECK(strcmp(small, url) == 0);
	FUZZ_CHECK(wv_url_build(small, (size_t)len, p) == WV_ERR_NOSPACE);
	free(small);
	FUZZ_CHECK(q && !strchr(url, '#'));
	q += strlen(WV_CALL_PATH "?");
	FUZZ_CHECK(!strchr(q, '?'));
	check_param(&q, "agent_id=", p->agent_id);
	if (*p->from)
		check_param(&q, "from=", p->from);
	if (*p->metadata)
		check_metadata(&q, p->metadata);
	if (p->synthetic)
		check_param(&q, "synthetic=", "true");
	FUZZ_CHECK(*q == '\0');
}

static void check_build(struct fuzz_in *in)
{
	size_t n[4];
	const char *s[4];
	char *field[4], *url;
	struct wv_url_params p = { 0 };
	int len;

	for (int i = 0; i < 4; i++) {
		s[i] = fuzz_line(in, &n[i]);
		field[i] = fuzz_strndup(s[i], n[i]);
		FUZZ_CHECK(field[i]);
	}
	p = (struct wv_url_params){ .base = field[0], .agent_id = field[1],
				    .from = field[2], .metadata = field[3],
				    .synthetic = fuzz_u8(in) & 1 };
	url = malloc(1 << 17);
	FUZZ_CHECK(url);
	len = wv_url_build(url, 1 << 17, &p);
	if (len >= 0)
		check_built(&p, url, len);
	else
		FUZZ_CHECK(len == WV_ERR_URL || len == WV_ERR_JSON ||
			   len == WV_ERR_NOT_OBJECT || len == WV_ERR_NOSPACE);
	free(url);
	for (int i = 0; i < 4; i++)
		free(field[i]);
}

static bool host_char(char c, bool v6)
{
	if (v6)
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		       (c >= 'A' && c <= 'F') || c == ':' || c == '.';
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

static void check_split(const char *url)
{
	struct wv_url_parts parts, again;
	char *joined;
	size_t cap;

	if (wv_url_split(url, &parts) < 0) {
		FUZZ_CHECK(parts.host[0] == '\0' && !parts.path && !parts.port);
		return;
	}
	FUZZ_CHECK(parts.host[0] != '\0');
	for (const char *c = parts.host; *c; c++)
		FUZZ_CHECK(host_char(*c, parts.ipv6));
	FUZZ_CHECK(parts.port >= 1 && parts.port <= 65535);
	FUZZ_CHECK(parts.path && parts.path[0] == '/');
	cap = strlen(parts.host) + strlen(parts.path) + 32;
	joined = malloc(cap);
	FUZZ_CHECK(joined);
	snprintf(joined, cap, "%s://%s%s%s:%d%s", parts.tls ? "wss" : "ws",
		 parts.ipv6 ? "[" : "", parts.host, parts.ipv6 ? "]" : "",
		 parts.port, parts.path);
	FUZZ_CHECK(wv_url_split(joined, &again) == 0);
	FUZZ_CHECK(again.tls == parts.tls && again.ipv6 == parts.ipv6);
	FUZZ_CHECK(again.port == parts.port);
	FUZZ_CHECK(strcmp(again.host, parts.host) == 0);
	FUZZ_CHECK(strcmp(again.path, parts.path) == 0);
	free(joined);
}

static void check_component(const char *s, size_t n)
{
	size_t cap = 3 * n + 1;
	char *enc = malloc(cap), *dec = malloc(n + 1);
	int len;

	FUZZ_CHECK(enc && dec);
	len = wv_url_encode_component(enc, cap, s, n);
	FUZZ_CHECK(len >= 0 && (size_t)len < cap);
	FUZZ_CHECK(percent_decode(dec, enc, (size_t)len) == n);
	FUZZ_CHECK(memcmp(dec, s, n) == 0);
	if (len > 0)
		FUZZ_CHECK(wv_url_encode_component(enc, (size_t)len, s, n) ==
			   WV_ERR_NOSPACE);
	free(dec);
	free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	char *whole = fuzz_strndup((const char *)data, size);

	FUZZ_CHECK(whole);
	check_build(&in);
	check_split(whole);
	check_component((const char *)data, size);
	free(whole);
	return 0;
}
