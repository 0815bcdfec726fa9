/*
 * Sound files in and out. Input files are made here with libsndfile from
 * 16-bit patterns, so the expected mono mix is known exactly; output files
 * are read back with libsndfile, also while they are still being written.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sndfile.h>

#include <wvoice/error.h>
#include <wvoice/wvoice.h>

#include "scratch.h"
#include "wavfile.h"

#define MAX_CH 4

struct fx {
	char dir[64];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	if (!f || scratch_make(f->dir, sizeof f->dir, "wavfile") < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int rc = scratch_remove(f->dir);

	free(f);
	return rc;
}

static const char *path_in(void **state, const char *name)
{
	static char path[128];
	struct fx *f = *state;

	snprintf(path, sizeof path, "%s/%s", f->dir, name);
	return path;
}

/* Sample i of channel c: every channel different, never 0. */
static int16_t pat(size_t i, int c)
{
	int v = (int)((i * 37 + (size_t)c * 5003) % 30011) - 15005;

	return (int16_t)(v == 0 ? 1 : v * (c % 2 ? -2 : 2) / 2);
}

static float mix(size_t i, int channels)
{
	double sum = 0.0;

	for (int c = 0; c < channels; c++)
		sum += pat(i, c) / 32768.0;
	return (float)(sum / channels);
}

static void make_file(const char *path, int format, int rate, int channels,
		      size_t frames)
{
	SF_INFO info = { .samplerate = rate, .channels = channels,
			 .format = format };
	SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
	/* libsndfile writes shorts into a float file unscaled (-2500.0):
	 * floats go in as floats, the rest as shorts, both exact. */
	bool as_float = (format & SF_FORMAT_SUBMASK) == SF_FORMAT_FLOAT;
	int16_t frame[MAX_CH];
	float ffr[MAX_CH];

	assert_non_null(sf);
	for (size_t i = 0; i < frames; i++) {
		for (int c = 0; c < channels; c++) {
			frame[c] = pat(i, c);
			ffr[c] = (float)frame[c] / 32768.0f;
		}
		assert_int_equal(as_float ? sf_writef_float(sf, ffr, 1)
					  : sf_writef_short(sf, frame, 1),
				 1);
	}
	assert_int_equal(sf_close(sf), 0);
}

/* Reads the whole source in blocks of n; returns how many reads returned
 * 0 before the first 1, and checks every sample against want(i). */
static size_t read_all(struct cli_wav_source *src, size_t frames, int ch,
		       size_t n, float tolerance)
{
	float *buf = malloc(n * sizeof *buf);
	size_t reads = 0, at = 0;

	assert_non_null(buf);
	for (;;) {
		int rc = cli_wav_source_read(src, buf, n);

		assert_true(rc == 0 || rc == 1);
		for (size_t i = 0; i < n; i++, at++) {
			float want = at < frames ? mix(at, ch) : 0.0f;

			if (fabsf(buf[i] - want) > tolerance)
				fail_msg("sample %zu: %g, not %g", at,
					 (double)buf[i], (double)want);
		}
		if (rc == 1)
			break;
		reads++;
		assert_true(at < frames + n);
	}
	free(buf);
	return reads;
}

/* ---- Input ---- */

struct format_case {
	const char *name;
	int format, rate, channels;
	float tolerance;
};

static const struct format_case format_cases[] = {
	{ "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 0.0f },
	{ "b.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, 0.0f },
	{ "c.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 48000, 3, 0.0f },
	{ "d.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 4, 0.0f },
	{ "e.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 22050, 2, 0.0f },
	{ "f.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 11025, 1, 0.0f },
	{ "g.au", SF_FORMAT_AU | SF_FORMAT_PCM_32, 192000, 2, 0.0f },
	/* mu-law keeps about 8 bits: within a step of the loudest. */
	{ "h.wav", SF_FORMAT_WAV | SF_FORMAT_ULAW, 8000, 1, 0.04f },
};

static void test_wavfile_source_reads_formats_as_mono(void **state)
{
	for (size_t i = 0; i < sizeof format_cases / sizeof format_cases[0];
	     i++) {
		const struct format_case *c = &format_cases[i];
		const char *path = path_in(state, c->name);
		struct cli_wav_source *src;
		char err[256] = "";
		size_t frames = (size_t)c->rate / 10 + 7;

		print_message("%s\n", c->name);
		make_file(path, c->format, c->rate, c->channels, frames);
		assert_int_equal(cli_wav_source_open(&src, path, err,
						     sizeof err),
				 0);
		assert_int_equal(cli_wav_source_rate(src), c->rate);
		assert_int_equal(cli_wav_source_channels(src), c->channels);
		assert_int_equal(cli_wav_source_frames(src), frames);
		/* 20 ms blocks at the file's rate, as the loop reads. */
		read_all(src, frames, c->channels, (size_t)c->rate / 50,
			 c->tolerance);
		assert_true(cli_wav_source_ended(src));
		cli_wav_source_close(src);
	}
}

struct end_case {
	size_t frames, block, zero_reads;
};

static const struct end_case end_cases[] = {
	{ 1000, 160, 6 }, /* the 7th read has 40 frames, then silence */
	{ 960, 160, 5 },  /* ends on the 6th read's last frame */
	{ 1, 160, 0 },
	{ 0, 160, 0 }, /* an empty file ends at once */
	{ 2000, 1500, 1 }, /* blocks longer than the file reads at a time */
	{ 2000, 1, 1999 },
};

static void test_wavfile_source_returns_1_from_the_read_that_ends(void **state)
{
	const char *path = path_in(state, "end.wav");

	for (size_t i = 0; i < sizeof end_cases / sizeof end_cases[0]; i++) {
		const struct end_case *c = &end_cases[i];
		struct cli_wav_source *src;
		float after[50];

		print_message("%zu frames in blocks of %zu\n", c->frames,
			      c->block);
		make_file(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 2,
			  c->frames);
		assert_int_equal(cli_wav_source_open(&src, path, NULL, 0), 0);
		assert_false(cli_wav_source_ended(src));
		assert_int_equal(read_all(src, c->frames, 2, c->block, 0.0f),
				 c->zero_reads);
		/* Silence after, for as long as it is asked. */
		for (int r = 0; r < 3; r++) {
			memset(after, 0x55, sizeof after);
			assert_int_equal(cli_wav_source_read(src, after, 50), 1);
			for (size_t j = 0; j < 50; j++)
				assert_true(after[j] == 0.0f);
		}
		cli_wav_source_close(src);
	}
}

static void test_wavfile_source_clamps_to_unit_range(void **state)
{
	static const float in[][2] = {
		{ 2.0f, 2.0f },	 { -3.0f, -1.0f }, { NAN, 0.5f },
		{ 0.5f, 0.25f }, { INFINITY, 0.0f }, { 1.5f, 0.0f },
	};
	static const float want[] = { 1.0f, -1.0f, 0.0f, 0.375f, 1.0f, 0.75f };
	const char *path = path_in(state, "loud.wav");
	SF_INFO info = { .samplerate = 8000, .channels = 2,
			 .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT };
	SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
	struct cli_wav_source *src;
	float out[6];

	assert_non_null(sf);
	assert_int_equal(sf_writef_float(sf, &in[0][0], 6), 6);
	sf_close(sf);
	assert_int_equal(cli_wav_source_open(&src, path, NULL, 0), 0);
	assert_int_equal(cli_wav_source_read(src, out, 6), 1);
	for (size_t i = 0; i < 6; i++)
		assert_true(out[i] == want[i]);
	cli_wav_source_close(src);
}

static void test_wavfile_source_reads_a_pipe(void **state)
{
	const char *wav = strdup(path_in(state, "piped.wav"));
	const char *fifo = path_in(state, "fifo");
	struct cli_wav_source *src;
	pid_t pid;
	int status;

	assert_non_null(wav);
	make_file(wav, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2, 4321);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "cat \"$0\" > \"$1\"", wav, fifo,
		      (char *)NULL);
		_exit(127);
	}
	assert_int_equal(cli_wav_source_open(&src, fifo, NULL, 0), 0);
	assert_int_equal(cli_wav_source_frames(src), -1);
	assert_int_equal(cli_wav_source_rate(src), 16000);
	read_all(src, 4321, 2, 320, 0.0f);
	cli_wav_source_close(src);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free((void *)wav);
}

static void test_wavfile_source_is_a_wv_source(void **state)
{
	const char *path = path_in(state, "w.wav");
	struct cli_wav_source *src;
	struct wv_source s;
	float x[100];

	make_file(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 24000, 1, 100);
	assert_int_equal(cli_wav_source_open(&src, path, NULL, 0), 0);
	s = cli_wav_source_wv(src);
	assert_int_equal(s.rate, 24000);
	assert_ptr_equal(s.user, src);
	assert_int_equal(s.read(s.user, x, 100), 1);
	assert_true(x[99] == mix(99, 1));
	cli_wav_source_close(src);
}

struct refuse_case {
	const char *name;
	const char *content; /* NULL: a WAV at rate; "": no file at all */
	int rate;
	int code;
	const char *message; /* after "PATH: " */
};

static const struct refuse_case refuse_cases[] = {
	{ "missing.wav", "", 0, WV_ERR_INVALID,
	  "cannot open: No such file or directory" },
	{ "text.wav", "this is not a sound file\n", 0, WV_ERR_INVALID,
	  "not a sound file libsndfile reads" },
	{ "empty.wav", "\n", 0, WV_ERR_INVALID,
	  "not a sound file libsndfile reads" },
	{ "slow.wav", NULL, 4000, WV_ERR_RATE,
	  "sample rate 4000 Hz is outside 8000 to 192000 Hz" },
	{ "fast.wav", NULL, 384000, WV_ERR_RATE,
	  "sample rate 384000 Hz is outside 8000 to 192000 Hz" },
};

static void test_wavfile_source_refuses_naming_the_file(void **state)
{
	for (size_t i = 0; i < sizeof refuse_cases / sizeof refuse_cases[0];
	     i++) {
		const struct refuse_case *c = &refuse_cases[i];
		const char *path = path_in(state, c->name);
		struct cli_wav_source *src = (struct cli_wav_source *)&src;
		char err[256] = "", want[256];

		print_message("%s\n", c->name);
		if (!c->content) {
			make_file(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16,
				  c->rate, 1, 10);
		} else if (*c->content) {
			FILE *fp = fopen(path, "w");

			assert_non_null(fp);
			fputs(c->content, fp);
			fclose(fp);
		}
		assert_int_equal(cli_wav_source_open(&src, path, err,
						     sizeof err),
				 c->code);
		assert_null(src);
		snprintf(want, sizeof want, "%s: %s", path, c->message);
		assert_memory_equal(err, want, strlen(want));
	}
	cli_wav_source_close(NULL);
}

/* ---- Output: mono ---- */

struct readback {
	SF_INFO info;
	int16_t *pcm; /* info.frames * info.channels */
};

static void read_back(const char *path, struct readback *rb)
{
	SNDFILE *sf;

	memset(rb, 0, sizeof *rb);
	sf = sf_open(path, SFM_READ, &rb->info);
	assert_non_null(sf);
	rb->pcm = calloc((size_t)rb->info.frames * (size_t)rb->info.channels +
				 1,
			 sizeof *rb->pcm);
	assert_non_null(rb->pcm);
	assert_int_equal(sf_readf_short(sf, rb->pcm, rb->info.frames),
			 rb->info.frames);
	sf_close(sf);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Reads the RIFF header itself (libsndfile's reader forgives a stale one):
 * its sizes must account for the whole file and data_bytes of audio. */
static void check_header(const char *path, uint64_t data_bytes)
{
	static unsigned char buf[1 << 16];
	FILE *fp = fopen(path, "rb");
	size_t size, at = 12;

	assert_non_null(fp);
	size = fread(buf, 1, sizeof buf, fp);
	fclose(fp);
	assert_true(size >= 12 && size < sizeof buf);
	assert_memory_equal(buf, "RIFF", 4);
	assert_int_equal(le32(buf + 4), size - 8);
	assert_memory_equal(buf + 8, "WAVE", 4);
	while (at + 8 <= size && memcmp(buf + at, "data", 4) != 0)
		at += 8 + le32(buf + at + 4);
	assert_true(at + 8 <= size);
	assert_int_equal(le32(buf + at + 4), data_bytes);
	assert_int_equal(at + 8 + data_bytes, size);
}

static void test_wavfile_sink_header_valid_while_writing(void **state)
{
	const char *path = path_in(state, "agent.wav");
	struct cli_wav_sink *s;
	struct wv_sink sink;
	int16_t block[160];
	struct readback rb;
	size_t written = 0;

	assert_int_equal(cli_wav_sink_open(&s, path, NULL, 0), 0);
	sink = cli_wav_sink_wv(s);
	assert_ptr_equal(sink.user, s);
	for (int round = 0; round < 3; round++) {
		/* Audio, then a block of silence: both are written. */
		for (size_t i = 0; i < 160; i++)
			block[i] = round == 1 ? 0 : pat(written + i, 0);
		sink.write(sink.user, block, 160);
		written += 160;
		assert_int_equal(cli_wav_sink_frames(s), written);
		check_header(path, written * 2);

		read_back(path, &rb);
		assert_int_equal(rb.info.samplerate, 8000);
		assert_int_equal(rb.info.channels, 1);
		assert_int_equal(rb.info.format,
				 SF_FORMAT_WAV | SF_FORMAT_PCM_16);
		assert_int_equal(rb.info.frames, written);
		for (size_t i = 0; i < written; i++)
			assert_int_equal(rb.pcm[i],
					 i / 160 == 1 ? 0 : pat(i, 0));
		free(rb.pcm);
	}
	assert_int_equal(cli_wav_sink_close(s, NULL, 0), 0);
	read_back(path, &rb);
	assert_int_equal(rb.info.frames, 480);
	free(rb.pcm);
}

/* In a child: a file size limit makes the disk "full" after 4 KiB. */
static int sink_past_file_limit(const char *path)
{
	struct rlimit lim = { 4096, 4096 };
	struct cli_wav_sink *s;
	int16_t block[160] = { 0 };
	char err[256] = "", want[256];

	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &lim) != 0 ||
	    cli_wav_sink_open(&s, path, NULL, 0) != 0)
		return 2;
	for (int i = 0; i < 50; i++)
		cli_wav_sink_write(s, block, 160);
	if (cli_wav_sink_frames(s) >= 4096 / 2)
		return 3;
	if (cli_wav_sink_close(s, err, sizeof err) != WV_ERR_INTERNAL)
		return 4;
	snprintf(want, sizeof want, "%s: cannot write: ", path);
	return strncmp(err, want, strlen(want)) == 0 ? 0 : 5;
}

static void test_wavfile_sink_write_failure_reported_at_close(void **state)
{
	const char *path = path_in(state, "full.wav");
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(sink_past_file_limit(path));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_wavfile_sink_open_failure_names_the_file(void **state)
{
	struct cli_wav_sink *s = (struct cli_wav_sink *)&s;
	struct cli_stereo_wav *w = (struct cli_stereo_wav *)&w;
	char err[256] = "";
	/* The system's words, not libsndfile's "System error : ...". */
	static const char want[] = "/nonexistent-dir/out.wav: cannot create: "
				   "No such file or directory";

	(void)state;
	assert_int_equal(cli_wav_sink_open(&s, "/nonexistent-dir/out.wav", err,
					   sizeof err),
			 WV_ERR_INVALID);
	assert_null(s);
	assert_string_equal(err, want);
	assert_int_equal(cli_stereo_wav_open(&w, "/nonexistent-dir/out.wav",
					     8000, err, sizeof err),
			 WV_ERR_INVALID);
	assert_null(w);
	assert_string_equal(err, want);
	assert_int_equal(cli_stereo_wav_open(&w, "/tmp/x.wav", 100, err,
					     sizeof err),
			 WV_ERR_RATE);
	assert_int_equal(cli_wav_sink_close(NULL, NULL, 0), 0);
	assert_int_equal(cli_stereo_wav_close(NULL, NULL, 0), 0);
}

/* ---- Output: stereo ---- */

static int16_t left_pat(uint64_t i)
{
	return (int16_t)(1 + i % 20011);
}

static int16_t right_pat(uint64_t i)
{
	return (int16_t)-(1 + (int64_t)(i % 19997));
}

/* Writes n samples of a side, in chunks of chunk, from position *pos. */
static void write_side(struct cli_stereo_wav *w, enum cli_stereo_side side,
		       uint64_t *pos, size_t n, size_t chunk)
{
	int16_t buf[1024];

	assert_true(chunk <= 1024);
	while (n > 0) {
		size_t k = n < chunk ? n : chunk;

		for (size_t i = 0; i < k; i++)
			buf[i] = side == CLI_STEREO_LEFT ? left_pat(*pos + i)
							 : right_pat(*pos + i);
		assert_int_equal(
			side == CLI_STEREO_LEFT
				? cli_stereo_wav_write_left(w, buf, k)
				: cli_stereo_wav_write_right(w, buf, k),
			0);
		*pos += k;
		n -= k;
	}
}

/* Every frame: each side its own sample at that position, silence past
 * its end or where it was dropped (frames below *_from). */
static void check_stereo(const struct readback *rb, uint64_t left_n,
			 uint64_t right_n, uint64_t right_from)
{
	for (uint64_t i = 0; i < (uint64_t)rb->info.frames; i++) {
		int16_t l = i < left_n ? left_pat(i) : 0;
		int16_t r = i >= right_from && i < right_n ? right_pat(i) : 0;

		if (rb->pcm[2 * i] != l || rb->pcm[2 * i + 1] != r)
			fail_msg("frame %llu: %d %d, not %d %d",
				 (unsigned long long)i, rb->pcm[2 * i],
				 rb->pcm[2 * i + 1], l, r);
	}
}

struct step {
	char side; /* 'L', 'R', or 0 to end */
	size_t n, chunk;
};

struct stereo_case {
	const char *name;
	struct step steps[8];
};

static const struct stereo_case stereo_cases[] = {
	{ "in step", { { 'L', 800, 160 }, { 'R', 800, 160 } } },
	{ "interleaved blocks",
	  { { 'L', 160, 160 }, { 'R', 160, 160 }, { 'L', 160, 160 },
	    { 'R', 160, 160 } } },
	{ "uneven chunks",
	  { { 'L', 100, 100 }, { 'R', 37, 37 }, { 'R', 300, 7 },
	    { 'L', 237, 50 }, { 'L', 5, 1 }, { 'R', 1, 1 } } },
	{ "left ends first", { { 'L', 500, 160 }, { 'R', 2000, 333 } } },
	{ "right only", { { 'R', 999, 160 } } },
	{ "left only", { { 'L', 1234, 1000 } } },
	{ "nothing", { { 0, 0, 0 } } },
};

static void test_wavfile_stereo_sides_aligned_by_count(void **state)
{
	const char *path = path_in(state, "call.wav");

	for (size_t i = 0; i < sizeof stereo_cases / sizeof stereo_cases[0];
	     i++) {
		const struct stereo_case *c = &stereo_cases[i];
		struct cli_stereo_wav *w;
		uint64_t pos[2] = { 0, 0 };
		struct readback rb;

		print_message("%s\n", c->name);
		assert_int_equal(cli_stereo_wav_open(&w, path, 8000, NULL, 0),
				 0);
		for (const struct step *s = c->steps; s->side; s++)
			write_side(w,
				   s->side == 'L' ? CLI_STEREO_LEFT
						  : CLI_STEREO_RIGHT,
				   &pos[s->side == 'R'], s->n, s->chunk);
		/* Only frames both sides have reached are out so far. */
		assert_int_equal(cli_stereo_wav_frames(w),
				 pos[0] < pos[1] ? pos[0] : pos[1]);
		assert_int_equal(cli_stereo_wav_close(w, NULL, 0), 0);
		read_back(path, &rb);
		assert_int_equal(rb.info.channels, 2);
		assert_int_equal(rb.info.samplerate, 8000);
		assert_int_equal(rb.info.frames,
				 pos[0] > pos[1] ? pos[0] : pos[1]);
		check_stereo(&rb, pos[0], pos[1], 0);
		free(rb.pcm);
	}
}

static void test_wavfile_stereo_header_valid_while_writing(void **state)
{
	const char *path = path_in(state, "live.wav");
	struct cli_stereo_wav *w;
	uint64_t pos[2] = { 0, 0 };
	struct readback rb;

	assert_int_equal(cli_stereo_wav_open(&w, path, 16000, NULL, 0), 0);
	write_side(w, CLI_STEREO_LEFT, &pos[0], 500, 160);
	write_side(w, CLI_STEREO_RIGHT, &pos[1], 300, 160);
	check_header(path, 300 * 4);
	read_back(path, &rb);
	assert_int_equal(rb.info.frames, 300);
	assert_int_equal(rb.info.samplerate, 16000);
	check_stereo(&rb, 300, 300, 0);
	free(rb.pcm);
	assert_int_equal(cli_stereo_wav_close(w, NULL, 0), 0);
}

/* One side far ahead: the other is given up on past the lag, without
 * sliding either side. */
static void test_wavfile_stereo_lag_capped_without_sliding(void **state)
{
	const char *path = path_in(state, "lag.wav");
	const uint64_t total = 8000 * 40; /* 40 s, 10 past the lag */
	const uint64_t lag = 8000 * CLI_STEREO_WAV_MAX_LAG_MS / 1000;
	struct cli_stereo_wav *w;
	uint64_t pos[2] = { 0, 0 }, dropped;
	struct readback rb;

	assert_int_equal(cli_stereo_wav_open(&w, path, 8000, NULL, 0), 0);
	write_side(w, CLI_STEREO_LEFT, &pos[0], total, 160);
	assert_true(cli_stereo_wav_frames(w) > 0);
	assert_true(cli_stereo_wav_frames(w) <= total - lag);
	write_side(w, CLI_STEREO_RIGHT, &pos[1], total, 160);
	dropped = cli_stereo_wav_dropped(w);
	assert_true(dropped > 0 && dropped <= total - lag);
	/* The rest of the right side met the left: all is out. */
	assert_int_equal(cli_stereo_wav_frames(w), total);
	assert_int_equal(cli_stereo_wav_close(w, NULL, 0), 0);
	read_back(path, &rb);
	assert_int_equal(rb.info.frames, total);
	check_stereo(&rb, total, total, dropped);
	free(rb.pcm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_wavfile_source_reads_formats_as_mono, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_wavfile_source_returns_1_from_the_read_that_ends,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_wavfile_source_clamps_to_unit_range, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_wavfile_source_reads_a_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_wavfile_source_is_a_wv_source, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_wavfile_source_refuses_naming_the_file, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_wavfile_sink_header_valid_while_writing, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_wavfile_sink_write_failure_reported_at_close,
			setup, teardown),
		cmocka_unit_test(test_wavfile_sink_open_failure_names_the_file),
		cmocka_unit_test_setup_teardown(
			test_wavfile_stereo_sides_aligned_by_count, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_wavfile_stereo_header_valid_while_writing, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_wavfile_stereo_lag_capped_without_sliding, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
