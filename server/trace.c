/*
 * Event logs and recordings: the session's trace, audio and log hooks
 * written to the call's record. See server_internal.h.
 */
#include <stdio.h>
#include <string.h>

#include "server_internal.h"

/* One JSONL line: the time (to the millisecond, as jansson would print
   every digit of the double) and direction, then the fields of obj. */
static void record_line(struct conn *c, double t, const char *dir, json_t *obj)
{
	char *fields = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER)
			   : NULL;
	char head[64];
	int n;

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
	}
	free(fields);
}

void wvs_on_trace(void *user, enum wvs_dir dir, const struct wv_event *ev,
		  const char *problem, int64_t now)
{
	struct conn *c = user;
	const char *d = dir == WVS_IN ? "in" : "out";
	double t = (double)(now - c->opened) / 1e6;
	json_t *obj;

	if (c->srv->cfg.verbose && (!ev || ev->type != WV_EVENT_AUDIO))
		wvs_logf(c->srv, "call %s: %s %s%s%s", c->id, d,
			 ev ? ev->name : "bad frame", ev && ev->mark ? " " : "",
			 ev && ev->mark ? ev->mark : "");
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
		json_object_set_new(obj, "error", json_string(problem));
	} else {
		json_object_set_new(obj, "event", json_string(ev->name));
		if (ev->communication_id)
			json_object_set_new(obj, "communication_id",
					    json_string(ev->communication_id));
		if (ev->type == WV_EVENT_MARK)
			json_object_set_new(obj, "mark", json_string(ev->mark));
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
	reason = c->closed_by ? json_string(c->close_reason) : json_null();
	/* Not UTF-8 (the reason is the client's): said so, as bad frames are. */
	if (!reason)
		reason = json_string("(not UTF-8)");
	record_line(c, t, c->closed_by && strcmp(c->closed_by, "server") == 0
				  ? "out"
				  : "in",
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
	obj = json_pack("{s:s,s:s,s:s,s:b,s:o*}", "event", "connect",
			"agent_id", c->agent->id, "from", c->from, "synthetic",
			c->synthetic, "metadata", meta);
	record_line(c, 0.0, "in", obj);
}
