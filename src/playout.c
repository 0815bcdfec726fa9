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
 *
 * The clock is the consumer's: `clock` counts every sample read() has
 * handed out. The producer stamps each push with it, so arrivals are
 * measured on the device's time, in samples, and a fake clock is just a
 * caller that reads at its own pace. From the stamps the producer's
 * estimator keeps the arrival statistics and publishes two figures: the
 * target delay, and `ref`, the transit of the audio that arrived the
 * earliest against its place in the stream. The consumer plays at a delay
 * of clock - read_pos - ref and moves it toward the target in silence.
 */
#include <wvoice/playout.h>

#include <wvoice/codec.h>
#include <wvoice/error.h>

#include <stdatomic.h>
#include <stdint.h>
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

/* The adaptive policy's constants; bench/bench_playout shows their effect.
 * The reference transit is the lowest in WINDOW_BUCKETS buckets of
 * BUCKET_SAMPLES of arrival time: a gap in the arrivals longer than the
 * window ends the segment, as a pause does. */
#define WINDOW_BUCKETS 4
#define BUCKET_SAMPLES (250 * SAMPLES_PER_MS)
#define WINDOW_SAMPLES ((int64_t)WINDOW_BUCKETS * BUCKET_SAMPLES)
#define HIST_BINS 128
#define FORGET 0.998f			    /* per push: ~10 s of frames */
#define START_TARGET (150 * SAMPLES_PER_MS) /* before anything is known */
#define START_PUSHES 50			    /* one second of frames */
/* Peaks: arrivals later than the quantile covers by PEAK_OVER, one per
 * PEAK_LUMP of arrival time (the frames held back behind a late one come
 * with it); for PEAK_HOLD after one, the target covers its height plus
 * PEAK_PLUS. */
#define PEAKS 8
#define PEAK_OVER (20 * SAMPLES_PER_MS)
#define PEAK_LUMP (250 * SAMPLES_PER_MS)
#define PEAK_HOLD ((int64_t)30000 * SAMPLES_PER_MS)
#define PEAK_PLUS (20 * SAMPLES_PER_MS)
#define QUIET_LEVEL 64			    /* |sample| at most: silence */
#define SILENCE_MIN (20 * SAMPLES_PER_MS) /* a pause worth moving in */
#define HYSTERESIS (20 * SAMPLES_PER_MS)
#define NO_REF INT64_MIN

struct mark {
	uint64_t pos; /* write_pos when the mark arrived */
	char *id;
};

/* The consumer's own state: only the audio thread touches it. */
struct consumer {
	uint64_t clock;	     /* samples handed out, ever */
	uint64_t read;	     /* read_pos, kept here to skip atomic loads */
	uint64_t seen_clear; /* the last clear_pos acted on */
	uint64_t seen_write; /* write_pos as of the last read() */
	uint64_t quiet;	     /* samples handed out since write_pos last moved */
	uint64_t burst_end;  /* write_pos when an end of burst started play */
	bool playing;
	bool concealing;     /* silence for an underrun, until play resumes */
	bool stretching;     /* a pause ran dry: its silence goes on */
	uint64_t stretched;  /* the silence inserted since */
	bool after_burst;    /* ran dry where a burst seemed to end */
	uint64_t burst_silence; /* the silence handed out since */
	bool last_quiet;     /* the last sample handed out was silent */
	bool dropped_here;   /* silence already shortened in this pause */
};

/* The arrival statistics: only the producer touches them. */
struct estimator {
	bool new_segment;      /* the next push starts one */
	int64_t last_arrival;  /* clock at the last push */
	int64_t last_end;      /* write_pos after it */
	int64_t first_transit; /* the segment's first push, from its start */
	struct {
		int64_t epoch; /* arrival clock / BUCKET_SAMPLES */
		int64_t min;   /* lowest transit of that bucket */
	} bucket[WINDOW_BUCKETS];
	float jitter; /* RFC 3550's J, in samples */
	float hist[HIST_BINS];
	float mass;	   /* the histogram's sum */
	uint64_t bin;	   /* samples a bin spans */
	uint64_t pushes;   /* pushes measured, ever */
	struct {
		int64_t at;	 /* arrival clock of its first push */
		uint64_t height; /* its highest relative delay */
	} peak[PEAKS];
	size_t peaks;	   /* peaks seen, ever (the newest: peaks - 1) */
};

/* The producer's positions as the consumer sees them for one read(). */
struct view {
	uint64_t write;
	uint64_t flush;
	uint64_t target; /* samples to hold before playing */
	uint64_t gap;	 /* quiet that ends a burst */
	int64_t ref;	 /* transit of the earliest arrivals, or NO_REF */
};

struct wv_playout {
	/* Set by create, read-only after. */
	int16_t *ring;
	uint64_t mask; /* ring size - 1; the size is a power of two */
	uint64_t cap;
	uint64_t prebuffer;
	uint64_t burst_gap;
	bool adaptive;
	uint64_t min_delay, max_delay;
	float quantile;
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
	struct estimator est;
	_Atomic uint64_t target;   /* samples */
	_Atomic int64_t ref;	   /* samples, NO_REF before any push */
	_Atomic uint64_t jitter16; /* RFC 3550 jitter x 16, in samples */
	_Atomic uint64_t late;

	char pad1[CACHE_LINE];

	/* Written by the consumer only. */
	_Atomic uint64_t read_pos;
	struct consumer c;
	_Atomic uint64_t played;
	_Atomic uint64_t silence;
	_Atomic uint64_t underruns;
	_Atomic uint64_t cleared;
	_Atomic uint64_t clock;
	_Atomic uint64_t concealed;
	_Atomic uint64_t inserted;
	_Atomic uint64_t dropped;
	_Atomic int64_t delay;
	atomic_bool playing;
	atomic_bool concealing;
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
	bool policy = cfg->policy == WV_PLAYOUT_FIXED ||
		      cfg->policy == WV_PLAYOUT_ADAPTIVE;

	return policy && cfg->max_ms > 0 && cfg->max_marks > 0 &&
	       cfg->prebuffer_ms <= cfg->max_ms &&
	       cfg->min_delay_ms <= cfg->max_delay_ms &&
	       cfg->delay_quantile >= 50 &&
	       cfg->delay_quantile <= 99;
}

static uint64_t clamp_delay(const struct wv_playout *p, uint64_t t)
{
	if (t < p->min_delay)
		return p->min_delay;
	return t > p->max_delay ? p->max_delay : t;
}

static void init_atomics(struct wv_playout *p)
{
	_Atomic uint64_t *all[] = {
		&p->write_pos,	    &p->clear_pos,	&p->flush_pos,
		&p->pushed,	    &p->overflow,	&p->marks_pending,
		&p->marks_reported, &p->marks_refused,	&p->read_pos,
		&p->played,	    &p->silence,	&p->underruns,
		&p->cleared,	    &p->jitter16,	&p->late,
		&p->clock,	    &p->concealed,	&p->inserted,
		&p->dropped,
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		atomic_init(all[i], 0);
	atomic_init(&p->target,
		    p->adaptive ? clamp_delay(p, START_TARGET) : p->prebuffer);
	atomic_init(&p->ref, NO_REF);
	atomic_init(&p->delay, 0);
	atomic_init(&p->playing, false);
	atomic_init(&p->concealing, false);
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
	p->prebuffer = (uint64_t)cfg->prebuffer_ms * SAMPLES_PER_MS;
	p->adaptive = cfg->policy == WV_PLAYOUT_ADAPTIVE;
	/* The ceiling never passes the cap: the buffer could not hold it. */
	p->max_delay = (uint64_t)(cfg->max_delay_ms < cfg->max_ms
					  ? cfg->max_delay_ms
					  : cfg->max_ms) *
		       SAMPLES_PER_MS;
	p->min_delay = (uint64_t)cfg->min_delay_ms * SAMPLES_PER_MS;
	if (p->min_delay > p->max_delay)
		p->min_delay = p->max_delay;
	p->quantile = (float)cfg->delay_quantile / 100.0f;
	p->est.bin = (p->max_delay + HIST_BINS - 1) / HIST_BINS;
	if (p->est.bin == 0)
		p->est.bin = 1;
	p->est.new_segment = true;
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

/* ---- producer: the arrival statistics -------------------------------- */

static int64_t epoch_of(int64_t clock)
{
	return clock / BUCKET_SAMPLES;
}

static void start_segment(struct estimator *e, int64_t transit)
{
	for (size_t i = 0; i < WINDOW_BUCKETS; i++)
		e->bucket[i].epoch = INT64_MIN / 2;
	e->first_transit = transit;
	e->new_segment = false;
}

static void window_add(struct estimator *e, int64_t now, int64_t transit)
{
	int64_t epoch = epoch_of(now);
	size_t i = (size_t)(epoch % WINDOW_BUCKETS);

	if (e->bucket[i].epoch != epoch) {
		e->bucket[i].epoch = epoch;
		e->bucket[i].min = transit;
	} else if (transit < e->bucket[i].min) {
		e->bucket[i].min = transit;
	}
}

static int64_t window_min(const struct estimator *e, int64_t now)
{
	int64_t oldest = epoch_of(now) - WINDOW_BUCKETS;
	int64_t min = INT64_MAX;

	for (size_t i = 0; i < WINDOW_BUCKETS; i++)
		if (e->bucket[i].epoch > oldest && e->bucket[i].min < min)
			min = e->bucket[i].min;
	return min;
}

/* The delay histogram with a forgetting factor: each push ages the others
 * by FORGET; until there are enough of them, all weigh the same. */
static void hist_add(struct wv_playout *p, uint64_t delay)
{
	struct estimator *e = &p->est;
	uint64_t b = delay / e->bin;
	float keep = FORGET;

	if ((float)e->pushes * (1.0f - FORGET) < FORGET)
		keep = (float)e->pushes / (float)(e->pushes + 1);
	for (size_t i = 0; i < HIST_BINS; i++) {
		e->hist[i] *= keep;
		if (e->hist[i] < 1e-12f) /* no subnormals, no slow floats */
			e->hist[i] = 0;
	}
	e->hist[b < HIST_BINS ? b : HIST_BINS - 1] += 1.0f - keep;
	e->mass = e->mass * keep + (1.0f - keep);
	e->pushes++;
}

/* The upper edge of the bin where the histogram reaches the quantile. */
static uint64_t hist_quantile(const struct wv_playout *p)
{
	const struct estimator *e = &p->est;
	float want = p->quantile * e->mass, sum = 0;
	size_t b;

	for (b = 0; b < HIST_BINS - 1; b++) {
		sum += e->hist[b];
		if (sum >= want)
			break;
	}
	return (b + 1) * e->bin;
}

/* RFC 3550's interarrival jitter, the stream's own clock being its 8 kHz
 * samples: how far each push's spacing strays from the audio it brings. */
static void jitter_add(struct estimator *e, int64_t now, int64_t end)
{
	int64_t d = (now - e->last_arrival) - (end - e->last_end);
	float ad = (float)(d < 0 ? -d : d);

	e->jitter += (ad - e->jitter) / 16.0f;
}

/* Notes a peak: an arrival well past what the quantile covers. The pushes
 * of one lump raise one peak's height. */
static void peak_add(struct estimator *e, int64_t now, uint64_t delay)
{
	size_t last = (e->peaks + PEAKS - 1) % PEAKS;

	if (e->peaks > 0 && now - e->peak[last].at < PEAK_LUMP) {
		if (delay > e->peak[last].height)
			e->peak[last].height = delay;
		return;
	}
	e->peak[e->peaks % PEAKS].at = now;
	e->peak[e->peaks % PEAKS].height = delay;
	e->peaks++;
}

/* The highest of the peaks within PEAK_HOLD, or 0: a network that has
 * stalled will stall again (NetEq's peak detector holds on the same
 * grounds), and a quantile alone lets every stall through. */
static uint64_t peak_height(const struct estimator *e, int64_t now)
{
	size_t n = e->peaks < PEAKS ? e->peaks : PEAKS;
	uint64_t high = 0;

	for (size_t i = 0; i < n; i++)
		if (now - e->peak[i].at <= PEAK_HOLD &&
		    e->peak[i].height > high)
			high = e->peak[i].height;
	return high;
}

/* A peak: a relative delay well past what the quantile covers, or, while
 * a peak is held, one near its height: the stalls go on, so does the
 * hold (though the quantile has grown to take in the lesser of them). */
static bool is_peak(const struct wv_playout *p, int64_t now, uint64_t delay)
{
	uint64_t held = peak_height(&p->est, now);

	return delay > hist_quantile(p) + PEAK_OVER ||
	       (held > 0 && delay >= held * 3 / 4);
}

/* The target: the quantile of the relative delays, or the recent highest
 * peak with a margin; never below the start's until a second's worth of
 * pushes has been seen; within floor and ceiling. */
static uint64_t choose_target(const struct wv_playout *p, int64_t now)
{
	const struct estimator *e = &p->est;
	uint64_t target = hist_quantile(p);
	uint64_t peak = peak_height(e, now);

	if (peak > 0 && peak + PEAK_PLUS > target)
		target = peak + PEAK_PLUS;
	if (e->pushes < START_PUSHES && target < START_TARGET)
		target = START_TARGET;
	return clamp_delay(p, target);
}

/* Whether this push starts a new segment of the estimator's: after a mark,
 * a flush or a clear; after a gap in the arrivals longer than the window;
 * or when it finds the queue played out after a gap longer than the
 * ceiling (a pause: a network stall that long could not be covered). */
static bool segment_starts(const struct wv_playout *p, int64_t now,
			   uint64_t start)
{
	const struct estimator *e = &p->est;
	int64_t gap = now - e->last_arrival;
	/* Relaxed: a stale read position only delays this by a push. */
	uint64_t read = atomic_load_explicit(&p->read_pos,
					     memory_order_relaxed);

	return e->new_segment || gap >= WINDOW_SAMPLES ||
	       (start == read && gap > (int64_t)p->max_delay);
}

/* One push's arrival: n samples ending at stream position end arrived at
 * the consumer's clock now. Its transit is measured against the lowest of
 * the last second (NetEq's relative delay), the histogram and the peaks
 * give the target, and ref, the transit the consumer plays against,
 * follows the earliest arrivals; it never goes lower than the segment's
 * first transit (from the push's first sample: the earliest it could have
 * been played) minus the target, so audio an agent sends ahead of time (a
 * burst) counts as queued early, not as delay to be taken back. */
static void measure_arrival(struct wv_playout *p, uint64_t end, size_t n)
{
	struct estimator *e = &p->est;
	int64_t now = (int64_t)atomic_load_explicit(&p->clock,
						    memory_order_relaxed);
	int64_t transit = now - (int64_t)end;
	int64_t min, floor_ref;
	uint64_t target, delay;

	if (segment_starts(p, now, end - n))
		start_segment(e, transit + (int64_t)n);
	else
		jitter_add(e, now, (int64_t)end);
	e->last_arrival = now;
	e->last_end = (int64_t)end;
	window_add(e, now, transit);
	min = window_min(e, now);
	delay = (uint64_t)(transit - min);
	if (is_peak(p, now, delay))
		peak_add(e, now, delay);
	hist_add(p, delay);

	target = choose_target(p, now);
	floor_ref = e->first_transit - (int64_t)target;
	if (p->adaptive)
		atomic_store_explicit(&p->target, target,
				      memory_order_relaxed);
	atomic_store_explicit(&p->ref, min > floor_ref ? min : floor_ref,
			      memory_order_relaxed);
	atomic_store_explicit(&p->jitter16, (uint64_t)(e->jitter * 16.0f),
			      memory_order_relaxed);
	if (atomic_load_explicit(&p->concealing, memory_order_relaxed))
		counter_add(&p->late, 1);
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
	if (k > 0)
		measure_arrival(p, write + k, k);
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
	p->est.new_segment = true;
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
	p->est.new_segment = true;
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
	c->concealing = false;
	c->stretching = false;
	c->after_burst = false;
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
	/* Relaxed: figures, not positions; a stale one is a block late. */
	v->target = atomic_load_explicit(&p->target, memory_order_relaxed);
	v->ref = atomic_load_explicit(&p->ref, memory_order_relaxed);
	v->gap = p->burst_gap;
	/* Adaptive: no new audio for as long as the target is no surprise
	   on this network, so only a longer quiet ends a burst. */
	if (p->adaptive && v->target > v->gap)
		v->gap = v->target;
}

static bool segment_ready(const struct wv_playout *p, const struct view *v)
{
	const struct consumer *c = &p->c;
	uint64_t queued = v->write - c->read;

	return queued > 0 && (queued >= v->target || v->flush > c->read ||
			      c->quiet >= v->gap);
}

/* The queue ran dry while playing: the end of a segment at a mark, a
 * flush or the end of a burst, else an underrun; adaptive, a pause gone
 * long when the last sample was silent, which no one hears (silence
 * inserted, up to the ceiling: longer, it is a pause between utterances).
 * Adaptive, an end of burst is taken back if the segment goes on within
 * the ceiling (see settle_burst_end()). */
static void run_dry(struct wv_playout *p, const struct view *v)
{
	struct consumer *c = &p->c;

	c->playing = false;
	if (c->read == v->flush)
		return;
	if (c->read == c->burst_end) {
		c->after_burst = p->adaptive;
		c->burst_silence = 0;
		return;
	}
	if (p->adaptive && c->last_quiet) {
		c->stretching = true;
		c->stretched = 0;
		return;
	}
	counter_add(&p->underruns, 1);
	c->concealing = true;
}

/* Adaptive: play resumes after the queue ran dry where a burst seemed to
 * end. If no mark or flush closed it and the silence was shorter than the
 * ceiling, the burst had not ended (audio held back by the network looks
 * the same): its silence is counted as it would have been. */
static void settle_burst_end(struct wv_playout *p, const struct view *v)
{
	struct consumer *c = &p->c;

	if (!c->after_burst)
		return;
	c->after_burst = false;
	if (v->flush > c->burst_end || c->burst_silence > p->max_delay)
		return;
	if (c->last_quiet) {
		counter_add(&p->inserted, c->burst_silence);
		return;
	}
	counter_add(&p->underruns, 1);
	counter_add(&p->concealed, c->burst_silence);
}

/* BUFFERING: starts playing if the policy allows, else silence to the end
 * of the block. Returns the samples handed out. */
static size_t consume_buffering(struct wv_playout *p, const struct view *v,
				int16_t *out, size_t n)
{
	struct consumer *c = &p->c;

	if (segment_ready(p, v)) {
		settle_burst_end(p, v);
		/* Running dry where this burst ended is its end, not an
		 * underrun. */
		if (c->quiet >= v->gap)
			c->burst_end = v->write;
		c->playing = true;
		c->concealing = false;
		c->stretching = false;
		return 0;
	}
	memset(out, 0, n * sizeof(*out));
	counter_add(&p->silence, n);
	if (c->after_burst)
		c->burst_silence += n;
	if (c->concealing)
		counter_add(&p->concealed, n);
	if (c->stretching && c->stretched < p->max_delay) {
		uint64_t k = p->max_delay - c->stretched;

		k = k < n ? k : n;
		counter_add(&p->inserted, k);
		c->stretched += k;
	}
	c->last_quiet = true;
	return n;
}

static bool quiet(int16_t s)
{
	return s >= -QUIET_LEVEL && s <= QUIET_LEVEL;
}

/* How many silent samples are queued at the read position, looking at
 * most limit ahead and never past the end of the segment. */
static uint64_t silent_run(const struct wv_playout *p, const struct view *v,
			   uint64_t limit)
{
	const struct consumer *c = &p->c;
	uint64_t end = v->write, run = 0;

	if (v->flush > c->read && v->flush < end)
		end = v->flush;
	if (end - c->read < limit)
		limit = end - c->read;
	while (run < limit && quiet(p->ring[ring_index(p, c->read + run)]))
		run++;
	return run;
}

/* Adaptive, while playing: inside a pause, brings the delay toward the
 * target by dropping queued silence (at most half a pause, once in it) or
 * handing out more. now is the clock at out[0]. Returns the samples of
 * inserted silence handed out; a drop moves only the read position. */
static size_t adapt(struct wv_playout *p, const struct view *v, int64_t now,
		    int16_t *out, size_t n)
{
	struct consumer *c = &p->c;
	int64_t delay, target = (int64_t)v->target;
	uint64_t run;

	if (!p->adaptive || v->ref == NO_REF || !c->last_quiet)
		return 0;
	delay = now - (int64_t)c->read - v->ref;
	if (delay > target + 2 * HYSTERESIS && !c->dropped_here) {
		uint64_t excess = (uint64_t)(delay - target);

		run = silent_run(p, v, 2 * excess);
		if (run >= SILENCE_MIN) {
			uint64_t k = run / 2 < excess ? run / 2 : excess;

			c->read += k;
			counter_add(&p->dropped, k);
			c->dropped_here = true;
		}
		return 0;
	}
	if (delay + HYSTERESIS <= target &&
	    silent_run(p, v, SILENCE_MIN) >= SILENCE_MIN) {
		uint64_t deficit = (uint64_t)(target - delay);
		size_t k = deficit < n ? (size_t)deficit : n;

		memset(out, 0, k * sizeof(*out));
		counter_add(&p->silence, k);
		counter_add(&p->inserted, k);
		return k;
	}
	return 0;
}

/* PLAYING: hands out queued audio; when the queue runs dry, that is the end
 * of a segment at a boundary and an underrun anywhere else, and either way
 * the buffer refills before playing on. */
static size_t consume_playing(struct wv_playout *p, const struct view *v,
			      int64_t now, int16_t *out, size_t n)
{
	struct consumer *c = &p->c;
	uint64_t queued;
	size_t k, first;

	k = adapt(p, v, now, out, n);
	if (k > 0)
		return k;
	queued = v->write - c->read;
	if (queued == 0) {
		run_dry(p, v);
		return 0;
	}
	k = queued < n ? (size_t)queued : n;
	first = ring_run(p, c->read, k);
	memcpy(out, p->ring + ring_index(p, c->read), first * sizeof(*out));
	memcpy(out + first, p->ring, (k - first) * sizeof(*out));
	c->read += k;
	c->last_quiet = quiet(out[k - 1]);
	if (!c->last_quiet)
		c->dropped_here = false;
	counter_add(&p->played, k);
	if (v->ref != NO_REF)
		atomic_store_explicit(&p->delay,
				      now - (int64_t)(c->read - k) - v->ref,
				      memory_order_relaxed);
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
	/* Each turn hands out samples or changes state: it leaves PLAYING,
	 * BUFFERING only enters PLAYING with audio queued, and a drop happens
	 * once in a pause; so this ends. */
	while (n > 0) {
		size_t k = c->playing ? consume_playing(p, &v,
							(int64_t)c->clock,
							out, n)
				      : consume_buffering(p, &v, out, n);

		c->quiet += k;
		c->clock += k;
		out += k;
		n -= k;
	}
	/* Release: the reads of the ring above happen before the producer
	 * reuses those slots, and before poll_marks reports what they held. */
	atomic_store_explicit(&p->read_pos, c->read, memory_order_release);
	atomic_store_explicit(&p->clock, c->clock, memory_order_relaxed);
	atomic_store_explicit(&p->playing, c->playing, memory_order_relaxed);
	atomic_store_explicit(&p->concealing, c->concealing,
			      memory_order_relaxed);
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

static unsigned delay_ms(const struct wv_playout *p)
{
	int64_t d = atomic_load_explicit(&p->delay, memory_order_relaxed);

	return d > 0 ? (unsigned)((uint64_t)d / SAMPLES_PER_MS) : 0;
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
		.target_ms = (unsigned)(atomic_load_explicit(
						&p->target,
						memory_order_relaxed) /
					SAMPLES_PER_MS),
		.delay_ms = delay_ms(p),
		.jitter_ms = (unsigned)(counter_get(&p->jitter16) / 16 /
					SAMPLES_PER_MS),
		.concealed_samples = counter_get(&p->concealed),
		.inserted_samples = counter_get(&p->inserted),
		.dropped_samples = counter_get(&p->dropped),
		.late_arrivals = counter_get(&p->late),
	};
	wv__give_sized(out, out_size, &st, sizeof st);
}
