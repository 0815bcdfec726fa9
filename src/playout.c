/*
 * Playout buffer; the policy is in include/wvoice/playout.h.
 *
 * One ring of samples between two threads. Every position is an absolute
 * sample count (2^64 samples at 8 kHz outlast any call), so "how much is
 * queued" is a subtraction and a clear never rewinds anything: marks placed
 * before and after a clear stay on one scale.
 *
 * Who writes what:
 *   producer  write_pos, clear_pos, flush_pos, the mark FIFO, its counters
 *   consumer  read_pos, the playout state, its counters
 * Each side only reads the other's positions. The producer never reuses a
 * slot the consumer may still be reading: its free space is counted from
 * read_pos, and a clear only publishes clear_pos, which the consumer acts on
 * at the start of its next read() by skipping read_pos forward.
 */
#include <wvoice/playout.h>

#include <wvoice/codec.h>
#include <wvoice/error.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pow2.h"
#include "sized.h"
#include "alloc.h"

/* The audio thread must never take a lock, not even one hidden inside
 * libatomic; uint64_t is (unsigned) long long or a type of the same width. */
#if ATOMIC_LLONG_LOCK_FREE != 2
#error "the playout buffer needs lock-free 64-bit atomics"
#endif

#define SAMPLES_PER_MS 8u /* 8 kHz */
#define CACHE_LINE 64

struct mark {
	uint64_t pos; /* write_pos when the mark arrived */
	char *id;
};

/* The consumer's own state: only the audio thread touches it. */
struct consumer {
	uint64_t read;	     /* read_pos, kept here to skip atomic loads */
	uint64_t seen_clear; /* the last clear_pos acted on */
	uint64_t seen_write; /* write_pos as of the last read() */
	uint64_t quiet;	     /* samples handed out since write_pos last moved */
	uint64_t burst_end;  /* write_pos when an end of burst started play */
	bool playing;
};

/* The producer's positions as the consumer sees them for one read(). */
struct view {
	uint64_t write;
	uint64_t flush;
};

struct wv_playout {
	/* Set by create, read-only after. */
	int16_t *ring;
	uint64_t mask; /* ring size - 1; the size is a power of two */
	uint64_t cap;
	uint64_t prebuffer;
	uint64_t burst_gap;
	bool answer_marks_on_clear;
	struct mark *marks;
	size_t max_marks;

	/* Keeps each side's hot fields off the other side's cache lines. */
	char pad0[CACHE_LINE];

	/* Written by the producer only. */
	_Atomic uint64_t write_pos;
	_Atomic uint64_t clear_pos; /* write_pos at the last clear */
	_Atomic uint64_t flush_pos; /* write_pos at the last mark or flush */
	size_t mark_head;
	size_t mark_count;
	_Atomic uint64_t pushed;
	_Atomic uint64_t overflow;
	_Atomic uint64_t marks_pending; /* mark_count, for stats() */
	_Atomic uint64_t marks_reported;
	_Atomic uint64_t marks_refused;

	char pad1[CACHE_LINE];

	/* Written by the consumer only. */
	_Atomic uint64_t read_pos;
	struct consumer c;
	_Atomic uint64_t played;
	_Atomic uint64_t silence;
	_Atomic uint64_t underruns;
	_Atomic uint64_t cleared;
	atomic_bool playing;
};

/* Each counter has a single writer, so a load and a store do (no locked
 * read-modify-write on the audio thread); relaxed, as a counter guards no
 * data. */
static void counter_add(_Atomic uint64_t *counter, uint64_t n)
{
	uint64_t v = atomic_load_explicit(counter, memory_order_relaxed);

	atomic_store_explicit(counter, v + n, memory_order_relaxed);
}

static uint64_t counter_get(const _Atomic uint64_t *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

static size_t ring_index(const struct wv_playout *p, uint64_t pos)
{
	return (size_t)(pos & p->mask);
}

/* How many of n samples from pos fit before the ring wraps. */
static size_t ring_run(const struct wv_playout *p, uint64_t pos, size_t n)
{
	size_t room = (size_t)(p->mask + 1) - ring_index(p, pos);

	return n < room ? n : room;
}

/* ---- create / destroy ------------------------------------------------- */

/* wv_playout_config as first published with its size: when fields are
   added, offsetof() the first of them. */
#define CONFIG_FIRST_SIZE offsetof(struct wv_playout_config, policy)

static const struct wv_playout_config defaults = {
	.size = sizeof defaults,
	.prebuffer_ms = 300,
	.max_ms = 60000,
	.burst_gap_ms = 100,
	.max_marks = 1024,
	.answer_marks_on_clear = false,
	.policy = WV_PLAYOUT_FIXED,
	.min_delay_ms = 40,
	.max_delay_ms = 500,
	.delay_quantile = 95,
};

void wv_playout_config_default_sized(struct wv_playout_config *cfg,
				     size_t size)
{
	wv__give_sized(cfg, size, &defaults, sizeof defaults);
	cfg->size = size;
}

static bool config_valid(const struct wv_playout_config *cfg)
{
	return cfg->max_ms > 0 && cfg->max_marks > 0 &&
	       cfg->prebuffer_ms <= cfg->max_ms;
}

static void init_atomics(struct wv_playout *p)
{
	_Atomic uint64_t *all[] = {
		&p->write_pos,	    &p->clear_pos,	&p->flush_pos,
		&p->pushed,	    &p->overflow,	&p->marks_pending,
		&p->marks_reported, &p->marks_refused,	&p->read_pos,
		&p->played,	    &p->silence,	&p->underruns,
		&p->cleared,
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		atomic_init(all[i], 0);
	atomic_init(&p->playing, false);
}

static void drop_marks(struct wv_playout *p)
{
	for (size_t i = 0; i < p->mark_count; i++)
		wv_free(p->marks[(p->mark_head + i) % p->max_marks].id);
	p->mark_head = 0;
	p->mark_count = 0;
	atomic_store_explicit(&p->marks_pending, 0, memory_order_relaxed);
}

int wv_playout_create(struct wv_playout **out,
		      const struct wv_playout_config *cfg)
{
	struct wv_playout_config mine = defaults;
	struct wv_playout *p;
	uint64_t cap, size;

	if (!out)
		return WV_ERR_INVALID;
	*out = NULL;
	if (cfg && wv__take_sized(&mine, sizeof mine, cfg, cfg->size,
				  CONFIG_FIRST_SIZE) < 0)
		return WV_ERR_INVALID;
	cfg = &mine;
	if (!config_valid(cfg))
		return WV_ERR_INVALID;
	cap = (uint64_t)cfg->max_ms * SAMPLES_PER_MS;
	size = wv__pow2_at_least(cap);
	if (size > SIZE_MAX / sizeof(int16_t))
		return WV_ERR_NOMEM;

	p = wv__calloc(1, sizeof(*p));
	if (!p)
		return WV_ERR_NOMEM;
	init_atomics(p);
	p->max_marks = cfg->max_marks;
	p->ring = wv_malloc((size_t)size * sizeof(int16_t));
	p->marks = wv__calloc(p->max_marks, sizeof(*p->marks));
	if (!p->ring || !p->marks) {
		wv_playout_destroy(p);
		return WV_ERR_NOMEM;
	}
	p->mask = size - 1;
	p->cap = cap;
	p->prebuffer = (uint64_t)cfg->prebuffer_ms * SAMPLES_PER_MS;
	p->burst_gap = (uint64_t)cfg->burst_gap_ms * SAMPLES_PER_MS;
	p->answer_marks_on_clear = cfg->answer_marks_on_clear;
	*out = p;
	return 0;
}

void wv_playout_destroy(struct wv_playout *p)
{
	if (!p)
		return;
	if (p->marks)
		drop_marks(p);
	wv_free(p->marks);
	wv_free(p->ring);
	wv_free(p);
}

/* ---- producer --------------------------------------------------------- */

/* Relaxed: only the producer stores write_pos, and this is the producer. */
static uint64_t producer_pos(const struct wv_playout *p)
{
	return atomic_load_explicit(&p->write_pos, memory_order_relaxed);
}

/* Copies n samples, starting at element from of src, into dst. */
typedef void fill_fn(int16_t *dst, const void *src, size_t from, size_t n);

static void fill_pcm(int16_t *dst, const void *src, size_t from, size_t n)
{
	memcpy(dst, (const int16_t *)src + from, n * sizeof(*dst));
}

static void fill_ulaw(int16_t *dst, const void *src, size_t from, size_t n)
{
	wv_ulaw_decode(dst, (const uint8_t *)src + from, n);
}

static size_t produce(struct wv_playout *p, const void *src, size_t n,
		      fill_fn *fill)
{
	uint64_t write = producer_pos(p);
	/* Acquire: the consumer's reads of the slots about to be reused
	 * happen before these writes to them. */
	uint64_t read = atomic_load_explicit(&p->read_pos, memory_order_acquire);
	uint64_t room = p->cap - (write - read);
	size_t k = n < room ? n : (size_t)room;
	size_t first = ring_run(p, write, k);

	fill(p->ring + ring_index(p, write), src, 0, first);
	fill(p->ring, src, first, k - first);
	/* Release: the samples are in the ring before the consumer can see a
	 * position that covers them. */
	atomic_store_explicit(&p->write_pos, write + k, memory_order_release);
	counter_add(&p->pushed, k);
	counter_add(&p->overflow, n - k);
	return k;
}

size_t wv_playout_push(struct wv_playout *p, const int16_t *samples, size_t n)
{
	if (!samples || n == 0)
		return 0;
	return produce(p, samples, n, fill_pcm);
}

size_t wv_playout_push_ulaw(struct wv_playout *p, const uint8_t *ulaw,
			    size_t n)
{
	if (!ulaw || n == 0)
		return 0;
	return produce(p, ulaw, n, fill_ulaw);
}

static void close_segment(struct wv_playout *p)
{
	/* Release: a consumer that sees this boundary also sees write_pos at
	 * least this far, so it never stops short of the boundary. */
	atomic_store_explicit(&p->flush_pos, producer_pos(p),
			      memory_order_release);
}

static struct mark *mark_at(struct wv_playout *p, size_t i)
{
	return &p->marks[(p->mark_head + i) % p->max_marks];
}

int wv_playout_mark(struct wv_playout *p, const char *id)
{
	size_t len;
	char *copy;

	if (!id)
		return WV_ERR_INVALID;
	if (p->mark_count == p->max_marks) {
		counter_add(&p->marks_refused, 1);
		return WV_ERR_FULL;
	}
	len = strlen(id) + 1;
	copy = wv_malloc(len);
	if (!copy)
		return WV_ERR_NOMEM;
	memcpy(copy, id, len);
	*mark_at(p, p->mark_count) =
		(struct mark){ .pos = producer_pos(p), .id = copy };
	p->mark_count++;
	atomic_store_explicit(&p->marks_pending, p->mark_count,
			      memory_order_relaxed);
	close_segment(p);
	return 0;
}

void wv_playout_flush(struct wv_playout *p)
{
	close_segment(p);
}

void wv_playout_clear(struct wv_playout *p)
{
	/* With answer_marks_on_clear the pending marks stay: they all sit at
	 * or before clear_pos, so the next poll reports them. */
	if (!p->answer_marks_on_clear)
		drop_marks(p);
	/* Release: a consumer that sees clear_pos sees write_pos at least this
	 * far, so skipping to clear_pos never passes write_pos. */
	atomic_store_explicit(&p->clear_pos, producer_pos(p),
			      memory_order_release);
}

/* Marks up to here are due: played by the consumer, or dropped by a clear
 * that the consumer has not acted on yet. */
static uint64_t marks_due_pos(const struct wv_playout *p)
{
	/* Acquire: pairs with the consumer's release, so a mark is reported
	 * only after the read() that handed out the audio before it. */
	uint64_t read = atomic_load_explicit(&p->read_pos, memory_order_acquire);
	uint64_t clear = atomic_load_explicit(&p->clear_pos,
					      memory_order_relaxed);

	return read > clear ? read : clear;
}

size_t wv_playout_poll_marks(struct wv_playout *p, wv_mark_fn *fn, void *user)
{
	size_t reported = 0;

	/* The mark leaves the FIFO before fn runs, and the loop re-reads the
	 * FIFO after it, so fn may call the producer functions. */
	while (p->mark_count > 0 && mark_at(p, 0)->pos <= marks_due_pos(p)) {
		char *id = mark_at(p, 0)->id;

		p->mark_head = (p->mark_head + 1) % p->max_marks;
		p->mark_count--;
		atomic_store_explicit(&p->marks_pending, p->mark_count,
				      memory_order_relaxed);
		counter_add(&p->marks_reported, 1);
		reported++;
		if (fn)
			fn(user, id);
		wv_free(id);
	}
	return reported;
}

/* ---- consumer --------------------------------------------------------- */

/* Acts on a clear the producer published since the last read(). */
static void consumer_take_clear(struct wv_playout *p)
{
	struct consumer *c = &p->c;
	/* Acquire: pairs with clear's release, so the write_pos loaded after
	 * this is at least clear_pos. */
	uint64_t clear = atomic_load_explicit(&p->clear_pos,
					      memory_order_acquire);

	if (clear == c->seen_clear)
		return;
	c->seen_clear = clear;
	if (clear > c->read) {
		counter_add(&p->cleared, clear - c->read);
		c->read = clear;
	}
	c->playing = false;
}

static void consumer_view(struct wv_playout *p, struct view *v)
{
	struct consumer *c = &p->c;

	/* Acquire, and before write_pos: write >= flush in this view. */
	v->flush = atomic_load_explicit(&p->flush_pos, memory_order_acquire);
	/* Acquire: the samples up to write_pos are in the ring. */
	v->write = atomic_load_explicit(&p->write_pos, memory_order_acquire);
	if (v->write != c->seen_write) {
		c->seen_write = v->write;
		c->quiet = 0;
	}
}

static bool segment_ready(const struct wv_playout *p, const struct view *v)
{
	const struct consumer *c = &p->c;
	uint64_t queued = v->write - c->read;

	return queued > 0 && (queued >= p->prebuffer || v->flush > c->read ||
			      c->quiet >= p->burst_gap);
}

/* BUFFERING: starts playing if the policy allows, else silence to the end
 * of the block. Returns the samples handed out. */
static size_t consume_buffering(struct wv_playout *p, const struct view *v,
				int16_t *out, size_t n)
{
	struct consumer *c = &p->c;

	if (segment_ready(p, v)) {
		/* Running dry where this burst ended is its end, not an
		 * underrun. */
		if (c->quiet >= p->burst_gap)
			c->burst_end = v->write;
		c->playing = true;
		return 0;
	}
	memset(out, 0, n * sizeof(*out));
	counter_add(&p->silence, n);
	return n;
}

/* PLAYING: hands out queued audio; when the queue runs dry, that is the end
 * of a segment at a boundary and an underrun anywhere else, and either way
 * the buffer refills before playing on. */
static size_t consume_playing(struct wv_playout *p, const struct view *v,
			      int16_t *out, size_t n)
{
	struct consumer *c = &p->c;
	uint64_t queued = v->write - c->read;
	size_t k, first;

	if (queued == 0) {
		if (c->read != v->flush && c->read != c->burst_end)
			counter_add(&p->underruns, 1);
		c->playing = false;
		return 0;
	}
	k = queued < n ? (size_t)queued : n;
	first = ring_run(p, c->read, k);
	memcpy(out, p->ring + ring_index(p, c->read), first * sizeof(*out));
	memcpy(out + first, p->ring, (k - first) * sizeof(*out));
	c->read += k;
	counter_add(&p->played, k);
	return k;
}

void wv_playout_read(struct wv_playout *p, int16_t *out, size_t n)
{
	struct consumer *c = &p->c;
	struct view v;

	if (!out)
		return;
	consumer_take_clear(p);
	consumer_view(p, &v);
	/* Each turn hands out samples or leaves PLAYING, and BUFFERING only
	 * enters PLAYING with audio queued, so this ends. */
	while (n > 0) {
		size_t k = c->playing ? consume_playing(p, &v, out, n)
				      : consume_buffering(p, &v, out, n);

		c->quiet += k;
		out += k;
		n -= k;
	}
	/* Release: the reads of the ring above happen before the producer
	 * reuses those slots, and before poll_marks reports what they held. */
	atomic_store_explicit(&p->read_pos, c->read, memory_order_release);
	atomic_store_explicit(&p->playing, c->playing, memory_order_relaxed);
}

/* ---- any thread ------------------------------------------------------- */

static uint64_t queued_samples(const struct wv_playout *p)
{
	/* Acquire on both, and write_pos last: read_pos and clear_pos were
	 * each stored after a write_pos at least as far, so write is not
	 * behind either of them here. */
	uint64_t read = atomic_load_explicit(&p->read_pos, memory_order_acquire);
	uint64_t clear = atomic_load_explicit(&p->clear_pos,
					      memory_order_acquire);
	uint64_t write = atomic_load_explicit(&p->write_pos,
					      memory_order_relaxed);

	return write - (read > clear ? read : clear);
}

void wv_playout_stats_sized(const struct wv_playout *p,
			    struct wv_playout_stats *out, size_t out_size)
{
	uint64_t queued = queued_samples(p);
	struct wv_playout_stats st;

	st = (struct wv_playout_stats){
		.queued_samples = queued,
		.queued_ms = (unsigned)(queued / SAMPLES_PER_MS),
		.pushed_samples = counter_get(&p->pushed),
		.played_samples = counter_get(&p->played),
		.silence_samples = counter_get(&p->silence),
		.underruns = counter_get(&p->underruns),
		.overflow_samples = counter_get(&p->overflow),
		.cleared_samples = counter_get(&p->cleared),
		.marks_pending = counter_get(&p->marks_pending),
		.marks_reported = counter_get(&p->marks_reported),
		.marks_refused = counter_get(&p->marks_refused),
		.playing = atomic_load_explicit(&p->playing,
						memory_order_relaxed),
	};
	wv__give_sized(out, out_size, &st, sizeof st);
}
