/*
 * Impairment: a bad network between a call and its server, for tests
 * (see "Impairment" in wvoice.h). Each message either way is given a
 * release time, its arrival (or, for the caller's audio, its place on the
 * media clock's grid) plus the delay and a draw of the jitter, pushed out
 * of any stall, and never before the message ahead of it: order is kept,
 * as on one TCP connection. What comes in is held in a FIFO and handed to
 * the call at its time; what goes out waits at the head of the call's
 * queue. See client_internal.h.
 */
#include <string.h>

#include "alloc.h"
#include "client_internal.h"

#define IMPAIR_MAX_MS 60000

struct held {
	char *text;
	size_t len;
	int64_t at;
};

struct wv__impair {
	struct wv_impairment cfg;
	uint64_t rng;
	int64_t stall_phase_us;
	int64_t out_last, in_last; /* the last release each way */
	int64_t out_at;		   /* the front frame's release, or 0 */
	ev_timer out_timer, in_timer;
	struct held *in;	   /* a ring of in_cap */
	size_t in_head, in_n, in_cap;
};

int wv__impair_check(const struct wv_impairment *im, char *err, size_t cap)
{
	char why[128] = "";

	if (im->delay_ms > IMPAIR_MAX_MS || im->jitter_ms > IMPAIR_MAX_MS ||
	    im->stall_ms > IMPAIR_MAX_MS || im->stall_period_ms > IMPAIR_MAX_MS)
		snprintf(why, sizeof why, "each at most %d ms", IMPAIR_MAX_MS);
	else if (im->stall_ms && im->stall_ms >= im->stall_period_ms)
		snprintf(why, sizeof why, "a stall of %u ms needs a longer "
			 "period than %u ms", im->stall_ms, im->stall_period_ms);
	if (!why[0])
		return 0;
	if (err && cap)
		snprintf(err, cap, "impair: %s", why);
	return WV_ERR_INVALID;
}

/* splitmix64: small, and the same numbers from the same seed anywhere. */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* When a message that left (or arrived) at t may go on. */
static int64_t release(struct wv__impair *im, int64_t t, int64_t *last)
{
	int64_t r = t + (int64_t)im->cfg.delay_ms * 1000;

	if (im->cfg.jitter_ms)
		r += (int64_t)(next_rand(&im->rng) %
			       ((uint64_t)im->cfg.jitter_ms * 1000 + 1));
	if (im->cfg.stall_ms) {
		int64_t period = (int64_t)im->cfg.stall_period_ms * 1000;
		int64_t x = (r - im->stall_phase_us) % period;

		if (x < 0)
			x += period;
		if (x < (int64_t)im->cfg.stall_ms * 1000)
			r += (int64_t)im->cfg.stall_ms * 1000 - x;
	}
	if (r < *last)
		r = *last;
	*last = r;
	return r;
}

static void out_due(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct wv_client *c = w->data;

	(void)ev;
	(void)revents;
	wv__loop_enter(c->loop);
	wv__kick(c);
	wv__loop_leave(c->loop);
}

static void arm(struct wv_client *c, ev_timer *w, int64_t at)
{
	int64_t now = wv__now_us();

	ev_timer_stop(c->loop->ev, w);
	ev_timer_set(w, at > now ? (double)(at - now) / 1e6 : 0, 0);
	ev_timer_start(c->loop->ev, w);
}

/* Hands the call what is due of what came in. */
static void deliver(struct wv_client *c, int64_t until)
{
	struct wv__impair *im = c->impair;

	while (im->in_n && im->in[im->in_head].at <= until && !c->told_closed) {
		struct held h = im->in[im->in_head];

		im->in_head = (im->in_head + 1) % im->in_cap;
		im->in_n--;
		wv_call_receive(c->call, h.text, h.len, wv__now_us());
		wv_free(h.text);
		wv__end_if_fatal(c);
		wv__kick(c);
	}
	if (im->in_n && !c->told_closed)
		arm(c, &im->in_timer, im->in[im->in_head].at);
}

static void in_due(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct wv_client *c = w->data;

	(void)ev;
	(void)revents;
	wv__loop_enter(c->loop);
	deliver(c, wv__now_us());
	wv__loop_leave(c->loop);
}

int wv__impair_create(struct wv_client *c, const struct wv_impairment *cfg,
		      uint64_t salt)
{
	struct wv__impair *im = wv__calloc(1, sizeof *im);

	if (!im)
		return WV_ERR_NOMEM;
	im->cfg = *cfg;
	im->rng = cfg->seed ^ (salt * 0xd1b54a32d192ed03u);
	if (cfg->stall_ms)
		im->stall_phase_us = (int64_t)(next_rand(&im->rng) %
					       ((uint64_t)cfg->stall_period_ms *
						1000));
	ev_timer_init(&im->out_timer, out_due, 0, 0);
	im->out_timer.data = c;
	ev_timer_init(&im->in_timer, in_due, 0, 0);
	im->in_timer.data = c;
	c->impair = im;
	return 0;
}

void wv__impair_destroy(struct wv_client *c)
{
	struct wv__impair *im = c->impair;

	if (!im)
		return;
	if (c->loop) {
		ev_timer_stop(c->loop->ev, &im->out_timer);
		ev_timer_stop(c->loop->ev, &im->in_timer);
	}
	while (im->in_n) {
		wv_free(im->in[im->in_head].text);
		im->in_head = (im->in_head + 1) % im->in_cap;
		im->in_n--;
	}
	wv_free(im->in);
	wv_free(im);
	c->impair = NULL;
}

int wv__impair_receive(struct wv_client *c, const char *text, size_t len)
{
	struct wv__impair *im = c->impair;
	struct held *h;

	if (im->in_n == im->in_cap) {
		size_t cap = im->in_cap ? im->in_cap * 2 : 64;
		struct held *in = wv__calloc(cap, sizeof *in);

		if (!in)
			return WV_ERR_NOMEM;
		for (size_t i = 0; i < im->in_n; i++)
			in[i] = im->in[(im->in_head + i) % im->in_cap];
		wv_free(im->in);
		im->in = in;
		im->in_cap = cap;
		im->in_head = 0;
	}
	h = &im->in[(im->in_head + im->in_n) % im->in_cap];
	h->text = wv_malloc(len + 1);
	if (!h->text)
		return WV_ERR_NOMEM;
	memcpy(h->text, text, len);
	h->text[len] = '\0';
	h->len = len;
	h->at = release(im, wv__now_us(), &im->in_last);
	if (im->in_n++ == 0)
		arm(c, &im->in_timer, h->at);
	return 0;
}

void wv__impair_flush_in(struct wv_client *c)
{
	if (c->impair)
		deliver(c, INT64_MAX);
}

bool wv__impair_hold_out(struct wv_client *c, bool audio)
{
	struct wv__impair *im = c->impair;
	int64_t now = wv__now_us();

	if (!im->out_at)
		im->out_at = release(im,
				     audio && c->sent_n
					     ? c->sent_due[c->sent_head]
					     : now,
				     &im->out_last);
	if (im->out_at <= now) {
		im->out_at = 0;
		return false;
	}
	arm(c, &im->out_timer, im->out_at);
	return true;
}
