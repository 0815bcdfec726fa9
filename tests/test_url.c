/*
 * The call URL: expected URLs are written out by hand; metadata is also
 * checked by decoding it back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wvoice/base64.h>
#include <wvoice/error.h>
#include <wvoice/url.h>

#define CALL "/telephony/websocket/call?agent_id="

struct url_case {
	struct wv_url_params p;
	const char *url; /* NULL: expect code */
	int code;
};

static const struct url_case url_cases[] = {
	{ { .base = "wss://api.example.com", .agent_id = "a1" },
	  "wss://api.example.com" CALL "a1", 0 },
	{ { .base = "ws://localhost:8080/", .agent_id = "a1",
	    .from = "Ann Lee", .synthetic = true },
	  "ws://localhost:8080" CALL "a1&from=Ann%20Lee&synthetic=true", 0 },
	{ { .base = "wss://h//", .agent_id = "a" }, "wss://h" CALL "a", 0 },
	{ { .base = "wss://h/v1/", .agent_id = "a" }, "wss://h/v1" CALL "a",
	  0 },
	/* The whole endpoint, pasted: the call path once. */
	{ { .base = "ws://h:1/telephony/websocket/call", .agent_id = "a" },
	  "ws://h:1" CALL "a", 0 },
	{ { .base = "wss://h/v1/telephony/websocket/call/", .agent_id = "a" },
	  "wss://h/v1" CALL "a", 0 },
	{ { .base = "ws://[::1]:8080", .agent_id = "a" },
	  "ws://[::1]:8080" CALL "a", 0 },
	{ { .base = "wss://user@h:9", .agent_id = "a" },
	  "wss://user@h:9" CALL "a", 0 },
	{ { .base = "wss://h", .agent_id = "a b&c=d+e/f?g#h%" },
	  "wss://h" CALL "a%20b%26c%3Dd%2Be%2Ff%3Fg%23h%25", 0 },
	{ { .base = "wss://h", .agent_id = "AZaz09-._~" },
	  "wss://h" CALL "AZaz09-._~", 0 },
	{ { .base = "wss://h", .agent_id = "a", .from = "Jos\xc3\xa9" },
	  "wss://h" CALL "a&from=Jos%C3%A9", 0 },
	{ { .base = "wss://h", .agent_id = "a", .from = "" },
	  "wss://h" CALL "a", 0 },
	{ { .base = "wss://h", .agent_id = "a", .from = "+1 555",
	    .metadata = "{\"a\": 1, \"b\":\"x y\"}", .synthetic = true },
	  "wss://h" CALL "a&from=%2B1%20555&metadata=eyJhIjoxLCJiIjoieCB5In0"
			 "&synthetic=true",
	  0 },
	{ { .base = "wss://h", .agent_id = "a",
	    .metadata = " {\"z\" : 1, \"a\" : [ true, null ] } " },
	  "wss://h" CALL "a&metadata=eyJ6IjoxLCJhIjpbdHJ1ZSxudWxsXX0", 0 },
	{ { .base = "wss://h", .agent_id = "a",
	    .metadata = "{\"a\":\"~~~\"}" },
	  "wss://h" CALL "a&metadata=eyJhIjoifn5-In0", 0 },
	{ { .base = "wss://h", .agent_id = "a",
	    .metadata = "{\"a\":\">>?\"}" },
	  "wss://h" CALL "a&metadata=eyJhIjoiPj4_In0", 0 },
	{ { .base = "wss://h", .agent_id = "a", .metadata = "{}" },
	  "wss://h" CALL "a&metadata=e30", 0 },
	{ { .base = "wss://h", .agent_id = "a", .metadata = "" },
	  "wss://h" CALL "a", 0 },
	{ { .base = "wss://h", .agent_id = "a", .synthetic = false },
	  "wss://h" CALL "a", 0 },

	{ { .base = NULL, .agent_id = "a" }, NULL, WV_ERR_URL },
	{ { .base = "", .agent_id = "a" }, NULL, WV_ERR_URL },
	{ { .base = "http://h", .agent_id = "a" }, NULL, WV_ERR_URL },
	{ { .base = "https://h", .agent_id = "a" }, NULL, WV_ERR_URL },
	{ { .base = "WSS://h", .agent_id = "a" }, NULL, WV_ERR_URL },
	{ { .base = "ws:/h", .agent_id = "a" }, NULL, WV_ERR_URL },
	{ { .base = "h", .agent_id = "a" }, NULL, WV_ERR_URL },
	{ { .base = "ws://", .agent_id = "a" }, NULL, WV_ERR_URL },
	{ { .base = "wss:///path", .agent_id = "a" }, NULL, WV_ERR_URL },
	{ { .base = "wss:////", .agent_id = "a" }, NULL, WV_ERR_URL },
	{ { .base = "ws://:8080", .agent_id = "a" }, NULL, WV_ERR_URL },
	{ { .base = "ws://user@", .agent_id = "a" }, NULL, WV_ERR_URL },
	{ { .base = "ws://[]", .agent_id = "a" }, NULL, WV_ERR_URL },
	{ { .base = "wss://h?x=1", .agent_id = "a" }, NULL, WV_ERR_URL },
	{ { .base = "wss://h/?", .agent_id = "a" }, NULL, WV_ERR_URL },
	{ { .base = "wss://h#top", .agent_id = "a" }, NULL, WV_ERR_URL },
	{ { .base = "wss://h x", .agent_id = "a" }, NULL, WV_ERR_URL },
	{ { .base = "wss://h\n", .agent_id = "a" }, NULL, WV_ERR_URL },
	{ { .base = "wss://h\xc3\xa9", .agent_id = "a" }, NULL, WV_ERR_URL },
	{ { .base = "wss://h" }, NULL, WV_ERR_URL },
	{ { .base = "wss://h", .agent_id = "" }, NULL, WV_ERR_URL },
	{ { .base = "wss://h", .agent_id = "a", .metadata = "nope" }, NULL,
	  WV_ERR_JSON },
	{ { .base = "wss://h", .agent_id = "a", .metadata = "{" }, NULL,
	  WV_ERR_JSON },
	{ { .base = "wss://h", .agent_id = "a", .metadata = "{} {}" }, NULL,
	  WV_ERR_JSON },
	{ { .base = "wss://h", .agent_id = "a",
	    .metadata = "{\"a\":1,\"a\":2}" },
	  NULL, WV_ERR_JSON },
	{ { .base = "wss://h", .agent_id = "a", .metadata = "{\"a\":\"\xff\"}" },
	  NULL, WV_ERR_JSON },
	{ { .base = "wss://h", .agent_id = "a", .metadata = "[1]" }, NULL,
	  WV_ERR_NOT_OBJECT },
	{ { .base = "wss://h", .agent_id = "a", .metadata = "3" }, NULL,
	  WV_ERR_NOT_OBJECT },
	{ { .base = "wss://h", .agent_id = "a", .metadata = "\"{}\"" }, NULL,
	  WV_ERR_NOT_OBJECT },
	{ { .base = "wss://h", .agent_id = "a", .metadata = "null" }, NULL,
	  WV_ERR_NOT_OBJECT },
};

static void test_url_build_follows_the_table(void **state)
{
	char buf[512];

	(void)state;
	for (size_t i = 0; i < sizeof url_cases / sizeof url_cases[0]; i++) {
		const struct url_case *c = &url_cases[i];
		int rc = wv_url_build(buf, sizeof buf, &c->p);

		if (!c->url) {
			if (rc != c->code)
				fail_msg("case %zu (%s): got %s, want %s", i,
					 c->p.base ? c->p.base : "NULL",
					 wv_error_name(rc),
					 wv_error_name(c->code));
			continue;
		}
		if (rc < 0)
			fail_msg("case %zu (%s): got %s", i, c->p.base,
				 wv_error_name(rc));
		assert_string_equal(buf, c->url);
		assert_int_equal(rc, strlen(c->url));
	}
}

struct metadata_case {
	const char *in;
	const char *compact;
};

static void test_url_metadata_decodes_to_compact_json(void **state)
{
	static const struct metadata_case cases[] = {
		{ "{\"a\": 1, \"b\":\"x y\"}", "{\"a\":1,\"b\":\"x y\"}" },
		{ "{ \"z\": {\"y\": [1, 2.5]}, \"a\": \"\\u00e9\" }",
		  "{\"z\":{\"y\":[1,2.5]},\"a\":\"\xc3\xa9\"}" },
		{ "{\"q\":\"\?\?>\"}", "{\"q\":\"\?\?>\"}" },
		{ "{\"x\":\"\xc3\xbf\xc3\xbf\"}", "{\"x\":\"\xc3\xbf\xc3\xbf\"}" },
	};
	char url[512];
	uint8_t json[256];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct wv_url_params p = { .base = "wss://h",
					   .agent_id = "a",
					   .metadata = cases[i].in };
		const char *m;
		size_t n;

		assert_true(wv_url_build(url, sizeof url, &p) > 0);
		m = strstr(url, "&metadata=");
		assert_non_null(m);
		m += strlen("&metadata=");
		/* Unpadded base64url only: nothing to percent-encode. */
		assert_int_equal(strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
					   "klmnopqrstuvwxyz0123456789-_"),
				 strlen(m));
		assert_int_equal(wv_base64url_decode(json, sizeof json, &n, m,
						     strlen(m), NULL),
				 0);
		assert_int_equal(n, strlen(cases[i].compact));
		assert_memory_equal(json, cases[i].compact, n);
	}
}

static void test_url_build_reports_nospace(void **state)
{
	const struct wv_url_params p = {
		.base = "wss://h/",
		.agent_id = "a b",
		.from = "\xc3\xa9",
		.metadata = "{\"k\":1}",
		.synthetic = true,
	};
	char full[256];
	char buf[256];
	int len = wv_url_build(full, sizeof full, &p);

	(void)state;
	assert_true(len > 0);
	for (size_t cap = 0; cap <= (size_t)len; cap++) {
		memset(buf, '@', sizeof buf);
		assert_int_equal(wv_url_build(cap ? buf : NULL, cap, &p),
				 WV_ERR_NOSPACE);
		assert_int_equal(buf[cap], '@');
	}
	assert_int_equal(wv_url_build(buf, (size_t)len + 1, &p), len);
	assert_string_equal(buf, full);
}

struct component_case {
	const char *in;
	size_t len;
	const char *out;
};

static void test_url_encode_component_escapes_reserved(void **state)
{
	static const struct component_case cases[] = {
		{ "", 0, "" },
		{ "abc", 3, "abc" },
		{ " ", 1, "%20" },
		{ "&=+/?#%:@", 9, "%26%3D%2B%2F%3F%23%25%3A%40" },
		{ "\xc3\xa9", 2, "%C3%A9" },
		{ "a\0b", 3, "a%00b" },
		{ "\x7f\xff", 2, "%7F%FF" },
		{ "-._~", 4, "-._~" },
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = wv_url_encode_component(buf, sizeof buf, cases[i].in,
						 cases[i].len);

		assert_int_equal(rc, strlen(cases[i].out));
		assert_string_equal(buf, cases[i].out);
	}
}

static void test_url_encode_component_keeps_only_unreserved(void **state)
{
	static const char unreserved[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "abcdefghijklmnopqrstuvwxyz"
					 "0123456789-._~";
	char buf[8];

	(void)state;
	for (int c = 0; c < 256; c++) {
		char in = (char)c;
		int rc = wv_url_encode_component(buf, sizeof buf, &in, 1);

		if (c != 0 && strchr(unreserved, c)) {
			assert_int_equal(rc, 1);
			assert_int_equal((unsigned char)buf[0], c);
		} else {
			unsigned v = 0;

			assert_int_equal(rc, 3);
			assert_int_equal(buf[0], '%');
			/* Upper-case hex, as RFC 3986 recommends. */
			assert_int_equal(strspn(buf + 1, "0123456789ABCDEF"), 2);
			assert_int_equal(sscanf(buf + 1, "%2x", &v), 1);
			assert_int_equal(v, c);
		}
	}
}

static void test_url_encode_component_reports_nospace(void **state)
{
	char buf[8];

	(void)state;
	assert_int_equal(wv_url_encode_component(buf, 3, "\xc3", 1),
			 WV_ERR_NOSPACE);
	assert_int_equal(wv_url_encode_component(buf, 4, "\xc3", 1), 3);
	assert_string_equal(buf, "%C3");
	assert_int_equal(wv_url_encode_component(buf, 3, "abc", 3),
			 WV_ERR_NOSPACE);
	assert_int_equal(wv_url_encode_component(NULL, 0, "", 0),
			 WV_ERR_NOSPACE);
	assert_int_equal(wv_url_encode_component(buf, 1, "", 0), 0);
	assert_string_equal(buf, "");
}

struct split_row {
	const char *url;
	int rc;
	bool tls, ipv6;
	int port;
	const char *host, *path;
};

static void test_url_split_names_host_port_and_path(void **state)
{
	static const struct split_row rows[] = {
		{ "ws://h", 0, false, false, 80, "h", "/" },
		{ "wss://h.example", 0, true, false, 443, "h.example", "/" },
		{ "ws://h:8765/a/b?x=1", 0, false, false, 8765, "h", "/a/b?x=1" },
		{ "wss://[::1]:9/p", 0, true, true, 9, "::1", "/p" },
		{ "ws://[::1]", 0, false, true, 80, "::1", "/" },
		{ "ws://h:65535", 0, false, false, 65535, "h", "/" },
		{ "ws://h:65536", WV_ERR_URL, 0, 0, 0, NULL, NULL },
		{ "ws://h:", WV_ERR_URL, 0, 0, 0, NULL, NULL },
		{ "ws://h:8x", WV_ERR_URL, 0, 0, 0, NULL, NULL },
		{ "ws://", WV_ERR_URL, 0, 0, 0, NULL, NULL },
		{ "ws://[::1", WV_ERR_URL, 0, 0, 0, NULL, NULL },
		{ "ws://[::1]x", WV_ERR_URL, 0, 0, 0, NULL, NULL },
		{ "ws://[fe80::1%25eth0]", WV_ERR_URL, 0, 0, 0, NULL, NULL },
		{ "ws://+/tmp/sock", WV_ERR_URL, 0, 0, 0, NULL, NULL },
		{ "ws://k@h", WV_ERR_URL, 0, 0, 0, NULL, NULL },
		{ "wss:/h", WV_ERR_URL, 0, 0, 0, NULL, NULL },
		{ "WS://h", WV_ERR_URL, 0, 0, 0, NULL, NULL },
		{ "ws://h?q", WV_ERR_URL, 0, 0, 0, NULL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct wv_url_parts p;
		int rc = wv_url_split(rows[i].url, &p);

		if (rc != rows[i].rc)
			fail_msg("%s: %d", rows[i].url, rc);
		if (rc)
			continue;
		assert_int_equal(p.tls, rows[i].tls);
		assert_int_equal(p.ipv6, rows[i].ipv6);
		assert_int_equal(p.port, rows[i].port);
		assert_string_equal(p.host, rows[i].host);
		assert_string_equal(p.path, rows[i].path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_split_names_host_port_and_path),
		cmocka_unit_test(test_url_build_follows_the_table),
		cmocka_unit_test(test_url_metadata_decodes_to_compact_json),
		cmocka_unit_test(test_url_build_reports_nospace),
		cmocka_unit_test(test_url_encode_component_escapes_reserved),
		cmocka_unit_test(
			test_url_encode_component_keeps_only_unreserved),
		cmocka_unit_test(test_url_encode_component_reports_nospace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
