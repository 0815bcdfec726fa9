/* The load report for people at a terminal (the table) and for
   spreadsheets (the CSV): see loadreport.h. */
#include "loadreport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <wvoice/error.h>

#include "errbuf.h"

/* The figures the table shows of each metric, after its count. */
static const enum cli_figure table_figures[] = {
	CLI_F_P50, CLI_F_P90, CLI_F_P99, CLI_F_P999, CLI_F_MAX,
};
#define N_TABLE_FIGURES (sizeof table_figures / sizeof *table_figures)

static void table_head(FILE *f, const struct cli_load_report *r)
{
	fprintf(f, "wvoice load%s: %s\n",
		r->shards_merged > 1 ? " (merged)" : "",
		r->url ? r->url : "(no url)");
	fprintf(f, "  calls %llu at %g/s, ramp %g s, duration %g s",
		(unsigned long long)r->calls, r->rate_cps, r->ramp_s,
		r->duration_s);
	if (r->agent)
		fprintf(f, ", agent %s", r->agent);
	if (r->script)
		fprintf(f, ", script %s", r->script);
	if (r->impair)
		fprintf(f, ", impair %s", r->impair);
	if (r->playout)
		fprintf(f, ", playout %s", r->playout);
	if (r->prebuffer_ms >= 0)
		fprintf(f, " %ld ms", r->prebuffer_ms);
	if (r->shards_merged > 1)
		fprintf(f, "\n  %u of %u shards merged", r->shards_merged,
			r->shard_count);
	else if (r->shard_count > 1)
		fprintf(f, "\n  shard %u of %u", r->shard_index + 1,
			r->shard_count);
	fprintf(f, "\n  wall %.1f s, wvoice %s\n", r->wall_s,
		r->version ? r->version : "?");
}

static void table_metrics(FILE *f, const struct cli_load_report *r)
{
	fprintf(f, "\n%-18s %9s", "client's view, ms", "count");
	for (size_t i = 0; i < N_TABLE_FIGURES; i++)
		fprintf(f, " %9s",
			table_figures[i] == CLI_F_P999
				? "p99.9"
				: cli_figure_name(table_figures[i]));
	fputc('\n', f);
	for (enum cli_metric m = 0; m < CLI_M_COUNT; m++) {
		const struct cli_histo *h = &r->metrics[m];

		fprintf(f, "%-18s %9llu", cli_metric_name(m),
			(unsigned long long)h->count);
		for (size_t i = 0; i < N_TABLE_FIGURES; i++) {
			if (h->count)
				fprintf(f, " %9.1f",
					cli_histo_figure_ms(h, table_figures[i]));
			else
				fprintf(f, " %9s", "-");
		}
		fputc('\n', f);
	}
}

static void table_counts(FILE *f, const struct cli_load_report *r)
{
	fputs("\ncounts (client's view)\n", f);
	for (size_t i = 0; i < CLI_LOAD_N_COUNTS; i++)
		fprintf(f, "  %-18s %12llu\n", cli_load_count_name(i),
			(unsigned long long)cli_load_count_get(&r->counts, i));
}

static void table_tallies(FILE *f, const char *title,
			  const struct cli_load_tally *t, size_t n)
{
	int width = 18;

	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(t[i].key) > width)
			width = (int)strlen(t[i].key);
	fprintf(f, "\n%s\n", title);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-*s %12llu\n", width, t[i].key,
			(unsigned long long)t[i].n);
}

/* What the server said of itself, in its own words where it has them
   (the built-in server's summary line), else its /healthz as it came. */
static void table_server(FILE *f, const char *server_json)
{
	json_t *doc, *summary, *refused;

	if (!server_json)
		return;
	doc = json_loads(server_json, 0, NULL);
	summary = json_object_get(doc, "summary");
	refused = json_object_get(doc, "refused");
	if (json_is_string(summary)) {
		fprintf(f, "\nserver's view (what it reported): %s\n",
			json_string_value(summary));
	} else if (json_is_integer(json_object_get(doc, "calls_total"))) {
		json_int_t total = 0;
		const char *key;
		json_t *v;

		json_object_foreach(refused, key, v)
			total += json_integer_value(v);
		fprintf(f, "\nserver's view (what it reported): %" JSON_INTEGER_FORMAT
			" calls, %" JSON_INTEGER_FORMAT " refused\n",
			json_integer_value(json_object_get(doc, "calls_total")),
			total);
	} else {
		fprintf(f, "\nserver's view (what it reported): %s\n",
			server_json);
	}
	json_decref(doc);
}

void cli_load_report_table(FILE *f, const struct cli_load_report *r)
{
	table_head(f, r);
	table_metrics(f, r);
	table_counts(f, r);
	table_tallies(f, "errors by kind (client's view)", r->errors,
		      r->n_errors);
	table_tallies(f, "close codes (client's view)", r->close_codes,
		      r->n_close_codes);
	fprintf(f, "\nmemory: %llu bytes per call",
		(unsigned long long)r->bytes_per_call);
	if (r->peak_rss_kib)
		fprintf(f, ", peak resident %llu KiB",
			(unsigned long long)r->peak_rss_kib);
	fputc('\n', f);
	table_server(f, r->server_json);
}

/* ---- CSV ---- */

/* The columns of one distribution: count, p50, p99, max, periodic then
   cumulative for each. */
static const enum cli_figure csv_figures[] = { CLI_F_P50, CLI_F_P99,
					       CLI_F_MAX };
#define N_CSV_FIGURES (sizeof csv_figures / sizeof *csv_figures)

static void csv_histo_head(FILE *f, const char *name)
{
	fprintf(f, ";%s_count(P);%s_count(C)", name, name);
	for (size_t i = 0; i < N_CSV_FIGURES; i++)
		fprintf(f, ";%s_%s_ms(P);%s_%s_ms(C)", name,
			cli_figure_name(csv_figures[i]), name,
			cli_figure_name(csv_figures[i]));
}

static void csv_figure(FILE *f, const struct cli_histo *h, enum cli_figure fig)
{
	if (h && h->count)
		fprintf(f, ";%.3f", cli_histo_figure_ms(h, fig));
	else
		fputc(';', f);
}

static void csv_histos(FILE *f, const struct cli_histo *p,
		       const struct cli_histo *c)
{
	fprintf(f, ";%llu;%llu", (unsigned long long)(p ? p->count : 0),
		(unsigned long long)c->count);
	for (size_t i = 0; i < N_CSV_FIGURES; i++) {
		csv_figure(f, p, csv_figures[i]);
		csv_figure(f, c, csv_figures[i]);
	}
}

int cli_load_report_write_csv(const struct cli_load_report *r,
			      const char *path, char *err, size_t errlen)
{
	/* The cumulative distributions so far, and counts as of the row
	   before (for the periodic ones of the cumulative counts). */
	struct cli_histo *turn = malloc(sizeof *turn),
			 *late = malloc(sizeof *late),
			 *delay = malloc(sizeof *delay);
	uint64_t started = 0, completed = 0, failed = 0, frames = 0;
	uint64_t concealed = 0;
	FILE *f = NULL;
	int rc = 0;

	if (!turn || !late || !delay) {
		rc = wvs_errorf(err, errlen, WV_ERR_NOMEM, "%s: out of memory",
				path);
		goto out;
	}
	cli_histo_init(turn);
	cli_histo_init(late);
	cli_histo_init(delay);
	if (!(f = fopen(path, "w"))) {
		rc = wvs_errorf(err, errlen, WV_ERR_INVALID, "%s: %s", path,
				strerror(errno));
		goto out;
	}
	fputs("unix_ms;t_s;calls_up;connecting;started(P);started(C);"
	      "completed(P);completed(C);failed(P);failed(C);"
	      "frames_sent(P);frames_sent(C)",
	      f);
	csv_histo_head(f, "turn");
	csv_histo_head(f, "lateness");
	fputs(";concealed_ms(P);concealed_ms(C)", f);
	csv_histo_head(f, "playout_delay");
	fputc('\n', f);
	for (size_t i = 0; i < r->n_rows; i++) {
		const struct cli_load_row *row = &r->rows[i];

		if (row->turn)
			cli_histo_merge(turn, row->turn);
		if (row->lateness)
			cli_histo_merge(late, row->lateness);
		if (row->playout_delay)
			cli_histo_merge(delay, row->playout_delay);
		frames += row->frames_sent;
		concealed += row->concealed_ms;
		fprintf(f, "%lld;%.3f;%lu;%lu;%llu;%llu;%llu;%llu;%llu;%llu;"
			   "%llu;%llu",
			(long long)row->unix_ms, row->t_s,
			(unsigned long)row->calls_up,
			(unsigned long)row->connecting,
			(unsigned long long)(row->started - started),
			(unsigned long long)row->started,
			(unsigned long long)(row->completed - completed),
			(unsigned long long)row->completed,
			(unsigned long long)(row->failed - failed),
			(unsigned long long)row->failed,
			(unsigned long long)row->frames_sent,
			(unsigned long long)frames);
		csv_histos(f, row->turn, turn);
		csv_histos(f, row->lateness, late);
		fprintf(f, ";%llu;%llu", (unsigned long long)row->concealed_ms,
			(unsigned long long)concealed);
		csv_histos(f, row->playout_delay, delay);
		fputc('\n', f);
		started = row->started;
		completed = row->completed;
		failed = row->failed;
	}
	if (ferror(f))
		rc = wvs_errorf(err, errlen, WV_ERR_INVALID, "%s: write failed",
				path);
	if (fclose(f) && !rc)
		rc = wvs_errorf(err, errlen, WV_ERR_INVALID, "%s: %s", path,
				strerror(errno));
out:
	free(turn);
	free(late);
	free(delay);
	return rc;
}
