/* Level meters and the status line's clock: see level.h. */
#include "level.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include <wvoice/error.h>

int cli_level_init(struct cli_level *l, unsigned rate, unsigned window_ms)
{
	uint64_t per_window;

	if (window_ms == 0)
		window_ms = CLI_LEVEL_WINDOW_MS;
	per_window = (uint64_t)rate * window_ms / 1000;
	if (per_window < CLI_LEVEL_BLOCKS)
		return WV_ERR_INVALID;
	*l = (struct cli_level){ .block_len = (size_t)(per_window /
						       CLI_LEVEL_BLOCKS) };
	atomic_init(&l->rms_db, (float)CLI_LEVEL_FLOOR_DB);
	atomic_init(&l->peak_db, (float)CLI_LEVEL_FLOOR_DB);
	return 0;
}

static double to_db(double power)
{
	double db = power > 0.0 ? 10.0 * log10(power) : CLI_LEVEL_FLOOR_DB;

	return db > CLI_LEVEL_FLOOR_DB ? db : CLI_LEVEL_FLOOR_DB;
}

/* Readers see whole-window figures only, computed once per block. */
static void publish(struct cli_level *l)
{
	double sq = 0.0;
	float peak = 0.0f;

	for (size_t i = 0; i < l->blocks; i++) {
		sq += l->sq[i];
		if (l->peak[i] > peak)
			peak = l->peak[i];
	}
	atomic_store_explicit(
		&l->rms_db,
		(float)to_db(sq / (double)(l->blocks * l->block_len)),
		memory_order_relaxed);
	atomic_store_explicit(&l->peak_db, (float)to_db((double)peak * peak),
			      memory_order_relaxed);
}

static void end_block(struct cli_level *l)
{
	l->sq[l->next] = l->block_sq;
	l->peak[l->next] = l->block_peak;
	l->next = (l->next + 1) % CLI_LEVEL_BLOCKS;
	if (l->blocks < CLI_LEVEL_BLOCKS)
		l->blocks++;
	l->fill = 0;
	l->block_sq = 0.0;
	l->block_peak = 0.0f;
}

/* Returns true when the sample completed a block. */
static bool add_sample(struct cli_level *l, float v)
{
	float mag = fabsf(v);

	if (!(mag <= 1.0f)) /* NaN fails every comparison */
		mag = isnan(v) ? 0.0f : 1.0f;
	l->block_sq += (double)mag * mag;
	if (mag > l->block_peak)
		l->block_peak = mag;
	if (++l->fill < l->block_len)
		return false;
	end_block(l);
	return true;
}

void cli_level_feed_float(struct cli_level *l, const float *x, size_t n)
{
	bool ended = false;

	for (size_t i = 0; i < n; i++)
		ended |= add_sample(l, x[i]);
	if (ended)
		publish(l);
}

void cli_level_feed_pcm(struct cli_level *l, const int16_t *x, size_t n)
{
	bool ended = false;

	for (size_t i = 0; i < n; i++)
		ended |= add_sample(l, (float)x[i] / 32768.0f);
	if (ended)
		publish(l);
}

double cli_level_rms_db(const struct cli_level *l)
{
	return atomic_load_explicit(&l->rms_db, memory_order_relaxed);
}

double cli_level_peak_db(const struct cli_level *l)
{
	return atomic_load_explicit(&l->peak_db, memory_order_relaxed);
}

int cli_format_mmss(char *dst, size_t cap, int64_t ms)
{
	int64_t s = ms > 0 ? ms / 1000 : 0;
	int n = snprintf(dst, cap, "%02lld:%02lld", (long long)(s / 60),
			 (long long)(s % 60));

	return n >= 0 && (size_t)n < cap ? n : WV_ERR_NOSPACE;
}
