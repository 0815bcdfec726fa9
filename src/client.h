/*
 * Private to the client: what src/client.c shares with src/phone.c (the
 * managed phone is a loop with one call on a thread of its own) and with
 * the tests.
 */
#ifndef WV_CLIENT_PRIVATE_H
#define WV_CLIENT_PRIVATE_H

#include <stdbool.h>

#include <wvoice/wvoice.h>

struct ev_loop;

/* Where a ws:// or wss:// URL points. */
struct wv__url_parts {
	bool tls;
	bool ipv6;	 /* host is an IPv6 literal (given in brackets) */
	int port;	 /* 80 or 443 unless given */
	char host[254];	 /* without brackets */
	const char *path; /* into the URL: "/..." with any query; "/" if none */
};

/*
 * Splits url. Refused (WV_ERR_URL): another scheme, user info ("a@"), a
 * host with characters outside A-Z a-z 0-9 - . _ (or, in brackets, an
 * IPv6 literal of hex digits, ':' and '.'), a port outside 1-65535 or
 * empty. Thread: any.
 */
int wv__url_split(const char *url, struct wv__url_parts *out);

/* What a call tells its observer, on the loop's thread. */
enum wv__client_note {
	WV__NOTE_STATUS,  /* status or end reason changed */
	WV__NOTE_ERROR,	  /* last error changed */
	WV__NOTE_COMM_ID, /* the communication id arrived */
	WV__NOTE_TICK,	  /* 20 ms of audio went by (stats changed) */
	WV__NOTE_CLOSED,  /* the socket closed: the close code is known */
};

typedef void wv__client_observer(void *user, struct wv_client *c,
				 enum wv__client_note note);

/* One observer per call, beside the application's callbacks; NULL stops. */
void wv__client_observe(struct wv_client *c, wv__client_observer *fn,
			void *user);

/* The libev loop under a wv_loop, for watchers of the phone's own. */
struct ev_loop *wv__loop_ev(struct wv_loop *loop);

/* Monotonic microseconds, the clock every call on a loop is given. */
int64_t wv__now_us(void);

#endif
