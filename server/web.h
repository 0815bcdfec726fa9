/*
 * The browser client's files, the decisions without the socket: which
 * file a request path names, whether a resolved file is still inside its
 * folder, its Content-Type, its entity tag and whether a request's
 * If-None-Match already has it. Server-internal; the files are served in
 * web.c (see server_internal.h). Thread: any, for all of them.
 */
#ifndef WVS_WEB_H
#define WVS_WEB_H

#include <stddef.h>
#include <stdint.h>

/* Longest request path taken (a web folder holds a few short names). */
#define WVS_WEB_PATH_MAX 512
/* Room for an entity tag from wvs_web_etag(), quotes and NUL included. */
#define WVS_WEB_ETAG_MAX 64

/*
 * The file a request path names, relative to the web folder, into out:
 * "/" and any path ending in '/' name that folder's index.html
 * ("/" -> "index.html", "/a/" -> "a/index.html", "/a.js" -> "a.js").
 * The path is as libwebsockets gives it: percent-decoded, without the
 * query. Checked by its bytes alone, before the file system is asked:
 * returns 0, or WV_ERR_INVALID for a path that does not start with '/',
 * has an empty segment ("//"), a segment "." or "..", a segment starting
 * with '.' (hidden files: .git, an editor's .swp), a backslash, a byte
 * below 0x20 or 0x7f, or whose result does not fit in outlen.
 */
int wvs_web_path(const char *path, char *out, size_t outlen);

/*
 * Whether path (resolved by realpath()) is root or inside it; root is
 * itself resolved, without a trailing '/' unless it is "/". A symlink in
 * the folder pointing out of it resolves outside, and is refused.
 */
int wvs_web_inside(const char *root, const char *path);

/*
 * The Content-Type for a file name, by its extension, in any case:
 * .html text/html, .js and .mjs text/javascript, .css text/css (each with
 * charset=utf-8), .wasm application/wasm, .json application/json, .png,
 * .svg, .ico, .wav; anything else application/octet-stream. Static text.
 */
const char *wvs_web_type(const char *name);

/*
 * A strong entity tag for a file of this size and modification time,
 * quoted: "\"1f4-65f0c0de.3b9aca0\"" (hex). A file rewritten changes it
 * even within the same second, as the time is taken to the nanosecond.
 * out holds WVS_WEB_ETAG_MAX.
 */
void wvs_web_etag(char *out, size_t outlen, uint64_t size, int64_t mtime_s,
		  long mtime_ns);

/*
 * Whether an If-None-Match header's value matches etag (as made by
 * wvs_web_etag()): "*", or one of its comma-separated entity tags, weak
 * (W/"...") or strong, by RFC 9110's weak comparison. A list that does
 * not parse matches nothing, so the file is sent.
 */
int wvs_web_etag_matches(const char *if_none_match, const char *etag);

#endif
