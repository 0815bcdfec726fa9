/* Clips: see clip.h. */
#include "clip.h"
#include "errbuf.h"

#include <wvoice/error.h>
#include <wvoice/pcm.h>
#include <wvoice/resampler.h>

#include <sndfile.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RESAMPLE_BLOCK 1024 /* samples per resampler call */
#define READ_BLOCK 4096	    /* samples (all channels) per file read */

/* Where resampled samples go. The resampler's output starts with its filter
 * delay: that much is dropped from the front, and zeros pushed in after the
 * input bring the tail out, so the clip lines up with the file. */
struct sink {
	int16_t *pcm;
	size_t len;
	size_t want;
	size_t skip;
};

static void sink_put(struct sink *s, const float *x, size_t n)
{
	size_t k = n < s->skip ? n : s->skip;

	x += k;
	n -= k;
	s->skip -= k;
	if (n > s->want - s->len)
		n = s->want - s->len;
	wv_pcm_from_float(s->pcm + s->len, x, n);
	s->len += n;
}

static int feed(struct wv_resampler *r, struct sink *s, const float *in,
		size_t n)
{
	float out[RESAMPLE_BLOCK];

	while (n > 0) {
		size_t ilen = n < RESAMPLE_BLOCK ? n : RESAMPLE_BLOCK;
		size_t olen = RESAMPLE_BLOCK;
		int rc = wv_resampler_process(r, in, &ilen, out, &olen);

		if (rc < 0)
			return rc;
		if (ilen == 0 && olen == 0)
			return WV_ERR_INTERNAL;
		sink_put(s, out, olen);
		in += ilen;
		n -= ilen;
	}
	return 0;
}

static size_t latency_samples(const struct wv_resampler *r)
{
	return ((size_t)wv_resampler_latency_us(r) * WVS_RATE + 500000u) /
	       1000000u;
}

static int resample_into(struct sink *s, struct wv_resampler *r,
			 const float *in, size_t n)
{
	static const float zeros[RESAMPLE_BLOCK];
	int rc;

	s->want = wv_resampler_output_max(r, n);
	s->skip = latency_samples(r);
	if (s->want > SIZE_MAX / sizeof *s->pcm)
		return WV_ERR_NOMEM;
	s->pcm = malloc(s->want * sizeof *s->pcm);
	if (!s->pcm)
		return WV_ERR_NOMEM;
	rc = feed(r, s, in, n);
	/* Every block of zeros yields at least 8000/192000 of its length, so
	 * this ends. */
	while (rc == 0 && s->len < s->want)
		rc = feed(r, s, zeros, RESAMPLE_BLOCK);
	return rc;
}

int wvs_clip_from_float(struct wvs_clip *clip, const float *in, size_t n,
			unsigned rate)
{
	struct wv_resampler *r;
	struct sink s = {0};
	int rc;

	if (!clip || (!in && n > 0))
		return WV_ERR_INVALID;
	*clip = (struct wvs_clip){0};
	rc = wv_resampler_create(&r, rate, WVS_RATE,
				 WV_RESAMPLER_QUALITY_DEFAULT);
	if (rc < 0)
		return rc;
	if (n > 0)
		rc = resample_into(&s, r, in, n);
	wv_resampler_destroy(r);
	if (rc < 0) {
		free(s.pcm);
		return rc;
	}
	clip->pcm = s.pcm;
	clip->len = s.len;
	return 0;
}

/* An open sound file and what is known about it. */
struct source {
	const char *path;
	int fd;
	SNDFILE *sf;
	SF_INFO info;
	float *block; /* READ_BLOCK samples, all channels */
};

/* Opening the descriptor ourselves tells a missing or unreadable file apart
 * from one libsndfile does not understand; closing it ourselves avoids
 * depending on whether libsndfile closes it when sf_open_fd() fails. */
static int source_open(struct source *src, const char *path, char *err,
		       size_t errlen)
{
	src->path = path;
	src->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (src->fd < 0)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "%s: cannot open: %s", path, strerror(errno));
	src->sf = sf_open_fd(src->fd, SFM_READ, &src->info, 0);
	if (!src->sf)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "%s: not a sound file libsndfile reads: %s",
				  path, sf_strerror(NULL));
	return 0;
}

static void source_close(struct source *src)
{
	free(src->block);
	if (src->sf)
		sf_close(src->sf);
	if (src->fd >= 0)
		close(src->fd);
}

static int source_check(const struct source *src, double max_seconds, char *err,
			size_t errlen)
{
	const SF_INFO *in = &src->info;
	double seconds;

	/* A pipe has no length to check against the limit before reading. */
	if (!in->seekable)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "%s: not a regular file", src->path);
	if (in->samplerate < WV_RATE_MIN || in->samplerate > WV_RATE_MAX)
		return wvs_errorf(
			err, errlen, WV_ERR_RATE,
			"%s: sample rate %d Hz is outside %d to %d Hz",
			src->path, in->samplerate, WV_RATE_MIN, WV_RATE_MAX);
	if (in->channels < 1 || in->frames <= 0)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "%s: no audio in the file", src->path);
	seconds = (double)in->frames / in->samplerate;
	if (seconds > max_seconds)
		return wvs_errorf(err, errlen, WV_ERR_TOO_LARGE,
				  "%s: %.2f s long, over the %.2f s limit",
				  src->path, seconds, max_seconds);
	/* The buffers hold every frame as a float. */
	if ((uint64_t)in->frames > SIZE_MAX / sizeof(float))
		return wvs_errorf(err, errlen, WV_ERR_TOO_LARGE,
				  "%s: too long to hold in memory", src->path);
	return 0;
}

/*
 * Formats whose decoded samples have at most 16 bits. libsndfile reads them
 * as float exactly (a 16-bit sample s as s / 32768), so at 8 kHz they are
 * scaled back by 32768 and a telephony prompt comes through bit for bit;
 * wv_pcm_from_float scales the positive side by 32767 and would not.
 */
static bool exact_in_int16(const SF_INFO *in)
{
	static const int narrow[] = {
		SF_FORMAT_PCM_S8,    SF_FORMAT_PCM_U8, SF_FORMAT_PCM_16,
		SF_FORMAT_ULAW,	     SF_FORMAT_ALAW,   SF_FORMAT_IMA_ADPCM,
		SF_FORMAT_MS_ADPCM,  SF_FORMAT_GSM610, SF_FORMAT_G721_32,
		SF_FORMAT_VOX_ADPCM,
	};
	int sub = in->format & SF_FORMAT_SUBMASK;

	for (size_t i = 0; i < sizeof narrow / sizeof narrow[0]; i++)
		if (sub == narrow[i])
			return true;
	return false;
}

/* The mean of 16-bit channels is a multiple of 1/32768 divided by the
 * channel count, so rounding gives the nearest integer mean (half to
 * even) and one channel is copied exactly. */
static void int16_from_exact_float(int16_t *dst, const float *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		long v = lrintf(src[i] * 32768.0f);

		dst[i] = (int16_t)(v > INT16_MAX   ? INT16_MAX
				   : v < INT16_MIN ? INT16_MIN
						   : v);
	}
}

/* Reads up to frames frames and averages their channels into dst. */
static sf_count_t read_mixed(struct source *src, float *dst, sf_count_t frames)
{
	int ch = src->info.channels;
	sf_count_t got = sf_readf_float(src->sf, src->block, frames);

	for (sf_count_t i = 0; i < got; i++) {
		double sum = 0.0;

		for (int c = 0; c < ch; c++)
			sum += src->block[i * ch + c];
		dst[i] = (float)(sum / ch);
	}
	return got;
}

/* Reads the whole file, mixed to mono, into mono (room for every frame the
 * header announces), and says how many frames it really held. */
static int read_all(struct source *src, float *mono, size_t *n, char *err,
		    size_t errlen)
{
	size_t frames = (size_t)src->info.frames, total = 0;
	size_t ch = (size_t)src->info.channels;
	size_t block_frames = READ_BLOCK / ch > 0 ? READ_BLOCK / ch : 1;

	src->block = malloc(block_frames * ch * sizeof *src->block);
	if (!src->block)
		return WV_ERR_NOMEM;
	while (total < frames) {
		size_t want = frames - total < block_frames ? frames - total
							    : block_frames;
		sf_count_t got =
			read_mixed(src, mono + total, (sf_count_t)want);

		if (got <= 0)
			break;
		total += (size_t)got;
	}
	if (sf_error(src->sf) != SF_ERR_NO_ERROR)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "%s: read failed: %s", src->path,
				  sf_strerror(src->sf));
	if (total == 0)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "%s: no audio in the file", src->path);
	*n = total;
	return 0;
}

/* At 8 kHz from a narrow format the samples are only scaled back; all else
 * goes through the resampler (which passes 8 kHz through). */
static int to_clip(struct wvs_clip *clip, const float *mono, size_t n,
		   const SF_INFO *in)
{
	if (in->samplerate != WVS_RATE || !exact_in_int16(in))
		return wvs_clip_from_float(clip, mono, n,
					   (unsigned)in->samplerate);
	clip->pcm = malloc(n * sizeof *clip->pcm);
	if (!clip->pcm)
		return WV_ERR_NOMEM;
	int16_from_exact_float(clip->pcm, mono, n);
	clip->len = n;
	return 0;
}

static int load(struct wvs_clip *clip, struct source *src, char *err,
		size_t errlen)
{
	float *mono = malloc((size_t)src->info.frames * sizeof *mono);
	size_t n = 0;
	int rc;

	if (!mono)
		return WV_ERR_NOMEM;
	rc = read_all(src, mono, &n, err, errlen);
	if (rc == 0)
		rc = to_clip(clip, mono, n, &src->info);
	free(mono);
	return rc;
}

int wvs_clip_load(struct wvs_clip *clip, const char *path, double max_seconds,
		  char *err, size_t errlen)
{
	struct source src = {.fd = -1};
	int rc;

	if (!clip || !path)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "no clip or no path");
	*clip = (struct wvs_clip){0};
	if (!(max_seconds > 0.0))
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "%s: the length limit must be positive",
				  path);
	rc = source_open(&src, path, err, errlen);
	if (rc == 0)
		rc = source_check(&src, max_seconds, err, errlen);
	if (rc == 0)
		rc = load(clip, &src, err, errlen);
	source_close(&src);
	if (rc == WV_ERR_NOMEM)
		wvs_errorf(err, errlen, rc, "%s: out of memory", path);
	return rc;
}

int wvs_clip_copy(struct wvs_clip *clip, const int16_t *pcm, size_t n)
{
	if (!clip || (!pcm && n > 0))
		return WV_ERR_INVALID;
	*clip = (struct wvs_clip){0};
	if (n == 0)
		return 0;
	if (n > SIZE_MAX / sizeof *pcm)
		return WV_ERR_NOMEM;
	clip->pcm = malloc(n * sizeof *pcm);
	if (!clip->pcm)
		return WV_ERR_NOMEM;
	memcpy(clip->pcm, pcm, n * sizeof *pcm);
	clip->len = n;
	return 0;
}

void wvs_clip_cleanup(struct wvs_clip *clip)
{
	if (!clip)
		return;
	free(clip->pcm);
	*clip = (struct wvs_clip){0};
}
