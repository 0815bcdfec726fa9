/*
 * The call URL:
 *   {base}/telephony/websocket/call?agent_id=ID[&from=NAME]
 *       [&metadata=B64URL][&synthetic=true]
 * Query values are percent-encoded (everything but A-Z a-z 0-9 - . _ ~);
 * metadata is a JSON object, written compact and encoded as unpadded
 * base64url.
 */
#ifndef WVOICE_URL_H
#define WVOICE_URL_H

#include <wvoice/export.h>

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WV_CALL_PATH "/telephony/websocket/call"

/* Sized by the program's header through wv_url_build(): see "Structs and
   the ABI" in version.h. Fields the program leaves out are NULL or false. */
struct wv_url_params {
	const char *base;     /* ws:// or wss:// (lower case) with host,
				 required; trailing slashes are dropped, and
				 so is the call path if it ends with it (the
				 whole endpoint, pasted) */
	const char *agent_id; /* required, non-empty */
	const char *from;     /* optional; NULL or "" leaves it out */
	const char *metadata; /* optional: text of a JSON object, without
				 duplicate keys; NULL or "" leaves it out */
	bool synthetic;	      /* adds synthetic=true */
};

/*
 * Writes the URL into dst (cap bytes, NUL included) and returns its length.
 * Errors: WV_ERR_URL (no base, a scheme other than ws/wss, no host, a query
 * or fragment in base, no agent_id), WV_ERR_JSON (metadata is not JSON),
 * WV_ERR_NOT_OBJECT (metadata is not an object), WV_ERR_NOSPACE, WV_ERR_NOMEM,
 * WV_ERR_INVALID (p NULL, or from a newer header with fields set that this
 * library does not know). Thread: any.
 */
WV_EXPORT int wv_url_build_sized(char *dst, size_t cap,
				 const struct wv_url_params *p, size_t size);
#define wv_url_build(dst, cap, p)                                              \
	wv_url_build_sized((dst), (cap), (p), sizeof(struct wv_url_params))

/* Where a ws:// or wss:// URL points. Sized through wv_url_split(): see
   "Structs and the ABI" in version.h. */
struct wv_url_parts {
	bool tls;	  /* wss:// */
	bool ipv6;	  /* host is an IPv6 literal (given in brackets) */
	int port;	  /* 80 or 443 unless given */
	char host[254];	  /* without brackets */
	const char *path; /* into url: "/..." with any query; "/" if none */
};

/*
 * Splits url into *out. Refused (WV_ERR_URL, and *out all zeros): NULL,
 * a scheme other than ws:// or wss:// (lower case), user info ("a@"), a
 * host with characters outside A-Z a-z 0-9 - . _ (or, in brackets, an
 * IPv6 literal of hex digits, ':' and '.'), a port outside 1-65535 or
 * empty, a query or fragment with no path before it. Thread: any.
 */
WV_EXPORT int wv_url_split_sized(const char *url, struct wv_url_parts *out,
				 size_t size);
#define wv_url_split(url, out)                                                 \
	wv_url_split_sized((url), (out), sizeof(struct wv_url_parts))

/*
 * Percent-encodes len bytes of src into dst (cap bytes, NUL included),
 * keeping only unreserved characters. Returns the length or WV_ERR_NOSPACE.
 */
WV_EXPORT int wv_url_encode_component(char *dst, size_t cap, const char *src,
				      size_t len);

#ifdef __cplusplus
}
#endif
#endif
