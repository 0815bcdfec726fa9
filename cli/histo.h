/*
 * A histogram of non-negative whole numbers (the load generator's
 * microseconds), log-linear as HdrHistogram's: exact below
 * CLI_HISTO_SUB, then CLI_HISTO_SUB buckets per power of two, so a
 * quantile read from it is within 1/CLI_HISTO_SUB (3.2 %) of the value
 * it stands for, at any magnitude. Two histograms merge exactly (bucket
 * counts add), which is what lets shard reports combine into the figures
 * one run would have given: percentiles are never averaged.
 *
 * Fixed size (no allocation), values up to 2^CLI_HISTO_MAX_BITS - 1
 * (larger ones count in the last bucket, and in max as they are).
 * Thread: one at a time.
 */
#ifndef CLI_HISTO_H
#define CLI_HISTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_HISTO_SUB_BITS 5
#define CLI_HISTO_SUB (1u << CLI_HISTO_SUB_BITS)
#define CLI_HISTO_MAX_BITS 40 /* 2^40 µs: 12.7 days */
#define CLI_HISTO_BUCKETS                                                      \
	(CLI_HISTO_SUB + (CLI_HISTO_MAX_BITS - CLI_HISTO_SUB_BITS) * CLI_HISTO_SUB)

struct cli_histo {
	uint64_t count;
	uint64_t sum;
	uint64_t min, max; /* min is UINT64_MAX while empty */
	uint64_t buckets[CLI_HISTO_BUCKETS];
};

void cli_histo_init(struct cli_histo *h);
void cli_histo_add(struct cli_histo *h, uint64_t v);
/* dst += src, exactly. */
void cli_histo_merge(struct cli_histo *dst, const struct cli_histo *src);
/*
 * The value at quantile q (0 to 1): the smallest v such that at least
 * q * count values are <= v's bucket, given as that bucket's upper end,
 * capped to [min, max]. 0 when empty. q = 1 gives max.
 */
uint64_t cli_histo_quantile(const struct cli_histo *h, double q);
double cli_histo_mean(const struct cli_histo *h);

/* Bucket i's range, [lo, hi] inclusive; and the bucket of v. For the
   reports, which list non-empty buckets as [lo, count] pairs. */
uint64_t cli_histo_bucket_lo(size_t i);
uint64_t cli_histo_bucket_hi(size_t i);
size_t cli_histo_bucket_of(uint64_t v);

#endif
