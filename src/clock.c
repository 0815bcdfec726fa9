/*
 * The media clock: one loop-wide 20 ms timer clocks every open call at
 * once (source in, playout out, tick, send), on a grid fixed at its start,
 * so a long call does not drift and many calls cost one wake-up per 20 ms.
 * See client_internal.h.
 */
#include <string.h>

#include "client_internal.h"

#define TICK_US 20000
/* epoll waits whole milliseconds: a tick due within one is done now. */
#define SLACK_US 1000
/* After a stall, at most this many ticks are caught up at once (200 ms);
   past that the grid starts again from now. */
#define MAX_CATCHUP 10

/* An open call, and one whose agent has hung up while its last words
   play, socket or none. */
static bool clocked(const struct wv_client *c)
{
	enum wv_status s = wv_call_status(c->call);

	if (s != WV_STATUS_CONNECTING && s != WV_STATUS_CONNECTED)
		return false;
	return c->opened &&
	       ((c->wsi && !c->told_closed) || wv_call_stopping(c->call));
}

/* 20 ms of one call: the source in, the playout out, marks answered, and
   the frames this makes sent. */
static void clock_call(struct wv_loop *loop, struct wv_client *c, int64_t now)
{
	size_t n;

	c->src_acc += c->src_rate * (TICK_US / 1000);
	n = c->src_acc / 1000;
	c->src_acc %= 1000;
	if (c->cfg.source.read &&
	    c->cfg.source.read(c->cfg.source.user, c->src_buf, n) < 0)
		memset(c->src_buf, 0, n * sizeof *c->src_buf);
	wv_call_write_audio(c->call, c->src_buf, n);
	if (!c->device_playout) {
		wv_playout_read(wv_call_playout(c->call), loop->pcm,
				WV_FRAME_SAMPLES);
		if (c->cfg.sink.write)
			c->cfg.sink.write(c->cfg.sink.user, loop->pcm,
					  WV_FRAME_SAMPLES);
	}
	wv_call_tick(c->call, now);
	wv__end_if_fatal(c);
	wv__notify(c, WV__NOTE_TICK);
	wv__kick(c);
}

static size_t tick_all(struct wv_loop *loop, int64_t now)
{
	size_t n = 0;

	for (struct wv_client *c = loop->clients; c; c = c->next)
		if (clocked(c)) {
			clock_call(loop, c, now);
			n++;
		}
	return n;
}

static int64_t next_tick(const struct wv_loop *loop)
{
	return loop->tick_base + (int64_t)loop->tick_n * TICK_US;
}

void wv__clock_due(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct wv_loop *loop = w->data;
	int64_t now = wv__now_us();
	size_t live = 0;
	int done = 0;

	(void)revents;
	wv__loop_enter(loop);
	while (next_tick(loop) <= now + SLACK_US && done < MAX_CATCHUP) {
		live = tick_all(loop, now);
		loop->tick_n++;
		done++;
	}
	wv__loop_leave(loop);
	if (next_tick(loop) <= now + SLACK_US) {
		loop->tick_base = now;
		loop->tick_n = 1;
	}
	if (done && !live)
		return; /* nothing open: the clock stops until a call opens */
	ev_timer_set(w, (double)(next_tick(loop) - now) / 1e6, 0);
	ev_timer_start(ev, w);
}

void wv__clock_start(struct wv_loop *loop)
{
	if (ev_is_active(&loop->tick))
		return;
	loop->tick_base = wv__now_us();
	loop->tick_n = 1;
	ev_timer_set(&loop->tick, TICK_US / 1e6, 0);
	ev_timer_start(loop->ev, &loop->tick);
}
