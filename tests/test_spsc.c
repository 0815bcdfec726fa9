/*
 * The SPSC float ring: capacity, wrap-around, partial writes and reads,
 * skip; then two real threads moving numbered frames through it in odd
 * chunk sizes, the consumer checking that every frame arrives whole, once,
 * in order, except for what it skipped itself. Built for ThreadSanitizer as
 * well (make test-tsan). Nothing depends on timing.
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
#include <cmocka.h>

#include <wvoice/error.h>

#include "spsc.h"

static void test_spsc_capacity_is_rounded_up_to_a_power_of_two(void **state)
{
	struct wv__spsc r;
	float in[8] = { 0 };

	(void)state;
	assert_int_equal(wv__spsc_init(&r, 5, 1), 0);
	assert_int_equal(wv__spsc_space(&r), 8);
	assert_int_equal(wv__spsc_write(&r, in, 8), 8);
	assert_int_equal(wv__spsc_space(&r), 0);
	assert_int_equal(wv__spsc_write(&r, in, 1), 0);
	wv__spsc_cleanup(&r);
}

static void test_spsc_frames_wrap_around_intact(void **state)
{
	struct wv__spsc r;
	float in[2 * 6], out[2 * 6];

	(void)state;
	assert_int_equal(wv__spsc_init(&r, 8, 2), 0);
	/* Move the positions to 5 so the next 6 frames wrap. */
	for (int i = 0; i < 5; i++) {
		float f[2] = { (float)i, -(float)i };

		assert_int_equal(wv__spsc_write(&r, f, 1), 1);
		assert_int_equal(wv__spsc_read(&r, out, 1), 1);
		assert_true(out[0] == (float)i && out[1] == -(float)i);
	}
	for (int i = 0; i < 6; i++) {
		in[2 * i] = (float)(100 + i);
		in[2 * i + 1] = (float)(200 + i);
	}
	assert_int_equal(wv__spsc_write(&r, in, 6), 6);
	assert_int_equal(wv__spsc_available(&r), 6);
	memset(out, 0, sizeof out);
	assert_int_equal(wv__spsc_read(&r, out, 6), 6);
	assert_memory_equal(in, out, sizeof in);
	wv__spsc_cleanup(&r);
}

static void test_spsc_write_and_read_stop_at_what_fits(void **state)
{
	struct wv__spsc r;
	float in[12], out[12];

	(void)state;
	for (int i = 0; i < 12; i++)
		in[i] = (float)i;
	assert_int_equal(wv__spsc_init(&r, 8, 1), 0);
	assert_int_equal(wv__spsc_write(&r, in, 12), 8);
	assert_int_equal(wv__spsc_read(&r, out, 3), 3);
	assert_int_equal(wv__spsc_write(&r, in + 8, 4), 3);
	assert_int_equal(wv__spsc_read(&r, out, 12), 8);
	assert_true(out[0] == 3.0f && out[4] == 7.0f && out[5] == 8.0f &&
		    out[7] == 10.0f);
	assert_int_equal(wv__spsc_read(&r, out, 1), 0);
	wv__spsc_cleanup(&r);
}

static void test_spsc_skip_drops_the_oldest(void **state)
{
	struct wv__spsc r;
	float in[6] = { 1, 2, 3, 4, 5, 6 }, out[6];

	(void)state;
	assert_int_equal(wv__spsc_init(&r, 8, 1), 0);
	assert_int_equal(wv__spsc_write(&r, in, 6), 6);
	assert_int_equal(wv__spsc_skip(&r, 4), 4);
	assert_int_equal(wv__spsc_read(&r, out, 6), 2);
	assert_true(out[0] == 5.0f && out[1] == 6.0f);
	assert_int_equal(wv__spsc_skip(&r, 3), 0);
	wv__spsc_cleanup(&r);
}

static void test_spsc_init_rejects_bad_arguments(void **state)
{
	struct wv__spsc r;

	(void)state;
	assert_int_equal(wv__spsc_init(&r, 0, 1), WV_ERR_INVALID);
	assert_int_equal(wv__spsc_init(&r, 8, 0), WV_ERR_INVALID);
	assert_int_equal(wv__spsc_init(&r, 8, 9), WV_ERR_INVALID);
	assert_int_equal(wv__spsc_init(&r, SIZE_MAX, 1), WV_ERR_INVALID);
	assert_int_equal(wv__spsc_init(NULL, 8, 1), WV_ERR_INVALID);
	wv__spsc_cleanup(NULL);
}

/* ---- two threads ---- */

#define TOTAL_FRAMES 400000u
#define CHANNELS 2u

struct threads {
	struct wv__spsc ring;
	atomic_bool producer_done;
	unsigned failures;
	char first_failure[160];
	uint64_t received, skipped;
};

/* Producer: frames numbered 0.. (the number, and its negative beside it,
 * exact in a float below 2^24) in chunks of 1 to 37. */
static void *produce(void *arg)
{
	struct threads *t = arg;
	float chunk[37 * CHANNELS];
	uint32_t next = 0, seed = 1;

	while (next < TOTAL_FRAMES) {
		size_t n = 1 + (seed = seed * 1103515245u + 12345u) % 37, w;

		if (n > TOTAL_FRAMES - next)
			n = TOTAL_FRAMES - next;
		for (size_t i = 0; i < n; i++) {
			chunk[i * CHANNELS] = (float)(next + i);
			chunk[i * CHANNELS + 1] = -(float)(next + i);
		}
		w = wv__spsc_write(&t->ring, chunk, n);
		next += (uint32_t)w;
		if (w < n)
			sched_yield();
	}
	atomic_store(&t->producer_done, true);
	return NULL;
}

static void note_failure(struct threads *t, uint64_t expected, float got)
{
	if (t->failures++ == 0)
		snprintf(t->first_failure, sizeof t->first_failure,
			 "frame %llu: got %.0f",
			 (unsigned long long)expected, (double)got);
}

/* Consumer: reads in chunks of 1 to 53, and now and then skips a few. */
static void *consume(void *arg)
{
	struct threads *t = arg;
	float chunk[53 * CHANNELS];
	uint64_t expect = 0;
	uint32_t seed = 7;

	while (expect < TOTAL_FRAMES) {
		size_t n = 1 + (seed = seed * 1103515245u + 12345u) % 53, got;
		bool done = atomic_load(&t->producer_done);

		if (seed % 97 == 0) {
			size_t s = wv__spsc_skip(&t->ring, seed % 5);

			expect += s;
			t->skipped += s;
		}
		got = wv__spsc_read(&t->ring, chunk, n);
		for (size_t i = 0; i < got; i++, expect++) {
			float a = chunk[i * CHANNELS], b = chunk[i * CHANNELS + 1];

			if (a != (float)expect || b != -(float)expect)
				note_failure(t, expect, a);
		}
		t->received += got;
		if (got == 0 && done && wv__spsc_available(&t->ring) == 0)
			break;
		if (got == 0)
			sched_yield();
	}
	return NULL;
}

static void test_spsc_two_threads_move_every_frame_in_order(void **state)
{
	struct threads t;
	pthread_t p, c;

	(void)state;
	memset(&t, 0, sizeof t);
	atomic_init(&t.producer_done, false);
	/* Small, so the producer keeps finding it full. */
	assert_int_equal(wv__spsc_init(&t.ring, 64, CHANNELS), 0);
	assert_int_equal(pthread_create(&c, NULL, consume, &t), 0);
	assert_int_equal(pthread_create(&p, NULL, produce, &t), 0);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	if (t.failures)
		fail_msg("%u bad frames, first: %s", t.failures,
			 t.first_failure);
	assert_int_equal(t.received + t.skipped, TOTAL_FRAMES);
	assert_true(t.skipped > 0);
	wv__spsc_cleanup(&t.ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_spsc_capacity_is_rounded_up_to_a_power_of_two),
		cmocka_unit_test(test_spsc_frames_wrap_around_intact),
		cmocka_unit_test(test_spsc_write_and_read_stop_at_what_fits),
		cmocka_unit_test(test_spsc_skip_drops_the_oldest),
		cmocka_unit_test(test_spsc_init_rejects_bad_arguments),
		cmocka_unit_test(
			test_spsc_two_threads_move_every_frame_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
