/*
 * Meters for the terminal status line: the RMS and peak level of the last
 * stretch of audio (200 ms by default), in dBFS, and a "mm:ss" clock.
 *
 * Levels are relative to a full-scale square wave: a full-scale square is
 * 0 dBFS, a full-scale sine -3.01 dBFS. Silence reads CLI_LEVEL_FLOOR_DB.
 *
 * The window is split into CLI_LEVEL_BLOCKS equal blocks; it moves a block
 * at a time, so what is read covers the last window's worth of complete
 * blocks (less before a whole window has been fed).
 *
 * Threads: one thread feeds a meter; the readers (cli_level_rms_db(),
 * cli_level_peak_db()) are safe from any thread, so a status line may run
 * on another thread than the audio. Feeding never allocates or blocks.
 */
#ifndef CLI_LEVEL_H
#define CLI_LEVEL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_LEVEL_FLOOR_DB (-120.0)
#define CLI_LEVEL_BLOCKS 20
#define CLI_LEVEL_WINDOW_MS 200

/* A meter: caller-owned, set up by cli_level_init(), nothing to free. */
struct cli_level {
	size_t block_len;  /* samples per block */
	size_t fill;	   /* samples in the block being filled */
	double block_sq;   /* its sum of squares */
	float block_peak;  /* its largest magnitude */
	double sq[CLI_LEVEL_BLOCKS]; /* complete blocks, a ring */
	float peak[CLI_LEVEL_BLOCKS];
	size_t next;	   /* the ring slot the next block goes to */
	size_t blocks;	   /* complete blocks in the ring, up to BLOCKS */
	_Atomic float rms_db, peak_db; /* published for readers */
};

/*
 * Sets up a meter for audio at rate Hz over a window of window_ms (0 for
 * CLI_LEVEL_WINDOW_MS). Errors: WV_ERR_INVALID (rate 0, or a window so
 * short that a block would hold no sample).
 */
int cli_level_init(struct cli_level *l, unsigned rate, unsigned window_ms);

/* Feeds n samples, -1.0 to 1.0 (larger magnitudes count as 1, NaN as 0). */
void cli_level_feed_float(struct cli_level *l, const float *x, size_t n);
/* Feeds n 16-bit samples (s / 32768). */
void cli_level_feed_pcm(struct cli_level *l, const int16_t *x, size_t n);

/* The level over the window, in dBFS, CLI_LEVEL_FLOOR_DB and up. */
double cli_level_rms_db(const struct cli_level *l);
double cli_level_peak_db(const struct cli_level *l);

/*
 * Writes ms as "mm:ss" (whole seconds, rounded down; minutes grow past 99
 * as needed: "125:07"; negative times read "00:00") into dst, cap bytes
 * with the NUL. Returns the length, or WV_ERR_NOSPACE.
 */
int cli_format_mmss(char *dst, size_t cap, int64_t ms);

#endif
