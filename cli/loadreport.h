/*
 * The load generator's figures (`wvoice load`), and what is made of them:
 * the table at the end, the JSON report (doc/load-report.schema.json),
 * the CSV of periodic and cumulative rows, the HTML page with its plots,
 * the --fail-if thresholds, and the exact merge of shard reports
 * (`wvoice load merge`).
 *
 * Every figure is the client's view (measured by the generator on the
 * audio it sent and played out) unless it sits under "server", which is
 * what the server reported of itself where it reports anything (the
 * built-in server's /healthz).
 *
 * Thread: one at a time.
 */
#ifndef CLI_LOADREPORT_H
#define CLI_LOADREPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "histo.h"

/* The distributions, in microseconds; their JSON names end in _ms and
   their figures are given in milliseconds. */
enum cli_metric {
	CLI_M_CONNECT,	    /* connect_ms: connect() to TCP connected */
	CLI_M_HANDSHAKE,    /* handshake_ms: TCP connected to WebSocket open */
	CLI_M_START,	    /* start_ms: WebSocket open to the server's start */
	CLI_M_FIRST_AUDIO,  /* first_audio_ms: the server's start to the first
			       agent sample that is not silence, played */
	CLI_M_TURN,	    /* turn_ms: the caller's speech ends to the
			       agent's first loud sample played */
	CLI_M_BARGE_CLEAR,  /* barge_clear_ms: the caller starts talking over
			       the agent to the server's clear */
	CLI_M_BARGE_SILENT, /* barge_silent_ms: ... to the agent's audio
			       silent in the playout */
	CLI_M_MARK_RTT,	    /* mark_rtt_ms: a mark received to answered */
	CLI_M_LATENESS,	    /* lateness_ms: each outbound frame, sent minus
			       due (start + k x 20 ms) */
	CLI_M_JITTER,	    /* jitter_ms: RFC 3550's inter-arrival jitter
			       estimate of the agent's audio, sampled at
			       each frame that updates it */
	/* Since 0.5: the playout (wv_playout_stats), sampled at each 20 ms
	   of it while the agent's audio plays. */
	CLI_M_PLAYOUT_TARGET, /* playout_target_ms: the delay it aims at */
	CLI_M_PLAYOUT_DELAY,  /* playout_delay_ms: the delay it plays at */
	CLI_M_COUNT
};

/* "connect_ms", "handshake_ms", ... as above. */
const char *cli_metric_name(enum cli_metric m);

/* Counters; JSON names as the fields. */
struct cli_load_counts {
	uint64_t calls_planned;	  /* this run's (or shards') share */
	uint64_t calls_started;	  /* connect() called */
	uint64_t calls_connected; /* the server's start came */
	uint64_t calls_completed; /* ended as planned: hung up, or the agent
				     hung up (stop, or close 1000) */
	uint64_t calls_failed;	  /* any other end, refusals included */
	uint64_t calls_peak;	  /* most calls up at once */
	uint64_t frames_sent;	  /* outbound audio frames */
	uint64_t frames_late;	  /* ... sent over 10 ms late */
	uint64_t frames_dropped;  /* ... dropped: the socket could not keep up */
	uint64_t frames_received; /* the agent's audio messages */
	uint64_t audio_ms_received;
	uint64_t marks_received;
	uint64_t marks_answered;
	uint64_t clears_received;
	uint64_t dtmf_sent;
	uint64_t underruns;	  /* playout underruns, all calls */
	uint64_t gaps;		  /* inbound gaps over 150 ms in an utterance */
	uint64_t script_timeouts; /* caller-script waits that timed out */
	/* Since 0.5, the playout's, all calls (wv_playout_stats). */
	uint64_t concealed_ms;	      /* silence played in underruns */
	uint64_t silence_inserted_ms; /* ... inserted to grow the delay */
	uint64_t silence_dropped_ms;  /* ... dropped to shrink it */
	uint64_t late_arrivals;	      /* audio that came while concealing */
};

/* The counters in their order, for the code that goes over all of them
   (the JSON, the table, --fail-if, the merge): X(name). */
#define CLI_LOAD_COUNTS(X)                                                     \
	X(calls_planned) X(calls_started) X(calls_connected)                   \
	X(calls_completed) X(calls_failed) X(calls_peak) X(frames_sent)        \
	X(frames_late) X(frames_dropped) X(frames_received)                    \
	X(audio_ms_received) X(marks_received) X(marks_answered)               \
	X(clears_received) X(dtmf_sent) X(underruns) X(gaps)                   \
	X(script_timeouts) X(concealed_ms) X(silence_inserted_ms)              \
	X(silence_dropped_ms) X(late_arrivals)
#define CLI_LOAD_COUNT_ONE(name) +1
#define CLI_LOAD_N_COUNTS (0 CLI_LOAD_COUNTS(CLI_LOAD_COUNT_ONE))
/* Those of schema version 1 (before 0.5): the first so many. */
#define CLI_LOAD_N_COUNTS_V1 18

/* Counter i's name ("calls_planned"...), its value in c, and where it is
   in c (NULL past the end). */
const char *cli_load_count_name(size_t i);
uint64_t cli_load_count_get(const struct cli_load_counts *c, size_t i);
uint64_t *cli_load_count_at(struct cli_load_counts *c, size_t i);

/* One kind of error or one close code, and how often. */
struct cli_load_tally {
	char *key; /* "refused: 503", "timeout: connecting", "1006"... */
	uint64_t n;
};

/* One call, as the report lists it. Times in ms; -1: never happened. */
struct cli_load_call {
	uint64_t id;		/* unique across shards */
	char comm_id[64];	/* the server's communication id, or "" */
	const char *end;	/* wv_end_reason_name() */
	int close_code;		/* 0: none */
	int http_status;	/* the handshake's answer, 0: none */
	char error[96];		/* the failure, one line, or "" */
	double connect_ms, handshake_ms, start_ms, first_audio_ms;
	double turn_ms_mean, turn_ms_max; /* over turns, -1 without */
	uint32_t turns, barge_ins;
	double lateness_ms_max;
	double jitter_ms;	/* the estimate at the end */
	double duration_ms;	/* confirmed to ended */
	uint32_t frames_sent, frames_received, underruns, gaps;
	uint32_t marks_answered, script_timeouts;
	/* Since 0.5, the playout's: the delay it aimed at when the call
	   ended and the most it aimed at (sampled as the metric, and at
	   the end), the delay it played at when the call ended (ms); and
	   as the counts of the same names. */
	uint32_t playout_target_ms, playout_target_ms_max, playout_delay_ms;
	uint32_t concealed_ms, silence_inserted_ms, silence_dropped_ms;
	uint32_t late_arrivals;
};

/* One interval of CLI_LOAD_PERIOD_S: the state at its end and what
   happened in it. The merge puts rows of several shards together by the
   wall-clock interval they end in (unix_ms rounded up to a whole
   period): rows that end on whole periods of the wall clock (unix_ms a
   multiple of CLI_LOAD_PERIOD_S x 1000, but for the last, partial one)
   line up exactly across shards started at different moments. */
#define CLI_LOAD_PERIOD_S 1
struct cli_load_row {
	int64_t unix_ms;	 /* the interval's end, wall clock */
	double t_s;		 /* since the run started */
	uint32_t calls_up, connecting;
	uint64_t started, failed, completed; /* cumulative */
	uint64_t frames_sent;	 /* in the interval */
	struct cli_histo *lateness; /* the interval's frames; owned, or
				       NULL: none */
	struct cli_histo *turn;	    /* the interval's turns; owned, or NULL */
	/* Since 0.5: silence played in underruns in the interval (ms, all
	   calls), and the playout delays sampled in it (as the metric). */
	uint64_t concealed_ms;
	struct cli_histo *playout_delay; /* owned, or NULL */
};

/* A run's report, or a merge of several. */
struct cli_load_report {
	/* What was run: strings owned. */
	char *version;	 /* wvoice's */
	char *url, *agent, *script, *impair;
	/* Since 0.5: "adaptive" or "fixed" (--playout), NULL: a report of
	   before 0.5 said none; and --prebuffer-ms, for the fixed policy
	   (-1: none). */
	char *playout;
	long prebuffer_ms;
	uint64_t calls;	 /* --calls, the whole run's */
	double rate_cps, ramp_s, duration_s;
	unsigned shard_index, shard_count; /* 0 and 1 when not sharded */
	unsigned shards_merged;	 /* how many shard reports are in this */
	int64_t started_unix_ms; /* the earliest shard's */
	double wall_s;		 /* start to the last call's end */

	struct cli_load_counts counts;
	struct cli_histo metrics[CLI_M_COUNT];
	struct cli_load_tally *errors, *close_codes; /* sorted by key */
	size_t n_errors, n_close_codes;

	struct cli_load_row *rows; /* in time order */
	size_t n_rows;
	struct cli_load_call *per_call; /* in id order */
	size_t n_calls;

	/* The generator's memory: its per-call state, and the process's
	   resident size at the peak of calls (0: unknown). */
	uint64_t bytes_per_call;
	uint64_t peak_rss_kib;

	/* The server's own figures, where it reports them (the built-in
	   server's /healthz at the end): JSON text, or NULL. */
	char *server_json;

	/* The arrays' room, the functions' own. */
	size_t rows_cap, calls_cap;
};

/* Sets every field to nothing: no strings, counts, rows or calls; one
   shard of one (index 0, count 1, merged 1). */
void cli_load_report_init(struct cli_load_report *r);
void cli_load_report_cleanup(struct cli_load_report *r);

/* Adds n to the tally of key in *list (kept sorted); 0 or WV_ERR_NOMEM. */
int cli_load_tally_add(struct cli_load_tally **list, size_t *count,
		       const char *key, uint64_t n);
/* Appends a row (taking its histograms) or a call; 0 or WV_ERR_NOMEM. */
int cli_load_report_add_row(struct cli_load_report *r,
			    struct cli_load_row *row);
int cli_load_report_add_call(struct cli_load_report *r,
			     const struct cli_load_call *call);

/* ---- figures ---- */

/* What is read from a distribution; JSON names "min", "mean", "p50",
   "p90", "p99", "p999", "max". */
enum cli_figure {
	CLI_F_MIN,
	CLI_F_MEAN,
	CLI_F_P50,
	CLI_F_P90,
	CLI_F_P99,
	CLI_F_P999,
	CLI_F_MAX,
	CLI_F_COUNT
};
const char *cli_figure_name(enum cli_figure f);
/* Figure f of h in milliseconds (h in µs); 0 when h is empty. */
double cli_histo_figure_ms(const struct cli_histo *h, enum cli_figure f);

/* ---- output ---- */

/* The table at the end, for a person at a terminal. */
void cli_load_report_table(FILE *f, const struct cli_load_report *r);
/*
 * The report as JSON (doc/load-report.schema.json has every field):
 *
 *   {"schema_version": 2, "version": "0.5.0",
 *    "config": {"url", "agent", "script", "impair", "calls", "rate_cps",
 *               "ramp_s", "duration_s", "period_s", "playout",
 *               "prebuffer_ms"},
 *    "shards": {"index": 0 (null when merged), "count", "merged"},
 *    "started_unix_ms", "wall_s",
 *    "counts": {"calls_planned": 1000, ...},
 *    "metrics": {"turn_ms": METRIC, ...every metric, empty ones too},
 *    "errors": {"refused: 503": 3, ...}, "close_codes": {"1000": 990},
 *    "series": [{"unix_ms", "t_s", "calls_up", "connecting", "started",
 *                "failed", "completed", "frames_sent",
 *                "lateness": METRIC or null, "turn": METRIC or null,
 *                "concealed_ms", "playout_delay": METRIC or null}],
 *    "calls": [{"id", "comm_id", "end", ..., null for never}],
 *    "memory": {"bytes_per_call", "peak_rss_kib" (null: unknown)},
 *    "server": {what it reported} or null}
 *
 * METRIC: {"unit": "ms", "view": "client", "count", "min", "mean",
 * "p50", "p90", "p99", "p999", "max" (ms; null when count is 0),
 * "sum_us", "histogram": [[bucket_lo_us, count], ...] (the non-empty
 * buckets, in order)}. The reader rebuilds each histogram exactly from
 * histogram, sum_us, min and max; the percentiles are for people. An
 * empty or NULL string is null, as is a time of -1 and a close code or
 * HTTP status of 0; reals carry 15 digits; the file is one line.
 *
 * Schema version 2 (0.5) added the playout's figures: config's playout
 * and prebuffer_ms, four counts, two metrics, two members of each row
 * and seven of each call. The reader takes version 1 too, where they are
 * missing: they read as none (counts 0, metrics and histograms empty,
 * config's playout and prebuffer_ms null).
 */
struct json_t;
/* The document above, new (json_decref() it), or NULL: no memory. */
struct json_t *cli_load_report_to_json(const struct cli_load_report *r);
/* Each returns 0, or a negative WV_ERR_* with the reason in err (the
   path and the system's words). */
int cli_load_report_write_json(const struct cli_load_report *r,
			       const char *path, char *err, size_t errlen);
/* Periodic rows (one per interval) and cumulative columns, as SIPp's
   statistics file: a header line, then one row per interval, fields
   separated by ';' (as SIPp's), NAME(P) the interval's and NAME(C) the
   run's so far; a percentile of no values is an empty field:
   unix_ms;t_s;calls_up;connecting;started(P);started(C);completed(P);
   completed(C);failed(P);failed(C);frames_sent(P);frames_sent(C);
   turn_count(P);turn_count(C);turn_p50_ms(P);turn_p50_ms(C);
   turn_p99_ms(P);turn_p99_ms(C);turn_max_ms(P);turn_max_ms(C); the
   same six lateness_ columns; since 0.5, concealed_ms(P);concealed_ms(C)
   and the same six playout_delay_ columns. */
int cli_load_report_write_csv(const struct cli_load_report *r,
			      const char *path, char *err, size_t errlen);
/* One self-contained page: the charting library is read from chart_js
   (a file installed with wvoice, see cli_load_chart_path()) and inlined;
   the page opens offline. */
int cli_load_report_write_html(const struct cli_load_report *r,
			       const char *path, const char *chart_js,
			       char *err, size_t errlen);
/* Where the charting library is: $WVOICE_CHART_JS if set; else, for a
   wvoice run from its build directory, the source tree's
   report/node_modules/chart.js/dist/chart.umd.js (make deps); else
   bin/../share/wvoice/report/chart.umd.js beside the binary (make
   install). Returns buf, or NULL if that file cannot be read: buf then
   holds the path looked at, for the message. */
const char *cli_load_chart_path(char *buf, size_t cap);

/* ---- input and merge ---- */

/* Reads a JSON report written by write_json(); every problem named with
   the path. 0 or a negative WV_ERR_*. */
int cli_load_report_read_json(struct cli_load_report *r, const char *path,
			      char *err, size_t errlen);
/* dst += src, exactly: counts and histograms add, tallies merge, rows
   align on their wall-clock interval, calls interleave by id; the config
   must agree (version, url, agent, script, impair, playout, prebuffer,
   calls, rate, ramp, duration, shard_count), else WV_ERR_INVALID, as for a call id in both
   or more shard reports than the run had shards (the same shard twice).
   Of a merge: started_unix_ms the earliest, wall_s to the latest end, calls_peak the most up at once at any
   interval's end of the merged rows (at least each shard's own peak),
   bytes_per_call and peak_rss_kib the largest shard's (each shard is a
   process of its own), server the latest-ending shard's that has one.
   dst is a report (run or read), not one just initialized. On any
   error dst is as it was: WV_ERR_NOMEM, WV_ERR_INVALID. */
int cli_load_report_merge(struct cli_load_report *dst,
			  const struct cli_load_report *src, char *err,
			  size_t errlen);

/* ---- thresholds ---- */

/*
 * --fail-if "p99_turn_ms>1500,errors>0": comma-separated conditions NAME
 * OP NUMBER, OP one of > >= < <= ==, NAME a counter ("calls_failed",
 * "frames_late"...; "errors" is calls_failed) or a percentile of a
 * metric ("p50_", "p90_", "p99_", "p999_", "max_", "mean_", "min_" + its
 * name), in ms. Blanks around the parts are allowed; NUMBER is a
 * non-negative decimal. A figure of a metric with no values is not
 * crossed by any condition (the failed calls are the gate for calls that
 * never got that far). parse: 0, or WV_ERR_INVALID with the condition
 * and the reason in err ("p99_tur_ms>1: unknown name"), WV_ERR_NOMEM.
 */
struct cli_fail_if;
int cli_fail_if_parse(struct cli_fail_if **out, const char *spec, char *err,
		      size_t errlen);
void cli_fail_if_destroy(struct cli_fail_if *f);
/* The number of conditions crossed; each is described in one line to
   out ("p99_turn_ms 1820 > 1500"), when out is not NULL. */
size_t cli_fail_if_check(const struct cli_fail_if *f,
			 const struct cli_load_report *r, FILE *out);

/* `wvoice load merge FILE.json... [--report F] [--html F] [--csv F]
   [--fail-if SPEC]`; argv[0] is "merge". Prints the merged table and
   writes what is asked. Returns the exit status: 0; 1 when the merged
   run has failed calls or crosses a --fail-if condition (as `wvoice
   load`); 2 for a usage error, a report that cannot be read or merged,
   or an output that cannot be written. */
int cli_load_merge(int argc, char **argv);

#endif
