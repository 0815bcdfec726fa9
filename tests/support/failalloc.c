/* Failure injection for allocations: see failalloc.h. */
#include "failalloc.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include <wvoice/alloc.h>

/* Each block carries a header that says whether the armed thread made it,
   so that it is counted out wherever it is freed. */
struct header {
	alignas(max_align_t) unsigned char counted;
};

static _Thread_local bool this_thread; /* the one that armed it */
static atomic_bool armed;
static size_t fail_at, count; /* touched by the armed thread only */
static bool failed;
static atomic_long live;

static bool on_armed_thread(void)
{
	return this_thread && atomic_load(&armed);
}

static void *take(size_t n)
{
	bool mine = on_armed_thread();
	struct header *h;

	if (mine && ++count == fail_at) {
		failed = true;
		return NULL;
	}
	h = malloc(sizeof *h + n);
	if (!h)
		return NULL;
	h->counted = mine;
	if (mine)
		atomic_fetch_add(&live, 1);
	return h + 1;
}

static void give_back(void *p)
{
	struct header *h;

	if (!p)
		return;
	h = (struct header *)p - 1;
	if (h->counted)
		atomic_fetch_sub(&live, 1);
	free(h);
}

static void *wv_take(void *user, size_t n)
{
	(void)user;
	return take(n);
}

static void *wv_grow(void *user, void *p, size_t n)
{
	struct header *h;
	void *q;

	(void)user;
	if (!p)
		return take(n);
	if (on_armed_thread() && ++count == fail_at) {
		failed = true;
		return NULL;
	}
	h = (struct header *)p - 1;
	q = realloc(h, sizeof *h + n);
	return q ? (struct header *)q + 1 : NULL;
}

static void wv_give(void *user, void *p)
{
	(void)user;
	give_back(p);
}

void failalloc_install(void)
{
	static const struct wv_allocator a = { wv_take, wv_grow, wv_give, NULL };

	wv_set_allocator(&a);
	json_set_alloc_funcs(take, give_back);
}

void failalloc_arm(size_t n)
{
	this_thread = true;
	fail_at = n;
	count = 0;
	failed = false;
	atomic_store(&live, 0);
	atomic_store(&armed, true);
}

void failalloc_disarm(void)
{
	atomic_store(&armed, false);
}

size_t failalloc_count(void)
{
	return count;
}

bool failalloc_failed(void)
{
	return failed;
}

long failalloc_live(void)
{
	return atomic_load(&live);
}

size_t failalloc_each(int (*run)(void *arg), void *arg,
		      const char *(*judge)(int rc, void *arg))
{
	size_t n, total;

	failalloc_arm(0);
	assert_int_equal(run(arg), 0);
	total = failalloc_count();
	failalloc_disarm();
	assert_int_equal(failalloc_live(), 0);
	for (n = 1; n <= total + 1; n++) {
		const char *why;
		int rc;

		failalloc_arm(n);
		rc = run(arg);
		failalloc_disarm();
		if (failalloc_live() != 0)
			fail_msg("allocation %zu of %zu failed: %ld blocks left",
				 n, total, failalloc_live());
		if (!failalloc_failed())
			break;
		why = judge(rc, arg);
		if (why)
			fail_msg("allocation %zu of %zu failed: %s", n, total,
				 why);
	}
	assert_int_equal(n, total + 1);
	return total;
}
