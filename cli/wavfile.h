/*
 * Sound files for `wvoice call` and `wvoice demo`, through libsndfile:
 *
 * - cli_wav_source: any file libsndfile reads (WAV, FLAC, AIFF, Ogg, ...,
 *   any rate from WV_RATE_MIN to WV_RATE_MAX, any channel count) as the
 *   caller's voice, a struct wv_source giving mono float at the file's own
 *   rate;
 * - cli_wav_sink: the agent's audio as played, a struct wv_sink writing an
 *   8 kHz mono 16-bit WAV;
 * - cli_stereo_wav: a 16-bit stereo WAV of a whole call, the caller on the
 *   left and the agent on the right, each side written on its own.
 *
 * Files being written keep a valid header after every write, so what has
 * been written can be read even if the program is killed. Nothing here
 * paces itself: the loop that clocks the source and sink does.
 *
 * Threads: each object belongs to one thread at a time (the source's read
 * and the sink's write run on the loop's thread). Reads and writes are
 * disk I/O but never allocate.
 */
#ifndef CLI_WAVFILE_H
#define CLI_WAVFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wvoice/wvoice.h>

/* The rate of the files cli_wav_sink writes. */
#define CLI_WAV_SINK_RATE 8000
/* How far one side of a cli_stereo_wav may run ahead of the other. */
#define CLI_STEREO_WAV_MAX_LAG_MS 30000

/* ---- Input ---- */

struct cli_wav_source;

/*
 * Opens path for reading. Errors, with a message naming the file in err
 * (errlen bytes, may be NULL): WV_ERR_INVALID (cannot be opened, or not a
 * sound file libsndfile reads), WV_ERR_RATE (a rate outside WV_RATE_MIN to
 * WV_RATE_MAX), WV_ERR_NOMEM.
 */
int cli_wav_source_open(struct cli_wav_source **out, const char *path,
			char *err, size_t errlen);
/* NULL is fine. */
void cli_wav_source_close(struct cli_wav_source *src);

unsigned cli_wav_source_rate(const struct cli_wav_source *src);
unsigned cli_wav_source_channels(const struct cli_wav_source *src);
/* Frames in the file as its header says, or -1 when it cannot say (a
 * pipe). */
int64_t cli_wav_source_frames(const struct cli_wav_source *src);

/*
 * struct wv_source's read (user is the cli_wav_source): fills dst with the
 * next n frames, channels averaged and clamped to -1.0..1.0 (NaN read as
 * 0). Returns 0 while the file lasts; from the read in which it runs out
 * on, returns 1 with the rest of dst (all of it, after that) silence. A
 * read error counts as the end of the file.
 */
int cli_wav_source_read(void *user, float *dst, size_t n);

/* True once cli_wav_source_read() has returned 1. */
bool cli_wav_source_ended(const struct cli_wav_source *src);

/* { rate, cli_wav_source_read, src }, for wv_client_config.source. */
struct wv_source cli_wav_source_wv(struct cli_wav_source *src);

/* ---- Output: the agent, 8 kHz mono ---- */

struct cli_wav_sink;

/* Creates (or truncates) path as an 8 kHz mono 16-bit WAV. Errors:
 * WV_ERR_INVALID (cannot create it; err says why), WV_ERR_NOMEM. */
int cli_wav_sink_open(struct cli_wav_sink **out, const char *path, char *err,
		      size_t errlen);

/*
 * struct wv_sink's write (user is the cli_wav_sink): appends n samples.
 * After a write fails the sink writes nothing more, and close says why.
 */
void cli_wav_sink_write(void *user, const int16_t *pcm, size_t n);

/* Samples written so far. */
uint64_t cli_wav_sink_frames(const struct cli_wav_sink *s);

/* { cli_wav_sink_write, s }, for wv_client_config.sink. */
struct wv_sink cli_wav_sink_wv(struct cli_wav_sink *s);

/* Finishes the file and frees s (NULL is fine). Returns 0, or
 * WV_ERR_INTERNAL if any write failed, with "PATH: cannot write: ..." in
 * err. */
int cli_wav_sink_close(struct cli_wav_sink *s, char *err, size_t errlen);

/* ---- Output: a whole call, stereo ---- */

/*
 * Left is the caller, right the agent. Sample i of either side goes to frame
 * i of the file: a side that is ahead waits in memory for the other, and
 * each write puts out the frames that both sides have reached.
 *
 * A side may run CLI_STEREO_WAV_MAX_LAG_MS ahead. Past that its oldest
 * samples are written with silence on the other side, whose samples for
 * those frames, when they come, are dropped (counted by
 * cli_stereo_wav_dropped()): the two sides never slide against each other.
 * Closing writes out the side that is ahead, against silence.
 */
enum cli_stereo_side { CLI_STEREO_LEFT, CLI_STEREO_RIGHT };

struct cli_stereo_wav;

/* Creates (or truncates) path as a stereo 16-bit WAV at rate (WV_RATE_MIN
 * to WV_RATE_MAX). Errors: WV_ERR_INVALID (cannot create it; err says why),
 * WV_ERR_RATE, WV_ERR_NOMEM. */
int cli_stereo_wav_open(struct cli_stereo_wav **out, const char *path,
			unsigned rate, char *err, size_t errlen);

/* Appends n samples to one side. Returns 0, or WV_ERR_INTERNAL once a write
 * has failed (nothing more is written; close says why). */
int cli_stereo_wav_write(struct cli_stereo_wav *w, enum cli_stereo_side side,
			 const int16_t *pcm, size_t n);
int cli_stereo_wav_write_left(struct cli_stereo_wav *w, const int16_t *pcm,
			      size_t n);
int cli_stereo_wav_write_right(struct cli_stereo_wav *w, const int16_t *pcm,
			       size_t n);

/* Frames in the file so far (not counting what waits in memory). */
uint64_t cli_stereo_wav_frames(const struct cli_stereo_wav *w);
/* Samples dropped because they came after their frame was written. */
uint64_t cli_stereo_wav_dropped(const struct cli_stereo_wav *w);

/* Writes out what waits, finishes the file and frees w (NULL is fine).
 * Returns 0 or WV_ERR_INTERNAL as cli_wav_sink_close(). */
int cli_stereo_wav_close(struct cli_stereo_wav *w, char *err, size_t errlen);

#endif
