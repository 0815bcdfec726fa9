/* Log-linear histograms that merge exactly: see histo.h. */
#include "histo.h"

#include <string.h>

/* The last bucket's group: values at or over 2^CLI_HISTO_MAX_BITS land in
   the last bucket (and still count in max and sum as they are). */
#define LAST_BUCKET (CLI_HISTO_BUCKETS - 1)

void cli_histo_init(struct cli_histo *h)
{
	memset(h, 0, sizeof *h);
	h->min = UINT64_MAX;
}

/* Position of the highest set bit of v (v > 0). */
static unsigned top_bit(uint64_t v)
{
	unsigned b = 0;

	while (v >>= 1)
		b++;
	return b;
}

size_t cli_histo_bucket_of(uint64_t v)
{
	unsigned b, k;

	if (v < CLI_HISTO_SUB)
		return (size_t)v;
	b = top_bit(v);
	if (b >= CLI_HISTO_MAX_BITS)
		return LAST_BUCKET;
	/* Group k = b - SUB_BITS halves the resolution each power of two:
	   the SUB_BITS bits below the top one pick the bucket in it. */
	k = b - CLI_HISTO_SUB_BITS;
	return CLI_HISTO_SUB + (size_t)k * CLI_HISTO_SUB +
	       (size_t)((v >> k) - CLI_HISTO_SUB);
}

uint64_t cli_histo_bucket_lo(size_t i)
{
	size_t k, sub;

	if (i < CLI_HISTO_SUB)
		return i;
	if (i > LAST_BUCKET)
		i = LAST_BUCKET;
	k = (i - CLI_HISTO_SUB) / CLI_HISTO_SUB;
	sub = (i - CLI_HISTO_SUB) % CLI_HISTO_SUB;
	return (uint64_t)(CLI_HISTO_SUB + sub) << k;
}

uint64_t cli_histo_bucket_hi(size_t i)
{
	size_t k;

	if (i < CLI_HISTO_SUB)
		return i;
	if (i > LAST_BUCKET)
		i = LAST_BUCKET;
	k = (i - CLI_HISTO_SUB) / CLI_HISTO_SUB;
	return cli_histo_bucket_lo(i) + ((uint64_t)1 << k) - 1;
}

void cli_histo_add(struct cli_histo *h, uint64_t v)
{
	h->count++;
	/* Saturates rather than wraps: a sum past 2^64 µs (half a million
	   years) only spoils the mean. */
	h->sum = h->sum > UINT64_MAX - v ? UINT64_MAX : h->sum + v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->buckets[cli_histo_bucket_of(v)]++;
}

void cli_histo_merge(struct cli_histo *dst, const struct cli_histo *src)
{
	if (!src->count)
		return;
	dst->count += src->count;
	dst->sum = dst->sum > UINT64_MAX - src->sum ? UINT64_MAX
						     : dst->sum + src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	for (size_t i = 0; i < CLI_HISTO_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
}

uint64_t cli_histo_quantile(const struct cli_histo *h, double q)
{
	double want;
	uint64_t rank, seen = 0, v;

	if (!h->count)
		return 0;
	if (!(q > 0))
		return h->min;
	if (q >= 1)
		return h->max;
	/* The rank of the q-th value, 1-based; q * count computed in double
	   may land a hair above a whole number (0.99 * 100), which must not
	   move the rank up one. */
	want = q * (double)h->count;
	rank = (uint64_t)want;
	if ((double)rank < want * (1 - 1e-12))
		rank++;
	if (rank < 1)
		rank = 1;
	for (size_t i = 0; i < CLI_HISTO_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			v = cli_histo_bucket_hi(i);
			if (i == LAST_BUCKET || v > h->max)
				v = h->max;
			return v < h->min ? h->min : v;
		}
	}
	return h->max;
}

double cli_histo_mean(const struct cli_histo *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0;
}
