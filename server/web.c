/*
 * The browser client's files on the call port: GET and HEAD of the web
 * folders' files (the first folder that has the file wins), with their
 * type, an entity tag the browser revalidates on every load, and the
 * page's security headers. See web.h for the checks that keep a request
 * inside the folders, and server_internal.h.
 *
 * Files go out through lws_serve_http_file(): it sends one buffer at a
 * time from the writeable callback, so a slow reader holds its own socket,
 * never the loop, and lws's timeout (ten seconds without progress) ends
 * one that stops reading. Before it, on the loop's thread, a request costs
 * a realpath() and a stat() per folder tried: microseconds on a local disk.
 */
#define _XOPEN_SOURCE 700 /* realpath() */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "errbuf.h"
#include "server_internal.h"
#include "web.h"

/*
 * What the page may do, and nothing more:
 * - scripts, the audio worklets' modules and the worker only from this
 *   server (script-src, worker-src 'self'; no inline script), and
 *   'wasm-unsafe-eval' to compile the core's WebAssembly from its bytes
 *   (not eval: 'unsafe-eval' stays off);
 * - connect-src: 'self' and ws:, wss: for the call's socket ('self'
 *   covers the same host's ws:// in CSP3, but not in every browser in
 *   use), and http:, https: as the page may call another server (its
 *   Server field) and asks that server over HTTP why a call failed. An
 *   injected script could reach any host through ws: all the same, so
 *   the line that matters is script-src;
 * - styles from files only (style-src 'self': no style attribute or
 *   element in the markup; the CSSOM from a script is not affected),
 *   images from here or data: URLs;
 * - no plugins, no <base>, no form sent anywhere (a form posted before
 *   its script ran would put the API key in an address), framed only by
 *   this server's own pages.
 * Every file gets it: a worker's policy is the one sent with its script.
 * No COOP/COEP: the page must work without cross-origin isolation, as
 * applications embedding it have none.
 */
#define WEB_CSP                                                             \
	"default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; "        \
	"worker-src 'self'; connect-src 'self' ws: wss: http: https:; "     \
	"img-src 'self' data:; style-src 'self'; object-src 'none'; "       \
	"base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

/* ---- the decisions (web.h) ---- */

int wvs_web_path(const char *path, char *out, size_t outlen)
{
	const char *p = path, *seg;
	size_t n;

	if (!path || *p != '/')
		return WV_ERR_INVALID;
	p++;
	/* Each segment up to the next '/' or the end; the last may be empty
	   ("/" or "/a/"), which names the folder's index.html. */
	for (seg = p;; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '/' || ch == '\0') {
			if (p == seg && ch == '/')
				return WV_ERR_INVALID; /* "//" */
			if (p > seg && *seg == '.')
				return WV_ERR_INVALID; /* ".", "..", hidden */
			if (ch == '\0')
				break;
			seg = p + 1;
		} else if (ch < 0x20 || ch == 0x7f || ch == '\\') {
			return WV_ERR_INVALID;
		}
	}
	n = (size_t)(p - (path + 1));
	if (n >= outlen)
		return WV_ERR_INVALID;
	memcpy(out, path + 1, n);
	out[n] = '\0';
	if (n == 0 || out[n - 1] == '/') {
		if (n + sizeof "index.html" > outlen)
			return WV_ERR_INVALID;
		memcpy(out + n, "index.html", sizeof "index.html");
	}
	return 0;
}

int wvs_web_inside(const char *root, const char *path)
{
	size_t n = strlen(root);

	if (n == 1 && root[0] == '/')
		return path[0] == '/';
	return strncmp(path, root, n) == 0 &&
	       (path[n] == '\0' || path[n] == '/');
}

const char *wvs_web_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ "html", "text/html; charset=utf-8" },
		{ "js", "text/javascript; charset=utf-8" },
		{ "mjs", "text/javascript; charset=utf-8" },
		{ "css", "text/css; charset=utf-8" },
		{ "wasm", "application/wasm" },
		{ "json", "application/json" },
		{ "png", "image/png" },
		{ "svg", "image/svg+xml" },
		{ "ico", "image/x-icon" },
		{ "wav", "audio/wav" },
	};
	const char *slash = strrchr(name, '/');
	const char *dot = strrchr(slash ? slash + 1 : name, '.');

	for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
		if (strcasecmp(dot + 1, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

void wvs_web_etag(char *out, size_t outlen, uint64_t size, int64_t mtime_s,
		  long mtime_ns)
{
	snprintf(out, outlen, "\"%" PRIx64 "-%" PRIx64 ".%lx\"", size,
		 (uint64_t)mtime_s, (unsigned long)mtime_ns);
}

int wvs_web_etag_matches(const char *if_none_match, const char *etag)
{
	const char *p = if_none_match;

	for (;;) {
		const char *tag;
		size_t len;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		if (*p == '*')
			return 1;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"')
			return 0;
		tag = p;
		p = strchr(p + 1, '"');
		if (!p)
			return 0;
		len = (size_t)(++p - tag);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != ',' && *p != '\0')
			return 0;
		if (len == strlen(etag) && strncmp(tag, etag, len) == 0)
			return 1;
	}
}

/* ---- the folders ---- */

/* The folders found (which 1) or not (0), comma-separated, into buf. */
static void list_dirs(char *buf, size_t cap, const struct wvs_server *srv,
		      const int *found, int which)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < srv->cfg.n_web_dirs && used < cap; i++) {
		int n;

		if (found[i] != which)
			continue;
		n = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "",
			     srv->cfg.web_dirs[i]);
		used += n < 0 ? 0 : (size_t)n;
	}
}

/* One line at start: what is served, and what was not found. */
static void log_folders(const struct wvs_server *srv, const int *found)
{
	char served[400], missing[400];

	list_dirs(served, sizeof served, srv, found, 1);
	list_dirs(missing, sizeof missing, srv, found, 0);
	if (!srv->n_web_roots)
		wvs_logf(srv, "web: no folder to serve (not found: %s): GET / "
			 "answers 404; --web DIR serves one", missing);
	else if (missing[0])
		wvs_logf(srv, "web: serving %s; not found: %s", served,
			 missing);
	else if (!srv->cfg.quiet)
		wvs_logf(srv, "web: serving %s", served);
}

/* Why dir cannot be served (an errno), or 0; *real is its resolved
   name then, which the caller frees. */
static int resolve_root(const char *dir, char **real)
{
	struct stat st;
	int e = 0;

	*real = realpath(dir, NULL);
	if (!*real)
		e = errno;
	else if (stat(*real, &st) != 0)
		e = errno;
	else if (!S_ISDIR(st.st_mode))
		e = ENOTDIR;
	if (e) {
		free(*real);
		*real = NULL;
	}
	return e;
}

int wvs_web_init(struct wvs_server *srv, char *err, size_t errlen)
{
	size_t n = srv->cfg.n_web_dirs;
	int *found;
	int rc = 0;

	if (n == 0)
		return 0;
	srv->web_roots = calloc(n, sizeof *srv->web_roots);
	found = calloc(n, sizeof *found);
	if (!srv->web_roots || !found) {
		free(found);
		return WV_ERR_NOMEM;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *dir = srv->cfg.web_dirs[i];
		char *real;
		int e = resolve_root(dir, &real);

		if (!e) {
			srv->web_roots[srv->n_web_roots++] = real;
			found[i] = 1;
		} else if (!srv->cfg.web_optional) {
			rc = wvs_errorf(err, errlen, WV_ERR_INVALID,
					"cannot serve web folder %s: %s", dir,
					strerror(e));
		}
	}
	if (rc == 0)
		log_folders(srv, found);
	free(found);
	return rc;
}

void wvs_web_cleanup(struct wvs_server *srv)
{
	for (size_t i = 0; i < srv->n_web_roots; i++)
		free(srv->web_roots[i]);
	free(srv->web_roots);
	srv->web_roots = NULL;
	srv->n_web_roots = 0;
}

/* The file rel names in the first folder that has it as a regular file,
   resolved (symlinks followed) and still inside that folder, with its
   stat; NULL if none. The caller frees it. A FIFO or a device is no file
   here: opening one could block the loop. */
static char *find_file(const struct wvs_server *srv, const char *rel,
		       struct stat *st)
{
	for (size_t i = 0; i < srv->n_web_roots; i++) {
		const char *root = srv->web_roots[i];
		char joined[PATH_MAX], *real;
		int n = snprintf(joined, sizeof joined, "%s/%s", root, rel);

		if (n < 0 || (size_t)n >= sizeof joined)
			continue;
		real = realpath(joined, NULL);
		if (real && wvs_web_inside(root, real) && stat(real, st) == 0 &&
		    S_ISREG(st->st_mode))
			return real;
		free(real);
	}
	return NULL;
}

/* ---- the answers ---- */

static int add_header(struct lws *wsi, const char *name, const char *value,
		      unsigned char **p, unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
					   (const unsigned char *)value,
					   (int)strlen(value), p, end);
}

/* What every answer with a file (or its 304) carries: revalidate each
   time (no-cache: the page changes under a developer, and a 304 is
   cheap), the tag to revalidate with, and the page's protections. */
static int add_file_headers(struct lws *wsi, const char *etag,
			    unsigned char **p, unsigned char *end)
{
	return add_header(wsi, "cache-control:", "no-cache", p, end) ||
	       add_header(wsi, "etag:", etag, p, end) ||
	       add_header(wsi, "content-security-policy:", WEB_CSP, p, end) ||
	       add_header(wsi, "x-content-type-options:", "nosniff", p, end) ||
	       add_header(wsi, "referrer-policy:", "no-referrer", p, end);
}

static int not_found(struct lws *wsi)
{
	if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL))
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* Whether the request's If-None-Match names this version of the file. */
static int unchanged(struct lws *wsi, const char *etag)
{
	char inm[512];

	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH) <= 0 ||
	    lws_hdr_copy(wsi, inm, sizeof inm,
			 WSI_TOKEN_HTTP_IF_NONE_MATCH) < 0)
		return 0;
	return wvs_web_etag_matches(inm, etag);
}

/* 304 without a body, and without a Content-Length (it would claim the
   file's length is 0). */
static int not_modified(struct lws *wsi, const char *etag)
{
	unsigned char buf[LWS_PRE + 1024];
	unsigned char *start = buf + LWS_PRE, *p = start;
	unsigned char *end = buf + sizeof buf - 1;

	if (lws_add_http_header_status(wsi, HTTP_STATUS_NOT_MODIFIED, &p,
				       end) ||
	    add_file_headers(wsi, etag, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int send_file(struct lws *wsi, const char *file, const char *rel,
		     const char *etag)
{
	unsigned char hdr[1024], *p = hdr, *end = hdr + sizeof hdr - 1;
	int n;

	if (add_file_headers(wsi, etag, &p, end))
		return -1;
	*p = '\0';
	/* It answers 404 itself if the file went away since; a HEAD ends
	   after the headers; a GET's end is LWS_CALLBACK_HTTP_FILE_COMPLETION. */
	n = lws_serve_http_file(wsi, file, wvs_web_type(rel), (char *)hdr,
				lws_ptr_diff(p, hdr));
	if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
		return -1;
	return 0;
}

/* Whether uri is all of the request's path: lws decodes %00 into the
   path and it ends the string there ("/%00/../x" reads as "/"). */
static int whole_path(struct lws *wsi, const char *uri)
{
	enum lws_token_indexes t = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI)
					   ? WSI_TOKEN_GET_URI
					   : WSI_TOKEN_HEAD_URI;

	return (size_t)lws_hdr_total_length(wsi, t) == strlen(uri);
}

int wvs_web_request(struct wvs_server *srv, struct lws *wsi, const char *uri)
{
	char rel[WVS_WEB_PATH_MAX], etag[WVS_WEB_ETAG_MAX], *file;
	struct stat st;
	int rc;

	if (!srv->n_web_roots)
		return not_found(wsi);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0 &&
	    lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) <= 0)
		return wvs_http_respond(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED,
					"text/plain; charset=utf-8",
					"method not allowed\n", "GET, HEAD");
	if (!uri || !whole_path(wsi, uri) ||
	    wvs_web_path(uri, rel, sizeof rel) < 0 ||
	    !(file = find_file(srv, rel, &st)))
		return not_found(wsi);
	wvs_web_etag(etag, sizeof etag, (uint64_t)st.st_size,
		     (int64_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	rc = unchanged(wsi, etag) ? not_modified(wsi, etag)
				  : send_file(wsi, file, rel, etag);
	free(file);
	return rc;
}
