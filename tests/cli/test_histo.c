/*
 * The load generator's histograms: bucket boundaries against a table
 * worked out by hand, every bucket's range contiguous and within 1/32 of
 * its values, quantiles within that bound of a sorted array's, a merge
 * equal to one histogram of all the values, the empty histogram, and
 * values past the top bucket.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "histo.h"

struct bucket_case {
	uint64_t v;
	size_t bucket;
	uint64_t lo, hi;
};

#define P2(n) ((uint64_t)1 << (n))

static const struct bucket_case bucket_cases[] = {
	{ 0, 0, 0, 0 },
	{ 1, 1, 1, 1 },
	{ 31, 31, 31, 31 },
	{ 32, 32, 32, 32 },	/* the first log group: still exact */
	{ 63, 63, 63, 63 },
	{ 64, 64, 64, 65 },	/* 2 wide from 64 */
	{ 65, 64, 64, 65 },
	{ 66, 65, 66, 67 },
	{ 127, 95, 126, 127 },
	{ 128, 96, 128, 131 },	/* 4 wide from 128 */
	{ 1000, 32 + 4 * 32 + 30, 992, 1007 },
	{ 20000, 32 + 9 * 32 + 7, 19968, 20479 },
	{ P2(39), 32 + 34 * 32, P2(39), P2(39) + P2(34) - 1 },
	{ P2(40) - 1, CLI_HISTO_BUCKETS - 1, P2(40) - P2(34), P2(40) - 1 },
	{ P2(40), CLI_HISTO_BUCKETS - 1, P2(40) - P2(34), P2(40) - 1 },
	{ UINT64_MAX, CLI_HISTO_BUCKETS - 1, P2(40) - P2(34), P2(40) - 1 },
};

static void test_histo_buckets_match_the_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bucket_cases / sizeof *bucket_cases;
	     i++) {
		const struct bucket_case *c = &bucket_cases[i];
		size_t b = cli_histo_bucket_of(c->v);

		if (b != c->bucket || cli_histo_bucket_lo(b) != c->lo ||
		    cli_histo_bucket_hi(b) != c->hi)
			fail_msg("%llu: bucket %zu [%llu, %llu], want %zu "
				 "[%llu, %llu]",
				 (unsigned long long)c->v, b,
				 (unsigned long long)cli_histo_bucket_lo(b),
				 (unsigned long long)cli_histo_bucket_hi(b),
				 c->bucket, (unsigned long long)c->lo,
				 (unsigned long long)c->hi);
	}
}

static void test_histo_buckets_tile_the_range_within_a_32nd(void **state)
{
	(void)state;
	assert_int_equal(cli_histo_bucket_lo(0), 0);
	for (size_t i = 0; i < CLI_HISTO_BUCKETS; i++) {
		uint64_t lo = cli_histo_bucket_lo(i), hi = cli_histo_bucket_hi(i);

		assert_true(lo <= hi);
		assert_int_equal(cli_histo_bucket_of(lo), i);
		assert_int_equal(cli_histo_bucket_of(hi), i);
		/* The width over the smallest value: the quantile's bound. */
		assert_true((hi - lo) * CLI_HISTO_SUB <= lo);
		if (i + 1 < CLI_HISTO_BUCKETS)
			assert_int_equal(cli_histo_bucket_lo(i + 1), hi + 1);
	}
}

/* xorshift64*: the same values on every run. */
static uint64_t next_random(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* Spread over magnitudes, as latencies are: 0 to about 2^36. */
static uint64_t random_value(uint64_t *s)
{
	uint64_t r = next_random(s);

	return (r >> 8) & ((P2(r % 37)) - 1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

#define N_RANDOM 20011

static void test_histo_quantiles_within_a_32nd_of_sorted(void **state)
{
	static const double qs[] = { 0.0001, 0.01, 0.25, 0.5, 0.9,
				     0.99, 0.999, 0.9999 };
	uint64_t *vals = malloc(N_RANDOM * sizeof *vals), seed = 42;
	struct cli_histo *h = malloc(sizeof *h);

	(void)state;
	assert_non_null(vals);
	assert_non_null(h);
	cli_histo_init(h);
	for (size_t i = 0; i < N_RANDOM; i++) {
		vals[i] = random_value(&seed);
		cli_histo_add(h, vals[i]);
	}
	qsort(vals, N_RANDOM, sizeof *vals, cmp_u64);
	for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
		/* The exact quantile: the ceil(q n)-th smallest value. */
		size_t rank = (size_t)(qs[i] * N_RANDOM);
		uint64_t exact, got = cli_histo_quantile(h, qs[i]);

		if ((double)rank < qs[i] * N_RANDOM)
			rank++;
		exact = vals[rank - 1];
		if (got < exact || got - exact > exact / CLI_HISTO_SUB)
			fail_msg("q %g: %llu, exact %llu", qs[i],
				 (unsigned long long)got,
				 (unsigned long long)exact);
	}
	assert_int_equal(cli_histo_quantile(h, 0), vals[0]);
	assert_int_equal(cli_histo_quantile(h, 1), vals[N_RANDOM - 1]);
	assert_int_equal(h->min, vals[0]);
	assert_int_equal(h->max, vals[N_RANDOM - 1]);
	free(vals);
	free(h);
}

static void test_histo_quantile_of_round_ranks(void **state)
{
	struct cli_histo *h = malloc(sizeof *h);

	(void)state;
	assert_non_null(h);
	cli_histo_init(h);
	for (uint64_t v = 1; v <= 100; v++)
		cli_histo_add(h, v);
	/* 0.99 x 100 is 99 whatever the double says: the 99th value. */
	assert_int_equal(cli_histo_quantile(h, 0.99), 99);
	assert_int_equal(cli_histo_quantile(h, 0.5), 50);
	assert_int_equal(cli_histo_quantile(h, 0.01), 1);
	assert_int_equal(cli_histo_quantile(h, 0.011), 2);
	assert_true(cli_histo_mean(h) == 50.5);
	free(h);
}

static void test_histo_merge_equals_one_of_all_values(void **state)
{
	struct cli_histo *a = malloc(sizeof *a), *b = malloc(sizeof *b),
			 *all = malloc(sizeof *all);
	uint64_t seed = 7;

	(void)state;
	assert_true(a && b && all);
	cli_histo_init(a);
	cli_histo_init(b);
	cli_histo_init(all);
	for (size_t i = 0; i < N_RANDOM; i++) {
		uint64_t v = random_value(&seed);

		cli_histo_add(next_random(&seed) & 1 ? a : b, v);
		cli_histo_add(all, v);
	}
	cli_histo_merge(a, b);
	assert_memory_equal(a, all, sizeof *all);
	free(a);
	free(b);
	free(all);
}

static void test_histo_empty_has_no_figures(void **state)
{
	struct cli_histo *h = malloc(sizeof *h), *e = malloc(sizeof *e);

	(void)state;
	assert_true(h && e);
	cli_histo_init(h);
	cli_histo_init(e);
	assert_int_equal(h->count, 0);
	assert_int_equal(h->min, UINT64_MAX);
	assert_int_equal(h->max, 0);
	assert_int_equal(cli_histo_quantile(h, 0.5), 0);
	assert_int_equal(cli_histo_quantile(h, 1), 0);
	assert_true(cli_histo_mean(h) == 0);
	/* Empty into empty, empty into full, full into empty. */
	cli_histo_merge(h, e);
	assert_memory_equal(h, e, sizeof *h);
	cli_histo_add(h, 1234);
	cli_histo_merge(h, e);
	assert_int_equal(h->count, 1);
	assert_int_equal(h->min, 1234);
	cli_histo_merge(e, h);
	assert_memory_equal(h, e, sizeof *h);
	free(h);
	free(e);
}

static void test_histo_huge_values_count_in_the_top_bucket(void **state)
{
	struct cli_histo *h = malloc(sizeof *h);

	(void)state;
	assert_non_null(h);
	cli_histo_init(h);
	cli_histo_add(h, 5);
	cli_histo_add(h, P2(45));
	cli_histo_add(h, UINT64_MAX);
	assert_int_equal(h->buckets[CLI_HISTO_BUCKETS - 1], 2);
	assert_int_equal(h->max, UINT64_MAX);
	assert_int_equal(h->sum, UINT64_MAX); /* saturated */
	assert_int_equal(cli_histo_quantile(h, 0.1), 5);
	/* The top bucket has no upper end: its values are known by max. */
	assert_int_equal(cli_histo_quantile(h, 0.5), UINT64_MAX);
	assert_int_equal(cli_histo_quantile(h, 1), UINT64_MAX);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_histo_buckets_match_the_table),
		cmocka_unit_test(test_histo_buckets_tile_the_range_within_a_32nd),
		cmocka_unit_test(test_histo_quantiles_within_a_32nd_of_sorted),
		cmocka_unit_test(test_histo_quantile_of_round_ranks),
		cmocka_unit_test(test_histo_merge_equals_one_of_all_values),
		cmocka_unit_test(test_histo_empty_has_no_figures),
		cmocka_unit_test(test_histo_huge_values_count_in_the_top_bucket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
