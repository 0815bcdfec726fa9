/*
 * Event logs and recordings: the session's trace, audio and log hooks
 * written to the call's record. See server_internal.h.
 */
#include <stdio.h>
#include <string.h>

#include "server_internal.h"
#include "utf8text.h"

/* The record's `dir` for what is no protocol event but the call's own
   (connect, error, end): a reader that keeps "in" sees only what the
   client sent. See doc/record.schema.json. */
#define DIR_CALL "call"
/* Room for an event name or a mark id quoted in a log line. */
#define QUOTE_MAX 80

/* A line that could not be put together (no memory, or text jansson
   refused) is counted with the recorder's dropped blocks and said once
   per call, never lost silently. */
static void line_lost(struct conn *c, json_t *obj)
{
	const char *event = json_string_value(json_object_get(obj, "event"));

	if (!c->record_lost)
		wvs_logf(c->srv, "call %s: a %s line of the record was lost "
			 "(out of memory)", c->id, event ? event : "record");
	c->record_lost = true;
	wvs_record_lost(c->rec);
}

/* One JSONL line: the time (to the millisecond, as jansson would print
   every digit of the double) and direction, then the fields of obj. */
static void record_line(struct conn *c, double t, const char *dir, json_t *obj)
{
	char *fields = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER)
			   : NULL;
	char head[64];
	int n;

	if (!fields)
		line_lost(c, obj);
	json_decref(obj);
	if (!fields)
		return;
	/* fields is "{...}": the line goes on after its brace. */
	n = snprintf(head, sizeof head, "{\"t\":%.3f,\"dir\":\"%s\"%s", t, dir,
		     fields[1] == '}' ? "" : ",");
	char *line = malloc((size_t)n + strlen(fields));
	if (line) {
		memcpy(line, head, (size_t)n);
		strcpy(line + n, fields + 1);
		wvs_record_line(c->rec, line, strlen(line));
		free(line);
	} else {
		line_lost(c, NULL);
	}
	free(fields);
}

/* A string member from text of the peer's: valid UTF-8 whatever it
   holds, so that jansson takes it (json_string() refuses the rest). */
static json_t *peer_string(const char *s)
{
	char text[WV_ID_MAX * 4 + 1];

	return json_string(wvs_utf8_copy(text, sizeof text, s, strlen(s)));
}

/* --verbose: one line per event but audio; the names and ids are the
   client's, escaped. */
static void log_event(struct conn *c, const char *d, const struct wv_event *ev)
{
	char name[QUOTE_MAX], mark[QUOTE_MAX] = "";

	if (ev) {
		wv_escape(name, sizeof name, ev->name, strlen(ev->name));
		if (ev->mark)
			wv_escape(mark, sizeof mark, ev->mark, strlen(ev->mark));
	}
	wvs_logf(c->srv, "call %s: %s %s%s%s", c->id, d,
		 ev ? name : "bad frame", *mark ? " " : "", mark);
}

void wvs_on_trace(void *user, enum wvs_dir dir, const struct wv_event *ev,
		  const char *problem, int64_t now)
{
	struct conn *c = user;
	const char *d = dir == WVS_IN ? "in" : "out";
	double t = (double)(now - c->opened) / 1e6;
	json_t *obj;

	if (c->srv->cfg.verbose && (!ev || ev->type != WV_EVENT_AUDIO))
		log_event(c, d, ev);
	if (!c->rec)
		return;
	if (ev && ev->type == WV_EVENT_AUDIO) {
		char line[96];
		int n = snprintf(line, sizeof line,
				 "{\"t\":%.3f,\"dir\":\"%s\",\"event\":\"audio\","
				 "\"bytes\":%zu}",
				 t, d, ev->audio_len);
		wvs_record_line(c->rec, line, (size_t)n);
		return;
	}
	obj = json_object();
	if (!obj)
		return;
	if (!ev) {
		/* A problem with what came in is the call's line, not one
		   of the client's events. */
		json_object_set_new(obj, "event", json_string("error"));
		json_object_set_new(obj, "error", peer_string(problem));
		d = DIR_CALL;
	} else {
		json_object_set_new(obj, "event", peer_string(ev->name));
		if (ev->communication_id)
			json_object_set_new(obj, "communication_id",
					    peer_string(ev->communication_id));
		if (ev->type == WV_EVENT_MARK)
			json_object_set_new(obj, "mark", peer_string(ev->mark));
		if (ev->type == WV_EVENT_DTMF)
			json_object_set_new(obj, "dtmf",
					    json_stringn(&ev->dtmf, 1));
	}
	record_line(c, t, d, obj);
}

void wvs_on_audio(void *user, enum wvs_dir dir, uint64_t pos,
		  const int16_t *pcm, size_t n)
{
	struct conn *c = user;

	if (c->rec)
		wvs_record_audio(c->rec, dir == WVS_IN ? WVS_CALLER : WVS_AGENT,
				 pos, pcm, n);
}

void wvs_on_log(void *user, const char *line)
{
	struct conn *c = user;

	wvs_logf(c->srv, "call %s: %s", c->id, line);
}

void wvs_trace_end(struct conn *c)
{
	double t = (double)(wvs_now_us() - c->opened) / 1e6;
	json_t *code, *reason;

	if (!c->rec)
		return;
	code = c->closed_by ? json_integer(c->close_code) : json_null();
	/* The reason may be the client's, and any bytes. */
	reason = c->closed_by ? peer_string(c->close_reason) : json_null();
	record_line(c, t, DIR_CALL,
		    json_pack("{s:s,s:s,s:o,s:o,s:s}", "event", "end", "reason",
			      wvs_end_name(wvs_session_end(c->session)),
			      "close_code", code, "close_reason", reason,
			      "closed_by", c->closed_by ? c->closed_by : "none"));
}

void wvs_trace_open(struct conn *c)
{
	json_t *obj, *meta = NULL;

	if (!c->srv->recorder ||
	    wvs_record_open(c->srv->recorder, c->id, &c->rec) < 0)
		return;
	if (c->metadata)
		meta = json_loads(c->metadata, 0, NULL);
	/* from was made valid UTF-8 when it was read (handshake.c). */
	obj = json_pack("{s:s,s:s,s:s,s:b,s:o*}", "event", "connect",
			"agent_id", c->agent->id, "from", c->from, "synthetic",
			c->synthetic, "metadata", meta);
	record_line(c, 0.0, DIR_CALL, obj);
}
