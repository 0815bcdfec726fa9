/* The load report's model and its exact merge: see loadreport.h. */
#include "loadreport.h"

#include <stdlib.h>
#include <string.h>

#include <wvoice/error.h>

#include "errbuf.h"
#include "grow.h"

static const char *const metric_names[CLI_M_COUNT] = {
	[CLI_M_CONNECT] = "connect_ms",
	[CLI_M_HANDSHAKE] = "handshake_ms",
	[CLI_M_START] = "start_ms",
	[CLI_M_FIRST_AUDIO] = "first_audio_ms",
	[CLI_M_TURN] = "turn_ms",
	[CLI_M_BARGE_CLEAR] = "barge_clear_ms",
	[CLI_M_BARGE_SILENT] = "barge_silent_ms",
	[CLI_M_MARK_RTT] = "mark_rtt_ms",
	[CLI_M_LATENESS] = "lateness_ms",
	[CLI_M_JITTER] = "jitter_ms",
	[CLI_M_PLAYOUT_TARGET] = "playout_target_ms",
	[CLI_M_PLAYOUT_DELAY] = "playout_delay_ms",
};

const char *cli_metric_name(enum cli_metric m)
{
	return (unsigned)m < CLI_M_COUNT ? metric_names[m] : "unknown";
}

#define COUNT_NAME(name) #name,
static const char *const count_names[] = { CLI_LOAD_COUNTS(COUNT_NAME) };
#define COUNT_OFFSET(name) offsetof(struct cli_load_counts, name),
static const size_t count_offsets[] = { CLI_LOAD_COUNTS(COUNT_OFFSET) };
/* The list names every field, so that code going over it misses none. */
_Static_assert(sizeof(struct cli_load_counts) ==
		       CLI_LOAD_N_COUNTS * sizeof(uint64_t),
	       "CLI_LOAD_COUNTS must list every counter");

/* The counts of schema version 1 come first, the playout's after. */
_Static_assert(offsetof(struct cli_load_counts, concealed_ms) ==
		       CLI_LOAD_N_COUNTS_V1 * sizeof(uint64_t),
	       "CLI_LOAD_N_COUNTS_V1 must count the counts of version 1");

const char *cli_load_count_name(size_t i)
{
	return i < CLI_LOAD_N_COUNTS ? count_names[i] : "unknown";
}

uint64_t *cli_load_count_at(struct cli_load_counts *c, size_t i)
{
	return i < CLI_LOAD_N_COUNTS ? (uint64_t *)((char *)c + count_offsets[i])
				     : NULL;
}

uint64_t cli_load_count_get(const struct cli_load_counts *c, size_t i)
{
	return i < CLI_LOAD_N_COUNTS
		       ? *(const uint64_t *)((const char *)c + count_offsets[i])
		       : 0;
}

static const char *const figure_names[CLI_F_COUNT] = {
	"min", "mean", "p50", "p90", "p99", "p999", "max",
};

const char *cli_figure_name(enum cli_figure f)
{
	return (unsigned)f < CLI_F_COUNT ? figure_names[f] : "unknown";
}

double cli_histo_figure_ms(const struct cli_histo *h, enum cli_figure f)
{
	static const double q[CLI_F_COUNT] = {
		[CLI_F_P50] = 0.5, [CLI_F_P90] = 0.9, [CLI_F_P99] = 0.99,
		[CLI_F_P999] = 0.999,
	};

	if (!h || !h->count)
		return 0;
	switch (f) {
	case CLI_F_MIN:
		return (double)h->min / 1000;
	case CLI_F_MEAN:
		return cli_histo_mean(h) / 1000;
	case CLI_F_MAX:
		return (double)h->max / 1000;
	case CLI_F_P50:
	case CLI_F_P90:
	case CLI_F_P99:
	case CLI_F_P999:
		return (double)cli_histo_quantile(h, q[f]) / 1000;
	default:
		return 0;
	}
}

/* ---- the model ---- */

void cli_load_report_init(struct cli_load_report *r)
{
	memset(r, 0, sizeof *r);
	r->prebuffer_ms = -1;
	r->shard_count = 1;
	r->shards_merged = 1;
	for (size_t m = 0; m < CLI_M_COUNT; m++)
		cli_histo_init(&r->metrics[m]);
}

static void tallies_free(struct cli_load_tally *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].key);
	free(list);
}

static void row_free(struct cli_load_row *row)
{
	free(row->lateness);
	free(row->turn);
	free(row->playout_delay);
}

void cli_load_report_cleanup(struct cli_load_report *r)
{
	free(r->version);
	free(r->url);
	free(r->agent);
	free(r->script);
	free(r->impair);
	free(r->playout);
	tallies_free(r->errors, r->n_errors);
	tallies_free(r->close_codes, r->n_close_codes);
	for (size_t i = 0; i < r->n_rows; i++)
		row_free(&r->rows[i]);
	free(r->rows);
	free(r->per_call);
	free(r->server_json);
	cli_load_report_init(r);
}

/* Where key is in the sorted list, or where it would go (*found 0). */
static size_t tally_find(const struct cli_load_tally *list, size_t n,
			 const char *key, int *found)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(list[mid].key, key);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

int cli_load_tally_add(struct cli_load_tally **list, size_t *count,
		       const char *key, uint64_t n)
{
	int found;
	size_t at = tally_find(*list, *count, key, &found);
	struct cli_load_tally *grown;
	char *copy;

	if (found) {
		(*list)[at].n += n;
		return 0;
	}
	/* One more each time: a run has a handful of kinds, not thousands. */
	if (!(copy = strdup(key)))
		return WV_ERR_NOMEM;
	grown = realloc(*list, (*count + 1) * sizeof **list);
	if (!grown) {
		free(copy);
		return WV_ERR_NOMEM;
	}
	memmove(&grown[at + 1], &grown[at], (*count - at) * sizeof *grown);
	grown[at].key = copy;
	grown[at].n = n;
	*list = grown;
	(*count)++;
	return 0;
}

int cli_load_report_add_row(struct cli_load_report *r,
			    struct cli_load_row *row)
{
	struct cli_load_row *rows =
		wvs_grow(r->rows, &r->rows_cap, r->n_rows + 1, sizeof *rows, 64);

	if (!rows)
		return WV_ERR_NOMEM;
	r->rows = rows;
	rows[r->n_rows++] = *row;
	row->lateness = row->turn = row->playout_delay = NULL;
	return 0;
}

int cli_load_report_add_call(struct cli_load_report *r,
			     const struct cli_load_call *call)
{
	struct cli_load_call *calls = wvs_grow(r->per_call, &r->calls_cap,
					       r->n_calls + 1, sizeof *calls,
					       64);

	if (!calls)
		return WV_ERR_NOMEM;
	r->per_call = calls;
	calls[r->n_calls++] = *call;
	return 0;
}

/* ---- the merge ---- */

static int str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static int config_agrees(const struct cli_load_report *a,
			 const struct cli_load_report *b, char *err,
			 size_t errlen)
{
	static const char *const fmt = "the reports' %s differ: %s and %s";
#define STR_FIELD(f)                                                           \
	if (!str_eq(a->f, b->f))                                               \
		return wvs_errorf(err, errlen, WV_ERR_INVALID, fmt, #f,        \
				  a->f ? a->f : "none", b->f ? b->f : "none");
	STR_FIELD(version)
	STR_FIELD(url)
	STR_FIELD(agent)
	STR_FIELD(script)
	STR_FIELD(impair)
	STR_FIELD(playout)
#undef STR_FIELD
	if (a->prebuffer_ms != b->prebuffer_ms)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "the reports' prebuffer_ms differ: %ld and "
				  "%ld",
				  a->prebuffer_ms, b->prebuffer_ms);
	if (a->calls != b->calls || a->rate_cps != b->rate_cps ||
	    a->ramp_s != b->ramp_s || a->duration_s != b->duration_s)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "the reports' runs differ: --calls %llu "
				  "--rate %g --ramp %g --duration %g and "
				  "--calls %llu --rate %g --ramp %g "
				  "--duration %g",
				  (unsigned long long)a->calls, a->rate_cps,
				  a->ramp_s, a->duration_s,
				  (unsigned long long)b->calls, b->rate_cps,
				  b->ramp_s, b->duration_s);
	if (a->shard_count != b->shard_count)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "the reports are shards of %u and of %u",
				  a->shard_count, b->shard_count);
	/* A shard merged twice would count its calls twice; its call ids
	   show it too, but a report may list no calls. */
	if (a->shards_merged + b->shards_merged > a->shard_count)
		return wvs_errorf(err, errlen, WV_ERR_INVALID,
				  "%u shard reports of a run of %u shards: "
				  "one of them twice?",
				  a->shards_merged + b->shards_merged,
				  a->shard_count);
	return 0;
}

/* The calls of both in id order, new; or NULL with err said. */
static struct cli_load_call *calls_merged(const struct cli_load_report *a,
					  const struct cli_load_report *b,
					  int *rc, char *err, size_t errlen)
{
	size_t n = a->n_calls + b->n_calls, i = 0, j = 0, k = 0;
	struct cli_load_call *out = malloc((n ? n : 1) * sizeof *out);

	*rc = WV_ERR_NOMEM;
	if (!out)
		return NULL;
	while (i < a->n_calls || j < b->n_calls) {
		if (i < a->n_calls && j < b->n_calls &&
		    a->per_call[i].id == b->per_call[j].id) {
			*rc = wvs_errorf(err, errlen, WV_ERR_INVALID,
					 "call %llu is in both reports: the "
					 "same shard twice?",
					 (unsigned long long)a->per_call[i].id);
			free(out);
			return NULL;
		}
		if (j == b->n_calls ||
		    (i < a->n_calls && a->per_call[i].id < b->per_call[j].id))
			out[k++] = a->per_call[i++];
		else
			out[k++] = b->per_call[j++];
	}
	*rc = 0;
	return out;
}

/* A copy of list (keys too), with src's tallies added; or NULL. */
static int tallies_merged(struct cli_load_tally **out, size_t *n_out,
			  const struct cli_load_tally *a, size_t n_a,
			  const struct cli_load_tally *b, size_t n_b)
{
	*out = NULL;
	*n_out = 0;
	for (size_t i = 0; i < n_a + n_b; i++) {
		const struct cli_load_tally *t = i < n_a ? &a[i] : &b[i - n_a];

		if (cli_load_tally_add(out, n_out, t->key, t->n)) {
			tallies_free(*out, *n_out);
			*out = NULL;
			*n_out = 0;
			return WV_ERR_NOMEM;
		}
	}
	return 0;
}

/* The wall-clock interval a row ends in: unix_ms rounded up to a whole
   period, so that rows ending on whole periods keep their own. */
static int64_t slot_of(int64_t unix_ms)
{
	const int64_t p = CLI_LOAD_PERIOD_S * 1000;

	return unix_ms >= 0 ? (unix_ms + p - 1) / p : -((-unix_ms) / p);
}

/* The rows of one side that fall in one slot: [from, to). */
struct span {
	size_t from, to;
};

static struct span next_span(const struct cli_load_report *r, size_t from)
{
	struct span s = { from, from };

	if (from < r->n_rows) {
		int64_t slot = slot_of(r->rows[from].unix_ms);

		while (s.to < r->n_rows && slot_of(r->rows[s.to].unix_ms) == slot)
			s.to++;
	}
	return s;
}

/* One merged row: the spans of each side it is made of, and the
   histograms it will keep. */
struct merged_row {
	struct span a, b;
	struct cli_histo *lateness, *turn, *delay;
	int fresh_lateness, fresh_turn, fresh_delay; /* allocated here,
							 not a's */
};

/* The histogram a merged row keeps: a's first in its span, or a new one
   if only b has any; the rest are merged into it later. */
static int keep_histo(const struct cli_load_report *a, struct span sa,
		      const struct cli_load_report *b, struct span sb,
		      size_t field, struct cli_histo **keep, int *fresh)
{
	*keep = NULL;
	*fresh = 0;
	for (size_t i = sa.from; i < sa.to; i++) {
		struct cli_histo *h = *(struct cli_histo **)((char *)&a->rows[i] +
							       field);
		if (h) {
			*keep = h;
			return 0;
		}
	}
	for (size_t i = sb.from; i < sb.to; i++) {
		if (*(struct cli_histo **)((char *)&b->rows[i] + field)) {
			if (!(*keep = malloc(sizeof **keep)))
				return WV_ERR_NOMEM;
			cli_histo_init(*keep);
			*fresh = 1;
			return 0;
		}
	}
	return 0;
}

static void plan_free(struct merged_row *plan, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (plan[i].fresh_lateness)
			free(plan[i].lateness);
		if (plan[i].fresh_turn)
			free(plan[i].turn);
		if (plan[i].fresh_delay)
			free(plan[i].delay);
	}
	free(plan);
}

/* First pass, which may fail and changes nothing: which rows of each
   side go together, and every histogram the result needs allocated. */
static struct merged_row *rows_plan(const struct cli_load_report *a,
				    const struct cli_load_report *b,
				    size_t *n_out)
{
	size_t cap = a->n_rows + b->n_rows, n = 0, i = 0, j = 0;
	struct merged_row *plan = calloc(cap ? cap : 1, sizeof *plan);

	if (!plan)
		return NULL;
	while (i < a->n_rows || j < b->n_rows) {
		struct span sa = next_span(a, i), sb = next_span(b, j);
		struct merged_row *m = &plan[n++];

		if (sa.to > sa.from && sb.to > sb.from) {
			int64_t ka = slot_of(a->rows[i].unix_ms),
				kb = slot_of(b->rows[j].unix_ms);

			if (ka < kb)
				sb.to = sb.from;
			else if (kb < ka)
				sa.to = sa.from;
		}
		m->a = sa;
		m->b = sb;
		if (keep_histo(a, sa, b, sb, offsetof(struct cli_load_row, lateness),
			       &m->lateness, &m->fresh_lateness) ||
		    keep_histo(a, sa, b, sb, offsetof(struct cli_load_row, turn),
			       &m->turn, &m->fresh_turn) ||
		    keep_histo(a, sa, b, sb,
			       offsetof(struct cli_load_row, playout_delay),
			       &m->delay, &m->fresh_delay)) {
			plan_free(plan, n);
			return NULL;
		}
		i = sa.to;
		j = sb.to;
	}
	*n_out = n;
	return plan;
}

/* The cumulative counts and the state a side had at its last row. */
struct side_state {
	uint64_t started, failed, completed;
};

/* Adds one side's rows in span s to out (histograms merged into out's
   unless they are the very ones out keeps). */
static void rows_add(struct cli_load_row *out, const struct cli_load_row *rows,
		     struct span s, struct side_state *st)
{
	for (size_t i = s.from; i < s.to; i++) {
		const struct cli_load_row *r = &rows[i];

		if (r->unix_ms > out->unix_ms)
			out->unix_ms = r->unix_ms;
		out->frames_sent += r->frames_sent;
		out->concealed_ms += r->concealed_ms;
		if (r->lateness && r->lateness != out->lateness)
			cli_histo_merge(out->lateness, r->lateness);
		if (r->turn && r->turn != out->turn)
			cli_histo_merge(out->turn, r->turn);
		if (r->playout_delay && r->playout_delay != out->playout_delay)
			cli_histo_merge(out->playout_delay, r->playout_delay);
	}
	if (s.to > s.from) {
		/* The state at the slot's end is the side's last row's. */
		const struct cli_load_row *last = &rows[s.to - 1];

		out->calls_up += last->calls_up;
		out->connecting += last->connecting;
		st->started = last->started;
		st->failed = last->failed;
		st->completed = last->completed;
	}
}

/* Second pass, which cannot fail: the rows made from the plan, into
   out (n rows); a's histograms that were merged into another are freed,
   those kept move to out. Returns the most calls up at a row's end. */
static uint32_t rows_build(struct cli_load_row *out,
			   const struct merged_row *plan, size_t n,
			   struct cli_load_report *a,
			   const struct cli_load_report *b, int64_t started)
{
	struct side_state sa = { 0, 0, 0 }, sb = { 0, 0, 0 };
	uint32_t peak = 0;

	for (size_t k = 0; k < n; k++) {
		const struct merged_row *m = &plan[k];
		struct cli_load_row *o = &out[k];

		memset(o, 0, sizeof *o);
		o->unix_ms = INT64_MIN;
		o->lateness = m->lateness;
		o->turn = m->turn;
		o->playout_delay = m->delay;
		rows_add(o, a->rows, m->a, &sa);
		rows_add(o, b->rows, m->b, &sb);
		/* A side with no row here has not started yet, or is over:
		   its cumulative counts stand as they last were. */
		o->started = sa.started + sb.started;
		o->failed = sa.failed + sb.failed;
		o->completed = sa.completed + sb.completed;
		o->t_s = (double)(o->unix_ms - started) / 1000;
		if (o->calls_up > peak)
			peak = o->calls_up;
		for (size_t i = m->a.from; i < m->a.to; i++) {
			if (a->rows[i].lateness == o->lateness)
				a->rows[i].lateness = NULL;
			if (a->rows[i].turn == o->turn)
				a->rows[i].turn = NULL;
			if (a->rows[i].playout_delay == o->playout_delay)
				a->rows[i].playout_delay = NULL;
		}
	}
	return peak;
}

static int64_t end_ms(const struct cli_load_report *r)
{
	return r->started_unix_ms + (int64_t)(r->wall_s * 1000 + 0.5);
}

int cli_load_report_merge(struct cli_load_report *dst,
			  const struct cli_load_report *src, char *err,
			  size_t errlen)
{
	struct cli_load_call *calls = NULL;
	struct cli_load_tally *errors = NULL, *closes = NULL;
	size_t n_errors = 0, n_closes = 0, n_rows = 0;
	struct merged_row *plan = NULL;
	struct cli_load_row *rows = NULL;
	char *server = NULL;
	int64_t started, end;
	uint64_t peak;
	int rc;

	if ((rc = config_agrees(dst, src, err, errlen)))
		return rc;
	if (!(calls = calls_merged(dst, src, &rc, err, errlen)))
		return rc == WV_ERR_NOMEM
			       ? wvs_errorf(err, errlen, rc, "out of memory")
			       : rc;
	rc = WV_ERR_NOMEM;
	if (tallies_merged(&errors, &n_errors, dst->errors, dst->n_errors,
			   src->errors, src->n_errors) ||
	    tallies_merged(&closes, &n_closes, dst->close_codes,
			   dst->n_close_codes, src->close_codes,
			   src->n_close_codes))
		goto fail;
	if (!(plan = rows_plan(dst, src, &n_rows)) ||
	    !(rows = malloc((n_rows ? n_rows : 1) * sizeof *rows)))
		goto fail;
	if (src->server_json &&
	    (!dst->server_json || end_ms(src) > end_ms(dst)) &&
	    !(server = strdup(src->server_json)))
		goto fail;

	/* Nothing fails from here on. */
	started = dst->started_unix_ms < src->started_unix_ms
			  ? dst->started_unix_ms
			  : src->started_unix_ms;
	end = end_ms(dst) > end_ms(src) ? end_ms(dst) : end_ms(src);
	peak = rows_build(rows, plan, n_rows, dst, src, started);
	for (size_t i = 0; i < dst->n_rows; i++)
		row_free(&dst->rows[i]);
	free(dst->rows);
	free(plan);
	dst->rows = rows;
	dst->n_rows = dst->rows_cap = n_rows;

	free(dst->per_call);
	dst->per_call = calls;
	dst->n_calls = dst->calls_cap = dst->n_calls + src->n_calls;
	tallies_free(dst->errors, dst->n_errors);
	dst->errors = errors;
	dst->n_errors = n_errors;
	tallies_free(dst->close_codes, dst->n_close_codes);
	dst->close_codes = closes;
	dst->n_close_codes = n_closes;
	if (server) {
		free(dst->server_json);
		dst->server_json = server;
	}

	/* Each shard's peak came at its own moment: the sum would overstate
	   the merged run's, which the merged rows show (at their ends). */
	if (src->counts.calls_peak > peak)
		peak = src->counts.calls_peak;
	if (dst->counts.calls_peak > peak)
		peak = dst->counts.calls_peak;
	for (size_t i = 0; i < CLI_LOAD_N_COUNTS; i++)
		*cli_load_count_at(&dst->counts, i) += cli_load_count_get(&src->counts, i);
	dst->counts.calls_peak = peak;
	for (size_t m = 0; m < CLI_M_COUNT; m++)
		cli_histo_merge(&dst->metrics[m], &src->metrics[m]);
	if (src->bytes_per_call > dst->bytes_per_call)
		dst->bytes_per_call = src->bytes_per_call;
	if (src->peak_rss_kib > dst->peak_rss_kib)
		dst->peak_rss_kib = src->peak_rss_kib;
	dst->started_unix_ms = started;
	dst->wall_s = (double)(end - started) / 1000;
	dst->shards_merged += src->shards_merged;
	if (src->shard_index < dst->shard_index)
		dst->shard_index = src->shard_index;
	return 0;

fail:
	free(calls);
	tallies_free(errors, n_errors);
	tallies_free(closes, n_closes);
	if (plan)
		plan_free(plan, n_rows);
	free(rows);
	free(server);
	return wvs_errorf(err, errlen, WV_ERR_NOMEM, "out of memory");
}
