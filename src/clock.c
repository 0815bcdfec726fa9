/*
 * The media clock: every open call is clocked every 20 ms (source in,
 * playout out, tick, send) on a grid of its own, fixed when it opens, so
 * a long call does not drift. The calls are spread over WV__PHASES
 * one-millisecond phases of the 20 ms frame, each call joining the least
 * used, so that thousands of calls do not all send in the same
 * millisecond, and the loop wakes once per phase due rather than once per
 * call. See "The media clock" in wvoice.h and client_internal.h.
 */
#include <string.h>

#include "client_internal.h"

#define TICK_US 20000
#define PHASE_US (TICK_US / WV__PHASES)
/* libev rounds its waits up to whole milliseconds: a phase due within
   this is done now rather than after another wait. */
#define SLACK_US 100
/* After a stall, at most this many frames of a call are caught up at
   once (200 ms); past that its frames are skipped, its grid kept. */
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

/* The audio frames the core queued this tick were due at `due`: kept,
   oldest first, to say how late each goes (see wv__clock_sent()). */
static void note_queued(struct wv_client *c, int64_t due)
{
	struct wv_call_stats st;
	uint64_t n;

	wv_call_stats(c->call, &st);
	n = st.audio_frames_sent - c->audio_queued;
	c->audio_queued = st.audio_frames_sent;
	while (n--) {
		if (c->sent_n == WV__SENT_DUE) { /* cannot be: the core holds
						    fewer; the oldest goes */
			c->sent_head = (c->sent_head + 1) % WV__SENT_DUE;
			c->sent_n--;
		}
		c->sent_due[(c->sent_head + c->sent_n++) % WV__SENT_DUE] = due;
	}
}

void wv__clock_sent(struct wv_client *c, int64_t now)
{
	int64_t due;

	if (!c->sent_n)
		return;
	due = c->sent_due[c->sent_head];
	c->sent_head = (c->sent_head + 1) % WV__SENT_DUE;
	c->sent_n--;
	if (c->cfg.audio_sent)
		c->cfg.audio_sent(c->cfg.user, now > due ? now - due : 0);
}

/* 20 ms of one call, due at `due`: the source in, the playout out, marks
   answered, and the frames this makes sent. */
static void clock_call(struct wv_loop *loop, struct wv_client *c, int64_t due,
		       int64_t now)
{
	size_t n;

	c->src_acc += c->src_rate * (TICK_US / 1000);
	n = c->src_acc / 1000;
	c->src_acc %= 1000;
	if (c->cfg.source.read &&
	    c->cfg.source.read(c->cfg.source.user, c->src_buf, n) < 0)
		memset(c->src_buf, 0, n * sizeof *c->src_buf);
	wv_call_write_audio(c->call, c->src_buf, n);
	note_queued(c, due);
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

/* One frame of every call in phase p. A call that is no longer clocked
   leaves (for good: a call is clocked once, from its opening on). */
static void tick_phase(struct wv_loop *loop, int p, int64_t due, int64_t now)
{
	struct wv_client *c, *next;

	for (c = loop->phase[p]; c; c = next) {
		next = c->phase_next;
		if (!clocked(c))
			wv__clock_leave(c);
		else if (due >= c->timing.grid) /* not before its first */
			clock_call(loop, c, due, now);
	}
}

static void run_phase(struct wv_loop *loop, int p, int64_t now)
{
	int done = 0;
	int64_t behind;

	while (loop->phase_n[p] && loop->phase_due[p] <= now + SLACK_US &&
	       done < MAX_CATCHUP) {
		tick_phase(loop, p, loop->phase_due[p], now);
		loop->phase_due[p] += TICK_US;
		done++;
	}
	if (!loop->phase_n[p] || loop->phase_due[p] > now + SLACK_US)
		return;
	behind = (now + SLACK_US - loop->phase_due[p]) / TICK_US + 1;
	loop->phase_due[p] += behind * TICK_US;
	for (struct wv_client *c = loop->phase[p]; c; c = c->phase_next)
		c->timing.ticks_skipped += (uint64_t)behind;
}

/* The timer, for the next phase due; stopped while no call is clocked. */
static void arm(struct wv_loop *loop, int64_t now)
{
	int64_t next = INT64_MAX;

	ev_timer_stop(loop->ev, &loop->tick);
	for (int p = 0; p < WV__PHASES; p++)
		if (loop->phase_n[p] && loop->phase_due[p] < next)
			next = loop->phase_due[p];
	if (next == INT64_MAX)
		return;
	ev_timer_set(&loop->tick, next > now ? (double)(next - now) / 1e6 : 0,
		     0);
	ev_timer_start(loop->ev, &loop->tick);
}

void wv__clock_due(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct wv_loop *loop = w->data;
	int64_t now = wv__now_us();

	(void)ev;
	(void)revents;
	wv__loop_enter(loop);
	for (int p = 0; p < WV__PHASES; p++)
		run_phase(loop, p, now);
	wv__loop_leave(loop);
	arm(loop, wv__now_us());
}

/* The least used phase; of those, the one due soonest (an idle phase is
   due at its next place on the grid). */
static int pick_phase(struct wv_loop *loop, int64_t now)
{
	int best = 0;

	for (int p = 0; p < WV__PHASES; p++) {
		if (!loop->phase_n[p]) {
			int64_t first = loop->grid0 + p * PHASE_US;
			int64_t k = now > first ? (now - first + TICK_US - 1) /
							  TICK_US
						: 0;

			loop->phase_due[p] = first + k * TICK_US;
		}
		if (loop->phase_n[p] < loop->phase_n[best] ||
		    (loop->phase_n[p] == loop->phase_n[best] &&
		     loop->phase_due[p] < loop->phase_due[best]))
			best = p;
	}
	return best;
}

void wv__clock_join(struct wv_client *c)
{
	struct wv_loop *loop = c->loop;
	int64_t now = wv__now_us();
	int p;

	if (c->phase >= 0)
		return;
	if (!loop->grid0)
		loop->grid0 = now;
	p = pick_phase(loop, now);
	c->phase = p;
	c->phase_prev = NULL;
	c->phase_next = loop->phase[p];
	if (c->phase_next)
		c->phase_next->phase_prev = c;
	loop->phase[p] = c;
	loop->phase_n[p]++;
	/* Its first frame: the phase's next that is not already past. */
	c->timing.grid = loop->phase_due[p];
	while (c->timing.grid < now)
		c->timing.grid += TICK_US;
	if (!ev_is_active(&loop->tick) ||
	    loop->phase_due[p] < now + (int64_t)(ev_timer_remaining(loop->ev,
								 &loop->tick) *
						 1e6))
		arm(loop, now);
}

void wv__clock_leave(struct wv_client *c)
{
	struct wv_loop *loop = c->loop;

	if (c->phase < 0)
		return;
	if (loop) {
		if (c->phase_prev)
			c->phase_prev->phase_next = c->phase_next;
		else
			loop->phase[c->phase] = c->phase_next;
		if (c->phase_next)
			c->phase_next->phase_prev = c->phase_prev;
		loop->phase_n[c->phase]--;
	}
	c->phase = -1;
	c->phase_prev = c->phase_next = NULL;
}
