/* The --events log: see events.h. */
#include "events.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <wvoice/error.h>

#include "errbuf.h"
#include "grow.h"
#include "utf8text.h"

/* The `dir` of the log's own lines (error, truncated, end): a reader
   that keeps "in" sees only what the server sent. */
#define DIR_CALL "call"
/* Kept back from the bound for the last two lines: "truncated" (under
   100 bytes) and "end" (under 1 KiB: a close reason is at most 123
   bytes, each at most 6 in JSON). */
#define TAIL_RESERVE 2048

int64_t cli_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct cli_events {
	FILE *f;
	char *path;	 /* for messages: "standard output" for "-" */
	char *line; /* the line being put together */
	size_t len, cap;
	int write_errno; /* of the first failed write, 0 if none */
	uint64_t max_bytes; /* the bound on the file, 0 for none */
	uint64_t written;   /* bytes written so far */
	bool truncated;	    /* the bound was reached: only "end" is left */
	int64_t t_us;	    /* the time of the line being put together */
};

int cli_events_open(struct cli_events **out, const char *path, char *err,
		    size_t errlen)
{
	struct cli_events *e = calloc(1, sizeof *e);
	bool out_stream = !strcmp(path, "-");

	*out = NULL;
	if (!e || !(e->path = strdup(out_stream ? "standard output" : path))) {
		free(e);
		return WV_ERR_NOMEM;
	}
	if (out_stream) {
		e->f = stdout; /* each line is flushed whole, as below */
		*out = e;
		return 0;
	}
	e->f = fopen(path, "w");
	if (!e->f) {
		int rc = wvs_errorf(err, errlen, WV_ERR_INVALID,
				    "%s: cannot create: %s", path,
				    strerror(errno));

		free(e->path);
		free(e);
		return rc;
	}
	/* Unbuffered: each line then leaves in the one fwrite that holds it,
	 * never half of it in a buffer when the program dies. */
	setvbuf(e->f, NULL, _IONBF, 0);
	*out = e;
	return 0;
}

int cli_events_close(struct cli_events *e, char *err, size_t errlen)
{
	int rc = 0;

	if (!e)
		return 0;
	errno = 0;
	if ((e->f == stdout ? fflush(e->f) : fclose(e->f)) != 0 &&
	    !e->write_errno)
		e->write_errno = errno ? errno : EIO;
	if (e->write_errno)
		rc = wvs_errorf(err, errlen, WV_ERR_INTERNAL,
				"%s: cannot write: %s", e->path,
				strerror(e->write_errno));
	free(e->line);
	free(e->path);
	free(e);
	return rc;
}

/* ---- Putting a line together ---- */

static int append(struct cli_events *e, const char *s, size_t n)
{
	char *line = wvs_grow(e->line, &e->cap, e->len + n + 1, 1, 256);

	if (!line)
		return WV_ERR_NOMEM;
	e->line = line;
	memcpy(e->line + e->len, s, n);
	e->len += n;
	e->line[e->len] = '\0';
	return 0;
}

static const char *dir_name(enum wv_direction dir)
{
	return dir == WV_DIR_OUT ? "out" : "in";
}

static int begin(struct cli_events *e, int64_t t_us, const char *dir)
{
	char head[64];
	double t = t_us > 0 ? (double)t_us / 1e6 : 0.0;
	int n = snprintf(head, sizeof head, "{\"t\":%.3f,\"dir\":\"%s\"", t,
			 dir);

	if (e->write_errno)
		return WV_ERR_INTERNAL;
	e->len = 0;
	e->t_us = t_us;
	return append(e, head, (size_t)n);
}

/* Adds the members of a compact JSON object text ("{...}") and closes the
 * line's own object. */
static int append_members(struct cli_events *e, const char *obj)
{
	size_t n = strlen(obj);

	if (n <= 2) /* "{}" */
		return append(e, "}", 1);
	if (append(e, ",", 1) < 0)
		return WV_ERR_NOMEM;
	return append(e, obj + 1, n - 1);
}

/* Writes the line put together, whole, in one write. */
static int put_line(struct cli_events *e)
{
	if (append(e, "\n", 1) < 0)
		return WV_ERR_NOMEM;
	errno = 0;
	if (fwrite(e->line, 1, e->len, e->f) != e->len || fflush(e->f) != 0) {
		e->write_errno = errno ? errno : EIO;
		return WV_ERR_INTERNAL;
	}
	e->written += e->len;
	return 0;
}

/* The bound reached: one line says so, in place of the one that did not
   fit, and nothing more is written but the end. */
static int truncate_here(struct cli_events *e)
{
	char line[128];
	double t = e->t_us > 0 ? (double)e->t_us / 1e6 : 0.0;
	int n = snprintf(line, sizeof line,
			 "{\"t\":%.3f,\"dir\":\"" DIR_CALL "\",\"event\":"
			 "\"truncated\",\"max_bytes\":%llu}",
			 t, (unsigned long long)e->max_bytes);

	e->truncated = true;
	e->len = 0;
	if (append(e, line, (size_t)n) < 0)
		return WV_ERR_NOMEM;
	return put_line(e);
}

/* Writes an event's or an error's line, within the bound: past it, the
   line is left out (after the one "truncated" line), and 0 returned. */
static int finish(struct cli_events *e)
{
	if (e->truncated)
		return 0;
	if (e->max_bytes &&
	    e->written + e->len + 1 > e->max_bytes - TAIL_RESERVE)
		return truncate_here(e);
	return put_line(e);
}

/* ---- The fields of each event ---- */

/* An unknown event's own members, or NULL if its text is missing or does
 * not hold an object (the decoder lets through only objects, but an
 * event made by hand may have no text). */
static json_t *unknown_fields(const struct wv_event *ev)
{
	json_t *obj;

	if (!ev->json)
		return NULL;
	obj = json_loadb(ev->json, ev->json_len, 0, NULL);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return NULL;
	}
	json_object_del(obj, "t");
	json_object_del(obj, "dir");
	return obj;
}

/* jansson takes only UTF-8; a close reason or an error detail may hold
   bytes that are not: they are kept, escaped as \xNN. */
static json_t *str_value(const char *s)
{
	size_t len = strlen(s), cap = 4 * len + 1;
	char *text;
	json_t *v = json_string(s);

	if (v || !(text = malloc(cap)))
		return v;
	v = json_string(wvs_utf8_copy(text, cap, s, len));
	free(text);
	return v;
}

static json_t *known_fields(const struct wv_event *ev)
{
	const char *name = ev->name ? ev->name : wv_event_name(ev->type);
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	json_object_set_new(obj, "event", str_value(name ? name : ""));
	if (ev->type == WV_EVENT_START && ev->communication_id)
		json_object_set_new(obj, "communication_id",
				    str_value(ev->communication_id));
	if (ev->type == WV_EVENT_MARK && ev->mark)
		json_object_set_new(obj, "mark", str_value(ev->mark));
	if (ev->type == WV_EVENT_DTMF)
		json_object_set_new(obj, "dtmf", json_stringn(&ev->dtmf, 1));
	return obj;
}

static json_t *event_fields(const struct wv_event *ev)
{
	json_t *obj = NULL;

	if (ev->type == WV_EVENT_UNKNOWN)
		obj = unknown_fields(ev);
	if (!obj)
		obj = known_fields(ev);
	return obj;
}

/* Puts the members of obj (consumed) in the line begun with begin(). */
static int members_of(struct cli_events *e, json_t *obj)
{
	char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER)
			 : NULL;
	int rc = text ? append_members(e, text) : WV_ERR_NOMEM;

	json_decref(obj);
	free(text);
	return rc;
}

/* Writes the line begun with begin(), its members from obj (consumed). */
static int finish_with(struct cli_events *e, json_t *obj)
{
	int rc = members_of(e, obj);

	return rc < 0 ? rc : finish(e);
}

int cli_events_write(struct cli_events *e, int64_t t_us,
		     enum wv_direction dir, const struct wv_event *ev)
{
	int rc;

	/* Past the bound nothing but the end is written: not even made. */
	if (e->truncated && !e->write_errno)
		return 0;
	rc = begin(e, t_us, dir_name(dir));
	if (rc < 0)
		return rc;
	/* 50 a second each way: no JSON library, no allocation once the
	 * line has grown to fit. */
	if (ev->type == WV_EVENT_AUDIO) {
		char tail[64];
		int n = snprintf(tail, sizeof tail,
				 ",\"event\":\"audio\",\"bytes\":%zu}",
				 ev->audio_len);

		rc = append(e, tail, (size_t)n);
		return rc < 0 ? rc : finish(e);
	}
	return finish_with(e, event_fields(ev));
}

int cli_events_write_end(struct cli_events *e, int64_t t_us,
			 const char *reason, int close_code,
			 const char *close_reason, enum wv_closed_by by,
			 json_t *extra)
{
	json_t *obj;
	int rc = begin(e, t_us, DIR_CALL);

	if (rc < 0) {
		json_decref(extra);
		return rc;
	}
	obj = json_pack("{s:s,s:s,s:o,s:o,s:s}", "event", "end", "reason",
			reason, "close_code",
			close_code ? json_integer(close_code) : json_null(),
			"close_reason",
			close_code ? str_value(close_reason ? close_reason : "")
				   : json_null(),
			"closed_by", wv_closed_by_name(by));
	/* The members there before 0.5 first, then extra's. */
	if (obj && extra && json_object_update(obj, extra)) {
		json_decref(obj);
		obj = NULL;
	}
	json_decref(extra);
	/* Within the bound whatever came before: TAIL_RESERVE kept room. */
	rc = members_of(e, obj);
	return rc < 0 ? rc : put_line(e);
}

int cli_events_write_own(struct cli_events *e, int64_t t_us,
			 const char *event, json_t *members)
{
	json_t *obj;
	int rc = 0;

	/* Past the bound nothing but the end is written. */
	if (!(e->truncated && !e->write_errno))
		rc = begin(e, t_us, DIR_CALL);
	if (rc < 0 || e->truncated) {
		json_decref(members);
		return rc;
	}
	obj = json_pack("{s:s}", "event", event);
	if (obj && members && json_object_update(obj, members)) {
		json_decref(obj);
		obj = NULL;
	}
	json_decref(members);
	return finish_with(e, obj);
}

int cli_events_write_error(struct cli_events *e, int64_t t_us,
			   const char *detail)
{
	int rc;

	if (e->truncated && !e->write_errno)
		return 0;
	rc = begin(e, t_us, DIR_CALL);
	if (rc < 0)
		return rc;
	return finish_with(e, json_pack("{s:s,s:o}", "event", "error",
					"error",
					str_value(detail ? detail : "")));
}

void cli_events_set_max(struct cli_events *e, uint64_t max_bytes)
{
	e->max_bytes = max_bytes && max_bytes < CLI_EVENTS_MAX_LEAST
			       ? CLI_EVENTS_MAX_LEAST
			       : max_bytes;
}
