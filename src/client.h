/*
 * Private to the client: what its files (see client_internal.h) share
 * with src/phone.c (the managed phone is a loop with one call on a thread
 * of its own) and with the tests.
 */
#ifndef WV_CLIENT_PRIVATE_H
#define WV_CLIENT_PRIVATE_H

#include <stdbool.h>

#include <wvoice/wvoice.h>

struct ev_loop;

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
