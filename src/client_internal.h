/*
 * Private to the client's own files: the loop, the call handle and the
 * functions they share. Each file is one concept:
 *
 *   client.c     the call handle: its config, controls, getters, and how
 *                a failure is reported and ends the call
 *   loop.c       the loop: libev under libwebsockets, running, and freeing
 *                what the application destroyed once nothing uses it
 *   clock.c      the media clock: every open call, 20 ms at a time
 *   connect.c    name lookup, dialling each address, the connect timeout
 *   transport.c  libwebsockets' callbacks: the handshake, messages in and
 *                out, closes
 *   tls.c        certificates, OpenSSL contexts and lws vhosts
 *
 * and, beside them, resolve.c (lookups off the loop) and phone.c (a loop
 * on a thread of its own, through client.h).
 */
#ifndef WV_CLIENT_INTERNAL_H
#define WV_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <ev.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>

#include <wvoice/capture.h>
#include <wvoice/message.h>
#include <wvoice/resampler.h>
#include <wvoice/url.h>
#include <wvoice/wvoice.h>

#include "client.h"

/* lws's own handshake timeouts, longer than ours so that ours decide. */
#define LWS_TIMEOUT_S 61
/* The media clock's phases: 1 ms each, over one 20 ms frame. */
#define WV__PHASES 20
/* The due times of a call's queued audio frames kept for audio_sent:
   more than the core's default limit of queued audio (50). */
#define WV__SENT_DUE 64
/* The lws protocol every call's socket is bound to. */
#define PROTOCOL_NAME "wvoice-client"

struct vhost_slot {
	struct lws_vhost *vh;
	SSL_CTX *ssl;	/* ours; NULL on the ws:// vhost */
	char *ca_file;	/* NULL: the system's store */
	bool tls;
	char name[24];	/* lws keeps the pointer */
};

struct wv_loop {
	struct ev_loop *ev;
	struct lws_context *ctx;
	struct lws_protocols protocols[2];
	struct vhost_slot *vhosts;
	size_t n_vhosts;
	struct wv_client *clients; /* every call made on it, and the doomed */
	struct wv__resolver *resolver; /* name lookups, off this thread */
	/* The media clock (clock.c): the open calls in WV__PHASES lists,
	   one per millisecond of the 20 ms frame; phase p's calls are next
	   due at phase_due[p]. One timer wakes for the next phase due. */
	ev_timer tick;
	struct wv_client *phase[WV__PHASES];
	unsigned phase_n[WV__PHASES];
	int64_t phase_due[WV__PHASES];
	int64_t grid0; /* phase p's frames fall on grid0 + p ms + k x 20 ms */
	ev_timer wake;		   /* bounds one wv_loop_run() */
	bool running;
	uint64_t n_made; /* calls made on it: each impairment's salt */
	/* How deep we are in code that may run the application's callbacks
	   (an lws callback, a timer, an API call): a call destroyed in there
	   is freed only once the outermost of them has returned. */
	int depth;
	bool reap; /* a doomed call may be freed at depth 0 */
	/* The count of calls going, redone only after a change: the loop
	   asks after every turn, and a turn may be one event of thousands. */
	int n_going;
	bool recount;
	int16_t pcm[WV_FRAME_SAMPLES];
	unsigned char tx[LWS_PRE + WV_MESSAGE_MAX];
};

struct wv_client {
	struct wv_loop *loop; /* NULL once the loop is gone */
	struct wv_client *prev, *next;
	struct wv_client_config cfg; /* strings point at our copies */
	struct wv_call_callbacks ucb; /* the application's; cleared on destroy */
	char *url, *key, *agent, *from, *metadata, *ca_file;
	char *full_url, *offer; /* offer: "apikey, KEY" */
	struct wv_url_parts addr;
	char hostport[272];	/* "host:port", for messages */
	char host_header[272];
	lws_retry_bo_t keepalive;
	struct wv_call *call;

	struct lws *wsi;
	struct lws_vhost *vhost;
	struct wv__lookup *lookup; /* the host's name, being looked up */
	struct addrinfo *addrs, *next_addr; /* its addresses, the next to try */
	ev_timer conn_timer; /* first the deferred start, then the timeout */
	ev_timer redial;     /* the next address, after one failed */
	int64_t pong_at;  /* the last sign of life lws's keepalive counts */
	bool connect_started, tcp_up, opened;
	bool in_connect;  /* inside lws_client_connect_via_info() */
	bool told_closed; /* wv_call_closed() was called */
	bool doomed;	  /* destroyed: freed once its socket is gone and
			     no code of ours on the stack uses it */
	bool mute_core;	  /* the core's own report of a failure we made */
	int fatal;	  /* a fatal error the core reported: the call ends */
	int close_code;	  /* to send from the writeable callback */
	char close_reason[64];
	int close_sent;	  /* the close code we sent */
	enum wv_closed_by closed_by; /* who started the closing handshake */

	int error, http_status;
	char last_error[256];
	int pending_code; /* the first diagnosis of a failing handshake */
	char pending[256];
	uint64_t bad_frames; /* binary frames: the core never sees them */

	struct wv_message *rx; /* the server's messages, put together */

	struct wv_audio *audio; /* wv_client_open_audio()'s devices */
	bool device_playout;	/* ... whose speaker reads the playout */

	unsigned src_rate, src_acc; /* source samples owed, in 1/1000 */
	float *src_buf;

	wv__client_observer *obs;
	void *obs_user;

	struct wv_client_timing timing;
	/* The media clock: its phase (-1: not clocked) and its list there. */
	int phase;
	struct wv_client *phase_prev, *phase_next;
	/* When each queued audio frame was due, oldest first: a ring. */
	int64_t sent_due[WV__SENT_DUE];
	unsigned sent_head, sent_n;
	uint64_t audio_queued; /* the core's count, last tick */
	struct wv__impair *impair; /* NULL: no impairment */
};

/* ---- loop.c ---- */

/* Around every way in from lws, libev or the application: a call
   destroyed in between is freed by the outermost leave(). NULL: no-op. */
void wv__loop_enter(struct wv_loop *loop);
void wv__loop_leave(struct wv_loop *loop);

/* ---- client.c ---- */

/* The loop's count of calls going is to be redone. */
void wv__recount(struct wv_client *c);
void wv__notify(struct wv_client *c, enum wv__client_note note);
/* Records an error of the call and tells the application. */
void wv__record_error(struct wv_client *c, int code, const char *msg);
/* Tells the core the socket has closed (once). */
void wv__tell_closed(struct wv_client *c, int code, const char *reason,
		     bool error);
/* by started the closing handshake, unless the other end already had. */
void wv__closing(struct wv_client *c, enum wv_closed_by by);
/* Ends the call with an error (once); close_code is the close it reports
   (0: none). */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
void wv__fail(struct wv_client *c, int code, int close_code, const char *fmt,
	      ...);
/* The first clear diagnosis of a failing handshake, said when it fails. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void wv__diagnose(struct wv_client *c, int code, const char *fmt, ...);
/* Sends stop and closes, or stops a call not yet open. */
int wv__hangup(struct wv_client *c);
void wv__free_client(struct wv_client *c);

/* ---- clock.c ---- */

/* The loop's media clock timer (ev_timer callback): it runs while a call
   is clocked and stops by itself when none is. */
void wv__clock_due(struct ev_loop *ev, ev_timer *w, int revents);
/* A call joins the clock as it opens; and leaves it (done by the clock
   itself when the call stops being clocked, and when it is freed). */
void wv__clock_join(struct wv_client *c);
void wv__clock_leave(struct wv_client *c);
/* An audio frame of the call's has just been written: says how late. */
void wv__clock_sent(struct wv_client *c, int64_t now);

/* ---- connect.c ---- */

/* The connect timer (first the deferred start, then the timeout) and the
   retry of the host's next address (ev_timer callbacks). */
void wv__connect_due(struct ev_loop *ev, ev_timer *w, int revents);
void wv__redial_due(struct ev_loop *ev, ev_timer *w, int revents);
/* Whatever was under way to connect stops. */
void wv__connect_stop(struct wv_client *c);

/* ---- transport.c ---- */

int wv__transport_callback(struct lws *wsi, enum lws_callback_reasons reason,
			   void *user, void *in, size_t len);
/* Asks for the writeable callback when there is something to send. */
void wv__kick(struct wv_client *c);
/* Takes the socket away from the call: lws calls back no more for it. */
struct lws *wv__detach(struct wv_client *c);
/* Closes a socket detached from its call. */
void wv__kill_socket(const struct wv_loop *loop, struct lws *wsi);
/* Ends the call (close 1011) if the core reported a fatal error. Call it
   after the core returns, never from inside one of its callbacks. */
void wv__end_if_fatal(struct wv_client *c);

/* ---- impair.c ---- */

/* Checks an impairment's settings: 0, or WV_ERR_INVALID with why. */
int wv__impair_check(const struct wv_impairment *im, char *err, size_t cap);
/* Gives the call its impairment (c->impair); salt varies the draws from
   one call to the next. 0 or WV_ERR_NOMEM. */
int wv__impair_create(struct wv_client *c, const struct wv_impairment *cfg,
		      uint64_t salt);
void wv__impair_destroy(struct wv_client *c);
/* A message from the server: held (copied) until its time. 0 or
   WV_ERR_NOMEM. */
int wv__impair_receive(struct wv_client *c, const char *text, size_t len);
/* Hands the call every message held, now (the socket is closing: what
   was sent before the close arrives before it). */
void wv__impair_flush_in(struct wv_client *c);
/* Whether the frame at the head of the call's queue must wait; if so, a
   timer asks for the writeable callback when it may go. */
bool wv__impair_hold_out(struct wv_client *c, bool audio);

/* ---- tls.c ---- */

/* The vhost for a call: one for ws://, one per CA file for wss://. */
int wv__vhost_for(struct wv_loop *loop, struct wv_client *c,
		  struct lws_vhost **out);
/* Frees the vhosts' OpenSSL contexts, once lws is gone. */
void wv__vhosts_free(struct wv_loop *loop);
/* Says why a TLS handshake failed, if msg (lws's words) is about TLS; 0
   if it is not. */
bool wv__tls_failed(struct wv_client *c, struct lws *wsi, const char *msg);

#endif
