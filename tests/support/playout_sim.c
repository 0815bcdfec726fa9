/*
 * The arrival-trace simulator; the models are in playout_sim.h.
 */
#include "playout_sim.h"

#include <wvoice/codec.h>
#include <wvoice/playout.h>

#include <speex/speex_jitter.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000		 /* microseconds */
#define START_US (500 * MS) /* the agent's first utterance */
#define TAIL_US (8000 * MS) /* replayed after the last arrival */
#define FADE 80		 /* 10 ms of fade at a word's edges */
#define AMPLITUDE 4000.0 /* about -20 dBFS RMS with the harmonics */
#define TWO_PI 6.283185307179586

/* ---- the seeded generator (splitmix64) ------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform in [lo, hi]. */
static int64_t rng_range(uint64_t *s, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rng_unit(s) * (double)(hi - lo + 1));
}

/* ---- the standard traces ---------------------------------------------- */

#define SECONDS 180
#define WAN (30 * MS)

static const struct sim_spec standard[] = {
	{ .name = "loopback", .seed = 1, .seconds = SECONDS, .base_us = 100,
	  .net = SIM_NET_FIXED, .marks = true },
	{ .name = "wan", .seed = 2, .seconds = SECONDS, .base_us = WAN,
	  .net = SIM_NET_WAN, .jitter_ms = 3, .marks = true },
	{ .name = "burst", .seed = 3, .seconds = SECONDS, .base_us = 100,
	  .net = SIM_NET_FIXED, .burst = true, .marks = true },
	{ .name = "jitter20", .seed = 4, .seconds = SECONDS, .base_us = WAN,
	  .net = SIM_NET_EXP, .jitter_ms = 20, .marks = true },
	{ .name = "jitter40", .seed = 5, .seconds = SECONDS, .base_us = WAN,
	  .net = SIM_NET_EXP, .jitter_ms = 40, .marks = true },
	{ .name = "jitter80", .seed = 6, .seconds = SECONDS, .base_us = WAN,
	  .net = SIM_NET_EXP, .jitter_ms = 80, .marks = true },
	{ .name = "stalls", .seed = 7, .seconds = SECONDS, .base_us = WAN,
	  .net = SIM_NET_WAN, .jitter_ms = 3, .stall_min_ms = 200,
	  .stall_max_ms = 600, .marks = true },
	{ .name = "stalls300", .seed = 8, .seconds = SECONDS, .base_us = WAN,
	  .net = SIM_NET_WAN, .jitter_ms = 3, .stall_min_ms = 200,
	  .stall_max_ms = 300, .marks = true },
	{ .name = "drift+200", .seed = 9, .seconds = SECONDS, .base_us = WAN,
	  .net = SIM_NET_WAN, .jitter_ms = 3, .drift_ppm = 200, .marks = true },
	{ .name = "drift-200", .seed = 10, .seconds = SECONDS, .base_us = WAN,
	  .net = SIM_NET_WAN, .jitter_ms = 3, .drift_ppm = -200,
	  .marks = true },
	{ .name = "nomarks", .seed = 11, .seconds = SECONDS, .base_us = WAN,
	  .net = SIM_NET_WAN, .jitter_ms = 3, .marks = false },
};

const struct sim_spec *sim_standard_specs(size_t *n)
{
	*n = sizeof(standard) / sizeof(standard[0]);
	return standard;
}

/* An array v of *cap elements of size bytes, grown to hold need: the
 * array (moved, maybe), or NULL with v untouched (out of memory). */
static void *grow(void *v, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 1024;

	if (need <= *cap)
		return v;
	while (c < need)
		c *= 2;
	v = realloc(v, c * size);
	if (v)
		*cap = c;
	return v;
}

/* ---- the agent's speech ----------------------------------------------- */

/* A growing run of samples: one utterance's audio. */
struct pcm {
	int16_t *v;
	size_t n, cap;
};

static int pcm_reserve(struct pcm *p, size_t more)
{
	int16_t *v = grow(p->v, &p->cap, p->n + more, sizeof(*v));

	if (!v)
		return -1;
	p->v = v;
	return 0;
}

/* Voiced: a fundamental and two harmonics, faded in and out. */
static int pcm_word(struct pcm *p, uint64_t *rng, size_t n)
{
	double f0 = (double)rng_range(rng, 100, 250);
	double ph = rng_unit(rng) * TWO_PI;

	if (pcm_reserve(p, n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		double w = TWO_PI * f0 * (double)i / SIM_RATE + ph;
		double x = sin(w) + 0.5 * sin(2 * w) + 0.25 * sin(3 * w);
		double env = 1.0;

		if (i < FADE)
			env = (double)(i + 1) / FADE;
		else if (n - i <= FADE)
			env = (double)(n - i) / FADE;
		p->v[p->n++] = (int16_t)lrint(AMPLITUDE * env * x);
	}
	return 0;
}

static int pcm_silence(struct pcm *p, size_t n)
{
	if (pcm_reserve(p, n) < 0)
		return -1;
	memset(p->v + p->n, 0, n * sizeof(*p->v));
	p->n += n;
	return 0;
}

static size_t ms_samples(int64_t ms)
{
	return (size_t)ms * (SIM_RATE / 1000);
}

/* One utterance of target samples: words and gaps, starting and ending
 * with a word. */
static int pcm_utterance(struct pcm *p, uint64_t *rng, size_t target)
{
	p->n = 0;
	for (;;) {
		size_t word = ms_samples(rng_range(rng, 150, 600));
		size_t gap = ms_samples(rng_range(rng, 80, 300));
		size_t last;

		/* The last word fills the utterance to its length (150 ms to
		 * about 1 s), rounded up to a whole frame. */
		if (p->n + word + gap + ms_samples(150) > target) {
			last = target - p->n;
			last += (SIM_FRAME - target % SIM_FRAME) % SIM_FRAME;
			if (pcm_word(p, rng, last) < 0)
				return -1;
			/* Loud to the last sample, so that the read handing out
			 * the utterance's end is seen. */
			p->v[p->n - 1] = 2 * SIM_LOUD;
			return 0;
		}
		if (pcm_word(p, rng, word) < 0 || pcm_silence(p, gap) < 0)
			return -1;
	}
}

/* Mu-law; digital silence is 0xFF. */
static void encode_frame(uint8_t *dst, const int16_t *src)
{
	wv_ulaw_encode(dst, src, SIM_FRAME);
	for (size_t i = 0; i < SIM_FRAME; i++)
		if (src[i] == 0)
			dst[i] = 0xFF;
}

/* ---- the network ------------------------------------------------------ */

struct net {
	const struct sim_spec *spec;
	uint64_t rng;
	int64_t stall_start, stall_end; /* the current or next stall */
	int64_t last_arrival;
	unsigned longest_stall_ms;
};

static void net_next_stall(struct net *n, int64_t after)
{
	const struct sim_spec *s = n->spec;
	int64_t len = rng_range(&n->rng, s->stall_min_ms, s->stall_max_ms);

	n->stall_start = after + rng_range(&n->rng, 3000, 8000) * MS;
	n->stall_end = n->stall_start + len * MS;
	if ((unsigned)len > n->longest_stall_ms)
		n->longest_stall_ms = (unsigned)len;
}

static int64_t net_draw(struct net *n)
{
	const struct sim_spec *s = n->spec;
	double u;

	switch (s->net) {
	case SIM_NET_WAN:
		return rng_range(&n->rng, 0, (int64_t)s->jitter_ms * MS);
	case SIM_NET_EXP:
		u = rng_unit(&n->rng);
		return (int64_t)llround(-log1p(-u) * s->jitter_ms * MS);
	case SIM_NET_FIXED:
	default:
		return 0;
	}
}

/* The arrival of a frame sent at send (consumer's clock): in order. */
static int64_t net_arrival(struct net *n, int64_t send)
{
	const struct sim_spec *s = n->spec;
	int64_t t = send;

	if (s->stall_min_ms) {
		while (send >= n->stall_end)
			net_next_stall(n, n->stall_start);
		if (send >= n->stall_start)
			t = n->stall_end;
	}
	t += s->base_us + net_draw(n);
	if (t < n->last_arrival)
		t = n->last_arrival;
	n->last_arrival = t;
	return t;
}

/* ---- building a trace ------------------------------------------------- */

static int trace_grow(struct sim_trace *t, size_t frames, size_t *cap)
{
	struct sim_frame *f = grow(t->frames, cap, t->nframes + frames,
				   sizeof(*f));

	if (!f)
		return -1;
	t->frames = f;
	return 0;
}

/* The sender's clock to the consumer's. */
static int64_t to_consumer(const struct sim_spec *s, int64_t sender_us)
{
	return (int64_t)llround((double)sender_us /
				(1.0 + (double)s->drift_ppm * 1e-6));
}

static int add_utterance(struct sim_trace *t, struct net *net,
			 const struct pcm *p, int64_t start, uint64_t *rng,
			 size_t *cap)
{
	const struct sim_spec *s = &t->spec;
	size_t frames = p->n / SIM_FRAME;
	double pace = s->burst ? (double)rng_range(rng, 5, 20) / 100.0 : 1.0;
	struct sim_utterance *u = &t->utts[t->nutts];

	if (trace_grow(t, frames, cap) < 0)
		return -1;
	u->first = t->nframes;
	u->frames = frames;
	for (size_t i = 0; i < frames; i++) {
		struct sim_frame *f = &t->frames[t->nframes++];
		int64_t media = start + (int64_t)i * SIM_FRAME_US;

		f->utterance = (uint32_t)t->nutts;
		f->offset = (uint32_t)i;
		f->media_us = media;
		f->send_us = to_consumer(
			s, start + llround((double)i * SIM_FRAME_US * pace));
		f->arrive_us = net_arrival(net, f->send_us);
		f->mark_after = s->marks && i + 1 == frames;
		encode_frame(f->ulaw, p->v + i * SIM_FRAME);
	}
	u->ideal_us = t->frames[u->first].send_us + s->base_us;
	t->nutts++;
	return 0;
}

int sim_trace_make(struct sim_trace *t, const struct sim_spec *spec)
{
	uint64_t rng = spec->seed * 0x2545f4914f6cdd1du + 1;
	struct net net = { .spec = spec, .rng = spec->seed ^ 0x5bd1e995u };
	struct pcm p = { 0 };
	size_t cap = 0, ucap = (size_t)spec->seconds + 1;
	int64_t start = START_US;
	int rc = -1;

	memset(t, 0, sizeof(*t));
	t->spec = *spec;
	t->phase_us = rng_range(&rng, 0, SIM_FRAME_US - 1);
	/* An utterance and its pause last over 1.5 s: seconds + 1 is room. */
	t->utts = calloc(ucap, sizeof(*t->utts));
	if (!t->utts)
		goto out;
	if (spec->stall_min_ms)
		net_next_stall(&net, 0);
	while (start < (int64_t)spec->seconds * 1000 * MS) {
		size_t len = ms_samples(rng_range(&rng, 1000, 6000));

		if (t->nutts == ucap || pcm_utterance(&p, &rng, len) < 0 ||
		    add_utterance(t, &net, &p, start, &rng, &cap) < 0)
			goto out;
		start += (int64_t)(p.n / SIM_FRAME) * SIM_FRAME_US +
			 rng_range(&rng, 500, 3000) * MS;
	}
	t->longest_stall_ms = net.longest_stall_ms;
	rc = 0;
out:
	free(p.v);
	if (rc < 0)
		sim_trace_free(t);
	return rc;
}

/* ---- the recorded trace ------------------------------------------------ */

/* Its arrivals, as read from the file: frames, and where marks follow. */
struct rec {
	int64_t *at; /* each frame's arrival */
	bool *mark_after;
	size_t n, cap_at, cap_mark;
};

static int rec_add(struct rec *r, int64_t at)
{
	int64_t *a = grow(r->at, &r->cap_at, r->n + 1, sizeof(*a));
	bool *m;

	if (!a)
		return -1;
	r->at = a;
	m = grow(r->mark_after, &r->cap_mark, r->n + 1, sizeof(*m));
	if (!m)
		return -1;
	r->mark_after = m;
	r->at[r->n] = at;
	r->mark_after[r->n++] = false;
	return 0;
}

static int rec_read(struct rec *r, FILE *f)
{
	char line[256];
	long long ms;

	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "a %lld", &ms) == 1) {
			if (rec_add(r, START_US + ms * MS) < 0)
				return -1;
		} else if (sscanf(line, "m %lld", &ms) == 1 && r->n > 0) {
			r->mark_after[r->n - 1] = true;
		} else if (line[0] != '#' && line[0] != '\n') {
			return -1;
		}
	}
	return r->n > 0 && !ferror(f) ? 0 : -1;
}

/* One utterance of the recording, frames [first, end), with the seed's
 * speech in it. Send times are not in the log: the arrivals stand in for
 * them (loopback), and the media clock runs from the first. */
static int rec_utterance(struct sim_trace *t, const struct rec *r,
			 size_t first, size_t end, struct pcm *p,
			 uint64_t *rng)
{
	struct sim_utterance *u = &t->utts[t->nutts];
	int64_t media = r->at[first];

	/* On the previous utterance's 20 ms grid, after it, as a paced
	 * sender's clock would be (and speexdsp asks for whole frames). */
	if (t->nframes > 0) {
		int64_t next = t->frames[t->nframes - 1].media_us;
		int64_t gap;

		next += SIM_FRAME_US;
		gap = media > next ? media - next : 0;

		media = next + (gap + SIM_FRAME_US - 1) / SIM_FRAME_US *
				       SIM_FRAME_US;
	}
	if (pcm_utterance(p, rng, (end - first) * SIM_FRAME) < 0)
		return -1;
	u->first = t->nframes;
	u->frames = end - first;
	u->ideal_us = r->at[first];
	for (size_t i = first; i < end; i++) {
		struct sim_frame *f = &t->frames[t->nframes++];

		f->utterance = (uint32_t)t->nutts;
		f->offset = (uint32_t)(i - first);
		f->send_us = r->at[i];
		f->arrive_us = r->at[i];
		f->media_us = media + (int64_t)(i - first) * SIM_FRAME_US;
		f->mark_after = r->mark_after[i];
		encode_frame(f->ulaw, p->v + (i - first) * SIM_FRAME);
	}
	t->nutts++;
	return 0;
}

static int rec_build(struct sim_trace *t, const struct rec *r, uint64_t *rng)
{
	struct pcm p = { 0 };
	size_t first = 0;
	int rc = -1;

	t->frames = calloc(r->n, sizeof(*t->frames));
	t->utts = calloc(r->n, sizeof(*t->utts));
	if (!t->frames || !t->utts)
		goto out;
	for (size_t i = 0; i < r->n; i++) {
		if (!r->mark_after[i] && i + 1 < r->n)
			continue;
		if (rec_utterance(t, r, first, i + 1, &p, rng) < 0)
			goto out;
		first = i + 1;
	}
	rc = 0;
out:
	free(p.v);
	return rc;
}

int sim_trace_recorded(struct sim_trace *t)
{
	static const struct sim_spec spec = {
		.name = "recorded", .seed = 12, .marks = true,
	};
	uint64_t rng = spec.seed * 0x2545f4914f6cdd1du + 1;
	FILE *f = fopen(SIM_RECORDED, "r");
	struct rec r = { 0 };
	int rc = -1;

	memset(t, 0, sizeof(*t));
	t->spec = spec;
	t->phase_us = rng_range(&rng, 0, SIM_FRAME_US - 1);
	if (f && rec_read(&r, f) == 0)
		rc = rec_build(t, &r, &rng);
	if (f)
		fclose(f);
	free(r.at);
	free(r.mark_after);
	if (rc < 0)
		sim_trace_free(t);
	return rc;
}

void sim_trace_free(struct sim_trace *t)
{
	free(t->frames);
	free(t->utts);
	memset(t, 0, sizeof(*t));
}

/* ---- replay: common ---------------------------------------------------- */

static int16_t decoded[256];

static bool loud(int16_t v)
{
	return v >= SIM_LOUD || v <= -SIM_LOUD;
}

static bool loud_code(uint8_t u)
{
	return loud(decoded[u]);
}

static void decode_table(void)
{
	uint8_t all[256];

	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	wv_ulaw_decode(decoded, all, 256);
}

uint64_t sim_trace_loud(const struct sim_trace *t)
{
	uint64_t n = 0;

	decode_table();
	for (size_t f = 0; f < t->nframes; f++)
		for (size_t i = 0; i < SIM_FRAME; i++)
			n += loud_code(t->frames[f].ulaw[i]);
	return n;
}

const char *sim_policy_name(enum sim_policy pol)
{
	static const char *const names[SIM_POLICIES] = {
		[SIM_FIXED300] = "fixed 300",
		[SIM_FIXED80] = "fixed 80",
		[SIM_SPEEX] = "speexdsp",
		[SIM_ADAPTIVE] = "adaptive",
		[SIM_FORESIGHT] = "foresight",
	};

	return pol < SIM_POLICIES ? names[pol] : "?";
}

static int64_t read_time(const struct sim_trace *t, uint64_t k)
{
	return t->phase_us + (int64_t)k * SIM_FRAME_US;
}

static int64_t frame_ideal(const struct sim_trace *t, const struct sim_frame *f)
{
	return t->utts[f->utterance].ideal_us +
	       (int64_t)f->offset * SIM_FRAME_US;
}

static int64_t replay_end(const struct sim_trace *t)
{
	const struct sim_utterance *u = &t->utts[t->nutts - 1];
	int64_t end = u->ideal_us + (int64_t)u->frames * SIM_FRAME_US;
	int64_t last = t->frames[t->nframes - 1].arrive_us;

	return (end > last ? end : last) + TAIL_US;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Mean, p95 and max of the n delays in d (sorted here), in ms. */
static void delay_figures(struct sim_result *r, double *d, size_t n)
{
	double sum = 0;

	r->frames_timed = n;
	if (n == 0)
		return;
	qsort(d, n, sizeof(*d), cmp_double);
	for (size_t i = 0; i < n; i++)
		sum += d[i];
	r->mean_ms = sum / (double)n;
	r->p95_ms = d[(size_t)ceil(0.95 * (double)n) - 1];
	r->max_ms = d[n - 1];
}

/* Loud samples closer than this on the stream are of one word: pauses
   between words are 80 ms or more. */
#define IN_WORD 40

static bool frame_loud(const struct sim_frame *f, size_t *first)
{
	for (size_t i = 0; i < SIM_FRAME; i++) {
		if (loud_code(f->ulaw[i])) {
			*first = i;
			return true;
		}
	}
	return false;
}

/* ---- replay through wv_playout ------------------------------------------ */

/* Where the next loud sample handed out must come from, and what was seen
 * of the one before. */
struct cursor {
	size_t frame, sample; /* the next loud sample on the stream */
	bool have_prev;
	uint32_t prev_utt;
	uint64_t prev_stream, prev_out;
};

struct wv_replay {
	const struct sim_trace *t;
	struct sim_result *r;
	struct wv_playout *p;
	struct cursor c;
	double *delays;
	size_t ndelays;
	int64_t *last_read; /* per utterance: read handing out its end; -1 */
	uint32_t next_mark; /* the utterance whose mark comes next */
	uint64_t read;	    /* the read just made */
};

static void cursor_skip_silence(const struct sim_trace *t, struct cursor *c)
{
	while (c->frame < t->nframes &&
	       !loud_code(t->frames[c->frame].ulaw[c->sample])) {
		if (++c->sample == SIM_FRAME) {
			c->sample = 0;
			c->frame++;
		}
	}
}

static void cursor_advance(const struct sim_trace *t, struct cursor *c)
{
	if (++c->sample == SIM_FRAME) {
		c->sample = 0;
		c->frame++;
	}
	cursor_skip_silence(t, c);
}

/* A loud sample handed out at output position out (samples since the
 * first read). */
static void wv_loud(struct wv_replay *w, int16_t v, uint64_t out)
{
	const struct sim_trace *t = w->t;
	struct cursor *c = &w->c;
	const struct sim_frame *f;
	uint64_t stream;
	size_t first;

	if (c->frame >= t->nframes) {
		w->r->loud_altered++; /* more than was sent */
		return;
	}
	f = &t->frames[c->frame];
	stream = (uint64_t)c->frame * SIM_FRAME + c->sample;
	w->r->loud_out++;
	if (decoded[f->ulaw[c->sample]] != v)
		w->r->loud_altered++;
	if (frame_loud(f, &first) && first == c->sample) {
		int64_t heard = read_time(t, 0) +
				(int64_t)(out - c->sample) * SIM_SAMPLE_US;

		w->delays[w->ndelays++] =
			(double)(heard - frame_ideal(t, f)) / MS;
	}
	if (c->have_prev && c->prev_utt == f->utterance) {
		int64_t gap = (int64_t)(out - c->prev_out) -
			      (int64_t)(stream - c->prev_stream);

		if (gap > 0) {
			w->r->gap_pos_ms += (double)gap / 8.0;
			w->r->gap_events++;
			if (stream - c->prev_stream < IN_WORD) {
				w->r->cut_ms += (double)gap / 8.0;
				w->r->cut_events++;
			}
		} else if (gap < 0) {
			w->r->gap_neg_ms += (double)-gap / 8.0;
		}
	}
	c->have_prev = true;
	c->prev_utt = f->utterance;
	c->prev_stream = stream;
	c->prev_out = out;
	w->last_read[f->utterance] = (int64_t)w->read;
	cursor_advance(t, c);
}

static void wv_mark_reported(void *user, const char *id)
{
	struct wv_replay *w = user;
	struct sim_result *r = w->r;
	unsigned long u = strtoul(id, NULL, 10);

	r->marks_reported++;
	if (u != w->next_mark || u >= w->t->nutts) {
		r->marks_out_of_order++;
		return;
	}
	w->next_mark++;
	/* Its utterance's last sample is loud: it must be out by now, and
	 * by this very read. */
	if (w->last_read[u] < 0 || w->t->utts[u].frames == 0 ||
	    w->c.frame <= w->t->utts[u].first + w->t->utts[u].frames - 1)
		r->marks_early++;
	else if ((uint64_t)w->last_read[u] < w->read)
		r->marks_late++;
}

static int wv_push_due(struct wv_replay *w, size_t *next, int64_t now)
{
	const struct sim_trace *t = w->t;

	while (*next < t->nframes && t->frames[*next].arrive_us <= now) {
		const struct sim_frame *f = &t->frames[(*next)++];
		char id[16];

		wv_playout_push_ulaw(w->p, f->ulaw, SIM_FRAME);
		if (!f->mark_after)
			continue;
		snprintf(id, sizeof(id), "%u", (unsigned)f->utterance);
		if (wv_playout_mark(w->p, id) < 0)
			return -1;
		w->r->marks_sent++;
	}
	return 0;
}

static void wv_config(struct wv_playout_config *cfg, enum sim_policy pol)
{
	wv_playout_config_default(cfg);
	cfg->policy = pol == SIM_ADAPTIVE ? WV_PLAYOUT_ADAPTIVE
					  : WV_PLAYOUT_FIXED;
	cfg->prebuffer_ms = pol == SIM_FIXED80 ? 80 : 300;
}

static void wv_figures(struct wv_replay *w)
{
	struct wv_playout_stats st;
	struct sim_result *r = w->r;

	wv_playout_stats(w->p, &st);
	r->underruns = st.underruns;
	r->concealed_ms = (double)st.concealed_samples / 8.0;
	r->inserted_ms = (double)st.inserted_samples / 8.0;
	r->dropped_ms = (double)st.dropped_samples / 8.0;
	r->late = st.late_arrivals;
	delay_figures(r, w->delays, w->ndelays);
}

static int replay_wv(const struct sim_trace *t, enum sim_policy pol,
		     struct sim_result *r)
{
	struct wv_replay w = { .t = t, .r = r };
	struct wv_playout_config cfg;
	int64_t end = replay_end(t);
	int16_t out[SIM_FRAME];
	size_t next = 0;
	int rc = -1;

	wv_config(&cfg, pol);
	w.delays = calloc(t->nframes, sizeof(*w.delays));
	w.last_read = malloc(t->nutts * sizeof(*w.last_read));
	if (!w.delays || !w.last_read || wv_playout_create(&w.p, &cfg) < 0)
		goto out;
	for (size_t u = 0; u < t->nutts; u++)
		w.last_read[u] = -1;
	cursor_skip_silence(t, &w.c);
	for (w.read = 0; read_time(t, w.read) <= end; w.read++) {
		if (wv_push_due(&w, &next, read_time(t, w.read)) < 0)
			goto out;
		wv_playout_read(w.p, out, SIM_FRAME);
		for (size_t j = 0; j < SIM_FRAME; j++)
			if (loud(out[j]))
				wv_loud(&w, out[j],
					  w.read * SIM_FRAME + j);
		wv_playout_poll_marks(w.p, wv_mark_reported, &w);
	}
	r->loud_in = sim_trace_loud(t);
	wv_figures(&w);
	rc = 0;
out:
	wv_playout_destroy(w.p);
	free(w.delays);
	free(w.last_read);
	return rc;
}

/* ---- replay through speexdsp's jitter buffer ------------------------- */

/* What each read handed out. */
enum slot { SLOT_FRAME, SLOT_MISSING, SLOT_INSERTED };

struct speex_replay {
	const struct sim_trace *t;
	struct sim_result *r;
	JitterBuffer *jb;
	int64_t *played;	/* per frame: the read that played it, or -1 */
	unsigned char *slots;	/* per read: enum slot */
	size_t nslots;
	unsigned missing_run; /* MISSING slots in a row, up to now */
	bool started;
};

/* speexdsp resynchronises on the next put after this many MISSING slots
 * in a row (its lost_count): a packet then is not late, it starts over. */
#define SPEEX_RESYNC 20

/* Sender timestamps: the media clock in samples, which our protocol does
 * not carry (speexdsp cannot work without them). */
static void speex_put(struct speex_replay *s, size_t i)
{
	const struct sim_frame *f = &s->t->frames[i];
	int now = jitter_buffer_get_pointer_timestamp(s->jb);
	JitterBufferPacket pkt = {
		.data = (char *)f->ulaw,
		.len = SIM_FRAME,
		.timestamp = (spx_uint32_t)(f->media_us * SIM_RATE / 1000000),
		.span = SIM_FRAME,
		.sequence = (spx_uint16_t)i,
		.user_data = (spx_uint32_t)i,
	};

	if (s->started && s->missing_run <= SPEEX_RESYNC &&
	    (int32_t)(pkt.timestamp - (spx_uint32_t)now) < 0)
		s->r->late++;
	jitter_buffer_put(s->jb, &pkt);
}

static void speex_get(struct speex_replay *s, uint64_t k)
{
	char buf[SIM_FRAME * 2];
	JitterBufferPacket pkt = { .data = buf, .len = sizeof(buf) };
	spx_int32_t offset = 0;
	int rc = jitter_buffer_get(s->jb, &pkt, SIM_FRAME, &offset);

	if (rc == JITTER_BUFFER_OK && pkt.user_data < s->t->nframes) {
		s->played[pkt.user_data] = (int64_t)k;
		s->slots[k] = SLOT_FRAME;
		s->started = true;
		s->missing_run = 0;
	} else if (rc == JITTER_BUFFER_INSERTION) {
		s->slots[k] = SLOT_INSERTED;
	} else {
		s->slots[k] = SLOT_MISSING;
		s->missing_run++;
	}
	jitter_buffer_tick(s->jb);
}

/* Per utterance: the slots between its first and last frames played. */
static void speex_utterance(struct speex_replay *s,
			    const struct sim_utterance *u)
{
	int64_t first = -1, last = -1;
	bool in_gap = false;

	for (size_t i = u->first; i < u->first + u->frames; i++) {
		int64_t k = s->played[i];

		if (k < 0) {
			s->r->dropped_ms += 20;
			continue;
		}
		if (first < 0 || k < first)
			first = k;
		if (k > last)
			last = k;
	}
	for (int64_t k = first + 1; first >= 0 && k < last; k++) {
		bool missing = s->slots[k] == SLOT_MISSING;

		if (missing && !in_gap)
			s->r->underruns++;
		in_gap = missing;
		if (missing)
			s->r->concealed_ms += 20;
		else if (s->slots[k] == SLOT_INSERTED)
			s->r->inserted_ms += 20;
	}
}

static void speex_figures(struct speex_replay *s)
{
	const struct sim_trace *t = s->t;
	double *d = calloc(t->nframes ? t->nframes : 1, sizeof(*d));
	size_t n = 0, first;

	for (size_t u = 0; u < t->nutts; u++)
		speex_utterance(s, &t->utts[u]);
	if (!d)
		return;
	for (size_t i = 0; i < t->nframes; i++) {
		const struct sim_frame *f = &t->frames[i];

		if (s->played[i] < 0 || !frame_loud(f, &first))
			continue;
		d[n++] = (double)(read_time(t, (uint64_t)s->played[i]) -
				  frame_ideal(t, f)) / MS;
	}
	delay_figures(s->r, d, n);
	free(d);
}

static int replay_speex(const struct sim_trace *t, struct sim_result *r)
{
	struct speex_replay s = { .t = t, .r = r };
	int64_t end = replay_end(t);
	size_t next = 0;
	int rc = -1;

	s.nslots = (size_t)((end - t->phase_us) / SIM_FRAME_US) + 1;
	s.played = malloc(t->nframes * sizeof(*s.played));
	s.slots = calloc(s.nslots, 1);
	s.jb = jitter_buffer_init(SIM_FRAME);
	if (!s.played || !s.slots || !s.jb)
		goto out;
	for (size_t i = 0; i < t->nframes; i++)
		s.played[i] = -1;
	for (uint64_t k = 0; k < s.nslots; k++) {
		while (next < t->nframes &&
		       t->frames[next].arrive_us <= read_time(t, k))
			speex_put(&s, next++);
		speex_get(&s, k);
	}
	r->loud_in = sim_trace_loud(t);
	speex_figures(&s);
	rc = 0;
out:
	if (s.jb)
		jitter_buffer_destroy(s.jb);
	free(s.played);
	free(s.slots);
	return rc;
}

/* ---- the bound: foresight ---------------------------------------------- */

/* Each utterance played from its ideal time plus its worst lateness: the
 * delay of its frames that hold voice, as the others measure it. */
static int replay_foresight(const struct sim_trace *t, struct sim_result *r)
{
	double *delays = malloc(t->nframes * sizeof(*delays));
	size_t n = 0, first;

	if (!delays)
		return -1;
	for (size_t u = 0; u < t->nutts; u++) {
		const struct sim_utterance *ut = &t->utts[u];
		int64_t worst = 0;

		for (size_t i = ut->first; i < ut->first + ut->frames; i++) {
			int64_t late = t->frames[i].arrive_us -
				       frame_ideal(t, &t->frames[i]);

			if (late > worst)
				worst = late;
		}
		for (size_t i = ut->first; i < ut->first + ut->frames; i++)
			if (frame_loud(&t->frames[i], &first))
				delays[n++] = (double)worst / MS;
	}
	delay_figures(r, delays, n);
	free(delays);
	return 0;
}

int sim_replay(const struct sim_trace *t, enum sim_policy pol,
	       struct sim_result *r)
{
	memset(r, 0, sizeof(*r));
	if (t->nframes == 0 || t->nutts == 0)
		return -1;
	decode_table();
	if (pol == SIM_SPEEX)
		return replay_speex(t, r);
	if (pol == SIM_FORESIGHT)
		return replay_foresight(t, r);
	return replay_wv(t, pol, r);
}
