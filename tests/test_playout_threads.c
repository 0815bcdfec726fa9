/*
 * Playout buffer across two real threads: a producer pushing frames, marks,
 * flushes and clears as fast as it can, and a consumer reading blocks of odd
 * sizes with short sleeps, as an audio callback would. Built for
 * ThreadSanitizer as well (make test-tsan).
 *
 * Nothing here depends on timing. Each side checks what must hold in every
 * interleaving:
 *   consumer  every sample of audio read is the one pushed at the position
 *             the buffer says it played (played + cleared), so audio comes
 *             in order, is never repeated or torn, and skips only what a
 *             clear dropped;
 *   producer  marks come back in order, once, none that a clear dropped,
 *             and never before the consumer has played up to them.
 * Threads record failures; the test thread asserts after joining them,
 * since cmocka's asserts belong to the test thread.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <cmocka.h>

#include <wvoice/error.h>
#include <wvoice/playout.h>

#include "playout_pin.h"

#define FRAMES 2000
#define FRAME 160
#define MAX_MARKS_PLACED (FRAMES / 5 + 1)
#define MAX_CONSUMER_READS 200000 /* about 100 times what a run takes */
#define MAX_PUSH_TRIES 100000L /* 10 s of 100 us naps */

struct failure {
	unsigned count;
	char first[256];
};

struct run {
	struct wv_playout *p;
	bool answer_marks_on_clear;
	atomic_bool producer_done;

	/* Producer's. */
	uint64_t next;		/* position of the next sample pushed */
	uint64_t offered;	/* samples offered to push */
	uint64_t last_clear;	/* write position at the last clear */
	uint64_t mark_pos[MAX_MARKS_PLACED];
	unsigned marks_placed;	/* the next mark's id */
	unsigned marks_refused;
	unsigned marks_dropped; /* pending at a clear, not answered */
	unsigned first_live;	/* lowest id no clear has dropped */
	long last_reported;	/* id, or -1 */
	unsigned clears;
	struct failure producer;

	/* Consumer's. */
	uint64_t audio_read;
	uint64_t reads;
	struct failure consumer;
};

static int16_t pattern(uint64_t pos)
{
	return (int16_t)(1 + pos % 30011);
}

static void fail_at(struct failure *f, const char *fmt, ...)
{
	va_list ap;

	if (f->count++ > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(f->first, sizeof(f->first), fmt, ap);
	va_end(ap);
}

static struct wv_playout_stats stats_of(const struct wv_playout *p)
{
	struct wv_playout_stats st;

	wv_playout_stats(p, &st);
	return st;
}

/* ---- producer --------------------------------------------------------- */

static void check_mark(void *user, const char *id)
{
	struct run *r = user;
	struct wv_playout_stats st = stats_of(r->p);
	char *end;
	unsigned long n = strtoul(id, &end, 10);
	uint64_t reached;

	if (*end != '\0' || n >= r->marks_placed) {
		fail_at(&r->producer, "unknown mark id \"%s\"", id);
		return;
	}
	if ((long)n <= r->last_reported)
		fail_at(&r->producer, "mark %lu after mark %ld", n,
			r->last_reported);
	if (r->answer_marks_on_clear && (long)n != r->last_reported + 1)
		fail_at(&r->producer, "mark %lu skipped some after %ld", n,
			r->last_reported);
	if (n < r->first_live)
		fail_at(&r->producer, "mark %lu reported after a clear", n);
	/* The consumer has played up to read_pos == played + cleared; a clear
	 * reaches every mark before it. */
	reached = st.played_samples + st.cleared_samples;
	if (r->last_clear > reached)
		reached = r->last_clear;
	if (r->mark_pos[n] > reached)
		fail_at(&r->producer,
			"mark %lu at %llu reported with only %llu reached", n,
			(unsigned long long)r->mark_pos[n],
			(unsigned long long)reached);
	r->last_reported = (long)n;
}

/* Pushes one frame. A paced sender waits for room, so that both threads
 * stay busy through the whole run; a frame offered without waiting loses
 * whatever does not fit. */
static void push_frame(struct run *r, bool wait)
{
	int16_t frame[FRAME];
	size_t done = 0;

	for (long tries = 0; done < FRAME; tries++) {
		size_t n = FRAME - done, took;

		for (size_t i = 0; i < n; i++)
			frame[i] = pattern(r->next + i);
		took = wv_playout_push(r->p, frame, n);
		if (took > n)
			fail_at(&r->producer, "push took %zu of %zu", took, n);
		r->offered += n;
		r->next += took;
		done += took;
		if (!wait)
			break;
		if (tries == MAX_PUSH_TRIES) {
			fail_at(&r->producer, "no room for %llu s",
				(unsigned long long)MAX_PUSH_TRIES / 10000);
			break;
		}
		if (done < FRAME)
			nanosleep(&(struct timespec){ .tv_nsec = 100000 }, NULL);
	}
}

static void place_mark(struct run *r)
{
	char id[16];
	int rc;

	snprintf(id, sizeof(id), "%u", r->marks_placed);
	rc = wv_playout_mark(r->p, id);
	if (rc == WV_ERR_FULL) {
		r->marks_refused++;
		return;
	}
	if (rc != 0) {
		fail_at(&r->producer, "mark: %s", wv_strerror(rc));
		return;
	}
	r->mark_pos[r->marks_placed++] = r->next;
}

static void clear(struct run *r)
{
	if (!r->answer_marks_on_clear)
		r->marks_dropped += (unsigned)stats_of(r->p).marks_pending;
	wv_playout_clear(r->p);
	r->last_clear = r->next;
	if (!r->answer_marks_on_clear)
		r->first_live = r->marks_placed;
	r->clears++;
}

static void *producer(void *arg)
{
	struct run *r = arg;

	r->last_reported = -1;
	for (unsigned f = 0; f < FRAMES; f++) {
		push_frame(r, f % 50 != 49);
		if (f % 5 == 4)
			place_mark(r);
		if (f % 11 == 10)
			wv_playout_flush(r->p);
		if (f % 97 == 96)
			clear(r);
		wv_playout_poll_marks(r->p, check_mark, r);
		if (f % 8 == 0)
			sched_yield();
	}
	/* Let the tail play out whatever the pre-buffer. */
	wv_playout_flush(r->p);
	/* Release: the consumer that sees the flag sees the flush. */
	atomic_store_explicit(&r->producer_done, true, memory_order_release);
	return NULL;
}

/* ---- consumer --------------------------------------------------------- */

/* Checks one block: its audio samples (never 0) are exactly those at the
 * positions the buffer counted as played in this read, in order. */
static void check_block(struct run *r, const int16_t *out, size_t n,
			const struct wv_playout_stats *before,
			const struct wv_playout_stats *after)
{
	uint64_t pos = before->played_samples + after->cleared_samples;
	uint64_t played = after->played_samples - before->played_samples;
	uint64_t audio = 0;

	for (size_t i = 0; i < n; i++) {
		if (out[i] == 0)
			continue;
		if (out[i] != pattern(pos + audio))
			fail_at(&r->consumer,
				"read %llu, sample %zu: got %d, want %d",
				(unsigned long long)r->reads, i, out[i],
				pattern(pos + audio));
		audio++;
	}
	if (audio != played)
		fail_at(&r->consumer, "read %llu: %llu audio samples, %llu played",
			(unsigned long long)r->reads, (unsigned long long)audio,
			(unsigned long long)played);
	r->audio_read += audio;
}

static bool drained(struct run *r)
{
	/* Acquire: pairs with the producer's release, so its last push and
	 * flush are visible before queued_samples is read. */
	return atomic_load_explicit(&r->producer_done, memory_order_acquire) &&
	       stats_of(r->p).queued_samples == 0;
}

static void *consumer(void *arg)
{
	static const size_t sizes[] = { 37, 128, 441 };
	const struct timespec pause = { .tv_sec = 0, .tv_nsec = 20000 };
	struct run *r = arg;
	int16_t out[441];

	while (!drained(r)) {
		size_t n = sizes[r->reads % 3];
		struct wv_playout_stats before = stats_of(r->p), after;

		wv_playout_read(r->p, out, n);
		after = stats_of(r->p);
		check_block(r, out, n, &before, &after);
		if (++r->reads == MAX_CONSUMER_READS) {
			fail_at(&r->consumer, "never drained");
			break;
		}
		nanosleep(&pause, NULL);
	}
	return NULL;
}

/* ---- the runs --------------------------------------------------------- */

static void run_threads(struct wv_playout_config *cfg)
{
	pthread_t prod, cons;
	struct run *r = calloc(1, sizeof(*r));
	struct wv_playout_stats st;

	assert_non_null(r);
	r->answer_marks_on_clear = cfg->answer_marks_on_clear;
	atomic_init(&r->producer_done, false);
	assert_int_equal(wv_playout_create(&r->p, cfg), 0);
	assert_int_equal(pthread_create(&cons, NULL, consumer, r), 0);
	assert_int_equal(pthread_create(&prod, NULL, producer, r), 0);
	assert_int_equal(pthread_join(prod, NULL), 0);
	assert_int_equal(pthread_join(cons, NULL), 0);

	/* Everything queued has been played: every mark left is due. */
	wv_playout_poll_marks(r->p, check_mark, r);
	if (r->producer.count)
		fail_msg("producer: %u failures, first: %s", r->producer.count,
			 r->producer.first);
	if (r->consumer.count)
		fail_msg("consumer: %u failures, first: %s", r->consumer.count,
			 r->consumer.first);
	st = stats_of(r->p);
	assert_int_equal(st.pushed_samples, r->next);
	assert_int_equal(st.pushed_samples + st.overflow_samples, r->offered);
	assert_int_equal(st.played_samples + st.cleared_samples, r->next);
	assert_int_equal(st.played_samples, r->audio_read);
	assert_int_equal(st.marks_pending, 0);
	assert_int_equal(st.marks_refused, r->marks_refused);
	assert_int_equal(st.marks_reported + r->marks_dropped, r->marks_placed);
	if (r->answer_marks_on_clear)
		assert_int_equal(r->last_reported + 1, r->marks_placed);
	assert_true(r->clears > 0);
	print_message("%llu reads, %u marks placed, %u refused, %u dropped, "
		      "%llu samples overflowed, %llu cleared, %llu underruns\n",
		      (unsigned long long)r->reads, r->marks_placed,
		      r->marks_refused, r->marks_dropped,
		      (unsigned long long)st.overflow_samples,
		      (unsigned long long)st.cleared_samples,
		      (unsigned long long)st.underruns);
	wv_playout_destroy(r->p);
	free(r);
}

/* The default policy on a small buffer: pre-buffer, marks dropped on clear,
 * and few mark slots so that refusals happen too. */
static void test_playout_threads_keep_audio_and_marks_in_order(void **state)
{
	struct wv_playout_config cfg;
	(void)state;

	wv_playout_config_default(&cfg);
	cfg.max_ms = 500;
	cfg.max_marks = 3;
	pin_policy(&cfg);
	run_threads(&cfg);
}

/* No pre-buffer, a tiny buffer that overflows often, and every mark
 * answered: none may be missing. */
static void test_playout_threads_answer_every_mark_across_clears(void **state)
{
	struct wv_playout_config cfg;
	(void)state;

	wv_playout_config_default(&cfg);
	cfg.prebuffer_ms = 0;
	cfg.max_ms = 40;
	cfg.answer_marks_on_clear = true;
	pin_policy(&cfg);
	run_threads(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_playout_threads_keep_audio_and_marks_in_order),
		cmocka_unit_test(
			test_playout_threads_answer_every_mark_across_clears),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
