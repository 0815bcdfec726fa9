/*
 * The load report: the JSON written and read back equal field by field;
 * shard reports merged equal to the whole run's, and merges of reports
 * of different runs refused with the report left as it was; --fail-if
 * specs parsed and refused with their reasons, and checked; the CSV's
 * header and rows; the HTML page self-contained, its scripts unbroken by
 * what it inlines; the table; and `wvoice load merge` end to end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <wvoice/error.h>

#include "loadreport.h"
#include "loadreport_fixture.h"
#include "scratch.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* ---- comparing reports ---- */

static void expect_str(const char *what, const char *a, const char *b)
{
	if (!(a == b || (a && b && strcmp(a, b) == 0)))
		fail_msg("%s: \"%s\" and \"%s\"", what, a ? a : "(null)",
			 b ? b : "(null)");
}

static void expect_histo(const char *what, size_t i,
			 const struct cli_histo *a, const struct cli_histo *b)
{
	if (!a || !b) {
		if (a != b)
			fail_msg("%s %zu: one histogram is missing", what, i);
		return;
	}
	if (memcmp(a, b, sizeof *a) == 0)
		return;
	if (a->count != b->count || a->sum != b->sum || a->min != b->min ||
	    a->max != b->max)
		fail_msg("%s %zu: count %llu/%llu sum %llu/%llu min %llu/%llu "
			 "max %llu/%llu",
			 what, i, (unsigned long long)a->count,
			 (unsigned long long)b->count,
			 (unsigned long long)a->sum, (unsigned long long)b->sum,
			 (unsigned long long)a->min, (unsigned long long)b->min,
			 (unsigned long long)a->max, (unsigned long long)b->max);
	for (size_t k = 0; k < CLI_HISTO_BUCKETS; k++)
		if (a->buckets[k] != b->buckets[k])
			fail_msg("%s %zu: bucket %zu: %llu and %llu", what, i, k,
				 (unsigned long long)a->buckets[k],
				 (unsigned long long)b->buckets[k]);
}

static void expect_tallies(const char *what, const struct cli_load_tally *a,
			   size_t na, const struct cli_load_tally *b, size_t nb)
{
	if (na != nb)
		fail_msg("%s: %zu and %zu kinds", what, na, nb);
	for (size_t i = 0; i < na; i++) {
		expect_str(what, a[i].key, b[i].key);
		if (a[i].n != b[i].n)
			fail_msg("%s %s: %llu and %llu", what, a[i].key,
				 (unsigned long long)a[i].n,
				 (unsigned long long)b[i].n);
	}
}

static void expect_row(size_t i, const struct cli_load_row *a,
		       const struct cli_load_row *b)
{
	if (a->unix_ms != b->unix_ms || a->t_s != b->t_s ||
	    a->calls_up != b->calls_up || a->connecting != b->connecting ||
	    a->started != b->started || a->failed != b->failed ||
	    a->completed != b->completed || a->frames_sent != b->frames_sent ||
	    a->concealed_ms != b->concealed_ms)
		fail_msg("row %zu: %lld/%lld t %g/%g up %u/%u connecting %u/%u "
			 "started %llu/%llu failed %llu/%llu completed "
			 "%llu/%llu frames %llu/%llu",
			 i, (long long)a->unix_ms, (long long)b->unix_ms,
			 a->t_s, b->t_s, a->calls_up, b->calls_up,
			 a->connecting, b->connecting,
			 (unsigned long long)a->started,
			 (unsigned long long)b->started,
			 (unsigned long long)a->failed,
			 (unsigned long long)b->failed,
			 (unsigned long long)a->completed,
			 (unsigned long long)b->completed,
			 (unsigned long long)a->frames_sent,
			 (unsigned long long)b->frames_sent);
	expect_histo("row lateness", i, a->lateness, b->lateness);
	expect_histo("row turn", i, a->turn, b->turn);
	expect_histo("row playout_delay", i, a->playout_delay,
		     b->playout_delay);
}

static void expect_call(size_t i, const struct cli_load_call *a,
			const struct cli_load_call *b)
{
	expect_str("call comm_id", a->comm_id, b->comm_id);
	expect_str("call end", a->end, b->end);
	expect_str("call error", a->error, b->error);
	if (a->id != b->id || a->close_code != b->close_code ||
	    a->http_status != b->http_status ||
	    a->connect_ms != b->connect_ms ||
	    a->handshake_ms != b->handshake_ms || a->start_ms != b->start_ms ||
	    a->first_audio_ms != b->first_audio_ms ||
	    a->turn_ms_mean != b->turn_ms_mean ||
	    a->turn_ms_max != b->turn_ms_max || a->turns != b->turns ||
	    a->barge_ins != b->barge_ins ||
	    a->lateness_ms_max != b->lateness_ms_max ||
	    a->jitter_ms != b->jitter_ms || a->duration_ms != b->duration_ms ||
	    a->frames_sent != b->frames_sent ||
	    a->frames_received != b->frames_received ||
	    a->underruns != b->underruns || a->gaps != b->gaps ||
	    a->marks_answered != b->marks_answered ||
	    a->script_timeouts != b->script_timeouts ||
	    a->playout_target_ms != b->playout_target_ms ||
	    a->playout_target_ms_max != b->playout_target_ms_max ||
	    a->playout_delay_ms != b->playout_delay_ms ||
	    a->concealed_ms != b->concealed_ms ||
	    a->silence_inserted_ms != b->silence_inserted_ms ||
	    a->silence_dropped_ms != b->silence_dropped_ms ||
	    a->late_arrivals != b->late_arrivals)
		fail_msg("call %zu (id %llu) differs", i,
			 (unsigned long long)a->id);
}

/* Everything the run measured; with shards, also which shard, how many
   merged, the memory and what the server said (which a merge takes from
   one shard, not from the whole run). */
static void expect_reports(const struct cli_load_report *a,
			   const struct cli_load_report *b, bool shards)
{
	expect_str("version", a->version, b->version);
	expect_str("url", a->url, b->url);
	expect_str("agent", a->agent, b->agent);
	expect_str("script", a->script, b->script);
	expect_str("impair", a->impair, b->impair);
	expect_str("playout", a->playout, b->playout);
	assert_int_equal(a->prebuffer_ms, b->prebuffer_ms);
	assert_int_equal(a->calls, b->calls);
	assert_true(a->rate_cps == b->rate_cps);
	assert_true(a->ramp_s == b->ramp_s);
	assert_true(a->duration_s == b->duration_s);
	assert_int_equal(a->started_unix_ms, b->started_unix_ms);
	assert_true(a->wall_s == b->wall_s);
	for (size_t i = 0; i < CLI_LOAD_N_COUNTS; i++)
		if (cli_load_count_get(&a->counts, i) !=
		    cli_load_count_get(&b->counts, i))
			fail_msg("%s: %llu and %llu", cli_load_count_name(i),
				 (unsigned long long)cli_load_count_get(
					 &a->counts, i),
				 (unsigned long long)cli_load_count_get(
					 &b->counts, i));
	for (size_t m = 0; m < CLI_M_COUNT; m++)
		expect_histo(cli_metric_name(m), m, &a->metrics[m],
			     &b->metrics[m]);
	expect_tallies("errors", a->errors, a->n_errors, b->errors,
		       b->n_errors);
	expect_tallies("close codes", a->close_codes, a->n_close_codes,
		       b->close_codes, b->n_close_codes);
	assert_int_equal(a->n_rows, b->n_rows);
	for (size_t i = 0; i < a->n_rows; i++)
		expect_row(i, &a->rows[i], &b->rows[i]);
	assert_int_equal(a->n_calls, b->n_calls);
	for (size_t i = 0; i < a->n_calls; i++)
		expect_call(i, &a->per_call[i], &b->per_call[i]);
	assert_int_equal(a->bytes_per_call, b->bytes_per_call);
	if (!shards)
		return;
	assert_int_equal(a->shard_index, b->shard_index);
	assert_int_equal(a->shard_count, b->shard_count);
	assert_int_equal(a->shards_merged, b->shards_merged);
	assert_int_equal(a->peak_rss_kib, b->peak_rss_kib);
	expect_str("server", a->server_json, b->server_json);
}

/* ---- the JSON ---- */

struct scratch {
	char dir[64];
	char path[128];
};

static const char *scratch_path(struct scratch *s, const char *name)
{
	snprintf(s->path, sizeof s->path, "%s/%s", s->dir, name);
	return s->path;
}

static int setup(void **state)
{
	struct scratch *s = calloc(1, sizeof *s);

	if (!s || scratch_make(s->dir, sizeof s->dir, "loadreport"))
		return -1;
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct scratch *s = *state;
	int rc = scratch_remove(s->dir);

	free(s);
	return rc;
}

static void round_trip(struct scratch *s, const struct cli_load_report *r)
{
	struct cli_load_report back;
	char err[256] = "";

	if (cli_load_report_write_json(r, scratch_path(s, "r.json"), err,
				       sizeof err))
		fail_msg("write: %s", err);
	if (cli_load_report_read_json(&back, s->path, err, sizeof err))
		fail_msg("read: %s", err);
	expect_reports(r, &back, true);
	cli_load_report_cleanup(&back);
}

static void test_loadreport_json_round_trip_keeps_every_field(void **state)
{
	struct cli_load_report r;

	fixture_report(&r, 1, 0);
	round_trip(*state, &r);
	cli_load_report_cleanup(&r);
	/* A shard, with its index; no server. */
	fixture_report(&r, 3, 2);
	round_trip(*state, &r);
	cli_load_report_cleanup(&r);
}

static void test_loadreport_json_round_trip_of_an_empty_run(void **state)
{
	struct cli_load_report r;

	cli_load_report_init(&r);
	r.url = strdup("ws://x/");
	round_trip(*state, &r);
	cli_load_report_cleanup(&r);
}

/* The report as version 1 had it: none of the playout's figures. */
static void without_playout(struct cli_load_report *r)
{
	free(r->playout);
	r->playout = NULL;
	r->prebuffer_ms = -1;
	for (size_t i = CLI_LOAD_N_COUNTS_V1; i < CLI_LOAD_N_COUNTS; i++)
		*cli_load_count_at(&r->counts, i) = 0;
	cli_histo_init(&r->metrics[CLI_M_PLAYOUT_TARGET]);
	cli_histo_init(&r->metrics[CLI_M_PLAYOUT_DELAY]);
	for (size_t i = 0; i < r->n_rows; i++) {
		r->rows[i].concealed_ms = 0;
		free(r->rows[i].playout_delay);
		r->rows[i].playout_delay = NULL;
	}
	for (size_t i = 0; i < r->n_calls; i++) {
		struct cli_load_call *c = &r->per_call[i];

		c->playout_target_ms = c->playout_target_ms_max = 0;
		c->playout_delay_ms = c->concealed_ms = 0;
		c->silence_inserted_ms = c->silence_dropped_ms = 0;
		c->late_arrivals = 0;
	}
}

static void json_del_each(json_t *array, const char *const *keys)
{
	size_t i;
	json_t *o;

	json_array_foreach(array, i, o)
		for (const char *const *k = keys; *k; k++)
			json_object_del(o, *k);
}

/* A report of schema version 1 (0.4) is read, its playout's figures none:
   the merge of old shards still works. */
static void test_loadreport_json_reads_version_1(void **state)
{
	static const char *const config[] = { "playout", "prebuffer_ms", NULL };
	static const char *const row[] = { "concealed_ms", "playout_delay",
					   NULL };
	static const char *const call[] = {
		"playout_target_ms", "playout_target_ms_max",
		"playout_delay_ms", "concealed_ms", "silence_inserted_ms",
		"silence_dropped_ms", "late_arrivals", NULL
	};
	struct scratch *s = *state;
	struct cli_load_report r, back;
	char err[256] = "";
	json_t *doc;

	fixture_report(&r, 1, 0);
	assert_int_equal(cli_load_report_write_json(&r, scratch_path(s, "v1.json"),
						    err, sizeof err),
			 0);
	doc = json_load_file(s->path, 0, NULL);
	assert_non_null(doc);
	json_object_set_new(doc, "schema_version", json_integer(1));
	for (const char *const *k = config; *k; k++)
		json_object_del(json_object_get(doc, "config"), *k);
	for (size_t i = CLI_LOAD_N_COUNTS_V1; i < CLI_LOAD_N_COUNTS; i++)
		json_object_del(json_object_get(doc, "counts"),
				cli_load_count_name(i));
	json_object_del(json_object_get(doc, "metrics"), "playout_target_ms");
	json_object_del(json_object_get(doc, "metrics"), "playout_delay_ms");
	json_del_each(json_object_get(doc, "series"), row);
	json_del_each(json_object_get(doc, "calls"), call);
	assert_int_equal(json_dump_file(doc, s->path, JSON_COMPACT), 0);
	json_decref(doc);
	if (cli_load_report_read_json(&back, s->path, err, sizeof err))
		fail_msg("read: %s", err);
	without_playout(&r);
	expect_reports(&r, &back, true);
	cli_load_report_cleanup(&back);
	cli_load_report_cleanup(&r);
}

/* A report with one part changed by hand, and what reading it says. */
struct bad_json_case {
	const char *from, *to;
	const char *says;
};

static const struct bad_json_case bad_json_cases[] = {
	{ "\"schema_version\":2", "\"schema_version\":3",
	  "schema version 3; this wvoice reads versions 1 to 2" },
	{ "\"schema_version\":2", "\"schema_version\":0",
	  "schema version 0; this wvoice reads versions 1 to 2" },
	{ "\"playout\":\"adaptive\"", "\"playout\":\"elastic\"",
	  "config.playout: not adaptive or fixed" },
	{ "\"prebuffer_ms\":null", "\"prebuffer_ms\":-5",
	  "config.prebuffer_ms: not 0 to 60000 or null" },
	{ "\"concealed_ms\":", "\"concealed_m\":",
	  "counts.concealed_ms: missing" },
	{ "\"late_arrivals\":2}", "\"late_arrivals\":-2}",
	  "calls[0].late_arrivals: not a whole number >= 0" },
	{ "\"calls_failed\":6", "\"calls_failed\":-6",
	  "counts.calls_failed: not a whole number >= 0" },
	{ "\"calls_failed\":6", "\"calls_faile\":6",
	  "counts.calls_failed: missing" },
	{ "\"period_s\":1", "\"period_s\":5", "not this wvoice's period" },
	{ "\"end\":\"error\"", "\"end\":\"exploded\"",
	  "calls[3].end: not an end reason" },
	{ "\"id\":4,", "\"id\":1,", "calls[4]: not in id order" },
	{ "\"count\":40,", "\"count\":41,",
	  "metrics.connect_ms: count is not the histogram's" },
	{ "\"memory\":{", "\"memory\":5,\"x\":{",
	  "memory: not an object" },
	{ "\"wall_s\"", "\"wall_s\" x", "line 1 column " },
};

static void test_loadreport_json_read_names_what_is_wrong(void **state)
{
	struct scratch *s = *state;
	struct cli_load_report r;
	char err[256], *text;
	FILE *f;

	fixture_report(&r, 1, 0);
	assert_int_equal(cli_load_report_write_json(&r, scratch_path(s, "r.json"),
						    err, sizeof err),
			 0);
	cli_load_report_cleanup(&r);
	text = slurp(s->path);
	for (size_t i = 0; i < sizeof bad_json_cases / sizeof *bad_json_cases;
	     i++) {
		const struct bad_json_case *c = &bad_json_cases[i];
		const char *at = strstr(text, c->from);
		char path[128];

		if (!at)
			fail_msg("case %zu: no %s in the report", i, c->from);
		snprintf(path, sizeof path, "%s/bad.json", s->dir);
		f = fopen(path, "w");
		fprintf(f, "%.*s%s%s", (int)(at - text), text, c->to,
			at + strlen(c->from));
		fclose(f);
		err[0] = '\0';
		if (cli_load_report_read_json(&r, path, err, sizeof err) == 0)
			fail_msg("case %zu read", i);
		if (!strstr(err, c->says) || strncmp(err, path, strlen(path)))
			fail_msg("case %zu: \"%s\", want \"%s\"", i, err,
				 c->says);
	}
	free(text);
	err[0] = '\0';
	assert_int_not_equal(cli_load_report_read_json(&r, "/nonexistent.json",
						       err, sizeof err),
			     0);
	assert_non_null(strstr(err, "/nonexistent.json"));
}

/* ---- the merge ---- */

static void merge_shards(struct cli_load_report *out, unsigned n,
			 struct scratch *s)
{
	char err[256];

	for (unsigned k = 0; k < n; k++) {
		struct cli_load_report shard, back;

		fixture_report(&shard, n, k);
		/* Through the JSON, as `wvoice load merge` reads them. */
		assert_int_equal(cli_load_report_write_json(
					 &shard, scratch_path(s, "shard.json"),
					 err, sizeof err),
				 0);
		cli_load_report_cleanup(&shard);
		if (cli_load_report_read_json(k ? &back : out, s->path, err,
					      sizeof err))
			fail_msg("read: %s", err);
		if (!k)
			continue;
		if (cli_load_report_merge(out, &back, err, sizeof err))
			fail_msg("merge %u: %s", k, err);
		cli_load_report_cleanup(&back);
	}
}

static void test_loadreport_merged_shards_equal_the_whole_run(void **state)
{
	struct cli_load_report whole, merged;

	fixture_report(&whole, 1, 0);
	for (unsigned n = 2; n <= 3; n++) {
		merge_shards(&merged, n, *state);
		expect_reports(&whole, &merged, false);
		assert_int_equal(merged.shards_merged, n);
		assert_int_equal(merged.shard_count, n);
		/* The largest shard's resident size, the server's words from
		   the one shard that had any. */
		assert_int_equal(merged.peak_rss_kib, 10000 + 100 * (n - 1));
		expect_str("server", merged.server_json, whole.server_json);
		cli_load_report_cleanup(&merged);
	}
	cli_load_report_cleanup(&whole);
}

static void test_loadreport_merge_keeps_a_shard_that_ended_early(void **state)
{
	struct cli_load_report a, b;
	char err[256];
	size_t n;

	(void)state;
	fixture_report(&a, 2, 0);
	fixture_report(&b, 2, 1);
	/* Shard 1 (the odd calls) has the last call: shard 0's counts
	   stand as they were in the rows it has none. */
	assert_true(b.n_rows > a.n_rows);
	n = b.n_rows;
	assert_int_equal(cli_load_report_merge(&a, &b, err, sizeof err), 0);
	assert_int_equal(a.n_rows, n);
	assert_int_equal(a.rows[n - 1].started, FIXTURE_CALLS);
	assert_int_equal(a.rows[n - 1].failed + a.rows[n - 1].completed,
			 FIXTURE_CALLS);
	cli_load_report_cleanup(&a);
	cli_load_report_cleanup(&b);
}

/* What is changed in the second report, and what the merge says. */
struct disagree_case {
	void (*change)(struct cli_load_report *r);
	const char *says;
};

static void other_url(struct cli_load_report *r)
{
	free(r->url);
	r->url = strdup("ws://elsewhere/");
}

static void no_agent(struct cli_load_report *r)
{
	free(r->agent);
	r->agent = NULL;
}

static void other_script(struct cli_load_report *r)
{
	free(r->script);
	r->script = strdup("other.script");
}

static void other_impair(struct cli_load_report *r)
{
	free(r->impair);
	r->impair = strdup("loss=2%");
}

static void other_playout(struct cli_load_report *r)
{
	free(r->playout);
	r->playout = strdup("fixed");
}

static void other_prebuffer(struct cli_load_report *r)
{
	r->prebuffer_ms = 300;
}

static void other_version(struct cli_load_report *r)
{
	free(r->version);
	r->version = strdup("0.2.0");
}

static void other_rate(struct cli_load_report *r)
{
	r->rate_cps = 5;
}

static void other_calls(struct cli_load_report *r)
{
	r->calls = 41;
}

static void other_shard_count(struct cli_load_report *r)
{
	r->shard_count = 3;
}

static void same_shard(struct cli_load_report *r)
{
	/* Shard 0 again: its calls are in both. */
	cli_load_report_cleanup(r);
	fixture_report(r, 2, 0);
}

static void two_shards_already(struct cli_load_report *r)
{
	/* As if it were a merge of two, with no calls to give it away. */
	r->shards_merged = 2;
	r->n_calls = 0;
}

static const struct disagree_case disagree_cases[] = {
	{ other_url, "the reports' url differ: "
		     "ws://127.0.0.1:8080/agent?x=<y>&z=\"</script>\" and "
		     "ws://elsewhere/" },
	{ no_agent, "the reports' agent differ: echo and none" },
	{ other_script, "the reports' script differ" },
	{ other_impair, "the reports' impair differ: loss=1% and loss=2%" },
	{ other_playout, "the reports' playout differ: adaptive and fixed" },
	{ other_prebuffer, "the reports' prebuffer_ms differ: -1 and 300" },
	{ other_version, "the reports' version differ: 0.3.0-test and 0.2.0" },
	{ other_rate, "--rate 4 --ramp 0.5 --duration 2 and --calls 40 "
		      "--rate 5" },
	{ other_calls, "and --calls 41" },
	{ other_shard_count, "the reports are shards of 2 and of 3" },
	{ same_shard, "call 0 is in both reports: the same shard twice?" },
	{ two_shards_already, "3 shard reports of a run of 2 shards: one of "
			      "them twice?" },
};

static void test_loadreport_merge_refuses_another_run(void **state)
{
	struct cli_load_report a, b, a0;
	char err[256];

	(void)state;
	fixture_report(&a0, 2, 0);
	for (size_t i = 0; i < sizeof disagree_cases / sizeof *disagree_cases;
	     i++) {
		fixture_report(&a, 2, 0);
		fixture_report(&b, 2, 1);
		disagree_cases[i].change(&b);
		err[0] = '\0';
		assert_int_equal(cli_load_report_merge(&a, &b, err, sizeof err),
				 WV_ERR_INVALID);
		if (!strstr(err, disagree_cases[i].says))
			fail_msg("case %zu: \"%s\", want \"%s\"", i, err,
				 disagree_cases[i].says);
		/* Refused, the report is as it was. */
		expect_reports(&a, &a0, true);
		cli_load_report_cleanup(&a);
		cli_load_report_cleanup(&b);
	}
	cli_load_report_cleanup(&a0);
}

static void test_loadreport_tallies_stay_sorted_and_add(void **state)
{
	struct cli_load_tally *t = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(cli_load_tally_add(&t, &n, "timeout: connecting", 1), 0);
	assert_int_equal(cli_load_tally_add(&t, &n, "refused: 503", 2), 0);
	assert_int_equal(cli_load_tally_add(&t, &n, "closed: 1006", 1), 0);
	assert_int_equal(cli_load_tally_add(&t, &n, "refused: 503", 5), 0);
	assert_int_equal(n, 3);
	assert_string_equal(t[0].key, "closed: 1006");
	assert_string_equal(t[1].key, "refused: 503");
	assert_int_equal(t[1].n, 7);
	assert_string_equal(t[2].key, "timeout: connecting");
	for (size_t i = 0; i < n; i++)
		free(t[i].key);
	free(t);
}

/* ---- --fail-if ---- */

struct fail_if_case {
	const char *spec;
	const char *says; /* NULL: valid */
};

static const struct fail_if_case fail_if_cases[] = {
	{ "p99_turn_ms>1500", NULL },
	{ "p99_turn_ms>1500,errors>0", NULL },
	{ " p50_connect_ms <= 2.5 , calls_completed<100 ", NULL },
	{ "max_lateness_ms>=40,mean_jitter_ms==0,min_start_ms<1", NULL },
	{ "p999_mark_rtt_ms>20.", NULL },
	{ "frames_late>0", NULL },
	{ "concealed_ms>0,p99_playout_delay_ms>200", NULL },
	{ "max_playout_target_ms>=500,late_arrivals>3", NULL },
	{ "", "an empty condition" },
	{ "errors>0,", "an empty condition" },
	{ ",errors>0", "an empty condition" },
	{ "errors", "errors: no operator (> >= < <= ==)" },
	{ "errors=0", "errors=0: no operator" },
	{ ">5", ">5: no name" },
	{ "p99_turn>1", "p99_turn>1: unknown name p99_turn" },
	{ "p98_turn_ms>1", "unknown name p98_turn_ms" },
	{ "turn_ms>1", "unknown name turn_ms" },
	{ "calls>1", "unknown name calls" },
	{ "errors>", "errors>: not a number >= 0" },
	{ "errors>-1", "not a number >= 0" },
	{ "errors>1e3", "not a number >= 0" },
	{ "errors>0x10", "not a number >= 0" },
	{ "errors>nan", "not a number >= 0" },
	{ "errors>1.2.3", "not a number >= 0" },
	{ "errors>1 2", "not a number >= 0" },
	{ "errors>>1", "not a number >= 0" },
	{ "p99_turn_ms>1500;errors>0", "not a number >= 0" },
};

static void test_loadreport_fail_if_specs_parse_or_say_why(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof fail_if_cases / sizeof *fail_if_cases;
	     i++) {
		const struct fail_if_case *c = &fail_if_cases[i];
		struct cli_fail_if *f = NULL;
		char err[200] = "";
		int rc = cli_fail_if_parse(&f, c->spec, err, sizeof err);

		if (!c->says && rc)
			fail_msg("\"%s\" refused: %s", c->spec, err);
		if (c->says && (rc != WV_ERR_INVALID || f ||
				!strstr(err, c->says)))
			fail_msg("\"%s\": rc %d \"%s\", want \"%s\"", c->spec,
				 rc, err, c->says);
		cli_fail_if_destroy(f);
	}
}

struct check_case {
	const char *spec;
	size_t crossed;
	const char *says;
};

static void test_loadreport_fail_if_checks_the_figures(void **state)
{
	/* The fixture: 6 calls of 40 failed; connect 5.0 to 10.1 ms; its
	   turns from 300 to 782 ms, no frames late over 10 ms counted in
	   frames_late for calls 1, 2 mod 3. */
	static const struct check_case cases[] = {
		{ "errors>0", 1, "errors 6 > 0\n" },
		{ "errors>6", 0, "" },
		{ "errors>=6", 1, "errors 6 >= 6\n" },
		{ "calls_failed==6,calls_completed<34", 1,
		  "calls_failed 6 == 6\n" },
		{ "calls_completed<=34", 1, "calls_completed 34 <= 34\n" },
		{ "max_turn_ms>1000", 0, "" },
		{ "max_turn_ms>500,p50_connect_ms<1", 1,
		  "max_turn_ms 782.232 > 500\n" },
		{ "min_connect_ms==5", 1, "min_connect_ms 5 == 5\n" },
		/* No barge-in on shard 1 of 3's... every metric has values
		   in the whole run; an empty one is checked below. */
	};
	struct cli_load_report r;

	(void)state;
	fixture_report(&r, 1, 0);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct cli_fail_if *f;
		char err[200], *out = NULL;
		size_t len = 0, n;
		FILE *mem = open_memstream(&out, &len);

		assert_int_equal(cli_fail_if_parse(&f, cases[i].spec, err,
						   sizeof err),
				 0);
		n = cli_fail_if_check(f, &r, mem);
		fclose(mem);
		if (n != cases[i].crossed || strncmp(out, cases[i].says,
						     strlen(cases[i].says)))
			fail_msg("%s: %zu crossed, said \"%s\"", cases[i].spec,
				 n, out);
		free(out);
		cli_fail_if_destroy(f);
	}
	/* A metric with no values crosses nothing, whichever way. */
	cli_histo_init(&r.metrics[CLI_M_BARGE_CLEAR]);
	{
		struct cli_fail_if *f;
		char err[200];

		assert_int_equal(cli_fail_if_parse(&f,
						   "p99_barge_clear_ms<1,"
						   "p99_barge_clear_ms>=0",
						   err, sizeof err),
				 0);
		assert_int_equal(cli_fail_if_check(f, &r, NULL), 0);
		cli_fail_if_destroy(f);
	}
	cli_load_report_cleanup(&r);
}

/* ---- CSV, table, HTML ---- */

static void test_loadreport_csv_has_the_header_and_a_row_each(void **state)
{
	static const char header[] =
		"unix_ms;t_s;calls_up;connecting;started(P);started(C);"
		"completed(P);completed(C);failed(P);failed(C);"
		"frames_sent(P);frames_sent(C);turn_count(P);turn_count(C);"
		"turn_p50_ms(P);turn_p50_ms(C);turn_p99_ms(P);turn_p99_ms(C);"
		"turn_max_ms(P);turn_max_ms(C);lateness_count(P);"
		"lateness_count(C);lateness_p50_ms(P);lateness_p50_ms(C);"
		"lateness_p99_ms(P);lateness_p99_ms(C);lateness_max_ms(P);"
		"lateness_max_ms(C);concealed_ms(P);concealed_ms(C);"
		"playout_delay_count(P);playout_delay_count(C);"
		"playout_delay_p50_ms(P);playout_delay_p50_ms(C);"
		"playout_delay_p99_ms(P);playout_delay_p99_ms(C);"
		"playout_delay_max_ms(P);playout_delay_max_ms(C)\n";
	struct scratch *s = *state;
	struct cli_load_report r;
	char err[256], *csv, *line, *save = NULL;
	size_t rows = 0;
	uint64_t started = 0;

	fixture_report(&r, 1, 0);
	assert_int_equal(cli_load_report_write_csv(&r, scratch_path(s, "r.csv"),
						   err, sizeof err),
			 0);
	csv = slurp(s->path);
	assert_memory_equal(csv, header, sizeof header - 1);
	for (line = strtok_r(csv + sizeof header - 1, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		long long unix_ms;
		unsigned long long p, c;
		double t;
		unsigned up, conn;

		assert_int_equal(count_of(line, ";"), 37);
		assert_int_equal(sscanf(line, "%lld;%lf;%u;%u;%llu;%llu",
					&unix_ms, &t, &up, &conn, &p, &c),
				 6);
		assert_int_equal(unix_ms, r.rows[rows].unix_ms);
		/* Periodic: the interval's; cumulative: the run's so far. */
		assert_int_equal(c, r.rows[rows].started);
		assert_int_equal(p, c - started);
		started = c;
		rows++;
	}
	assert_int_equal(rows, r.n_rows);
	free(csv);
	cli_load_report_cleanup(&r);
	assert_int_not_equal(cli_load_report_write_csv(&r, "/nonexistent/x.csv",
						       err, sizeof err),
			     0);
	assert_non_null(strstr(err, "/nonexistent/x.csv: "));
}

static void test_loadreport_table_says_whose_view(void **state)
{
	struct cli_load_report r;
	char *out = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&out, &len);

	(void)state;
	fixture_report(&r, 1, 0);
	cli_load_report_table(mem, &r);
	fclose(mem);
	/* Columns under their headings. */
	assert_non_null(strstr(out, "\nclient's view, ms      count       p50 "
				    "      p90       p99     p99.9       max\n"
				    "connect_ms                40       7.6 "
				    "      9.7      10.1      10.1      10.1\n"));
	assert_non_null(strstr(out, "\nturn_ms                   68     540.7"));
	assert_non_null(strstr(out, ", impair loss=1%, playout adaptive\n"));
	assert_non_null(strstr(out, "\ncounts (client's view)\n"));
	assert_non_null(strstr(out, "\n  concealed_ms              "));
	assert_non_null(strstr(out, "\n  calls_failed                  6\n"));
	assert_non_null(strstr(out, "\nerrors by kind (client's view)\n"
				    "  refused: 503                   3\n"
				    "  timeout: connecting            3\n"));
	assert_non_null(strstr(out, "\nclose codes (client's view)\n"));
	assert_non_null(strstr(out, "\nserver's view (what it reported): "
				    "40 calls, 0 refused\n"));
	free(out);
	cli_load_report_cleanup(&r);
}

/* A stand-in for the library with what must not pass into the page as
   it is. */
static const char fake_chart[] =
	"/*! fake chart <!-- x --> */\n"
	"window.Chart=function(){};var s='</script><script>alert(1)';\n"
	"var t='</SCRIPT >';\n"
	"//# sourceMappingURL=chart.umd.js.map\n";

static void test_loadreport_html_inlines_and_escapes(void **state)
{
	struct scratch *s = *state;
	struct cli_load_report r;
	char err[256], chart[128], *html;

	fixture_report(&r, 1, 0);
	snprintf(chart, sizeof chart, "%s/chart.js", s->dir);
	{
		FILE *f = fopen(chart, "w");

		fputs(fake_chart, f);
		fclose(f);
	}
	if (cli_load_report_write_html(&r, scratch_path(s, "r.html"), chart,
				       err, sizeof err))
		fail_msg("html: %s", err);
	html = slurp(s->path);
	assert_non_null(strstr(html, "<!DOCTYPE html>\n<html lang=\"en\">"));
	assert_non_null(strstr(html, "window.Chart=function(){};"));
	/* Three scripts: the data, the library, the page's; no other
	   "</script" (any case) anywhere. */
	assert_int_equal(count_of(html, "</script>"), 3);
	assert_int_equal(count_of(html, "</SCRIPT"), 0);
	assert_non_null(strstr(html, "'<\\/script><script>alert(1)'"));
	assert_non_null(strstr(html, "'<\\/SCRIPT >'"));
	assert_non_null(strstr(html, "/*! fake chart <\\!-- x --> */"));
	assert_null(strstr(html, "sourceMappingURL"));
	/* The url's "</script>" in the data and in the text, escaped. */
	assert_non_null(strstr(html, "z=\\\"<\\/script>\\\""));
	assert_non_null(strstr(html, "x=&lt;y&gt;&amp;z=&quot;&lt;/script&gt;"));
	/* Nothing fetched from anywhere. */
	assert_null(strstr(html, "src="));
	assert_null(strstr(html, "href="));
	assert_null(strstr(html, "@import"));
	/* Plots said for screen readers; the tables. */
	assert_non_null(strstr(html, "<canvas id=\"plot-calls\" role=\"img\" "
				     "aria-label=\""));
	assert_non_null(strstr(html, "<canvas data-metric=\"turn_ms\" "
				     "role=\"img\" aria-label=\"Histogram of "
				     "turn_ms: 68 values"));
	assert_non_null(strstr(html, "<h2 id=\"errors-h\">Errors by kind</h2>"));
	assert_non_null(strstr(html, "<th scope=\"row\">refused: 503</th>"
				     "<td>3</td>"));
	free(html);
	assert_int_not_equal(cli_load_report_write_html(&r, s->path,
							"/nonexistent.js", err,
							sizeof err),
			     0);
	assert_non_null(strstr(err, "/nonexistent.js: "));
	cli_load_report_cleanup(&r);
}

static void test_loadreport_html_with_the_real_library(void **state)
{
	struct scratch *s = *state;
	struct cli_load_report r;
	char err[256], chart[4096], *html;

	if (!cli_load_chart_path(chart, sizeof chart)) {
		/* Not fetched (make deps): nothing to inline. */
		print_message("no charting library at %s: skipped\n", chart);
		skip();
	}
	fixture_report(&r, 1, 0);
	if (cli_load_report_write_html(&r, scratch_path(s, "r.html"), chart,
				       err, sizeof err))
		fail_msg("html: %s", err);
	html = slurp(s->path);
	assert_non_null(strstr(html, "Chart.js v4"));
	assert_int_equal(count_of(html, "</script>"), 3);
	assert_null(strstr(html, "src="));
	assert_null(strstr(html, "sourceMappingURL"));
	free(html);
	cli_load_report_cleanup(&r);
}

static void test_loadreport_chart_path_looks_where_it_says(void **state)
{
	struct scratch *s = *state;
	char buf[4096], fake[128];
	FILE *f;

	snprintf(fake, sizeof fake, "%s/my-chart.js", s->dir);
	f = fopen(fake, "w");
	fputs(fake_chart, f);
	fclose(f);
	setenv("WVOICE_CHART_JS", fake, 1);
	assert_ptr_equal(cli_load_chart_path(buf, sizeof buf), buf);
	assert_string_equal(buf, fake);
	setenv("WVOICE_CHART_JS", "/nonexistent/chart.js", 1);
	assert_null(cli_load_chart_path(buf, sizeof buf));
	assert_string_equal(buf, "/nonexistent/chart.js");
	assert_null(cli_load_chart_path(buf, 4));
	unsetenv("WVOICE_CHART_JS");
	/* This test runs from the build directory, as wvoice does: the
	   source tree's copy, fetched or not. */
	cli_load_chart_path(buf, sizeof buf);
	assert_non_null(strstr(buf, "/report/node_modules/chart.js/dist/"
				    "chart.umd.js"));
}

/* ---- wvoice load merge ---- */

static int run_merge(int argc, const char **argv)
{
	int saved = dup(1), devnull = open("/dev/null", O_WRONLY), status;

	/* The table goes to stdout, which the test's output can do without. */
	fflush(stdout);
	dup2(devnull, 1);
	status = cli_load_merge(argc, (char **)argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	close(devnull);
	return status;
}

static void test_loadreport_merge_command_exit_status(void **state)
{
	struct scratch *s = *state;
	char a[128], b[128], out[128], csv[128], merged_err[256];
	struct cli_load_report r, whole;

	for (unsigned k = 0; k < 2; k++) {
		fixture_report(&r, 2, k);
		snprintf(k ? b : a, sizeof a, "%s/shard%u.json", s->dir, k);
		assert_int_equal(cli_load_report_write_json(&r, k ? b : a,
							    merged_err,
							    sizeof merged_err),
				 0);
		cli_load_report_cleanup(&r);
	}
	snprintf(out, sizeof out, "%s/merged.json", s->dir);
	snprintf(csv, sizeof csv, "%s/merged.csv", s->dir);
	{
		/* Failed calls: 1, as wvoice load; options anywhere. */
		const char *argv[] = { "merge", a, "--report", out, b,
				       "--csv", csv };
		assert_int_equal(run_merge(7, argv), 1);
	}
	assert_int_equal(cli_load_report_read_json(&r, out, merged_err,
						   sizeof merged_err),
			 0);
	fixture_report(&whole, 1, 0);
	expect_reports(&whole, &r, false);
	cli_load_report_cleanup(&whole);
	cli_load_report_cleanup(&r);
	assert_int_equal(access(csv, R_OK), 0);
	{
		const char *help[] = { "merge", "--help" };
		const char *none[] = { "merge" };
		const char *unknown[] = { "merge", a, "--pdf", "x" };
		const char *missing[] = { "merge", a, "--report" };
		const char *bad_spec[] = { "merge", a, "--fail-if", "p99>1" };
		const char *unreadable[] = { "merge", a, "/nonexistent.json" };
		const char *twice[] = { "merge", a, a };
		const char *ok_spec[] = { "merge", a, b, "--fail-if",
					  "errors>100" };

		assert_int_equal(run_merge(2, help), 0);
		assert_int_equal(run_merge(1, none), 2);
		assert_int_equal(run_merge(4, unknown), 2);
		assert_int_equal(run_merge(3, missing), 2);
		assert_int_equal(run_merge(4, bad_spec), 2);
		assert_int_equal(run_merge(3, unreadable), 2);
		assert_int_equal(run_merge(3, twice), 2);
		/* Failed calls fail the run whatever --fail-if says. */
		assert_int_equal(run_merge(5, ok_spec), 1);
	}
	{
		/* No charting library: the page is not written, the rest is. */
		const char *html[] = { "merge", a, b, "--html", out, "--csv",
				       csv };

		unlink(out);
		unlink(csv);
		setenv("WVOICE_CHART_JS", "/nonexistent/chart.js", 1);
		assert_int_equal(run_merge(7, html), 2);
		unsetenv("WVOICE_CHART_JS");
		assert_int_not_equal(access(out, F_OK), 0);
		assert_int_equal(access(csv, R_OK), 0);
	}
}

static void test_loadreport_merge_command_passes_a_clean_run(void **state)
{
	struct scratch *s = *state;
	struct cli_load_report r;
	char a[128], err[256];

	fixture_report(&r, 2, 0);
	/* Shard 0 without its failed calls (ids 10, 24, 38 are 3 mod 7). */
	r.counts.calls_failed = 0;
	snprintf(a, sizeof a, "%s/clean.json", s->dir);
	assert_int_equal(cli_load_report_write_json(&r, a, err, sizeof err), 0);
	cli_load_report_cleanup(&r);
	{
		const char *plain[] = { "merge", a };
		const char *crossed[] = { "merge", a, "--fail-if",
					  "p99_turn_ms>100" };
		const char *held[] = { "merge", a, "--fail-if",
				       "p99_turn_ms>1500,errors>0" };

		assert_int_equal(run_merge(2, plain), 0);
		assert_int_equal(run_merge(4, crossed), 1);
		assert_int_equal(run_merge(4, held), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loadreport_json_round_trip_keeps_every_field),
		cmocka_unit_test(test_loadreport_json_round_trip_of_an_empty_run),
		cmocka_unit_test(test_loadreport_json_read_names_what_is_wrong),
		cmocka_unit_test(test_loadreport_json_reads_version_1),
		cmocka_unit_test(test_loadreport_merged_shards_equal_the_whole_run),
		cmocka_unit_test(test_loadreport_merge_keeps_a_shard_that_ended_early),
		cmocka_unit_test(test_loadreport_merge_refuses_another_run),
		cmocka_unit_test(test_loadreport_tallies_stay_sorted_and_add),
		cmocka_unit_test(test_loadreport_fail_if_specs_parse_or_say_why),
		cmocka_unit_test(test_loadreport_fail_if_checks_the_figures),
		cmocka_unit_test(test_loadreport_csv_has_the_header_and_a_row_each),
		cmocka_unit_test(test_loadreport_table_says_whose_view),
		cmocka_unit_test(test_loadreport_html_inlines_and_escapes),
		cmocka_unit_test(test_loadreport_html_with_the_real_library),
		cmocka_unit_test(test_loadreport_chart_path_looks_where_it_says),
		cmocka_unit_test(test_loadreport_merge_command_exit_status),
		cmocka_unit_test(test_loadreport_merge_command_passes_a_clean_run),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
