/*
 * Call recordings: files read back with libsndfile and stdio, checked
 * sample by sample. Caller audio follows caller_pat(position) (positive,
 * never 0) and agent audio agent_pat(position) (negative), so every sample
 * read tells which side and which position it came from, and silence is
 * told apart from audio.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sndfile.h>

#include <wvoice/error.h>

#include "recorder.h"

#define RATE 8000
#define FRAME 160 /* 20 ms, as the server writes */
#define WAIT_TRIES 3000 /* 10 ms apart: a generous bound, not a timing */

struct fx {
	char dir[64];
	struct wvs_recorder *rec;
};

typedef int16_t (*pat_fn)(uint64_t pos);

static int16_t caller_pat(uint64_t pos)
{
	return (int16_t)(1 + pos % 20011);
}

static int16_t agent_pat(uint64_t pos)
{
	return (int16_t)-(1 + (int64_t)(pos % 19997));
}

/* Distinct from caller_pat's values: tells an overwrite from the original. */
static int16_t alt_pat(uint64_t pos)
{
	return (int16_t)(21000 + pos % 11000);
}

/* ---- Fixture ---- */

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (!d)
		return;
	while ((e = readdir(d))) {
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(path);
		else
			unlink(path);
	}
	closedir(d);
	chmod(dir, 0700);
	rmdir(dir);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/wvs-rec-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	wvs_recorder_destroy(f->rec);
	remove_tree(f->dir);
	free(f);
	return 0;
}

static struct fx *fx_start(void **state, size_t backlog)
{
	struct fx *f = *state;
	char err[256];

	assert_int_equal(wvs_recorder_create(&f->rec, f->dir, backlog, err,
					     sizeof(err)),
			 0);
	assert_non_null(f->rec);
	return f;
}

/* Destroys the recorder, which completes every file. */
static void fx_finish(struct fx *f)
{
	assert_int_equal(wvs_recorder_dropped(f->rec), 0);
	assert_int_equal(wvs_recorder_errors(f->rec), 0);
	wvs_recorder_destroy(f->rec);
	f->rec = NULL;
}

static struct wvs_record *open_record(struct fx *f, const char *id)
{
	struct wvs_record *r = NULL;

	assert_int_equal(wvs_record_open(f->rec, id, &r), 0);
	assert_non_null(r);
	return r;
}

static void file_path(const struct fx *f, const char *id, const char *ext,
		      char *path, size_t cap)
{
	snprintf(path, cap, "%s/%s%s", f->dir, id, ext);
}

/* ---- Writing ---- */

/* Writes [from, to) of one side in pieces of `piece` samples. */
static void put(struct wvs_record *r, enum wvs_channel ch, uint64_t from,
		uint64_t to, size_t piece, pat_fn pat)
{
	int16_t *buf = malloc(piece * sizeof(*buf));

	assert_non_null(buf);
	for (uint64_t pos = from; pos < to;) {
		size_t n = to - pos < piece ? (size_t)(to - pos) : piece;

		for (size_t i = 0; i < n; i++)
			buf[i] = pat(pos + i);
		wvs_record_audio(r, ch, pos, buf, n);
		pos += n;
	}
	free(buf);
}

/* Both sides frame by frame, as a call goes. */
static void put_both(struct wvs_record *r, uint64_t from, uint64_t to)
{
	for (uint64_t pos = from; pos < to; pos += FRAME) {
		put(r, WVS_CALLER, pos, pos + FRAME, FRAME, caller_pat);
		put(r, WVS_AGENT, pos, pos + FRAME, FRAME, agent_pat);
	}
}

/* ---- Reading back ---- */

struct wav {
	int16_t *pcm; /* interleaved: caller, agent */
	sf_count_t frames;
	int channels, rate, format;
};

/* Returns 0 and the whole file, or -1 if libsndfile cannot open it. */
static int wav_read(const char *path, struct wav *w)
{
	SF_INFO info = {0};
	SNDFILE *sf = sf_open(path, SFM_READ, &info);

	memset(w, 0, sizeof(*w));
	if (!sf)
		return -1;
	w->frames = info.frames;
	w->channels = info.channels;
	w->rate = info.samplerate;
	w->format = info.format;
	w->pcm = calloc((size_t)info.frames * 2 + 2, sizeof(int16_t));
	assert_non_null(w->pcm);
	if (info.channels == 2)
		assert_int_equal(sf_readf_short(sf, w->pcm, info.frames),
				 info.frames);
	sf_close(sf);
	return 0;
}

static void wav_load(const struct fx *f, const char *id, struct wav *w)
{
	char path[512];

	file_path(f, id, ".wav", path, sizeof(path));
	assert_int_equal(wav_read(path, w), 0);
	assert_int_equal(w->channels, 2);
	assert_int_equal(w->rate, RATE);
	assert_int_equal(w->format, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
}

static int16_t wav_at(const struct wav *w, enum wvs_channel ch, uint64_t pos)
{
	assert_true(pos < (uint64_t)w->frames);
	return w->pcm[2 * pos + ch];
}

/* Checks [from, to) of one side against pat, or silence if pat is NULL. */
static void expect_span(const struct wav *w, enum wvs_channel ch,
			uint64_t from, uint64_t to, pat_fn pat)
{
	for (uint64_t pos = from; pos < to; pos++) {
		int16_t want = pat ? pat(pos) : 0;

		if (wav_at(w, ch, pos) != want)
			fail_msg("channel %d at %llu: %d, want %d", (int)ch,
				 (unsigned long long)pos, wav_at(w, ch, pos),
				 want);
	}
}

/* Returns the file's bytes, NUL-terminated, or NULL if it cannot be read. */
static char *text_read(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long size;

	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	*len = fread(buf, 1, (size_t)size, fp);
	buf[*len] = '\0';
	fclose(fp);
	return buf;
}

static void expect_jsonl(const struct fx *f, const char *id, const char *want)
{
	char path[512];
	size_t len = 0;
	char *got;

	file_path(f, id, ".jsonl", path, sizeof(path));
	got = text_read(path, &len);
	assert_non_null(got);
	assert_int_equal(len, strlen(want));
	assert_string_equal(got, want);
	free(got);
}

static void nap(void)
{
	struct timespec ts = {0, 10 * 1000 * 1000};

	nanosleep(&ts, NULL);
}

/* ---- Tests ---- */

/* Writes one piece at a time, the later pieces first. */
static void put_backwards(struct wvs_record *r, enum wvs_channel ch,
			  uint64_t from, uint64_t to, pat_fn pat)
{
	int16_t buf[FRAME];

	for (uint64_t pos = to; pos > from;) {
		size_t n = pos - from < FRAME ? (size_t)(pos - from) : FRAME;

		pos -= n;
		for (size_t i = 0; i < n; i++)
			buf[i] = pat(pos + i);
		wvs_record_audio(r, ch, pos, buf, n);
	}
}

/*
 * A recording told as writes in order, then what the file must hold.
 * The expectations must cover both channels end to end, so a table
 * cannot forget a stretch.
 */
enum order { FORWARD, BACKWARD, BOTH_SIDES };

struct write_row {
	enum wvs_channel ch;
	uint64_t from, to;
	size_t piece; /* samples per call */
	pat_fn pat;
	enum order order; /* BOTH_SIDES: caller and agent, frame by frame */
};

struct expect_row {
	enum wvs_channel ch;
	uint64_t from, to;
	pat_fn pat;	    /* NULL: silence */
	bool or_silence; /* either pat or silence, sample by sample */
};

struct scenario {
	const char *id;
	struct write_row writes[8];   /* ends at the first row with to == 0 */
	uint64_t frames;
	struct expect_row expect[12]; /* ends at the first row with to == 0 */
};

static void scenario_write(struct wvs_record *r, const struct write_row *w)
{
	switch (w->order) {
	case FORWARD:
		put(r, w->ch, w->from, w->to, w->piece, w->pat);
		break;
	case BACKWARD:
		put_backwards(r, w->ch, w->from, w->to, w->pat);
		break;
	case BOTH_SIDES:
		put_both(r, w->from, w->to);
		break;
	}
}

static void scenario_check(const struct wav *w, const struct expect_row *e)
{
	for (uint64_t pos = e->from; pos < e->to; pos++) {
		int16_t got = wav_at(w, e->ch, pos);

		if (e->or_silence && got == 0)
			continue;
		expect_span(w, e->ch, pos, pos + 1, e->pat);
	}
}

static void run_scenario(void **state, const struct scenario *sc)
{
	struct fx *f = fx_start(state, 0);
	struct wvs_record *r = open_record(f, sc->id);
	uint64_t covered[2] = {0, 0};
	struct wav w;

	for (size_t i = 0; sc->writes[i].to; i++)
		scenario_write(r, &sc->writes[i]);
	wvs_record_close(r);
	fx_finish(f);

	wav_load(f, sc->id, &w);
	assert_int_equal(w.frames, sc->frames);
	for (size_t i = 0; sc->expect[i].to; i++) {
		const struct expect_row *e = &sc->expect[i];

		assert_int_equal(e->from, covered[e->ch]);
		covered[e->ch] = e->to;
		scenario_check(&w, e);
	}
	assert_int_equal(covered[WVS_CALLER], sc->frames);
	assert_int_equal(covered[WVS_AGENT], sc->frames);
	free(w.pcm);
}

static void test_recorder_wav_is_stereo_8k_caller_left_agent_right(void **state)
{
	run_scenario(state, &(struct scenario){
		.id = "call-1",
		.writes = {{WVS_CALLER, 0, 4000, FRAME, caller_pat, FORWARD},
			   {WVS_AGENT, 2000, 6000, FRAME, agent_pat, FORWARD}},
		.frames = 6000,
		.expect = {{WVS_CALLER, 0, 4000, caller_pat, false},
			   {WVS_CALLER, 4000, 6000, NULL, false},
			   {WVS_AGENT, 0, 2000, NULL, false},
			   {WVS_AGENT, 2000, 6000, agent_pat, false}},
	});
}

static void test_recorder_gaps_are_silence(void **state)
{
	run_scenario(state, &(struct scenario){
		.id = "gaps",
		.writes = {{WVS_CALLER, 0, 800, FRAME, caller_pat, FORWARD},
			   {WVS_AGENT, 10000, 10160, FRAME, agent_pat, FORWARD},
			   /* A jump of three seconds: more than is staged. */
			   {WVS_CALLER, 34160, 34960, FRAME, caller_pat, FORWARD},
			   /* Both sides, then the agent falls silent. */
			   {WVS_CALLER, 34960, 50960, FRAME, NULL, BOTH_SIDES},
			   {WVS_CALLER, 50960, 66960, FRAME, caller_pat, FORWARD}},
		.frames = 66960,
		.expect = {{WVS_CALLER, 0, 800, caller_pat, false},
			   {WVS_CALLER, 800, 34160, NULL, false},
			   {WVS_CALLER, 34160, 66960, caller_pat, false},
			   {WVS_AGENT, 0, 10000, NULL, false},
			   {WVS_AGENT, 10000, 10160, agent_pat, false},
			   {WVS_AGENT, 10160, 34960, NULL, false},
			   {WVS_AGENT, 34960, 50960, agent_pat, false},
			   {WVS_AGENT, 50960, 66960, NULL, false}},
	});
}

static void test_recorder_writes_back_to_one_second_are_kept(void **state)
{
	run_scenario(state, &(struct scenario){
		.id = "back",
		.writes = {{WVS_CALLER, 0, 24000, FRAME, caller_pat, FORWARD},
			   /* The agent's last second, newest piece first. */
			   {WVS_AGENT, 16000, 24000, FRAME, agent_pat, BACKWARD},
			   /* Exactly one second back, in one call. */
			   {WVS_CALLER, 16000, 16400, 400, alt_pat, FORWARD}},
		.frames = 24000,
		.expect = {{WVS_CALLER, 0, 16000, caller_pat, false},
			   {WVS_CALLER, 16000, 16400, alt_pat, false},
			   {WVS_CALLER, 16400, 24000, caller_pat, false},
			   {WVS_AGENT, 0, 16000, NULL, false},
			   {WVS_AGENT, 16000, 24000, agent_pat, false}},
	});
}

/* After each 20 ms frame, one sample exactly one second behind it: the
   promise holds at every moment of the recorder's own block cycle. */
static void test_recorder_one_second_back_is_kept_at_every_moment(void **state)
{
	struct fx *f = fx_start(state, 0);
	struct wvs_record *r = open_record(f, "edge");
	struct wav w;

	for (uint64_t pos = 0; pos < 4 * RATE; pos += FRAME) {
		put(r, WVS_CALLER, pos, pos + FRAME, FRAME, caller_pat);
		if (pos + FRAME >= RATE)
			put(r, WVS_AGENT, pos + FRAME - RATE,
			    pos + FRAME - RATE + 1, 1, agent_pat);
	}
	wvs_record_close(r);
	fx_finish(f);

	wav_load(f, "edge", &w);
	assert_int_equal(w.frames, 4 * RATE);
	expect_span(&w, WVS_CALLER, 0, 4 * RATE, caller_pat);
	for (uint64_t pos = 0; pos < 4 * RATE; pos++) {
		bool placed = pos % FRAME == 0 && pos + RATE <= 4 * RATE;

		expect_span(&w, WVS_AGENT, pos, pos + 1,
			    placed ? agent_pat : NULL);
	}
	free(w.pcm);
}

static void test_recorder_later_write_replaces_overlap(void **state)
{
	run_scenario(state, &(struct scenario){
		.id = "overlap",
		.writes = {{WVS_CALLER, 0, 1600, FRAME, caller_pat, FORWARD},
			   {WVS_CALLER, 800, 1200, 100, alt_pat, FORWARD},
			   /* One call across pieces and the window, then a
			      one-sample patch. */
			   {WVS_AGENT, 0, 20000, 20000, agent_pat, FORWARD},
			   {WVS_AGENT, 19000, 19001, 1, alt_pat, FORWARD}},
		.frames = 20000,
		.expect = {{WVS_CALLER, 0, 800, caller_pat, false},
			   {WVS_CALLER, 800, 1200, alt_pat, false},
			   {WVS_CALLER, 1200, 1600, caller_pat, false},
			   {WVS_CALLER, 1600, 20000, NULL, false},
			   {WVS_AGENT, 0, 19000, agent_pat, false},
			   {WVS_AGENT, 19000, 19001, alt_pat, false},
			   {WVS_AGENT, 19001, 20000, agent_pat, false}},
	});
}

static void test_recorder_writes_older_than_window_are_dropped(void **state)
{
	run_scenario(state, &(struct scenario){
		.id = "old",
		.writes = {{WVS_CALLER, 0, 40000, FRAME, caller_pat, FORWARD},
			   /* Three seconds and more behind: final. */
			   {WVS_CALLER, 8000, 8800, FRAME, alt_pat, FORWARD},
			   {WVS_AGENT, 0, 160, FRAME, agent_pat, FORWARD},
			   /* Across the final boundary, in one call. */
			   {WVS_AGENT, 20000, 39840, 19840, agent_pat, FORWARD}},
		.frames = 40000,
		.expect = {{WVS_CALLER, 0, 40000, caller_pat, false},
			   {WVS_AGENT, 0, 20000, NULL, false},
			   /* Only what is under a second old must be kept. */
			   {WVS_AGENT, 20000, 32000, agent_pat, true},
			   {WVS_AGENT, 32000, 39840, agent_pat, false},
			   {WVS_AGENT, 39840, 40000, NULL, false}},
	});
}

static void test_recorder_bad_audio_calls_change_nothing(void **state)
{
	struct fx *f = fx_start(state, 0);
	struct wvs_record *r = open_record(f, "bad-audio");
	int16_t buf[FRAME];
	struct wav w;

	for (size_t i = 0; i < FRAME; i++)
		buf[i] = alt_pat(i);
	put(r, WVS_CALLER, 0, 1600, FRAME, caller_pat);
	wvs_record_audio(r, (enum wvs_channel)2, 0, buf, FRAME);
	wvs_record_audio(r, WVS_AGENT, UINT64_MAX - 10, buf, FRAME);
	wvs_record_audio(r, WVS_AGENT, 0, NULL, FRAME);
	wvs_record_audio(r, WVS_AGENT, 5000, buf, 0);
	wvs_record_audio(NULL, WVS_AGENT, 0, buf, FRAME);
	wvs_record_line(NULL, "x", 1);
	wvs_record_close(NULL);
	wvs_record_close(r);
	fx_finish(f);

	wav_load(f, "bad-audio", &w);
	assert_int_equal(w.frames, 1600);
	expect_span(&w, WVS_CALLER, 0, 1600, caller_pat);
	expect_span(&w, WVS_AGENT, 0, 1600, NULL);
	free(w.pcm);
}

static void test_recorder_jsonl_has_each_line_in_order(void **state)
{
	struct fx *f = fx_start(state, 0);
	struct wvs_record *r = open_record(f, "lines");
	size_t cap = 1 << 16, len = 0;
	char *want = malloc(cap);
	char line[64];

	assert_non_null(want);
	wvs_record_line(r, "{\"event\":\"start\"}", 17);
	len += (size_t)snprintf(want + len, cap - len, "{\"event\":\"start\"}\n");
	/* len, not the terminator, says where a line ends. */
	wvs_record_line(r, "{\"a\":1}TRAILING", 7);
	len += (size_t)snprintf(want + len, cap - len, "{\"a\":1}\n");
	wvs_record_line(r, "", 0);
	len += (size_t)snprintf(want + len, cap - len, "\n");
	/* Enough lines to go out without audio, some with audio between. */
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(line, sizeof(line), "{\"n\":%d}", i);

		wvs_record_line(r, line, (size_t)n);
		len += (size_t)snprintf(want + len, cap - len, "%s\n", line);
		if (i % 100 == 0)
			put(r, WVS_CALLER, (uint64_t)i * 160,
			    (uint64_t)(i + 100) * 160, FRAME, caller_pat);
	}
	wvs_record_close(r);
	fx_finish(f);

	expect_jsonl(f, "lines", want);
	free(want);
}

static void test_recorder_empty_record_leaves_empty_files(void **state)
{
	struct fx *f = fx_start(state, 0);
	struct wav w;

	wvs_record_close(open_record(f, "empty"));
	fx_finish(f);

	wav_load(f, "empty", &w);
	assert_int_equal(w.frames, 0);
	expect_jsonl(f, "empty", "");
	free(w.pcm);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/*
 * The frames the WAV header itself claims, or -1 if the header does not
 * hold together: the RIFF size must end where the data chunk ends. Read
 * raw, because libsndfile quietly repairs a header left at zero and other
 * readers do not.
 */
static long header_frames(const char *path)
{
	unsigned char h[512];
	FILE *fp = fopen(path, "rb");
	size_t len, off = 12;

	if (!fp)
		return -1;
	len = fread(h, 1, sizeof(h), fp);
	fclose(fp);
	if (len < 12 || memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4))
		return -1;
	while (off + 8 <= len) {
		uint32_t size = le32(h + off + 4);

		if (!memcmp(h + off, "data", 4)) {
			if (le32(h + 4) != off + 8 + size - 8 || size % 4)
				return -1;
			return (long)(size / 4);
		}
		off += 8 + size + (size & 1);
	}
	return -1;
}

/* Polls until the WAV header claims at least `frames` frames, then reads
   the file. */
static void wait_for_wav(const struct fx *f, const char *id,
			 sf_count_t frames, struct wav *w)
{
	char path[512];

	file_path(f, id, ".wav", path, sizeof(path));
	for (int i = 0; i < WAIT_TRIES; i++) {
		long claimed = header_frames(path);

		if (claimed >= frames) {
			assert_int_equal(wav_read(path, w), 0);
			assert_true(w->frames >= claimed);
			return;
		}
		nap();
	}
	fail_msg("%s never held %lld frames before close", path,
		 (long long)frames);
}

static bool jsonl_has(const struct fx *f, const char *id, const char *want)
{
	char path[512];
	size_t len = 0;
	char *got;
	bool yes;

	file_path(f, id, ".jsonl", path, sizeof(path));
	got = text_read(path, &len);
	yes = got && strstr(got, want);
	free(got);
	return yes;
}

static void test_recorder_files_hold_early_data_before_close(void **state)
{
	struct fx *f = fx_start(state, 0);
	struct wvs_record *r = open_record(f, "live");
	struct wav w;
	int i;

	wvs_record_line(r, "{\"event\":\"start\"}", 17);
	put_both(r, 0, 5 * RATE);

	/* Everything older than about a second is out by now: 3 s of 5 at
	   least, read while the record is still open. */
	wait_for_wav(f, "live", 3 * RATE, &w);
	assert_int_equal(w.channels, 2);
	assert_int_equal(w.rate, RATE);
	assert_true(w.frames <= 5 * RATE);
	expect_span(&w, WVS_CALLER, 0, (uint64_t)w.frames, caller_pat);
	expect_span(&w, WVS_AGENT, 0, (uint64_t)w.frames, agent_pat);
	free(w.pcm);
	for (i = 0; i < WAIT_TRIES && !jsonl_has(f, "live", "start"); i++)
		nap();
	expect_jsonl(f, "live", "{\"event\":\"start\"}\n");

	wvs_record_close(r);
	fx_finish(f);
	wav_load(f, "live", &w);
	assert_int_equal(w.frames, 5 * RATE);
	expect_span(&w, WVS_CALLER, 0, 5 * RATE, caller_pat);
	expect_span(&w, WVS_AGENT, 0, 5 * RATE, agent_pat);
	free(w.pcm);
}

static void test_recorder_lines_without_audio_reach_disk_before_close(void **state)
{
	struct fx *f = fx_start(state, 0);
	struct wvs_record *r = open_record(f, "quiet");
	char line[64];
	int i;

	/* A call with events and no audio: a few KiB of lines. */
	for (i = 0; i < 1000; i++) {
		int n = snprintf(line, sizeof(line), "{\"n\":%d}", i);

		wvs_record_line(r, line, (size_t)n);
	}
	for (i = 0; i < WAIT_TRIES && !jsonl_has(f, "quiet", "{\"n\":0}\n"); i++)
		nap();
	assert_true(jsonl_has(f, "quiet", "{\"n\":0}\n"));
	wvs_record_close(r);
	fx_finish(f);
	assert_true(jsonl_has(f, "quiet", "{\"n\":999}\n"));
}

#define MANY 64
#define MANY_FRAMES (3 * RATE)

/* Each record gets its own stretch of the patterns. */
static uint64_t many_shift(size_t i)
{
	return (uint64_t)i * 1237;
}

static void test_recorder_many_records_at_once(void **state)
{
	struct fx *f = fx_start(state, 0);
	struct wvs_record *r[MANY];
	char id[MANY][32];
	int16_t buf[FRAME];

	for (size_t i = 0; i < MANY; i++) {
		snprintf(id[i], sizeof(id[i]), "many-%zu", i);
		r[i] = open_record(f, id[i]);
	}
	for (uint64_t pos = 0; pos < MANY_FRAMES; pos += FRAME) {
		for (size_t i = 0; i < MANY; i++) {
			char line[48];
			int n;

			for (size_t k = 0; k < FRAME; k++)
				buf[k] = caller_pat(pos + k + many_shift(i));
			wvs_record_audio(r[i], WVS_CALLER, pos, buf, FRAME);
			for (size_t k = 0; k < FRAME; k++)
				buf[k] = agent_pat(pos + k + many_shift(i));
			wvs_record_audio(r[i], WVS_AGENT, pos, buf, FRAME);
			n = snprintf(line, sizeof(line), "{\"r\":%zu,\"p\":%llu}",
				     i, (unsigned long long)pos);
			wvs_record_line(r[i], line, (size_t)n);
		}
	}
	for (size_t i = 0; i < MANY; i++)
		wvs_record_close(r[i]);
	fx_finish(f);

	for (size_t i = 0; i < MANY; i++) {
		struct wav w;
		char path[512];
		size_t len = 0, off = 0;
		char *text;

		wav_load(f, id[i], &w);
		assert_int_equal(w.frames, MANY_FRAMES);
		for (uint64_t pos = 0; pos < MANY_FRAMES; pos++) {
			assert_int_equal(wav_at(&w, WVS_CALLER, pos),
					 caller_pat(pos + many_shift(i)));
			assert_int_equal(wav_at(&w, WVS_AGENT, pos),
					 agent_pat(pos + many_shift(i)));
		}
		free(w.pcm);
		file_path(f, id[i], ".jsonl", path, sizeof(path));
		text = text_read(path, &len);
		assert_non_null(text);
		for (uint64_t pos = 0; pos < MANY_FRAMES; pos += FRAME) {
			char line[48];
			int n = snprintf(line, sizeof(line),
					 "{\"r\":%zu,\"p\":%llu}\n", i,
					 (unsigned long long)pos);

			assert_true(off + (size_t)n <= len);
			assert_memory_equal(text + off, line, (size_t)n);
			off += (size_t)n;
		}
		assert_int_equal(off, len);
		free(text);
	}
}

static void test_recorder_destroy_closes_open_records(void **state)
{
	struct fx *f = fx_start(state, 0);
	struct wav w;

	put(open_record(f, "left-a"), WVS_CALLER, 0, 12000, FRAME, caller_pat);
	wvs_record_line(open_record(f, "left-b"), "{}", 2);
	fx_finish(f);

	wav_load(f, "left-a", &w);
	assert_int_equal(w.frames, 12000);
	expect_span(&w, WVS_CALLER, 0, 12000, caller_pat);
	free(w.pcm);
	wav_load(f, "left-b", &w);
	assert_int_equal(w.frames, 0);
	free(w.pcm);
	expect_jsonl(f, "left-b", "{}\n");
}

static void test_recorder_tiny_backlog_drops_blocks_and_counts(void **state)
{
	struct fx *f = fx_start(state, 1);
	struct wvs_record *r = open_record(f, "tiny");
	struct wav w;

	wvs_record_line(r, "{\"event\":\"start\"}", 17);
	put(r, WVS_CALLER, 0, 5 * RATE, FRAME, caller_pat);
	wvs_record_close(r);
	/* Blocks hold at most about two seconds: 5 s made several. */
	assert_true(wvs_recorder_dropped(f->rec) >= 2);
	assert_int_equal(wvs_recorder_errors(f->rec), 0);
	wvs_recorder_destroy(f->rec);
	f->rec = NULL;

	/* The call still has its files, its length and its silence. */
	wav_load(f, "tiny", &w);
	assert_int_equal(w.frames, 5 * RATE);
	expect_span(&w, WVS_CALLER, 0, 5 * RATE, NULL);
	expect_span(&w, WVS_AGENT, 0, 5 * RATE, NULL);
	free(w.pcm);
	expect_jsonl(f, "tiny", "");
}

static void test_recorder_bad_ids_are_refused(void **state)
{
	static const struct {
		const char *id;
		int rc;
	} rows[] = {
		{"", WV_ERR_INVALID},	   {".", WV_ERR_INVALID},
		{"..", WV_ERR_INVALID},	   {"a/b", WV_ERR_INVALID},
		{"/etc/x", WV_ERR_INVALID}, {"../up", WV_ERR_INVALID},
		{"dir/", WV_ERR_INVALID},  {NULL, WV_ERR_INVALID},
		{"...", 0},		   {".hidden", 0},
		{"a b", 0},		   {"6f1c9e2a-0d3b-4c55-9a1e-7b2f0e4d8c11", 0},
	};
	struct fx *f = fx_start(state, 0);
	char long_id[202];
	struct wvs_record *r;
	struct wav w;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		r = (struct wvs_record *)&r; /* must be reset on failure */
		assert_int_equal(wvs_record_open(f->rec, rows[i].id, &r),
				 rows[i].rc);
		if (rows[i].rc)
			assert_null(r);
		else
			wvs_record_close(r);
	}
	memset(long_id, 'x', 201);
	long_id[201] = '\0';
	assert_int_equal(wvs_record_open(f->rec, long_id, &r), WV_ERR_INVALID);
	assert_null(r);
	long_id[200] = '\0';
	wvs_record_close(open_record(f, long_id));
	assert_int_equal(wvs_record_open(NULL, "ok", &r), WV_ERR_INVALID);
	assert_int_equal(wvs_record_open(f->rec, "ok", NULL), WV_ERR_INVALID);
	fx_finish(f);

	/* Nothing was written outside the directory, and the good ids made
	   their files. */
	assert_int_equal(access("/etc/x.wav", F_OK), -1);
	wav_load(f, long_id, &w);
	assert_int_equal(w.frames, 0);
	free(w.pcm);
	expect_jsonl(f, ".hidden", "");
	expect_jsonl(f, "...", "");
}

/* A directory the recorder cannot use is refused up front, naming it. */
static void expect_refused(const char *dir)
{
	struct wvs_recorder *rec = (struct wvs_recorder *)&rec;
	char err[512] = "untouched";

	assert_int_equal(wvs_recorder_create(&rec, dir, 0, err, sizeof(err)),
			 WV_ERR_INVALID);
	assert_null(rec);
	if (!strstr(err, dir))
		fail_msg("error for %s does not name it: \"%s\"", dir, err);
}

static void test_recorder_unusable_dir_is_reported(void **state)
{
	struct fx *f = *state;
	char file[128], under[160], locked[128];
	FILE *fp;

	snprintf(file, sizeof(file), "%s/plain", f->dir);
	snprintf(under, sizeof(under), "%s/plain/sub", f->dir);
	fp = fopen(file, "w");
	assert_non_null(fp);
	fclose(fp);
	expect_refused(file);  /* exists, not a directory */
	expect_refused(under); /* cannot be made */
	snprintf(locked, sizeof(locked), "%s/no/such/parent", f->dir);
	expect_refused(locked);
	/* A directory nobody may create files in, even root. */
	if (access("/proc/self", F_OK) == 0)
		expect_refused("/proc");
	if (geteuid() != 0) {
		snprintf(locked, sizeof(locked), "%s/locked", f->dir);
		assert_int_equal(mkdir(locked, 0500), 0);
		expect_refused(locked);
	}
	assert_int_equal(wvs_recorder_create(&f->rec, NULL, 0, NULL, 0),
			 WV_ERR_INVALID);
	assert_int_equal(wvs_recorder_create(&f->rec, "", 0, NULL, 0),
			 WV_ERR_INVALID);
	assert_null(f->rec);
}

static void test_recorder_missing_dir_is_created(void **state)
{
	struct fx *f = *state;
	char dir[128], err[256];
	struct stat st;
	struct wvs_recorder *rec = NULL;

	snprintf(dir, sizeof(dir), "%s/new", f->dir);
	assert_int_equal(wvs_recorder_create(&rec, dir, 0, err, sizeof(err)),
			 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	wvs_recorder_destroy(rec);
}

static void test_recorder_file_creation_failure_is_counted(void **state)
{
	struct fx *f = fx_start(state, 0);
	struct wvs_record *r = open_record(f, "gone");

	/* The directory disappears under the server. */
	assert_int_equal(rmdir(f->dir), 0);
	put(r, WVS_CALLER, 0, 2 * RATE, FRAME, caller_pat);
	wvs_record_line(r, "{}", 2);
	wvs_record_close(r);
	for (int i = 0; i < WAIT_TRIES && !wvs_recorder_errors(f->rec); i++)
		nap();
	assert_true(wvs_recorder_errors(f->rec) >= 1);
	assert_int_equal(wvs_recorder_dropped(f->rec), 0);
	wvs_recorder_destroy(f->rec);
	f->rec = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_recorder_wav_is_stereo_8k_caller_left_agent_right),
		T(test_recorder_gaps_are_silence),
		T(test_recorder_writes_back_to_one_second_are_kept),
		T(test_recorder_one_second_back_is_kept_at_every_moment),
		T(test_recorder_later_write_replaces_overlap),
		T(test_recorder_writes_older_than_window_are_dropped),
		T(test_recorder_bad_audio_calls_change_nothing),
		T(test_recorder_jsonl_has_each_line_in_order),
		T(test_recorder_empty_record_leaves_empty_files),
		T(test_recorder_files_hold_early_data_before_close),
		T(test_recorder_lines_without_audio_reach_disk_before_close),
		T(test_recorder_many_records_at_once),
		T(test_recorder_destroy_closes_open_records),
		T(test_recorder_tiny_backlog_drops_blocks_and_counts),
		T(test_recorder_bad_ids_are_refused),
		T(test_recorder_unusable_dir_is_reported),
		T(test_recorder_missing_dir_is_created),
		T(test_recorder_file_creation_failure_is_counted),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
