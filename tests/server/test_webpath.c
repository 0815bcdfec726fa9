/*
 * The browser client's files, the decisions without the socket: the file
 * a request path names (and the paths refused before the file system is
 * asked), whether a resolved file is inside its folder, Content-Types,
 * entity tags and If-None-Match. Serving them over a socket, symlinks
 * and encoded escapes included, is tests/serve/test_web.py's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <wvoice/error.h>

#include "web.h"

static const struct {
	const char *path, *file;
} named[] = {
	{ "/", "index.html" },
	{ "/index.html", "index.html" },
	{ "/app.js", "app.js" },
	{ "/sub/", "sub/index.html" },
	{ "/sub/x.wasm", "sub/x.wasm" },
	{ "/a..b", "a..b" },		/* dots inside a name are a name */
	{ "/v1.2/x.js", "v1.2/x.js" },
	{ "/with space.css", "with space.css" },
	{ "/caf\xc3\xa9.png", "caf\xc3\xa9.png" },
};

static void test_web_path_names_the_file_under_the_folder(void **state)
{
	char out[WVS_WEB_PATH_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
		memset(out, 'x', sizeof out);
		assert_int_equal(wvs_web_path(named[i].path, out, sizeof out),
				 0);
		assert_string_equal(out, named[i].file);
	}
}

/* What a request could use to leave the folder, or to reach what is
   not meant to be served, once libwebsockets has decoded it. */
static const char *const refused[] = {
	"",			 /* no path */
	"index.html",		 /* relative */
	"etc/passwd",
	"http://host/x",	 /* absolute form */
	"//etc/passwd",		 /* an empty segment: another host, or / */
	"/a//b",
	"/..",
	"/../etc/passwd",
	"/a/../../etc/passwd",
	"/a/..",
	"/.",
	"/./index.html",
	"/a/./b",
	"/.git/config",		 /* hidden */
	"/a/.htpasswd",
	"/.index.html.swp",
	"/..\\etc\\passwd",	 /* backslashes */
	"/a\\b",
	"/a\x01" "b",		 /* control bytes */
	"/index.html\n",
	"/a\x7f",
};

static void test_web_path_refuses_escapes_hidden_and_odd_bytes(void **state)
{
	char out[WVS_WEB_PATH_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		if (wvs_web_path(refused[i], out, sizeof out) != WV_ERR_INVALID)
			fail_msg("took \"%s\" as %s", refused[i], out);
	assert_int_equal(wvs_web_path(NULL, out, sizeof out), WV_ERR_INVALID);
}

/* A result that does not fit is refused, never cut short into another
   name; "/" needs room for "index.html". */
static void test_web_path_refuses_what_does_not_fit(void **state)
{
	char out[11];

	(void)state;
	assert_int_equal(wvs_web_path("/index.html", out, sizeof out), 0);
	assert_int_equal(wvs_web_path("/index.htmlx", out, sizeof out),
			 WV_ERR_INVALID);
	assert_int_equal(wvs_web_path("/", out, sizeof out), 0);
	assert_string_equal(out, "index.html");
	assert_int_equal(wvs_web_path("/a/", out, sizeof out),
			 WV_ERR_INVALID);
	assert_int_equal(wvs_web_path("/", out, 10), WV_ERR_INVALID);
}

static void test_web_inside_takes_the_folder_and_below_only(void **state)
{
	(void)state;
	assert_true(wvs_web_inside("/srv/web", "/srv/web"));
	assert_true(wvs_web_inside("/srv/web", "/srv/web/index.html"));
	assert_true(wvs_web_inside("/srv/web", "/srv/web/a/b.js"));
	/* A sibling sharing the prefix is outside. */
	assert_false(wvs_web_inside("/srv/web", "/srv/web2/x"));
	assert_false(wvs_web_inside("/srv/web", "/srv/webx"));
	assert_false(wvs_web_inside("/srv/web", "/srv"));
	assert_false(wvs_web_inside("/srv/web", "/etc/passwd"));
	assert_true(wvs_web_inside("/", "/etc/passwd"));
}

static const struct {
	const char *name, *type;
} types[] = {
	{ "index.html", "text/html; charset=utf-8" },
	{ "INDEX.HTML", "text/html; charset=utf-8" },
	{ "app.js", "text/javascript; charset=utf-8" },
	{ "mod.mjs", "text/javascript; charset=utf-8" },
	{ "style.css", "text/css; charset=utf-8" },
	{ "wvoice-core.wasm", "application/wasm" },
	{ "package.json", "application/json" },
	{ "a/logo.png", "image/png" },
	{ "icon.svg", "image/svg+xml" },
	{ "favicon.ico", "image/x-icon" },
	{ "ring.wav", "audio/wav" },
	{ "notes.txt", "application/octet-stream" },
	{ "README", "application/octet-stream" },
	{ "a.js/README", "application/octet-stream" }, /* a folder's dot */
	{ "x.html.bak", "application/octet-stream" },
	{ "js", "application/octet-stream" },
	{ "x.", "application/octet-stream" },
};

static void test_web_type_by_extension(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		assert_string_equal(wvs_web_type(types[i].name),
				    types[i].type);
}

static void test_web_etag_changes_with_size_and_time(void **state)
{
	char a[WVS_WEB_ETAG_MAX], b[WVS_WEB_ETAG_MAX];

	(void)state;
	wvs_web_etag(a, sizeof a, 500, 0x65f0c0de, 1000000000L - 1);
	assert_string_equal(a, "\"1f4-65f0c0de.3b9ac9ff\"");
	wvs_web_etag(b, sizeof b, 501, 0x65f0c0de, 1000000000L - 1);
	assert_string_not_equal(a, b);
	/* Rewritten within the same second. */
	wvs_web_etag(b, sizeof b, 500, 0x65f0c0de, 1000000000L - 2);
	assert_string_not_equal(a, b);
	/* The largest fit. */
	wvs_web_etag(a, sizeof a, UINT64_MAX, INT64_MAX, 999999999L);
	assert_true(strlen(a) < WVS_WEB_ETAG_MAX - 1);
	assert_int_equal(a[strlen(a) - 1], '"');
}

static const struct {
	const char *header;
	int match;
} inm[] = {
	{ "\"1f4-65f0c0de.0\"", 1 },
	{ "W/\"1f4-65f0c0de.0\"", 1 }, /* weak comparison */
	{ "*", 1 },
	{ "\"x\", \"1f4-65f0c0de.0\"", 1 },
	{ "\"x\",W/\"1f4-65f0c0de.0\"", 1 },
	{ "  \"1f4-65f0c0de.0\"  ", 1 },
	{ "\"x\"", 0 },
	{ "\"1f4-65f0c0de.1\"", 0 },
	{ "\"1f4-65f0c0de.0", 0 },	/* unterminated */
	{ "1f4-65f0c0de.0", 0 },	/* unquoted */
	{ "\"1f4-65f0c0de.0\"x", 0 },	/* junk after a tag */
	{ "\"x\" junk, \"1f4-65f0c0de.0\"", 0 },
	{ "\"\"", 0 },
	{ "", 0 },
	{ "W/", 0 },
};

static void test_web_etag_matches_if_none_match(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof inm / sizeof inm[0]; i++)
		if (wvs_web_etag_matches(inm[i].header, "\"1f4-65f0c0de.0\"") !=
		    inm[i].match)
			fail_msg("If-None-Match: %s should %smatch",
				 inm[i].header, inm[i].match ? "" : "not ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_web_path_names_the_file_under_the_folder),
		cmocka_unit_test(test_web_path_refuses_escapes_hidden_and_odd_bytes),
		cmocka_unit_test(test_web_path_refuses_what_does_not_fit),
		cmocka_unit_test(test_web_inside_takes_the_folder_and_below_only),
		cmocka_unit_test(test_web_type_by_extension),
		cmocka_unit_test(test_web_etag_changes_with_size_and_time),
		cmocka_unit_test(test_web_etag_matches_if_none_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
