/*
 * Audio devices through a real PortAudio stream, without a sound card.
 *
 * The fake device: an ALSA configuration (ALSA_CONFIG_PATH, set before
 * PortAudio first loads ALSA) whose default PCM plays into, and records
 * into, ALSA `file` plugins over `null`, each writing to a FIFO that this
 * test drains at real time from a thread with a monotonic clock. ALSA's
 * `null` alone runs as fast as the CPU; the FIFOs give it a clock, the way a
 * sound card's interrupt would, and hand the test every sample played. What
 * null "records" is whatever its buffer held (not silence: garbage floats,
 * infinities included), which tests the input's guard. A second PCM,
 * `wvoutonly`, has no capture.
 *
 * Nothing asserts a wall-clock time: the checks compare the callback's
 * counts with what the fake device consumed, and the playout buffer's counts
 * with the callback's.
 */
#define _GNU_SOURCE /* F_SETPIPE_SZ */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <wvoice/device.h>
#include <wvoice/error.h>
#include <wvoice/playout.h>
#include <wvoice/wvoice.h>

#include "localserver.h"

#include "tone_fit.h"

#define PI 3.14159265358979323846

#define FAKE_RATE 44100u /* what PortAudio reports for ALSA's null */
#define TICK_NS 2000000L
#define BURST_MS 10u	 /* a late stream does not get to catch up faster */
#define PIPE_BYTES 4096	 /* the least a pipe holds: keeps the clock tight */
#define RECORD_S 4u
#define MAX_WAIT_TICKS 15000 /* 30 s of 2 ms: only against a hang */

#define TONE_HZ 1000.0
#define TONE_AMP 0.5
#define TONE_SAMPLES 8000u /* 1 s at 8 kHz */

/* ---- the fake device ---- */

struct fifo {
	int fd;
	uint64_t frames;	   /* drained, ever (float mono frames) */
	double tokens;		   /* frames it may take now */
	unsigned char partial[4];  /* a frame split across reads */
	size_t partial_len;
};

struct fake {
	char dir[64], play_path[96], cap_path[96], conf_path[96];
	struct fifo play, cap;
	pthread_t thread;
	atomic_bool stop;
	unsigned rate;
	_Atomic uint64_t played_frames, captured_frames;
	float *record; /* the first RECORD_S seconds played */
	size_t record_len, record_cap;
};

static void keep_played(struct fake *f, const unsigned char *bytes, size_t n)
{
	for (size_t i = 0; i + 4 <= n && f->record_len < f->record_cap; i += 4)
		memcpy(&f->record[f->record_len++], bytes + i, 4);
}

/* Takes up to the fifo's tokens in whole frames. */
static void drain(struct fake *f, struct fifo *q, bool keep)
{
	unsigned char buf[8192];
	size_t want = (size_t)q->tokens * 4;
	ssize_t got;

	if (want > sizeof buf - 4)
		want = sizeof buf - 4;
	memcpy(buf, q->partial, q->partial_len);
	got = want > q->partial_len
		      ? read(q->fd, buf + q->partial_len, want - q->partial_len)
		      : 0;
	if (got <= 0)
		return;
	got += (ssize_t)q->partial_len;
	q->partial_len = (size_t)got % 4;
	memcpy(q->partial, buf + got - q->partial_len, q->partial_len);
	q->frames += (uint64_t)got / 4;
	q->tokens -= (double)(got / 4);
	if (keep)
		keep_played(f, buf, (size_t)got - q->partial_len);
}

static void add_tokens(struct fifo *q, double frames, double most)
{
	q->tokens += frames;
	if (q->tokens > most)
		q->tokens = most;
}

static void *run_fake(void *arg)
{
	struct fake *f = arg;
	struct timespec next;
	double per_tick = (double)f->rate * TICK_NS / 1e9;
	double most = (double)f->rate * BURST_MS / 1000.0;

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!atomic_load(&f->stop)) {
		next.tv_nsec += TICK_NS;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		add_tokens(&f->play, per_tick, most);
		add_tokens(&f->cap, per_tick, most);
		drain(f, &f->play, true);
		drain(f, &f->cap, false);
		atomic_store(&f->played_frames, f->play.frames);
		atomic_store(&f->captured_frames, f->cap.frames);
	}
	return NULL;
}

static void empty_fifo(int fd)
{
	unsigned char buf[4096];

	while (read(fd, buf, sizeof buf) > 0)
		;
}

static void fake_start(struct fake *f, unsigned rate)
{
	empty_fifo(f->play.fd);
	empty_fifo(f->cap.fd);
	f->play = (struct fifo){ .fd = f->play.fd };
	f->cap = (struct fifo){ .fd = f->cap.fd };
	f->rate = rate;
	f->record_len = 0;
	atomic_store(&f->stop, false);
	atomic_store(&f->played_frames, 0);
	atomic_store(&f->captured_frames, 0);
	assert_int_equal(pthread_create(&f->thread, NULL, run_fake, f), 0);
}

static void fake_stop(struct fake *f)
{
	atomic_store(&f->stop, true);
	pthread_join(f->thread, NULL);
}

static int open_fifo(const char *path)
{
	/* Read-write, so opening never waits for the other end, and ALSA's
	 * writer never sees a broken pipe between tests. */
	int fd = open(path, O_RDWR | O_NONBLOCK);

	if (fd >= 0)
		fcntl(fd, F_SETPIPE_SZ, PIPE_BYTES);
	return fd;
}

static void write_config(const struct fake *f)
{
	FILE *c = fopen(f->conf_path, "w");

	assert_non_null(c);
	fprintf(c,
		"pcm.!default {\n"
		"  type asym\n"
		"  playback.pcm { type file slave.pcm { type null }\n"
		"                 file \"%s\" format \"raw\" }\n"
		"  capture.pcm { type file slave.pcm { type null }\n"
		"                file \"%s\" format \"raw\" }\n"
		"}\n"
		"pcm.wvoutonly {\n"
		"  type asym\n"
		"  playback.pcm { type file slave.pcm { type null }\n"
		"                 file \"%s\" format \"raw\" }\n"
		"}\n",
		f->play_path, f->cap_path, f->play_path);
	fclose(c);
}

static int group_setup(void **state)
{
	struct fake *f = calloc(1, sizeof *f);

	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/wv-test-device-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->play_path, sizeof f->play_path, "%s/play", f->dir);
	snprintf(f->cap_path, sizeof f->cap_path, "%s/capture", f->dir);
	snprintf(f->conf_path, sizeof f->conf_path, "%s/asound.conf", f->dir);
	if (mkfifo(f->play_path, 0600) || mkfifo(f->cap_path, 0600))
		return -1;
	f->play.fd = open_fifo(f->play_path);
	f->cap.fd = open_fifo(f->cap_path);
	if (f->play.fd < 0 || f->cap.fd < 0)
		return -1;
	write_config(f);
	setenv("ALSA_CONFIG_PATH", f->conf_path, 1);
	f->record_cap = (size_t)RECORD_S * 192000;
	f->record = calloc(f->record_cap, sizeof *f->record);
	if (!f->record)
		return -1;
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	struct fake *f = *state;

	close(f->play.fd);
	close(f->cap.fd);
	unlink(f->play_path);
	unlink(f->cap_path);
	unlink(f->conf_path);
	rmdir(f->dir);
	free(f->record);
	free(f);
	return 0;
}

/* ---- helpers ---- */

static void nap_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

static int find_device(const char *name, struct wv_device_info *out)
{
	struct wv_device_info list[32];
	size_t n = 0;

	assert_int_equal(wv_device_list(list, 32, &n), 0);
	for (size_t i = 0; i < n && i < 32; i++) {
		if (strcmp(list[i].name, name) == 0) {
			if (out)
				*out = list[i];
			return list[i].index;
		}
	}
	return -100;
}

static struct wv_playout *tone_playout(void)
{
	struct wv_playout_config pc;
	struct wv_playout *p;
	int16_t tone[TONE_SAMPLES];

	wv_playout_config_default(&pc);
	pc.prebuffer_ms = 0;
	assert_int_equal(wv_playout_create(&p, &pc), 0);
	for (size_t i = 0; i < TONE_SAMPLES; i++)
		tone[i] = (int16_t)lround(32767.0 * TONE_AMP *
					  sin(2 * PI * TONE_HZ * (double)i /
					      8000.0));
	assert_int_equal(wv_playout_push(p, tone, TONE_SAMPLES), TONE_SAMPLES);
	wv_playout_flush(p);
	return p;
}

struct reads {
	size_t calls;
	size_t bad_returns;
	size_t out_of_range; /* samples outside [-1, 1], or not numbers */
	struct wv_audio_stats before_last; /* just before the last read */
	struct wv_audio_stats after_last;  /* just after it */
};

/* Acts as the network thread: 160 samples every 20 ms, until the fake
 * device has played `frames` frames. */
static void read_until_played(struct fake *f, struct wv_audio *a,
			      uint64_t frames, struct reads *r)
{
	float buf[160];
	int ticks = 0;

	memset(r, 0, sizeof *r);
	while (atomic_load(&f->played_frames) < frames &&
	       atomic_load(&f->captured_frames) < frames) {
		if (++ticks > MAX_WAIT_TICKS / 10)
			fail_msg("the fake device stopped at %llu frames",
				 (unsigned long long)atomic_load(
					 &f->played_frames));
		nap_ms(20);
		for (size_t i = 0; i < 160; i++)
			buf[i] = 99.0f;
		wv_audio_stats(a, &r->before_last);
		if (wv_audio_source_read(a, buf, 160) != 0)
			r->bad_returns++;
		wv_audio_stats(a, &r->after_last);
		for (size_t i = 0; i < 160; i++)
			if (!(buf[i] >= -1.0f && buf[i] <= 1.0f))
				r->out_of_range++;
		r->calls++;
	}
}

/* ---- listing ---- */

static void test_device_list_shows_the_default_and_an_output_only_device(
	void **state)
{
	struct wv_device_info def, out_only;

	(void)state;
	assert_true(find_device("default", &def) >= 0);
	assert_string_equal(def.host_api, "ALSA");
	assert_true(def.default_input);
	assert_true(def.default_output);
	assert_true(def.max_input_channels >= 1);
	assert_true(def.max_output_channels >= 1);
	assert_int_equal(def.default_rate, FAKE_RATE);
	assert_true(find_device("wvoutonly", &out_only) >= 0);
	assert_int_equal(out_only.max_input_channels, 0);
	assert_true(out_only.max_output_channels >= 1);
	assert_false(out_only.default_input);
	assert_false(out_only.default_output);
}

static void test_device_list_counts_beyond_cap(void **state)
{
	struct wv_device_info two[2];
	size_t all = 0, again = 0;

	(void)state;
	assert_int_equal(wv_device_list(NULL, 0, &all), 0);
	assert_true(all >= 2);
	memset(two, 0x5a, sizeof two);
	assert_int_equal(wv_device_list(two, 1, &again), 0);
	assert_int_equal(again, all);
	assert_int_equal(two[0].index, 0);
	assert_true(two[0].name[0] != '\0');
	/* Nothing written past cap. */
	assert_int_equal(((unsigned char *)&two[1])[0], 0x5a);
	assert_int_equal(wv_device_list(NULL, 1, &again), WV_ERR_INVALID);
	assert_int_equal(wv_device_list(two, 1, NULL), WV_ERR_INVALID);
}

/* ---- a call's worth of audio ---- */

static void test_device_plays_the_playout_at_the_device_pace(void **state)
{
	struct fake *f = *state;
	struct wv_playout *p = tone_playout();
	struct wv_audio_config cfg;
	struct wv_audio *a;
	struct wv_audio_info info;
	struct wv_playout_stats ps;
	struct reads r;
	char err[WV_AUDIO_ERR_MAX];
	uint64_t consumed8, slack;
	size_t first = 0, last = 0;

	fake_start(f, FAKE_RATE);
	wv_audio_config_default(&cfg);
	assert_int_equal(wv_audio_open(&a, &cfg, p, err, sizeof err), 0);
	assert_string_equal(err, "");
	wv_audio_get_info(a, &info);
	assert_int_equal(info.rate, FAKE_RATE);
	assert_int_equal(info.block_frames, FAKE_RATE / 100);
	assert_int_equal(info.input_channels, 1);
	assert_int_equal(info.output_channels, 1);
	assert_true(info.echo_cancellation);
	assert_true(info.noise_suppression);
	assert_int_equal(wv_audio_input_rate(a), 8000);
	read_until_played(f, a, FAKE_RATE * 3 / 2, &r);
	wv_audio_close(a);
	fake_stop(f);

	/* The fake device's and the playout's counts are final now. */
	wv_playout_stats(p, &ps);
	print_message("played %llu frames; playout: %llu played, %llu "
		      "silence, %llu underruns; %zu reads\n",
		      (unsigned long long)f->play.frames,
		      (unsigned long long)ps.played_samples,
		      (unsigned long long)ps.silence_samples,
		      (unsigned long long)ps.underruns, r.calls);
	assert_int_equal(r.bad_returns, 0);
	/* ALSA's null device "records" its buffer's old contents, infinities
	 * and NaNs included: what comes out is still audio. */
	assert_int_equal(r.out_of_range, 0);
	/* The whole tone was played, then silence. */
	assert_int_equal(ps.played_samples, TONE_SAMPLES);
	/* The callback consumed the playout at the pace the device took
	 * samples: 8000 for every 44100 frames, give or take what sits in
	 * the pipe, ALSA's buffer and a period or two of read-ahead. */
	consumed8 = ps.played_samples + ps.silence_samples;
	slack = 8000u * (PIPE_BYTES / 4 + FAKE_RATE / 10) / FAKE_RATE + 200;
	assert_true(consumed8 + slack >= f->play.frames * 8000u / FAKE_RATE);
	assert_true(consumed8 <= f->play.frames * 8000u / FAKE_RATE + slack);

	/* What the device played: the tone, upsampled, at its level and for
	 * 1 s of device time. */
	for (size_t i = 0; i < f->record_len; i++) {
		if (fabs(f->record[i]) > TONE_AMP / 2) {
			if (!first)
				first = i;
			last = i;
		}
	}
	assert_true(first > 0 && last > first);
	assert_true(labs((long)(last - first) - (long)FAKE_RATE) < 60);
	assert_true(fabs(tone_amp(f->record + first + FAKE_RATE / 4,
				  FAKE_RATE / 2, TONE_HZ, FAKE_RATE) -
			 TONE_AMP) < 0.02);
	wv_playout_destroy(p);
}

static void test_device_counters_follow_the_device(void **state)
{
	struct fake *f = *state;
	struct wv_playout *p = tone_playout();
	struct wv_audio_config cfg;
	struct wv_audio *a;
	struct wv_audio_stats st;
	struct reads r;
	uint64_t produced, captured8, lag;

	fake_start(f, 48000);
	wv_audio_config_default(&cfg);
	cfg.rate = 48000;
	assert_int_equal(wv_audio_open(&a, &cfg, p, NULL, 0), 0);
	read_until_played(f, a, 48000, &r);
	wv_audio_stats(a, &st);
	print_message("callbacks %llu, frames out %llu in %llu, device took "
		      "%llu; underruns %llu (%llu samples), overflows %llu\n",
		      (unsigned long long)st.callbacks,
		      (unsigned long long)st.output_frames,
		      (unsigned long long)st.input_frames,
		      (unsigned long long)atomic_load(&f->played_frames),
		      (unsigned long long)st.input_underruns,
		      (unsigned long long)st.input_underrun_samples,
		      (unsigned long long)st.input_overflows);
	/* A fixed period: every callback is one 10 ms block both ways (a
	 * snapshot of a running stream may catch callbacks that have not
	 * counted their frames yet, never the other way round). */
	assert_true(st.output_frames > 0);
	assert_int_equal(st.output_frames % 480, 0);
	assert_int_equal(st.input_frames % 480, 0);
	assert_true(st.output_frames <= st.callbacks * 480);
	assert_true(st.input_frames <= st.callbacks * 480);
	/* Paced by the device, not by the CPU: ALSA's bare null device
	 * would have run millions of frames by now. */
	assert_true(st.output_frames <=
		    atomic_load(&f->played_frames) + PIPE_BYTES / 4 + 48000 / 5);
	/* Every source read handed out 160 samples; the part that was not
	 * silence for want of input is what the device had captured by the
	 * last read, less what was dropped and what still waited then: in the
	 * ring (up to capture_max_ms and a read) and in the uplink (two 10 ms
	 * frames). */
	produced = r.calls * 160 - r.after_last.input_underrun_samples;
	captured8 = (r.after_last.input_frames -
		     r.after_last.input_dropped_frames) * 8000 / 48000;
	assert_true(produced <= captured8 + 1);
	captured8 = (r.before_last.input_frames -
		     r.after_last.input_dropped_frames) * 8000 / 48000;
	lag = captured8 > produced ? captured8 - produced : 0;
	assert_true(lag <= 8u * 100 + 160 + 2 * 80);
	assert_true(st.output_level >= 0.0f && st.output_level <= 1.0f);
	wv_audio_close(a);
	fake_stop(f);
	wv_playout_destroy(p);
}

static void wait_captured(struct fake *f, uint64_t frames)
{
	for (int ticks = 0; atomic_load(&f->captured_frames) < frames; ticks++) {
		if (ticks > MAX_WAIT_TICKS)
			fail_msg("the fake device stopped capturing");
		nap_ms(2);
	}
}

/* A reader that comes back late gets recent audio: the backlog is cut to
 * half of capture_max_ms; a ring that filled up is dropped whole. */
static void test_device_late_reader_drops_the_oldest(void **state)
{
	struct fake *f = *state;
	struct wv_audio_config cfg;
	struct wv_audio *a;
	struct wv_audio_stats st;
	float buf[160];
	uint64_t dropped;

	fake_start(f, 48000);
	wv_audio_config_default(&cfg);
	cfg.output_device = WV_DEVICE_NONE;
	cfg.rate = 48000;
	assert_int_equal(wv_audio_open(&a, &cfg, NULL, NULL, 0), 0);

	/* 300 ms unread: more than capture_max_ms (100), less than the
	 * ring (about 0.68 s at 48 kHz). Left: 50 ms and this read's 20. */
	wait_captured(f, 48000 * 3 / 10);
	assert_int_equal(wv_audio_source_read(a, buf, 160), 0);
	wv_audio_stats(a, &st);
	assert_int_equal(st.input_overflows, 1);
	assert_int_equal(st.input_underruns, 0);
	assert_true(st.input_dropped_frames >=
		    48000 * 3 / 10 - (2400 + 960 + 960));

	/* A second unread: the ring fills, and all of it is stale. */
	dropped = st.input_dropped_frames;
	wait_captured(f, atomic_load(&f->captured_frames) + 48000);
	assert_int_equal(wv_audio_source_read(a, buf, 160), 0);
	wv_audio_stats(a, &st);
	assert_int_equal(st.input_overflows, 2);
	assert_int_equal(st.input_underruns, 1);
	assert_int_equal(st.input_underrun_samples, 160);
	assert_true(st.input_dropped_frames - dropped >= 48000 - 960);
	wv_audio_close(a);
	fake_stop(f);
}

static void test_device_output_only_reads_silence(void **state)
{
	struct fake *f = *state;
	struct wv_audio_config cfg;
	struct wv_audio *a;
	struct wv_audio_info info;
	struct wv_audio_stats st;
	float buf[160];

	fake_start(f, FAKE_RATE);
	wv_audio_config_default(&cfg);
	cfg.input_device = WV_DEVICE_NONE;
	assert_int_equal(wv_audio_open(&a, &cfg, NULL, NULL, 0), 0);
	wv_audio_get_info(a, &info);
	assert_int_equal(info.input_device, WV_DEVICE_NONE);
	assert_int_equal(info.input_channels, 0);
	assert_false(info.echo_cancellation);
	while (atomic_load(&f->played_frames) < FAKE_RATE / 4)
		nap_ms(10);
	for (size_t i = 0; i < 160; i++)
		buf[i] = 1.0f;
	assert_int_equal(wv_audio_source_read(a, buf, 160), 0);
	for (size_t i = 0; i < 160; i++)
		assert_true(buf[i] == 0.0f);
	wv_audio_stats(a, &st);
	assert_true(st.output_frames > 0);
	assert_int_equal(st.input_frames, 0);
	wv_audio_close(a);
	fake_stop(f);
}

static void test_device_input_only_captures_without_echo_cancellation(
	void **state)
{
	struct fake *f = *state;
	struct wv_audio_config cfg;
	struct wv_audio *a;
	struct wv_audio_info info;
	struct wv_audio_stats st;
	struct reads r;

	fake_start(f, 16000);
	wv_audio_config_default(&cfg);
	cfg.output_device = WV_DEVICE_NONE;
	cfg.rate = 16000;
	assert_int_equal(wv_audio_open(&a, &cfg, NULL, NULL, 0), 0);
	wv_audio_get_info(a, &info);
	assert_int_equal(info.output_device, WV_DEVICE_NONE);
	assert_int_equal(info.output_channels, 0);
	assert_int_equal(info.input_channels, 1);
	assert_false(info.echo_cancellation);
	assert_true(info.noise_suppression);
	read_until_played(f, a, 16000 / 2, &r);
	wv_audio_stats(a, &st);
	assert_true(st.input_frames > 0);
	assert_int_equal(st.output_frames, 0);
	assert_true(r.calls * 160 > st.input_underrun_samples);
	assert_int_equal(r.out_of_range, 0);
	assert_true(st.input_level >= 0.0f && st.input_level <= 1.0f);
	wv_audio_close(a);
	fake_stop(f);
}

/* ---- errors ---- */

static void test_device_open_without_any_device_is_invalid(void **state)
{
	struct wv_audio_config cfg;
	struct wv_audio *a = (struct wv_audio *)&cfg;
	char err[WV_AUDIO_ERR_MAX];

	(void)state;
	wv_audio_config_default(&cfg);
	cfg.input_device = WV_DEVICE_NONE;
	cfg.output_device = WV_DEVICE_NONE;
	assert_int_equal(wv_audio_open(&a, &cfg, NULL, err, sizeof err),
			 WV_ERR_INVALID);
	assert_null(a);
	assert_non_null(strstr(err, "neither input nor output"));
}

static void test_device_open_names_a_missing_device(void **state)
{
	struct wv_audio_config cfg;
	struct wv_audio *a = (struct wv_audio *)&cfg;
	char err[WV_AUDIO_ERR_MAX];

	(void)state;
	wv_audio_config_default(&cfg);
	cfg.input_device = 57;
	assert_int_equal(wv_audio_open(&a, &cfg, NULL, err, sizeof err),
			 WV_ERR_DEVICE);
	assert_null(a);
	assert_non_null(strstr(err, "no audio device 57 (there are "));
}

static void test_device_open_refuses_input_from_an_output_only_device(
	void **state)
{
	struct wv_audio_config cfg;
	struct wv_audio *a;
	char err[WV_AUDIO_ERR_MAX];
	int idx = find_device("wvoutonly", NULL);

	(void)state;
	assert_true(idx >= 0);
	wv_audio_config_default(&cfg);
	cfg.input_device = idx;
	assert_int_equal(wv_audio_open(&a, &cfg, NULL, err, sizeof err),
			 WV_ERR_DEVICE);
	assert_non_null(strstr(err, "\"wvoutonly\") has no input channels"));
}

static void test_device_open_rejects_bad_config(void **state)
{
	static const struct {
		int in, out;
		unsigned rate, block_ms, latency_ms, capture_max_ms;
		const char *says;
	} rows[] = {
		{ -3, -1, 0, 10, 0, 100, "bad audio device index -3" },
		{ -1, -7, 0, 10, 0, 100, "bad audio device index -7" },
		{ -1, -1, 0, 101, 0, 100, "audio block of 101 ms" },
		{ -1, -1, 7999, 10, 0, 100, "audio rate 7999 Hz" },
		{ -1, -1, 192001, 10, 0, 100, "audio rate 192001 Hz" },
		{ -1, -1, 0, 10, 2001, 100, "audio latency of 2001 ms" },
		{ -1, -1, 0, 10, 0, 0, "capture_max_ms" },
	};
	char err[WV_AUDIO_ERR_MAX];
	struct wv_audio *a;

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct wv_audio_config cfg;

		wv_audio_config_default(&cfg);
		cfg.input_device = rows[i].in;
		cfg.output_device = rows[i].out;
		cfg.rate = rows[i].rate;
		cfg.block_ms = rows[i].block_ms;
		cfg.latency_ms = rows[i].latency_ms;
		cfg.capture_max_ms = rows[i].capture_max_ms;
		assert_int_equal(wv_audio_open(&a, &cfg, NULL, err, sizeof err),
				 WV_ERR_INVALID);
		if (!strstr(err, rows[i].says))
			fail_msg("row %zu: \"%s\" lacks \"%s\"", i, err,
				 rows[i].says);
	}
	assert_int_equal(wv_audio_open(NULL, NULL, NULL, NULL, 0),
			 WV_ERR_INVALID);
	assert_int_equal(wv_audio_source_read(NULL, NULL, 0), WV_ERR_INVALID);
	wv_audio_close(NULL);
}

static void test_device_config_defaults(void **state)
{
	struct wv_audio_config cfg;

	(void)state;
	memset(&cfg, 0xff, sizeof cfg);
	wv_audio_config_default(&cfg);
	assert_int_equal(cfg.input_device, WV_DEVICE_DEFAULT);
	assert_int_equal(cfg.output_device, WV_DEVICE_DEFAULT);
	assert_int_equal(cfg.rate, 0);
	assert_int_equal(cfg.block_ms, 10);
	assert_int_equal(cfg.latency_ms, 0);
	assert_true(cfg.noise_suppression);
	assert_true(cfg.gain_control);
	assert_true(cfg.echo_cancellation);
	assert_int_equal(cfg.echo_tail_ms, 200);
	assert_int_equal(cfg.capture_max_ms, 100);
}

/* ---- a call's devices ---- */

static int quiet_source(void *user, float *dst, size_t n)
{
	(void)user;
	memset(dst, 0, n * sizeof *dst);
	return 0;
}

static void count_sink(void *user, const int16_t *pcm, size_t n)
{
	(void)pcm;
	*(size_t *)user += n;
}

/* The managed phone drives a speaker through the API alone: the device
   becomes the one reader of the call's playout (the loop never calls the
   sink), plays the demo agent's greeting and answers its mark. */
static void test_device_phone_plays_the_agent_on_its_speaker(void **state)
{
	struct fake *f = *state;
	struct local_server ls = { 0 };
	struct wv_client_config cfg;
	struct wv_audio_config acfg;
	struct wv_call_stats st = { 0 };
	struct wv_phone *p;
	char err[WV_AUDIO_ERR_MAX] = "";
	size_t sink_samples = 0, loud = 0;
	int ticks = 0;

	local_server_start(&ls, "k", NULL, NULL, 0);
	wv_client_config_default(&cfg);
	cfg.url = ls.url;
	cfg.api_key = "k";
	cfg.agent_id = "demo";
	cfg.source = (struct wv_source){ 8000, quiet_source, NULL };
	cfg.sink = (struct wv_sink){ count_sink, &sink_samples };
	assert_int_equal(wv_phone_create(&p, &cfg), 0);
	assert_null(wv_phone_audio(p));
	wv_audio_config_default(&acfg);
	acfg.input_device = WV_DEVICE_NONE;
	fake_start(f, FAKE_RATE);
	assert_int_equal(wv_phone_open_audio(p, &acfg, err, sizeof err), 0);
	assert_non_null(wv_phone_audio(p));
	/* Once is all. */
	assert_int_equal(wv_phone_open_audio(p, &acfg, err, sizeof err),
			 WV_ERR_STATE);
	assert_int_equal(wv_phone_connect(p), 0);
	assert_int_equal(wv_phone_open_audio(p, &acfg, err, sizeof err),
			 WV_ERR_STATE);
	while (st.marks_answered < 1 && ticks++ < MAX_WAIT_TICKS / 10) {
		nap_ms(20);
		wv_phone_stats(p, &st);
	}
	assert_int_equal(wv_phone_status(p), WV_STATUS_CONNECTED);
	assert_true(st.marks_answered >= 1);
	wv_phone_destroy(p);
	fake_stop(f);
	local_server_stop(&ls);

	assert_int_equal(sink_samples, 0);
	for (size_t i = 0; i < f->record_len; i++)
		loud += fabsf(f->record[i]) > 0.05f;
	assert_true(loud > FAKE_RATE / 10); /* 100 ms of speech, at least */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_config_defaults),
		cmocka_unit_test(
			test_device_list_shows_the_default_and_an_output_only_device),
		cmocka_unit_test(test_device_list_counts_beyond_cap),
		cmocka_unit_test(test_device_plays_the_playout_at_the_device_pace),
		cmocka_unit_test(test_device_counters_follow_the_device),
		cmocka_unit_test(test_device_late_reader_drops_the_oldest),
		cmocka_unit_test(test_device_output_only_reads_silence),
		cmocka_unit_test(
			test_device_input_only_captures_without_echo_cancellation),
		cmocka_unit_test(test_device_open_without_any_device_is_invalid),
		cmocka_unit_test(test_device_open_names_a_missing_device),
		cmocka_unit_test(
			test_device_open_refuses_input_from_an_output_only_device),
		cmocka_unit_test(test_device_open_rejects_bad_config),
		cmocka_unit_test(test_device_phone_plays_the_agent_on_its_speaker),
	};

	/* The in-process server refuses lws's notices (a refused key). */
	wv_log_lws(WV_LOG_ERR, NULL, NULL);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
