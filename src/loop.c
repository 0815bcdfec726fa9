/*
 * The loop: one lws context per wv_loop, on a libev loop of ours (lws's
 * own poll loop spins through sub-millisecond timer remainders; and our
 * own timers only: lws 4.1.6's libev glue never re-arms its timer for a
 * nearer deadline). See client_internal.h and wvoice.h.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_internal.h"
#include "resolve.h"
#include "alloc.h"

#define CLOSE_GRACE_US 1000000

int64_t wv__now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The application may destroy a call from any of its callbacks, which
   run deep inside our own code (an lws callback, a timer, wv__fail()). So
   every way in from lws, libev or the application enters and leaves, and
   a call destroyed in between is freed by the outermost leave, once
   nothing on the stack still uses it (libuv's uv_close() and curl's multi
   handle defer the same way). */
void wv__loop_enter(struct wv_loop *loop)
{
	if (loop)
		loop->depth++;
}

/* Frees the destroyed calls whose sockets are gone. */
static void reap(struct wv_loop *loop)
{
	struct wv_client *c, *next;

	loop->reap = false;
	for (c = loop->clients; c; c = next) {
		next = c->next;
		if (c->doomed && !c->wsi)
			wv__free_client(c);
	}
}

void wv__loop_leave(struct wv_loop *loop)
{
	if (loop && --loop->depth == 0 && loop->reap)
		reap(loop);
}

static void wake_due(struct ev_loop *ev, ev_timer *w, int revents)
{
	(void)ev;
	(void)w;
	(void)revents;
}

int wv_loop_create(struct wv_loop **out)
{
	struct lws_context_creation_info info;
	struct wv_loop *loop;
	void *loops[1];
	int rc;

	*out = NULL;
	loop = wv__calloc(1, sizeof *loop);
	if (!loop)
		return WV_ERR_NOMEM;
	loop->ev = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (!loop->ev) {
		wv_free(loop);
		return WV_ERR_INTERNAL;
	}
	ev_timer_init(&loop->tick, wv__clock_due, 0, 0);
	loop->tick.data = loop;
	ev_timer_init(&loop->wake, wake_due, 0, 0);
	loop->protocols[0] = (struct lws_protocols){
		.name = PROTOCOL_NAME,
		.callback = wv__transport_callback,
		.rx_buffer_size = 4096,
	};
	memset(&info, 0, sizeof info);
	loops[0] = loop->ev;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = loop->protocols;
	info.options = LWS_SERVER_OPTION_LIBEV |
		       LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.foreign_loops = loops;
	info.user = loop;
	info.gid = -1;
	info.uid = -1;
	info.timeout_secs = LWS_TIMEOUT_S;
	/* Room for the request line (the path), the offered key and an
	   X-API-Key header. */
	info.pt_serv_buf_size = 8192;
	info.max_http_header_data = 8192;
	rc = wv__resolver_create(&loop->resolver, loop->ev);
	if (rc == 0) {
		loop->ctx = lws_create_context(&info);
		if (!loop->ctx)
			rc = WV_ERR_INTERNAL;
	}
	if (rc < 0) {
		wv__resolver_destroy(loop->resolver);
		ev_loop_destroy(loop->ev);
		wv_free(loop);
		return rc;
	}
	*out = loop;
	return 0;
}

struct ev_loop *wv__loop_ev(struct wv_loop *loop)
{
	return loop->ev;
}

/* A call is going while it is connecting or connected, or its socket is
   still closing. */
static int going(struct wv_loop *loop)
{
	int n = 0;

	if (!loop->recount)
		return loop->n_going;
	for (const struct wv_client *c = loop->clients; c; c = c->next) {
		enum wv_status s = wv_call_status(c->call);

		if (c->wsi || (!c->doomed && (s == WV_STATUS_CONNECTING ||
					      s == WV_STATUS_CONNECTED)))
			n++;
	}
	loop->recount = false;
	loop->n_going = n;
	return n;
}

/* One turn of the loop, waiting at most until `until`. */
static void run_once(struct wv_loop *loop, int64_t until)
{
	int64_t now = wv__now_us();

	if (until != INT64_MAX) {
		ev_timer_set(&loop->wake,
			     until > now ? (double)(until - now) / 1e6 : 0, 0);
		ev_timer_start(loop->ev, &loop->wake);
	}
	ev_run(loop->ev, EVRUN_ONCE);
	ev_timer_stop(loop->ev, &loop->wake);
}

int wv_loop_run(struct wv_loop *loop, int timeout_ms)
{
	int64_t until = timeout_ms < 0 ? INT64_MAX
				       : wv__now_us() + (int64_t)timeout_ms * 1000;
	int n;

	if (loop->running)
		return WV_ERR_STATE;
	loop->running = true;
	if (timeout_ms == 0)
		ev_run(loop->ev, EVRUN_NOWAIT);
	else
		while (going(loop) && wv__now_us() < until)
			run_once(loop, until);
	n = going(loop);
	loop->running = false;
	return n;
}

static bool any_socket(const struct wv_loop *loop)
{
	for (const struct wv_client *c = loop->clients; c; c = c->next)
		if (c->wsi)
			return true;
	return false;
}

void wv_loop_destroy(struct wv_loop *loop)
{
	struct wv_client *c, *next;
	int64_t until;

	if (!loop)
		return;
	wv__loop_enter(loop);
	for (c = loop->clients; c; c = c->next)
		if (!c->doomed)
			wv__hangup(c);
	wv__loop_leave(loop);
	/* Time for the stops and closes to go out and be answered. */
	until = wv__now_us() + CLOSE_GRACE_US;
	while (any_socket(loop) && wv__now_us() < until)
		run_once(loop, until);
	lws_context_destroy(loop->ctx); /* what is left closes now */
	ev_timer_stop(loop->ev, &loop->tick);
	for (c = loop->clients; c; c = next) {
		next = c->next;
		wv__connect_stop(c);
		wv__clock_leave(c);
		c->loop = NULL;
		c->wsi = NULL;
		c->prev = c->next = NULL;
		if (c->doomed)
			wv__free_client(c);
	}
	wv__vhosts_free(loop);
	wv__resolver_destroy(loop->resolver);
	ev_loop_destroy(loop->ev);
	wv_free(loop);
}
