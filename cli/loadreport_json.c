/* The load report as JSON, written and read back exactly: see
   loadreport.h and doc/load-report.schema.json. */
#include "loadreport.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <wvoice/call.h>
#include <wvoice/error.h>

#include "errbuf.h"

/* 2 since 0.5 (the playout's figures); 1 is read too. */
#define SCHEMA_VERSION 2
#define SCHEMA_VERSION_PLAYOUT 2

/* ---- writing ---- */

/* Sets key to v, taking it; false when v is NULL (no memory). */
static bool put(json_t *o, const char *key, json_t *v)
{
	return v && json_object_set_new(o, key, v) == 0;
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

/* A time that never happened (-1) is null. */
static json_t *ms_or_null(double ms)
{
	return ms >= 0 ? json_real(ms) : json_null();
}

static json_t *uint_json(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static json_t *int_or_null(int v)
{
	return v ? json_integer(v) : json_null();
}

/* A distribution: its figures for people, its histogram for the merge. */
static json_t *histo_json(const struct cli_histo *h)
{
	json_t *o = json_object(), *buckets = json_array();
	bool ok = o && buckets;

	ok = ok && put(o, "unit", json_string("ms")) &&
	     put(o, "view", json_string("client")) &&
	     put(o, "count", uint_json(h->count));
	for (enum cli_figure f = 0; ok && f < CLI_F_COUNT; f++)
		ok = put(o, cli_figure_name(f),
			 h->count ? json_real(cli_histo_figure_ms(h, f))
				  : json_null());
	ok = ok && put(o, "sum_us", uint_json(h->sum));
	for (size_t i = 0; ok && i < CLI_HISTO_BUCKETS; i++)
		if (h->buckets[i])
			ok = json_array_append_new(
				     buckets,
				     json_pack("[II]",
					       (json_int_t)cli_histo_bucket_lo(i),
					       (json_int_t)h->buckets[i])) == 0;
	if (!ok || !put(o, "histogram", buckets)) {
		if (!ok)
			json_decref(buckets);
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *histo_or_null(const struct cli_histo *h)
{
	return h ? histo_json(h) : json_null();
}

static json_t *config_json(const struct cli_load_report *r)
{
	json_t *o = json_object();

	if (o && put(o, "url", str_or_null(r->url)) &&
	    put(o, "agent", str_or_null(r->agent)) &&
	    put(o, "script", str_or_null(r->script)) &&
	    put(o, "impair", str_or_null(r->impair)) &&
	    put(o, "calls", uint_json(r->calls)) &&
	    put(o, "rate_cps", json_real(r->rate_cps)) &&
	    put(o, "ramp_s", json_real(r->ramp_s)) &&
	    put(o, "duration_s", json_real(r->duration_s)) &&
	    put(o, "period_s", json_integer(CLI_LOAD_PERIOD_S)) &&
	    put(o, "playout", str_or_null(r->playout)) &&
	    put(o, "prebuffer_ms", r->prebuffer_ms >= 0
					   ? json_integer(r->prebuffer_ms)
					   : json_null()))
		return o;
	json_decref(o);
	return NULL;
}

static json_t *shards_json(const struct cli_load_report *r)
{
	return json_pack("{s:o,s:I,s:I}", "index",
			 r->shards_merged == 1
				 ? json_integer(r->shard_index)
				 : json_null(),
			 "count", (json_int_t)r->shard_count, "merged",
			 (json_int_t)r->shards_merged);
}

static json_t *counts_json(const struct cli_load_counts *c)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < CLI_LOAD_N_COUNTS; i++)
		if (!put(o, cli_load_count_name(i),
			 uint_json(cli_load_count_get(c, i)))) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static json_t *metrics_json(const struct cli_load_report *r)
{
	json_t *o = json_object();

	for (enum cli_metric m = 0; o && m < CLI_M_COUNT; m++)
		if (!put(o, cli_metric_name(m), histo_json(&r->metrics[m]))) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static json_t *tallies_json(const struct cli_load_tally *t, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < n; i++)
		if (!put(o, t[i].key, uint_json(t[i].n))) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static json_t *row_json(const struct cli_load_row *row)
{
	json_t *o = json_object();

	if (o && put(o, "unix_ms", json_integer(row->unix_ms)) &&
	    put(o, "t_s", json_real(row->t_s)) &&
	    put(o, "calls_up", uint_json(row->calls_up)) &&
	    put(o, "connecting", uint_json(row->connecting)) &&
	    put(o, "started", uint_json(row->started)) &&
	    put(o, "failed", uint_json(row->failed)) &&
	    put(o, "completed", uint_json(row->completed)) &&
	    put(o, "frames_sent", uint_json(row->frames_sent)) &&
	    put(o, "lateness", histo_or_null(row->lateness)) &&
	    put(o, "turn", histo_or_null(row->turn)) &&
	    put(o, "concealed_ms", uint_json(row->concealed_ms)) &&
	    put(o, "playout_delay", histo_or_null(row->playout_delay)))
		return o;
	json_decref(o);
	return NULL;
}

static json_t *call_json(const struct cli_load_call *c)
{
	json_t *o = json_object();

	if (o && put(o, "id", uint_json(c->id)) &&
	    put(o, "comm_id", str_or_null(c->comm_id)) &&
	    put(o, "end", str_or_null(c->end)) &&
	    put(o, "close_code", int_or_null(c->close_code)) &&
	    put(o, "http_status", int_or_null(c->http_status)) &&
	    put(o, "error", str_or_null(c->error)) &&
	    put(o, "connect_ms", ms_or_null(c->connect_ms)) &&
	    put(o, "handshake_ms", ms_or_null(c->handshake_ms)) &&
	    put(o, "start_ms", ms_or_null(c->start_ms)) &&
	    put(o, "first_audio_ms", ms_or_null(c->first_audio_ms)) &&
	    put(o, "turn_ms_mean", ms_or_null(c->turn_ms_mean)) &&
	    put(o, "turn_ms_max", ms_or_null(c->turn_ms_max)) &&
	    put(o, "turns", uint_json(c->turns)) &&
	    put(o, "barge_ins", uint_json(c->barge_ins)) &&
	    put(o, "lateness_ms_max", ms_or_null(c->lateness_ms_max)) &&
	    put(o, "jitter_ms", ms_or_null(c->jitter_ms)) &&
	    put(o, "duration_ms", ms_or_null(c->duration_ms)) &&
	    put(o, "frames_sent", uint_json(c->frames_sent)) &&
	    put(o, "frames_received", uint_json(c->frames_received)) &&
	    put(o, "underruns", uint_json(c->underruns)) &&
	    put(o, "gaps", uint_json(c->gaps)) &&
	    put(o, "marks_answered", uint_json(c->marks_answered)) &&
	    put(o, "script_timeouts", uint_json(c->script_timeouts)) &&
	    put(o, "playout_target_ms", uint_json(c->playout_target_ms)) &&
	    put(o, "playout_target_ms_max",
		uint_json(c->playout_target_ms_max)) &&
	    put(o, "playout_delay_ms", uint_json(c->playout_delay_ms)) &&
	    put(o, "concealed_ms", uint_json(c->concealed_ms)) &&
	    put(o, "silence_inserted_ms", uint_json(c->silence_inserted_ms)) &&
	    put(o, "silence_dropped_ms", uint_json(c->silence_dropped_ms)) &&
	    put(o, "late_arrivals", uint_json(c->late_arrivals)))
		return o;
	json_decref(o);
	return NULL;
}

static json_t *series_json(const struct cli_load_report *r)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < r->n_rows; i++)
		if (json_array_append_new(a, row_json(&r->rows[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *calls_json(const struct cli_load_report *r)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < r->n_calls; i++)
		if (json_array_append_new(a, call_json(&r->per_call[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *memory_json(const struct cli_load_report *r)
{
	return json_pack("{s:I,s:o}", "bytes_per_call",
			 (json_int_t)r->bytes_per_call, "peak_rss_kib",
			 r->peak_rss_kib ? uint_json(r->peak_rss_kib)
					 : json_null());
}

/* What the server said, as it said it; text that is not a JSON object
   is kept as {"text": ...} rather than lost. */
static json_t *server_json(const struct cli_load_report *r)
{
	json_t *v;

	if (!r->server_json)
		return json_null();
	v = json_loads(r->server_json, JSON_DECODE_ANY, NULL);
	if (v && json_is_object(v))
		return v;
	json_decref(v);
	return json_pack("{s:s}", "text", r->server_json);
}

json_t *cli_load_report_to_json(const struct cli_load_report *r)
{
	json_t *o = json_object();

	if (o && put(o, "schema_version", json_integer(SCHEMA_VERSION)) &&
	    put(o, "version", str_or_null(r->version)) &&
	    put(o, "config", config_json(r)) &&
	    put(o, "shards", shards_json(r)) &&
	    put(o, "started_unix_ms", json_integer(r->started_unix_ms)) &&
	    put(o, "wall_s", json_real(r->wall_s)) &&
	    put(o, "counts", counts_json(&r->counts)) &&
	    put(o, "metrics", metrics_json(r)) &&
	    put(o, "errors", tallies_json(r->errors, r->n_errors)) &&
	    put(o, "close_codes",
		tallies_json(r->close_codes, r->n_close_codes)) &&
	    put(o, "series", series_json(r)) &&
	    put(o, "calls", calls_json(r)) &&
	    put(o, "memory", memory_json(r)) &&
	    put(o, "server", server_json(r)))
		return o;
	json_decref(o);
	return NULL;
}

int cli_load_report_write_json(const struct cli_load_report *r,
			       const char *path, char *err, size_t errlen)
{
	json_t *doc = cli_load_report_to_json(r);
	FILE *f;
	int rc = 0;

	if (!doc)
		return wvs_errorf(err, errlen, WV_ERR_NOMEM,
				  "%s: out of memory", path);
	if (!(f = fopen(path, "w"))) {
		rc = wvs_errorf(err, errlen, WV_ERR_INVALID, "%s: %s", path,
				strerror(errno));
		goto out;
	}
	/* Compact: a run's thousands of calls and histograms' pairs are for
	   programs (jq for a person). Fifteen digits keep every microsecond
	   of a figure in ms and print 7.551 as 7.551, not 7.5510000000000002
	   (jansson's default of 17 digits). */
	if (json_dumpf(doc, f, JSON_COMPACT | JSON_REAL_PRECISION(15)) ||
	    fputc('\n', f) == EOF || ferror(f))
		rc = wvs_errorf(err, errlen, WV_ERR_INVALID, "%s: %s", path,
				errno ? strerror(errno) : "write failed");
	if (fclose(f) && !rc)
		rc = wvs_errorf(err, errlen, WV_ERR_INVALID, "%s: %s", path,
				strerror(errno));
out:
	json_decref(doc);
	return rc;
}

/* ---- reading ---- */

/* Where the reader is, for its messages: the file and the field. */
struct reader {
	const char *path;
	char *err;
	size_t errlen;
	int64_t version; /* the report's schema_version */
};

/* A field a report of this version may lack (one added since): absent,
   it reads as none. */
static bool lacks(const struct reader *rd, json_t *o, const char *key,
		  int64_t since)
{
	return rd->version < since && !json_object_get(o, key);
}

/* "PATH: WHEREKEY: WHAT": where is the object's place ("calls[3]."),
   key the field's name in it. */
static int bad_field(const struct reader *rd, int code, const char *where,
		     const char *key, const char *what)
{
	return wvs_errorf(rd->err, rd->errlen, code, "%s: %s%s: %s", rd->path,
			  where, key, what);
}

static int bad(const struct reader *rd, const char *where, const char *what)
{
	return bad_field(rd, WV_ERR_FIELD_TYPE, where, "", what);
}

/* A value of the wrong type, or none. */
static int bad_type(const struct reader *rd, json_t *v, const char *where,
		    const char *key, const char *what)
{
	return v ? bad_field(rd, WV_ERR_FIELD_TYPE, where, key, what)
		 : bad_field(rd, WV_ERR_FIELD_MISSING, where, key, "missing");
}

static int get_uint(const struct reader *rd, json_t *o, const char *key,
		    const char *where, uint64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return bad_type(rd, v, where, key, "not a whole number >= 0");
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_u32(const struct reader *rd, json_t *o, const char *key,
		   const char *where, uint32_t *out)
{
	uint64_t v;
	int rc = get_uint(rd, o, key, where, &v);

	if (rc)
		return rc;
	if (v > UINT32_MAX)
		return bad_field(rd, WV_ERR_FIELD_TYPE, where, key, "too large");
	*out = (uint32_t)v;
	return 0;
}

static int get_int(const struct reader *rd, json_t *o, const char *key,
		   const char *where, int64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return bad_type(rd, v, where, key, "not a whole number");
	*out = json_integer_value(v);
	return 0;
}

/* A number; null (allowed with nullable) reads as null_is. */
static int get_num(const struct reader *rd, json_t *o, const char *key,
		   const char *where, bool nullable, double null_is,
		   double *out)
{
	json_t *v = json_object_get(o, key);

	if (nullable && json_is_null(v)) {
		*out = null_is;
		return 0;
	}
	if (!json_is_number(v))
		return bad_type(rd, v, where, key, "not a number");
	*out = json_number_value(v);
	return 0;
}

/* An integer or null (0). */
static int get_int_or_null(const struct reader *rd, json_t *o,
			   const char *key, const char *where, int *out)
{
	json_t *v = json_object_get(o, key);

	if (json_is_null(v)) {
		*out = 0;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN ||
	    json_integer_value(v) > INT32_MAX)
		return bad_type(rd, v, where, key, "not a whole number");
	*out = (int)json_integer_value(v);
	return 0;
}

/* A string or null (NULL), copied into *out. */
static int get_str(const struct reader *rd, json_t *o, const char *key,
		   const char *where, char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return bad_type(rd, v, where, key, "not a string");
	if (!(*out = strdup(json_string_value(v))))
		return wvs_errorf(rd->err, rd->errlen, WV_ERR_NOMEM,
				  "%s: out of memory", rd->path);
	return 0;
}

/* A string or null ("") into a fixed array, which it must fit. */
static int get_str_into(const struct reader *rd, json_t *o, const char *key,
			const char *where, char *buf, size_t cap)
{
	char *s;
	int rc = get_str(rd, o, key, where, &s);

	if (rc)
		return rc;
	if (s && strlen(s) >= cap) {
		free(s);
		return bad_field(rd, WV_ERR_FIELD_TYPE, where, key, "too long");
	}
	snprintf(buf, cap, "%s", s ? s : "");
	free(s);
	return 0;
}

static json_t *get_obj(const struct reader *rd, json_t *o, const char *key,
		       int *rc)
{
	json_t *v = json_object_get(o, key);

	*rc = 0;
	if (json_is_object(v))
		return v;
	*rc = bad_type(rd, v, "", key, "not an object");
	return NULL;
}

/* Milliseconds back to the microseconds they were made from: whole
   microseconds below 2^53 survive the round trip exactly. */
static uint64_t ms_to_us(double ms)
{
	return ms <= 0 ? 0 : (uint64_t)llround(ms * 1000);
}

static int read_histo(const struct reader *rd, json_t *o, const char *where,
		      struct cli_histo *h)
{
	json_t *buckets = json_object_get(o, "histogram"), *pair;
	uint64_t count, total = 0;
	double min, max;
	size_t i, last = 0;
	int rc;

	cli_histo_init(h);
	if (!json_is_object(o))
		return bad(rd, where, "not a metric object");
	if ((rc = get_uint(rd, o, "count", where, &count)) ||
	    (rc = get_uint(rd, o, "sum_us", where, &h->sum)) ||
	    (rc = get_num(rd, o, "min", where, true, -1, &min)) ||
	    (rc = get_num(rd, o, "max", where, true, -1, &max)))
		return rc;
	if (!json_is_array(buckets))
		return bad(rd, where, "histogram: not an array");
	json_array_foreach(buckets, i, pair) {
		json_int_t lo, n;
		size_t b;

		if (json_unpack(pair, "[II]", &lo, &n) || lo < 0 || n <= 0)
			return bad(rd, where,
				   "histogram: not [bucket_lo_us, count] pairs");
		b = cli_histo_bucket_of((uint64_t)lo);
		if (cli_histo_bucket_lo(b) != (uint64_t)lo || (i && b <= last))
			return bad(rd, where,
				   "histogram: not bucket starts in order");
		h->buckets[b] = (uint64_t)n;
		total += (uint64_t)n;
		last = b;
	}
	if (total != count)
		return bad(rd, where, "count is not the histogram's");
	if (count && (min < 0 || max < 0))
		return bad(rd, where, "min or max missing");
	h->count = count;
	if (count) {
		h->min = ms_to_us(min);
		h->max = ms_to_us(max);
	}
	return 0;
}

/* A row's histogram, or NULL for null. */
static int read_histo_or_null(const struct reader *rd, json_t *o,
			      const char *key, const char *where,
			      struct cli_histo **out)
{
	json_t *v = json_object_get(o, key);
	char at[64];

	*out = NULL;
	if (json_is_null(v))
		return 0;
	if (!(*out = malloc(sizeof **out)))
		return wvs_errorf(rd->err, rd->errlen, WV_ERR_NOMEM,
				  "%s: out of memory", rd->path);
	snprintf(at, sizeof at, "%s%s", where, key);
	return read_histo(rd, v, at, *out);
}

/* The policy, and the fixed one's pre-buffer (null: none). */
static int read_playout_config(const struct reader *rd, json_t *c,
			       struct cli_load_report *r)
{
	json_t *pre = json_object_get(c, "prebuffer_ms");
	int rc;

	if (lacks(rd, c, "playout", SCHEMA_VERSION_PLAYOUT))
		return 0;
	if ((rc = get_str(rd, c, "playout", "config.", &r->playout)))
		return rc;
	if (r->playout && strcmp(r->playout, "adaptive") &&
	    strcmp(r->playout, "fixed"))
		return bad(rd, "config.playout", "not adaptive or fixed");
	if (json_is_null(pre))
		return 0;
	if (!json_is_integer(pre) || json_integer_value(pre) < 0 ||
	    json_integer_value(pre) > 60000)
		return bad_type(rd, pre, "config.", "prebuffer_ms",
				"not 0 to 60000 or null");
	r->prebuffer_ms = (long)json_integer_value(pre);
	return 0;
}

static int read_config(const struct reader *rd, json_t *doc,
		       struct cli_load_report *r)
{
	json_t *c, *s;
	uint64_t v;
	int rc;

	if (!(c = get_obj(rd, doc, "config", &rc)) ||
	    (rc = get_str(rd, c, "url", "config.", &r->url)) ||
	    (rc = get_str(rd, c, "agent", "config.", &r->agent)) ||
	    (rc = get_str(rd, c, "script", "config.", &r->script)) ||
	    (rc = get_str(rd, c, "impair", "config.", &r->impair)) ||
	    (rc = get_uint(rd, c, "calls", "config.", &r->calls)) ||
	    (rc = get_num(rd, c, "rate_cps", "config.", false, 0,
			  &r->rate_cps)) ||
	    (rc = get_num(rd, c, "ramp_s", "config.", false, 0, &r->ramp_s)) ||
	    (rc = get_num(rd, c, "duration_s", "config.", false, 0,
			  &r->duration_s)) ||
	    (rc = get_uint(rd, c, "period_s", "config.", &v)))
		return rc;
	if (v != CLI_LOAD_PERIOD_S)
		return bad(rd, "config.period_s", "not this wvoice's period");
	if ((rc = read_playout_config(rd, c, r)))
		return rc;
	if (!(s = get_obj(rd, doc, "shards", &rc)) ||
	    (rc = get_uint(rd, s, "count", "shards.", &v)))
		return rc;
	if (v < 1 || v > UINT32_MAX)
		return bad(rd, "shards.count", "out of range");
	r->shard_count = (unsigned)v;
	if ((rc = get_uint(rd, s, "merged", "shards.", &v)))
		return rc;
	if (v < 1 || v > UINT32_MAX)
		return bad(rd, "shards.merged", "out of range");
	r->shards_merged = (unsigned)v;
	if (!json_is_null(json_object_get(s, "index"))) {
		if ((rc = get_uint(rd, s, "index", "shards.", &v)))
			return rc;
		if (v >= r->shard_count)
			return bad(rd, "shards.index", "not below the count");
		r->shard_index = (unsigned)v;
	}
	if ((rc = get_int(rd, doc, "started_unix_ms", "",
			  &r->started_unix_ms)) ||
	    (rc = get_num(rd, doc, "wall_s", "", false, 0, &r->wall_s)))
		return rc;
	return 0;
}

static int read_counts(const struct reader *rd, json_t *doc,
		       struct cli_load_counts *c)
{
	json_t *o;
	int rc;

	if (!(o = get_obj(rd, doc, "counts", &rc)))
		return rc;
	for (size_t i = 0; i < CLI_LOAD_N_COUNTS; i++) {
		uint64_t v = 0;

		if (i >= CLI_LOAD_N_COUNTS_V1 &&
		    lacks(rd, o, cli_load_count_name(i),
			  SCHEMA_VERSION_PLAYOUT))
			continue;
		if ((rc = get_uint(rd, o, cli_load_count_name(i), "counts.",
				   &v)))
			return rc;
		*cli_load_count_at(c, i) = v;
	}
	return 0;
}

static int read_metrics(const struct reader *rd, json_t *doc,
			struct cli_load_report *r)
{
	json_t *o;
	int rc;

	if (!(o = get_obj(rd, doc, "metrics", &rc)))
		return rc;
	for (enum cli_metric m = 0; m < CLI_M_COUNT; m++) {
		char at[64];

		snprintf(at, sizeof at, "metrics.%s", cli_metric_name(m));
		if (m >= CLI_M_PLAYOUT_TARGET &&
		    lacks(rd, o, cli_metric_name(m), SCHEMA_VERSION_PLAYOUT))
			continue;
		if ((rc = read_histo(rd, json_object_get(o, cli_metric_name(m)),
				     at, &r->metrics[m])))
			return rc;
	}
	return 0;
}

static int read_tallies(const struct reader *rd, json_t *doc,
			const char *key, struct cli_load_tally **list,
			size_t *n)
{
	const char *k;
	json_t *o, *v;
	int rc;

	if (!(o = get_obj(rd, doc, key, &rc)))
		return rc;
	json_object_foreach(o, k, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return bad(rd, key, "counts are not whole numbers");
		if (cli_load_tally_add(list, n, k,
				       (uint64_t)json_integer_value(v)))
			return wvs_errorf(rd->err, rd->errlen, WV_ERR_NOMEM,
					  "%s: out of memory", rd->path);
	}
	return 0;
}

static int read_row(const struct reader *rd, json_t *o, const char *at,
		    struct cli_load_row *row)
{
	int rc;

	if (!json_is_object(o))
		return bad(rd, at, "not an object");
	if ((rc = get_int(rd, o, "unix_ms", at, &row->unix_ms)) ||
	    (rc = get_num(rd, o, "t_s", at, false, 0, &row->t_s)) ||
	    (rc = get_u32(rd, o, "calls_up", at, &row->calls_up)) ||
	    (rc = get_u32(rd, o, "connecting", at, &row->connecting)) ||
	    (rc = get_uint(rd, o, "started", at, &row->started)) ||
	    (rc = get_uint(rd, o, "failed", at, &row->failed)) ||
	    (rc = get_uint(rd, o, "completed", at, &row->completed)) ||
	    (rc = get_uint(rd, o, "frames_sent", at, &row->frames_sent)) ||
	    (rc = read_histo_or_null(rd, o, "lateness", at, &row->lateness)) ||
	    (rc = read_histo_or_null(rd, o, "turn", at, &row->turn)))
		return rc;
	if (lacks(rd, o, "concealed_ms", SCHEMA_VERSION_PLAYOUT))
		return 0;
	if ((rc = get_uint(rd, o, "concealed_ms", at, &row->concealed_ms)) ||
	    (rc = read_histo_or_null(rd, o, "playout_delay", at,
				     &row->playout_delay)))
		return rc;
	return 0;
}

static int read_series(const struct reader *rd, json_t *doc,
		       struct cli_load_report *r)
{
	json_t *a = json_object_get(doc, "series"), *o;
	size_t i;
	int rc;

	if (!json_is_array(a))
		return bad(rd, "series", a ? "not an array" : "missing");
	json_array_foreach(a, i, o) {
		struct cli_load_row row = { 0 };
		char at[48];

		snprintf(at, sizeof at, "series[%zu].", i);
		rc = read_row(rd, o, at, &row);
		if (!rc && i && row.unix_ms < r->rows[i - 1].unix_ms) {
			at[strlen(at) - 1] = '\0';
			rc = bad(rd, at, "not in time order");
		}
		if (!rc && cli_load_report_add_row(r, &row))
			rc = wvs_errorf(rd->err, rd->errlen, WV_ERR_NOMEM,
					"%s: out of memory", rd->path);
		if (rc) {
			free(row.lateness);
			free(row.turn);
			free(row.playout_delay);
			return rc;
		}
	}
	return 0;
}

/* wv_end_reason_name()'s own string for name: the struct points at it. */
static const char *end_reason(const char *name)
{
	for (int e = WV_END_NONE; e <= WV_END_ERROR; e++)
		if (strcmp(wv_end_reason_name((enum wv_end_reason)e), name) == 0)
			return wv_end_reason_name((enum wv_end_reason)e);
	return NULL;
}

static int read_call(const struct reader *rd, json_t *o, const char *at,
		     struct cli_load_call *c)
{
	json_t *end = json_object_get(o, "end");
	int rc;

	if (!json_is_object(o))
		return bad(rd, at, "not an object");
	if (json_is_null(end))
		c->end = NULL;
	else if (!json_is_string(end) ||
		 !(c->end = end_reason(json_string_value(end))))
		return bad_type(rd, end, at, "end", "not an end reason");
	if ((rc = get_uint(rd, o, "id", at, &c->id)) ||
	    (rc = get_str_into(rd, o, "comm_id", at, c->comm_id,
			       sizeof c->comm_id)) ||
	    (rc = get_int_or_null(rd, o, "close_code", at, &c->close_code)) ||
	    (rc = get_int_or_null(rd, o, "http_status", at,
				  &c->http_status)) ||
	    (rc = get_str_into(rd, o, "error", at, c->error,
			       sizeof c->error)) ||
	    (rc = get_num(rd, o, "connect_ms", at, true, -1,
			  &c->connect_ms)) ||
	    (rc = get_num(rd, o, "handshake_ms", at, true, -1,
			  &c->handshake_ms)) ||
	    (rc = get_num(rd, o, "start_ms", at, true, -1, &c->start_ms)) ||
	    (rc = get_num(rd, o, "first_audio_ms", at, true, -1,
			  &c->first_audio_ms)) ||
	    (rc = get_num(rd, o, "turn_ms_mean", at, true, -1,
			  &c->turn_ms_mean)) ||
	    (rc = get_num(rd, o, "turn_ms_max", at, true, -1,
			  &c->turn_ms_max)) ||
	    (rc = get_u32(rd, o, "turns", at, &c->turns)) ||
	    (rc = get_u32(rd, o, "barge_ins", at, &c->barge_ins)) ||
	    (rc = get_num(rd, o, "lateness_ms_max", at, true, -1,
			  &c->lateness_ms_max)) ||
	    (rc = get_num(rd, o, "jitter_ms", at, true, -1, &c->jitter_ms)) ||
	    (rc = get_num(rd, o, "duration_ms", at, true, -1,
			  &c->duration_ms)) ||
	    (rc = get_u32(rd, o, "frames_sent", at, &c->frames_sent)) ||
	    (rc = get_u32(rd, o, "frames_received", at,
			  &c->frames_received)) ||
	    (rc = get_u32(rd, o, "underruns", at, &c->underruns)) ||
	    (rc = get_u32(rd, o, "gaps", at, &c->gaps)) ||
	    (rc = get_u32(rd, o, "marks_answered", at, &c->marks_answered)) ||
	    (rc = get_u32(rd, o, "script_timeouts", at, &c->script_timeouts)))
		return rc;
	if (lacks(rd, o, "playout_target_ms", SCHEMA_VERSION_PLAYOUT))
		return 0;
	if ((rc = get_u32(rd, o, "playout_target_ms", at,
			  &c->playout_target_ms)) ||
	    (rc = get_u32(rd, o, "playout_target_ms_max", at,
			  &c->playout_target_ms_max)) ||
	    (rc = get_u32(rd, o, "playout_delay_ms", at,
			  &c->playout_delay_ms)) ||
	    (rc = get_u32(rd, o, "concealed_ms", at, &c->concealed_ms)) ||
	    (rc = get_u32(rd, o, "silence_inserted_ms", at,
			  &c->silence_inserted_ms)) ||
	    (rc = get_u32(rd, o, "silence_dropped_ms", at,
			  &c->silence_dropped_ms)) ||
	    (rc = get_u32(rd, o, "late_arrivals", at, &c->late_arrivals)))
		return rc;
	return 0;
}

static int read_calls(const struct reader *rd, json_t *doc,
		      struct cli_load_report *r)
{
	json_t *a = json_object_get(doc, "calls"), *o;
	size_t i;
	int rc;

	if (!json_is_array(a))
		return bad(rd, "calls", a ? "not an array" : "missing");
	json_array_foreach(a, i, o) {
		struct cli_load_call c = { 0 };
		char at[48];

		snprintf(at, sizeof at, "calls[%zu].", i);
		if ((rc = read_call(rd, o, at, &c)))
			return rc;
		if (i && c.id <= r->per_call[i - 1].id) {
			at[strlen(at) - 1] = '\0';
			return bad(rd, at, "not in id order");
		}
		if (cli_load_report_add_call(r, &c))
			return wvs_errorf(rd->err, rd->errlen, WV_ERR_NOMEM,
					  "%s: out of memory", rd->path);
	}
	return 0;
}

static int read_rest(const struct reader *rd, json_t *doc,
		     struct cli_load_report *r)
{
	json_t *mem, *server;
	int rc;

	if (!(mem = get_obj(rd, doc, "memory", &rc)) ||
	    (rc = get_uint(rd, mem, "bytes_per_call", "memory.",
			   &r->bytes_per_call)))
		return rc;
	if (!json_is_null(json_object_get(mem, "peak_rss_kib")) &&
	    (rc = get_uint(rd, mem, "peak_rss_kib", "memory.",
			   &r->peak_rss_kib)))
		return rc;
	server = json_object_get(doc, "server");
	if (!server)
		return bad(rd, "server", "missing");
	if (json_is_null(server))
		return 0;
	if (!json_is_object(server))
		return bad(rd, "server", "not an object or null");
	if (!(r->server_json = json_dumps(server, JSON_COMPACT)))
		return wvs_errorf(rd->err, rd->errlen, WV_ERR_NOMEM,
				  "%s: out of memory", rd->path);
	return 0;
}

int cli_load_report_read_json(struct cli_load_report *r, const char *path,
			      char *err, size_t errlen)
{
	struct reader rd = { path, err, errlen, 0 };
	json_error_t jerr;
	json_t *doc;
	int64_t version;
	int rc;

	cli_load_report_init(r);
	if (!(doc = json_load_file(path, 0, &jerr))) {
		/* jansson says "unable to open ..." with the system's words
		   for a file it cannot read, the place for bad JSON. */
		if (jerr.line < 0 || jerr.position <= 0)
			return wvs_errorf(err, errlen, WV_ERR_INVALID, "%s",
					  jerr.text);
		return wvs_errorf(err, errlen, WV_ERR_JSON,
				  "%s: line %d column %d: %s", path,
				  jerr.line, jerr.column, jerr.text);
	}
	if (!json_is_object(doc)) {
		rc = bad(&rd, "the document", "not an object");
		goto out;
	}
	if ((rc = get_int(&rd, doc, "schema_version", "", &version)))
		goto out;
	if (version < 1 || version > SCHEMA_VERSION) {
		rc = wvs_errorf(err, errlen, WV_ERR_INVALID,
				"%s: a report of schema version %lld; this "
				"wvoice reads versions 1 to %d",
				path, (long long)version, SCHEMA_VERSION);
		goto out;
	}
	rd.version = version;
	if ((rc = get_str(&rd, doc, "version", "", &r->version)) ||
	    (rc = read_config(&rd, doc, r)) ||
	    (rc = read_counts(&rd, doc, &r->counts)) ||
	    (rc = read_metrics(&rd, doc, r)) ||
	    (rc = read_tallies(&rd, doc, "errors", &r->errors,
			       &r->n_errors)) ||
	    (rc = read_tallies(&rd, doc, "close_codes", &r->close_codes,
			       &r->n_close_codes)) ||
	    (rc = read_series(&rd, doc, r)) ||
	    (rc = read_calls(&rd, doc, r)) || (rc = read_rest(&rd, doc, r)))
		goto out;
out:
	json_decref(doc);
	if (rc)
		cli_load_report_cleanup(r);
	return rc;
}
