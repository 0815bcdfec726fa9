/*
 * Call recordings: see recorder.h.
 *
 * Two sides, one lock between them:
 *   network thread  each record's staging window and pending JSONL text;
 *                   it cuts them into blocks and appends them to the queue
 *   writer thread   the files (libsndfile and stdio), one sink per record
 * The queue, its byte count and the stop flag are under the lock, which
 * either side holds only to link or unlink blocks, never around I/O.
 *
 * Positions are absolute 8 kHz sample counts. A record keeps a ring of
 * stereo frames from `base`; everything before `base` is final and has
 * been handed off. Once the furthest position is BLOCK frames past the
 * one-second margin, the part older than one second goes out as one block,
 * so a write may always reach one second back, and the window never needs
 * more than KEEP + BLOCK frames. Spans never written are zeros in the
 * window, and the writer fills a gap between blocks with silence, so time
 * stays aligned even when a block is dropped.
 */
#include "recorder.h"
#include "grow.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include <wvoice/error.h>

#define RATE 8000
#define KEEP RATE		  /* writes may go back one second */
#define BLOCK (RATE / 5)	  /* 200 ms: the least audio handed off at once */
#define WINDOW (KEEP + BLOCK)	  /* stereo frames staged per record */
#define TEXT_FLUSH 4096		  /* JSONL bytes that go out without audio */
#define DEFAULT_BACKLOG (16u << 20)
#define ID_MAX 200		  /* leaves room for ".jsonl" in NAME_MAX */

struct sink;

/* A piece of one record on its way to the disk. */
struct block {
	struct block *next;
	struct sink *sink;
	uint64_t start;	 /* position of the first frame */
	uint64_t end;	 /* fin: where the WAV ends */
	size_t frames;	 /* stereo frames at pcm */
	size_t text_len; /* JSONL bytes at text */
	size_t bytes;	 /* counted against the backlog */
	int16_t *pcm;
	char *text;
	bool fin; /* the record is closed: complete the files */
};

/* The writer's side of one record; freed by the writer after its fin. */
struct sink {
	struct block fin; /* allocated with the record, so closing cannot fail */
	SNDFILE *wav;
	FILE *jsonl;
	uint64_t written; /* frames in the WAV so far */
	struct sink *next_dirty;
	bool opened, failed, dirty, closing;
	char id[];
};

struct wvs_record {
	struct wvs_recorder *rec;
	struct sink *sink;
	struct wvs_record *prev, *next; /* the recorder's open records */
	uint64_t base;			/* window start; older is final */
	uint64_t furthest;		/* one past the furthest sample written */
	char *text;			/* JSONL not yet handed off */
	size_t text_len, text_cap;
	int16_t win[]; /* ring of WINDOW stereo frames: position p at p % WINDOW */
};

struct wvs_recorder {
	char *dir;
	size_t backlog;
	pthread_t writer;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct block *head, **tail; /* under lock */
	size_t queued;		    /* under lock: bytes queued or being written */
	bool stopping;		    /* under lock */
	_Atomic uint64_t dropped, errors;
	struct wvs_record *open; /* the network thread's */
};

static const int16_t zeros[2 * BLOCK];

/* ---- Writer thread ---- */

static void sink_fail(struct wvs_recorder *rec, struct sink *s,
		      const char *what, const char *why)
{
	atomic_fetch_add_explicit(&rec->errors, 1, memory_order_relaxed);
	if (!s->failed)
		fprintf(stderr, "wvoice serve: recording %s/%s: %s: %s\n",
			rec->dir, s->id, what, why);
	s->failed = true;
}

static char *sink_path(const struct wvs_recorder *rec, const struct sink *s,
		       const char *ext)
{
	size_t len = strlen(rec->dir) + strlen(s->id) + strlen(ext) + 2;
	char *path = malloc(len);

	if (path)
		snprintf(path, len, "%s/%s%s", rec->dir, s->id, ext);
	return path;
}

/* Files are created on the first block, so opening a record never touches
   the disk on the network thread. */
static void sink_open(struct wvs_recorder *rec, struct sink *s)
{
	SF_INFO info = {.samplerate = RATE,
			.channels = 2,
			.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
	char *wav = sink_path(rec, s, ".wav");
	char *jsonl = sink_path(rec, s, ".jsonl");

	s->opened = true;
	if (!wav || !jsonl) {
		sink_fail(rec, s, "create", "out of memory");
		goto out;
	}
	s->wav = sf_open(wav, SFM_WRITE, &info);
	if (!s->wav) {
		sink_fail(rec, s, "create .wav", sf_strerror(NULL));
		goto out;
	}
	s->jsonl = fopen(jsonl, "w");
	if (!s->jsonl)
		sink_fail(rec, s, "create .jsonl", strerror(errno));
out:
	free(wav);
	free(jsonl);
}

static void sink_write_frames(struct wvs_recorder *rec, struct sink *s,
			      const int16_t *pcm, size_t frames)
{
	sf_count_t n = sf_writef_short(s->wav, pcm, (sf_count_t)frames);

	if (n != (sf_count_t)frames)
		sink_fail(rec, s, "write .wav", sf_strerror(s->wav));
	else
		s->written += frames;
}

static void sink_pad(struct wvs_recorder *rec, struct sink *s, uint64_t to)
{
	while (!s->failed && s->written < to) {
		uint64_t n = to - s->written;

		sink_write_frames(rec, s, zeros, n < BLOCK ? (size_t)n : BLOCK);
	}
}

static void sink_audio(struct wvs_recorder *rec, struct sink *s,
		       const struct block *b)
{
	size_t skip = 0;

	sink_pad(rec, s, b->start);
	/* Blocks of one record never overlap; this only guards the file. */
	if (s->written > b->start)
		skip = (size_t)(s->written - b->start);
	if (!s->failed && skip < b->frames)
		sink_write_frames(rec, s, b->pcm + 2 * skip, b->frames - skip);
}

static void sink_block(struct wvs_recorder *rec, struct block *b)
{
	struct sink *s = b->sink;

	if (!s->opened)
		sink_open(rec, s);
	if (b->frames && !s->failed)
		sink_audio(rec, s, b);
	if (b->text_len && !s->failed &&
	    fwrite(b->text, 1, b->text_len, s->jsonl) != b->text_len)
		sink_fail(rec, s, "write .jsonl", strerror(errno));
	if (b->fin) {
		if (!s->failed)
			sink_pad(rec, s, b->end);
		s->closing = true;
	}
}

/* After each batch, so that a killed server leaves files whose header
   covers what was written: the data is in the kernel already (libsndfile
   does not buffer), only the header and stdio's buffer lag. */
static void sink_flush(struct wvs_recorder *rec, struct sink *s)
{
	if (s->failed)
		return;
	sf_command(s->wav, SFC_UPDATE_HEADER_NOW, NULL, 0);
	if (fflush(s->jsonl) != 0)
		sink_fail(rec, s, "write .jsonl", strerror(errno));
}

static void sink_finish(struct wvs_recorder *rec, struct sink *s)
{
	if (s->wav && sf_close(s->wav) != 0)
		sink_fail(rec, s, "close .wav", "write failed");
	if (s->jsonl && fclose(s->jsonl) != 0)
		sink_fail(rec, s, "close .jsonl", strerror(errno));
	free(s);
}

/* Writes a batch; returns the bytes it held, for the backlog. */
static size_t write_batch(struct wvs_recorder *rec, struct block *batch)
{
	struct sink *dirty = NULL;
	size_t bytes = 0;

	while (batch) {
		struct block *b = batch;
		struct sink *s = b->sink;

		batch = b->next;
		bytes += b->bytes;
		sink_block(rec, b);
		if (!s->dirty) {
			s->dirty = true;
			s->next_dirty = dirty;
			dirty = s;
		}
		if (!b->fin)
			free(b);
	}
	while (dirty) {
		struct sink *s = dirty;

		dirty = s->next_dirty;
		s->dirty = false;
		if (s->closing)
			sink_finish(rec, s);
		else
			sink_flush(rec, s);
	}
	return bytes;
}

static void *writer_main(void *arg)
{
	struct wvs_recorder *rec = arg;

	pthread_mutex_lock(&rec->lock);
	for (;;) {
		struct block *batch;
		size_t bytes;

		while (!rec->head && !rec->stopping)
			pthread_cond_wait(&rec->wake, &rec->lock);
		if (!rec->head)
			break;
		batch = rec->head;
		rec->head = NULL;
		rec->tail = &rec->head;
		pthread_mutex_unlock(&rec->lock);
		bytes = write_batch(rec, batch);
		pthread_mutex_lock(&rec->lock);
		rec->queued -= bytes;
	}
	pthread_mutex_unlock(&rec->lock);
	return NULL;
}

/* ---- Network thread ---- */

static void enqueue(struct wvs_recorder *rec, struct block *b)
{
	bool keep;

	b->next = NULL;
	pthread_mutex_lock(&rec->lock);
	keep = b->fin || b->bytes <= rec->backlog - rec->queued;
	if (keep) {
		*rec->tail = b;
		rec->tail = &b->next;
		rec->queued += b->bytes;
		pthread_cond_signal(&rec->wake);
	}
	pthread_mutex_unlock(&rec->lock);
	if (!keep) {
		atomic_fetch_add_explicit(&rec->dropped, 1,
					  memory_order_relaxed);
		free(b);
	}
}

/* A block for the next `frames` frames from base and the pending text,
   which it takes; the frames are filled in by ring_take. NULL: dropped. */
static struct block *block_new(struct wvs_record *r, size_t frames)
{
	size_t pcm_bytes = frames * 2 * sizeof(int16_t);
	size_t bytes = sizeof(struct block) + pcm_bytes + r->text_len;
	struct block *b = malloc(bytes);

	if (!b) {
		atomic_fetch_add_explicit(&r->rec->dropped, 1,
					  memory_order_relaxed);
		r->text_len = 0;
		return NULL;
	}
	*b = (struct block){.sink = r->sink,
			    .start = r->base,
			    .frames = frames,
			    .text_len = r->text_len,
			    .bytes = bytes};
	b->pcm = (int16_t *)(b + 1);
	b->text = (char *)(b + 1) + pcm_bytes;
	if (r->text_len)
		memcpy(b->text, r->text, r->text_len);
	r->text_len = 0;
	return b;
}

/* Copies out (when dst is not NULL) the frames from base on, and zeroes
   their slots, which come back as positions not yet written. */
static void ring_take(struct wvs_record *r, int16_t *dst, size_t frames)
{
	size_t at = (size_t)(r->base % WINDOW);
	size_t first = frames < WINDOW - at ? frames : WINDOW - at;
	size_t pieces[2][2] = {{at, first}, {0, frames - first}};

	for (size_t i = 0; i < 2; i++) {
		int16_t *src = r->win + 2 * pieces[i][0];
		size_t len = pieces[i][1] * 2 * sizeof(int16_t);

		if (dst)
			memcpy(dst + 2 * (i ? first : 0), src, len);
		memset(src, 0, len);
	}
}

/* Makes everything before `boundary` final and hands it off. Only slots
   up to the furthest position hold anything, so a jump past it (a gap)
   costs nothing: the writer fills the gap with silence. */
static void advance(struct wvs_record *r, uint64_t boundary)
{
	uint64_t filled = r->furthest - r->base;
	uint64_t by = boundary - r->base;
	size_t frames = (size_t)(by < filled ? by : filled);
	struct block *b = NULL;

	if (frames || r->text_len)
		b = block_new(r, frames);
	ring_take(r, b ? b->pcm : NULL, frames);
	r->base = boundary;
	if (b)
		enqueue(r->rec, b);
}

/* n is at most BLOCK, so the span fits the window after any advance. */
static void place(struct wvs_record *r, enum wvs_channel ch, uint64_t pos,
		  const int16_t *pcm, size_t n)
{
	uint64_t end = pos + n;
	size_t skip, at;

	if (end > r->furthest) {
		if (end - r->base >= WINDOW)
			advance(r, end - KEEP);
		r->furthest = end;
	}
	/* Anything before base is final: skip (possibly all of) it. */
	skip = pos < r->base ? (size_t)(r->base - pos) : 0;
	at = (size_t)((pos + skip) % WINDOW);
	for (size_t i = skip; i < n; i++) {
		r->win[2 * at + ch] = pcm[i];
		if (++at == WINDOW)
			at = 0;
	}
}

void wvs_record_audio(struct wvs_record *r, enum wvs_channel ch, uint64_t pos,
		      const int16_t *pcm, size_t n)
{
	if (!r || !pcm || (ch != WVS_CALLER && ch != WVS_AGENT) ||
	    n > UINT64_MAX - pos)
		return;
	while (n > 0) {
		size_t m = n < BLOCK ? n : BLOCK;

		place(r, ch, pos, pcm, m);
		pos += m;
		pcm += m;
		n -= m;
	}
}

void wvs_record_line(struct wvs_record *r, const char *line, size_t len)
{
	size_t need;
	char *text;

	if (!r || (!line && len))
		return;
	need = r->text_len + len + 1;
	text = wvs_grow(r->text, &r->text_cap, need, 1, 1024);
	if (!text) {
		atomic_fetch_add_explicit(&r->rec->dropped, 1,
					  memory_order_relaxed);
		return;
	}
	r->text = text;
	if (len)
		memcpy(r->text + r->text_len, line, len);
	r->text[r->text_len + len] = '\n';
	r->text_len = need;
	/* Lines normally ride with the audio; without audio they still go. */
	if (r->text_len >= TEXT_FLUSH) {
		struct block *b = block_new(r, 0);

		if (b)
			enqueue(r->rec, b);
	}
}

void wvs_record_lost(struct wvs_record *r)
{
	if (r)
		atomic_fetch_add_explicit(&r->rec->dropped, 1,
					  memory_order_relaxed);
}

static bool id_ok(const char *id)
{
	size_t len;

	if (!id)
		return false;
	len = strnlen(id, ID_MAX + 1);
	return len > 0 && len <= ID_MAX && !strchr(id, '/') &&
	       strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

int wvs_record_open(struct wvs_recorder *rec, const char *id,
		    struct wvs_record **out)
{
	struct wvs_record *r;
	struct sink *s;
	size_t len;

	if (out)
		*out = NULL;
	if (!rec || !out || !id_ok(id))
		return WV_ERR_INVALID;
	len = strlen(id);
	r = calloc(1, sizeof(*r) + WINDOW * 2 * sizeof(int16_t));
	s = calloc(1, sizeof(*s) + len + 1);
	if (!r || !s) {
		free(r);
		free(s);
		return WV_ERR_NOMEM;
	}
	memcpy(s->id, id, len + 1);
	s->fin = (struct block){.sink = s, .fin = true};
	r->rec = rec;
	r->sink = s;
	r->next = rec->open;
	if (rec->open)
		rec->open->prev = r;
	rec->open = r;
	*out = r;
	return 0;
}

void wvs_record_close(struct wvs_record *r)
{
	struct wvs_recorder *rec;

	if (!r)
		return;
	rec = r->rec;
	advance(r, r->furthest);
	r->sink->fin.end = r->furthest;
	enqueue(rec, &r->sink->fin);
	if (r->prev)
		r->prev->next = r->next;
	else
		rec->open = r->next;
	if (r->next)
		r->next->prev = r->prev;
	free(r->text);
	free(r);
}

/* ---- The recorder ---- */

static void set_err(char *err, size_t errlen, const char *what,
		    const char *dir, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "%s %s: %s", what, dir, why);
}

/* Refuses a directory the server could not record into, at start-up
   rather than at the first call; as root only a real write tells. */
static int dir_prepare(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	size_t len = strlen(dir);
	char *probe;
	int fd;

	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		set_err(err, errlen, "cannot create", dir, strerror(errno));
		return WV_ERR_INVALID;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		set_err(err, errlen, "not a directory:", dir,
			"cannot record there");
		return WV_ERR_INVALID;
	}
	probe = malloc(len + sizeof("/.wvs-probe-XXXXXX"));
	if (!probe) {
		set_err(err, errlen, "checking", dir, "out of memory");
		return WV_ERR_NOMEM;
	}
	snprintf(probe, len + sizeof("/.wvs-probe-XXXXXX"),
		 "%s/.wvs-probe-XXXXXX", dir);
	fd = mkstemp(probe);
	if (fd < 0) {
		set_err(err, errlen, "cannot write in", dir, strerror(errno));
		free(probe);
		return WV_ERR_INVALID;
	}
	close(fd);
	unlink(probe);
	free(probe);
	return 0;
}

int wvs_recorder_create(struct wvs_recorder **out, const char *dir,
			size_t backlog_bytes, char *err, size_t errlen)
{
	struct wvs_recorder *rec;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return WV_ERR_INVALID;
	*out = NULL;
	if (!dir || !*dir) {
		set_err(err, errlen, "no", "directory", "give one to record in");
		return WV_ERR_INVALID;
	}
	rc = dir_prepare(dir, err, errlen);
	if (rc)
		return rc;
	rec = calloc(1, sizeof(*rec));
	if (!rec || !(rec->dir = strdup(dir))) {
		set_err(err, errlen, "recording in", dir, "out of memory");
		rc = WV_ERR_NOMEM;
		goto fail_alloc;
	}
	rec->backlog = backlog_bytes ? backlog_bytes : DEFAULT_BACKLOG;
	rec->tail = &rec->head;
	if (pthread_mutex_init(&rec->lock, NULL) != 0)
		goto fail_alloc_internal;
	if (pthread_cond_init(&rec->wake, NULL) != 0)
		goto fail_mutex;
	if (pthread_create(&rec->writer, NULL, writer_main, rec) != 0)
		goto fail_cond;
	*out = rec;
	return 0;

fail_cond:
	pthread_cond_destroy(&rec->wake);
fail_mutex:
	pthread_mutex_destroy(&rec->lock);
fail_alloc_internal:
	set_err(err, errlen, "recording in", dir, "cannot start the writer");
	rc = WV_ERR_INTERNAL;
fail_alloc:
	if (rec)
		free(rec->dir);
	free(rec);
	return rc;
}

void wvs_recorder_destroy(struct wvs_recorder *rec)
{
	if (!rec)
		return;
	while (rec->open)
		wvs_record_close(rec->open);
	pthread_mutex_lock(&rec->lock);
	rec->stopping = true;
	pthread_cond_signal(&rec->wake);
	pthread_mutex_unlock(&rec->lock);
	pthread_join(rec->writer, NULL);
	pthread_cond_destroy(&rec->wake);
	pthread_mutex_destroy(&rec->lock);
	free(rec->dir);
	free(rec);
}

uint64_t wvs_recorder_dropped(const struct wvs_recorder *rec)
{
	return atomic_load_explicit(&rec->dropped, memory_order_relaxed);
}

uint64_t wvs_recorder_errors(const struct wvs_recorder *rec)
{
	return atomic_load_explicit(&rec->errors, memory_order_relaxed);
}
