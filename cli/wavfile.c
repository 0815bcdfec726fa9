/* Sound files in and out: see wavfile.h. */
#include "wavfile.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sndfile.h>

#include <wvoice/error.h>
#include <wvoice/resampler.h>

#include "errbuf.h"

/* Frames read from the file at a time. */
#define READ_FRAMES 512
/* Stereo frames put together at a time before they are written. */
#define STAGE_FRAMES 256

/* ---- Input ---- */

struct cli_wav_source {
	SNDFILE *sf;
	SF_INFO info;
	float *block; /* READ_FRAMES frames, every channel */
	uint64_t pos; /* frames read */
	bool ended;
};

/* libsndfile's own message for a file it cannot open does not tell a
 * missing file from one it does not understand; asking first does. Not by
 * opening it: closing a FIFO's only reader would kill its writer. */
static int check_readable(const char *path, char *err, size_t errlen)
{
	if (access(path, R_OK) != 0)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "%s: cannot open: %s", path, strerror(errno));
	return 0;
}

static int source_check(const struct cli_wav_source *src, const char *path,
			char *err, size_t errlen)
{
	int rate = src->info.samplerate;

	if (rate < WV_RATE_MIN || rate > WV_RATE_MAX)
		return wvs_errorf(
			err, errlen, WV_ERR_RATE,
			"%s: sample rate %d Hz is outside %d to %d Hz", path,
			rate, WV_RATE_MIN, WV_RATE_MAX);
	if (src->info.channels < 1)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "%s: no channels", path);
	return 0;
}

int cli_wav_source_open(struct cli_wav_source **out, const char *path,
			char *err, size_t errlen)
{
	struct cli_wav_source *src;
	int rc;

	*out = NULL;
	rc = check_readable(path, err, errlen);
	if (rc < 0)
		return rc;
	src = calloc(1, sizeof *src);
	if (!src)
		return WV_ERR_NOMEM;
	src->sf = sf_open(path, SFM_READ, &src->info);
	if (!src->sf) {
		rc = wvs_errorf(err, errlen, WV_ERR_INVALID,
				"%s: not a sound file libsndfile reads (%s)",
				path, sf_strerror(NULL));
		goto fail;
	}
	rc = source_check(src, path, err, errlen);
	if (rc < 0)
		goto fail;
	src->block = malloc((size_t)READ_FRAMES * (size_t)src->info.channels *
			    sizeof *src->block);
	if (!src->block) {
		rc = WV_ERR_NOMEM;
		goto fail;
	}
	*out = src;
	return 0;
fail:
	cli_wav_source_close(src);
	return rc;
}

void cli_wav_source_close(struct cli_wav_source *src)
{
	if (!src)
		return;
	if (src->sf)
		sf_close(src->sf);
	free(src->block);
	free(src);
}

unsigned cli_wav_source_rate(const struct cli_wav_source *src)
{
	return (unsigned)src->info.samplerate;
}

unsigned cli_wav_source_channels(const struct cli_wav_source *src)
{
	return (unsigned)src->info.channels;
}

int64_t cli_wav_source_frames(const struct cli_wav_source *src)
{
	/* libsndfile says SF_COUNT_MAX for a stream it cannot measure. */
	if (!src->info.seekable || src->info.frames == SF_COUNT_MAX)
		return -1;
	return src->info.frames;
}

bool cli_wav_source_ended(const struct cli_wav_source *src)
{
	return src->ended;
}

static float clamp_unit(double v)
{
	if (v > 1.0)
		return 1.0f;
	if (v < -1.0)
		return -1.0f;
	return isnan(v) ? 0.0f : (float)v;
}

/* Reads up to n (at most READ_FRAMES) frames into dst, mixed to mono, and
 * returns how many came. */
static size_t read_mixed(struct cli_wav_source *src, float *dst, size_t n)
{
	size_t ch = (size_t)src->info.channels;
	sf_count_t got = sf_readf_float(src->sf, src->block, (sf_count_t)n);

	if (got <= 0)
		return 0;
	for (size_t i = 0; i < (size_t)got; i++) {
		double sum = 0.0;

		for (size_t c = 0; c < ch; c++)
			sum += src->block[i * ch + c];
		/* A NaN sample makes the whole frame silent, not just its
		 * channel: the mean is already unknown. */
		dst[i] = clamp_unit(sum / (double)ch);
	}
	return (size_t)got;
}

int cli_wav_source_read(void *user, float *dst, size_t n)
{
	struct cli_wav_source *src = user;
	size_t filled = 0;

	while (filled < n && !src->ended) {
		size_t want = n - filled < READ_FRAMES ? n - filled
						       : READ_FRAMES;
		size_t got = read_mixed(src, dst + filled, want);

		filled += got;
		src->pos += got;
		/* A short read is the end, or an error treated as one. */
		if (got < want)
			src->ended = true;
	}
	/* A file that ends on a read's last frame ends with that read, not
	 * one read later, when its length is known. */
	if (cli_wav_source_frames(src) >= 0 &&
	    src->pos >= (uint64_t)src->info.frames)
		src->ended = true;
	if (filled < n)
		memset(dst + filled, 0, (n - filled) * sizeof *dst);
	return src->ended ? 1 : 0;
}

struct wv_source cli_wav_source_wv(struct cli_wav_source *src)
{
	return (struct wv_source){ cli_wav_source_rate(src),
				   cli_wav_source_read, src };
}

/* ---- Output, either layout ---- */

/* A 16-bit WAV being written; after a failed write it writes no more. */
struct wav_out {
	char *path;
	SNDFILE *sf;
	uint64_t frames;
	bool failed;
	char why[128]; /* libsndfile's message for the failure */
};

static int out_open(struct wav_out *o, const char *path, unsigned rate,
		    int channels, char *err, size_t errlen)
{
	SF_INFO info = { .samplerate = (int)rate,
			 .channels = channels,
			 .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };

	int fd;

	o->path = strdup(path);
	if (!o->path)
		return WV_ERR_NOMEM;
	/* Created here first: libsndfile's words for a system error are
	   "System error : No such file or directory." */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "%s: cannot create: %s", path,
				  strerror(errno));
	close(fd);
	o->sf = sf_open(path, SFM_WRITE, &info);
	if (!o->sf)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "%s: cannot write a WAV file: %s", path,
				  sf_strerror(NULL));
	/* The header is rewritten after each write, so the file reads whole
	 * up to its last write even if the program never closes it. */
	sf_command(o->sf, SFC_SET_UPDATE_HEADER_AUTO, NULL, SF_TRUE);
	return 0;
}

static void out_fail(struct wav_out *o, const char *why)
{
	if (o->failed)
		return;
	o->failed = true;
	snprintf(o->why, sizeof o->why, "%s", why);
}

static int out_write(struct wav_out *o, const int16_t *frames, size_t n)
{
	sf_count_t got;

	if (o->failed)
		return WV_ERR_INTERNAL;
	got = sf_writef_short(o->sf, frames, (sf_count_t)n);
	if (got > 0)
		o->frames += (uint64_t)got;
	if (got != (sf_count_t)n) {
		out_fail(o, sf_strerror(o->sf));
		return WV_ERR_INTERNAL;
	}
	return 0;
}

/* Frees what o holds; reports the first failure. */
static int out_close(struct wav_out *o, char *err, size_t errlen)
{
	int rc = 0;

	if (o->sf) {
		int sfrc = sf_close(o->sf);

		if (sfrc != 0)
			out_fail(o, sf_error_number(sfrc));
	}
	if (o->failed)
		rc = wvs_errorf(err, errlen, WV_ERR_INTERNAL,
				"%s: cannot write: %s", o->path, o->why);
	free(o->path);
	return rc;
}

/* ---- Output: the agent, 8 kHz mono ---- */

struct cli_wav_sink {
	struct wav_out out;
};

int cli_wav_sink_open(struct cli_wav_sink **out, const char *path, char *err,
		      size_t errlen)
{
	struct cli_wav_sink *s = calloc(1, sizeof *s);
	int rc;

	*out = NULL;
	if (!s)
		return WV_ERR_NOMEM;
	rc = out_open(&s->out, path, CLI_WAV_SINK_RATE, 1, err, errlen);
	if (rc < 0) {
		out_close(&s->out, NULL, 0);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void cli_wav_sink_write(void *user, const int16_t *pcm, size_t n)
{
	struct cli_wav_sink *s = user;

	out_write(&s->out, pcm, n);
}

uint64_t cli_wav_sink_frames(const struct cli_wav_sink *s)
{
	return s->out.frames;
}

struct wv_sink cli_wav_sink_wv(struct cli_wav_sink *s)
{
	return (struct wv_sink){ cli_wav_sink_write, s };
}

int cli_wav_sink_close(struct cli_wav_sink *s, char *err, size_t errlen)
{
	int rc;

	if (!s)
		return 0;
	rc = out_close(&s->out, err, errlen);
	free(s);
	return rc;
}

/* ---- Output: a whole call, stereo ---- */

struct cli_stereo_wav {
	struct wav_out out;
	/* Samples of the side ahead (lead) for the frames from `flushed` on,
	 * in a ring of mask + 1 (a power of two). */
	int16_t *ring;
	size_t mask, head, len;
	enum cli_stereo_side lead;
	uint64_t pos[2]; /* samples given, per side */
	uint64_t flushed; /* frames decided (written, or failed to be) */
	uint64_t dropped;
	int16_t stage[2 * STAGE_FRAMES];
};

static size_t ring_size(unsigned rate)
{
	size_t want = (size_t)rate * CLI_STEREO_WAV_MAX_LAG_MS / 1000, size = 1;

	while (size < want)
		size <<= 1;
	return size;
}

int cli_stereo_wav_open(struct cli_stereo_wav **out, const char *path,
			unsigned rate, char *err, size_t errlen)
{
	struct cli_stereo_wav *w;
	int rc;

	*out = NULL;
	if (rate < WV_RATE_MIN || rate > WV_RATE_MAX)
		return wvs_errorf(err, errlen, WV_ERR_RATE,
				  "%s: sample rate %u Hz is outside %d to %d Hz",
				  path, rate, WV_RATE_MIN, WV_RATE_MAX);
	w = calloc(1, sizeof *w);
	if (!w)
		return WV_ERR_NOMEM;
	w->mask = ring_size(rate) - 1;
	w->ring = malloc((w->mask + 1) * sizeof *w->ring);
	rc = w->ring ? out_open(&w->out, path, rate, 2, err, errlen)
		     : WV_ERR_NOMEM;
	if (rc < 0) {
		out_close(&w->out, NULL, 0);
		free(w->ring);
		free(w);
		return rc;
	}
	*out = w;
	return 0;
}

/* Writes the m oldest waiting frames: the side ahead from the ring, the
 * other from other (NULL: silence). */
static void emit(struct cli_stereo_wav *w, const int16_t *other, size_t m)
{
	size_t ahead = w->lead, behind = 1 - ahead;

	while (m > 0) {
		size_t k = m < STAGE_FRAMES ? m : STAGE_FRAMES;

		for (size_t i = 0; i < k; i++) {
			w->stage[2 * i + ahead] = w->ring[(w->head + i) & w->mask];
			w->stage[2 * i + behind] = other ? other[i] : 0;
		}
		out_write(&w->out, w->stage, k);
		w->head = (w->head + k) & w->mask;
		w->len -= k;
		w->flushed += k;
		if (other)
			other += k;
		m -= k;
	}
}

/* Keeps up to n samples of side waiting; returns how many it took. Makes
 * room, when the ring is full, by giving up on the other side. */
static size_t hold(struct cli_stereo_wav *w, enum cli_stereo_side side,
		   const int16_t *pcm, size_t n)
{
	size_t room, k;

	if (w->len == w->mask + 1)
		emit(w, NULL, STAGE_FRAMES);
	w->lead = side;
	room = w->mask + 1 - w->len;
	k = n < room ? n : room;
	for (size_t i = 0; i < k; i++)
		w->ring[(w->head + w->len + i) & w->mask] = pcm[i];
	w->len += k;
	return k;
}

int cli_stereo_wav_write(struct cli_stereo_wav *w, enum cli_stereo_side side,
			 const int16_t *pcm, size_t n)
{
	size_t k;

	/* Samples for frames already written against silence. */
	if (w->pos[side] < w->flushed) {
		k = w->flushed - w->pos[side] < n
			    ? (size_t)(w->flushed - w->pos[side])
			    : n;
		w->pos[side] += k;
		w->dropped += k;
		pcm += k;
		n -= k;
	}
	/* The other side is ahead: these complete its waiting frames. */
	if (n > 0 && w->len > 0 && w->lead != side) {
		k = n < w->len ? n : w->len;
		emit(w, pcm, k);
		w->pos[side] += k;
		pcm += k;
		n -= k;
	}
	while (n > 0) {
		k = hold(w, side, pcm, n);
		w->pos[side] += k;
		pcm += k;
		n -= k;
	}
	return w->out.failed ? WV_ERR_INTERNAL : 0;
}

int cli_stereo_wav_write_left(struct cli_stereo_wav *w, const int16_t *pcm,
			      size_t n)
{
	return cli_stereo_wav_write(w, CLI_STEREO_LEFT, pcm, n);
}

int cli_stereo_wav_write_right(struct cli_stereo_wav *w, const int16_t *pcm,
			       size_t n)
{
	return cli_stereo_wav_write(w, CLI_STEREO_RIGHT, pcm, n);
}

uint64_t cli_stereo_wav_frames(const struct cli_stereo_wav *w)
{
	return w->out.frames;
}

uint64_t cli_stereo_wav_dropped(const struct cli_stereo_wav *w)
{
	return w->dropped;
}

int cli_stereo_wav_close(struct cli_stereo_wav *w, char *err, size_t errlen)
{
	int rc;

	if (!w)
		return 0;
	emit(w, NULL, w->len);
	rc = out_close(&w->out, err, errlen);
	free(w->ring);
	free(w);
	return rc;
}
