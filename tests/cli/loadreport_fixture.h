/*
 * A load run made up for the report's tests: FIXTURE_CALLS calls, one
 * every 250 ms from a start on a whole second, each up two seconds or
 * so, every seventh refused; its counts, histograms, tallies, rows and
 * calls all worked out from the calls. The same run can be made whole or
 * as the shard of it that has the calls with id % mod == rem, so that a
 * merge of the shards can be held to the whole, field by field.
 */
#ifndef WV_TEST_CLI_LOADREPORT_FIXTURE_H
#define WV_TEST_CLI_LOADREPORT_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include <wvoice/call.h>

#include "loadreport.h"

#define FIXTURE_CALLS 40
#define FIXTURE_T0 1765000000000LL /* a whole second, unix ms */

struct fixture_call {
	int64_t start, end; /* ms since T0 */
	bool failed;
};

static inline struct fixture_call fixture_call(unsigned i)
{
	struct fixture_call c;

	c.failed = i % 7 == 3;
	c.start = 250 * (int64_t)i;
	c.end = c.start + (c.failed ? 400 : 2000 + 100 * (i % 5));
	return c;
}

static inline bool fixture_has(unsigned i, unsigned mod, unsigned rem)
{
	return i % mod == rem;
}

/* A turn (two a call) that ends in (from, to], and its latency, µs. */
static inline int fixture_turns(unsigned i, int64_t from, int64_t to,
				uint64_t *out)
{
	struct fixture_call c = fixture_call(i);
	int n = 0;

	for (int t = 0; t < 2 && !c.failed; t++) {
		int64_t at = c.start + 900 + 600 * t;

		if (at > from && at <= to)
			out[n++] = 300000 + 12345 * (uint64_t)i +
				   777 * (uint64_t)t;
	}
	return n;
}

/* Call i's playout delay sampled in slot k, µs, and the ms it concealed
   there: one of each a slot it is up in. */
static inline uint64_t fixture_delay(unsigned i, int64_t k)
{
	return 40000 + ((uint64_t)i * 7919 + (uint64_t)k * 3001) % 200000;
}

static inline uint64_t fixture_concealed(unsigned i, int64_t k)
{
	return i % 4 == 0 ? (uint64_t)(20 * k + i) : 0;
}

/* A frame's lateness for call i in slot k, µs: one a slot it is up in. */
static inline uint64_t fixture_lateness(unsigned i, int64_t k)
{
	return ((uint64_t)i * 3701 + (uint64_t)k * 1301) % 25000;
}

/* Where call i is in the report's list (its calls are listed first). */
static inline size_t fixture_index(const struct cli_load_report *r,
				   unsigned i)
{
	size_t at = 0;

	while (at < r->n_calls && r->per_call[at].id != i)
		at++;
	return at;
}

static inline void fixture_row(struct cli_load_report *r, int64_t k,
			       int64_t end, unsigned mod, unsigned rem)
{
	struct cli_load_row row = { 0 };
	int64_t from = (k - 1) * 1000;

	row.unix_ms = FIXTURE_T0 + end;
	row.t_s = (double)end / 1000;
	row.lateness = malloc(sizeof *row.lateness);
	row.turn = malloc(sizeof *row.turn);
	row.playout_delay = malloc(sizeof *row.playout_delay);
	cli_histo_init(row.lateness);
	cli_histo_init(row.turn);
	cli_histo_init(row.playout_delay);
	for (unsigned i = 0; i < FIXTURE_CALLS; i++) {
		struct fixture_call c = fixture_call(i);
		uint64_t turns[2];
		int64_t lo, hi;
		int n;

		if (!fixture_has(i, mod, rem))
			continue;
		if (c.start <= end) {
			row.started++;
			row.failed += c.failed && c.end <= end;
			row.completed += !c.failed && c.end <= end;
			if (end < c.start + 50)
				row.connecting++;
			else if (end < c.end)
				row.calls_up++;
		}
		/* The frames of the call's time in (from, end]. */
		lo = c.start > from ? c.start : from;
		hi = c.end < end ? c.end : end;
		if (hi > lo && !c.failed) {
			row.frames_sent += (uint64_t)(hi - lo) / 20;
			cli_histo_add(row.lateness, fixture_lateness(i, k));
			cli_histo_add(&r->metrics[CLI_M_LATENESS],
				      fixture_lateness(i, k));
			cli_histo_add(row.playout_delay, fixture_delay(i, k));
			cli_histo_add(&r->metrics[CLI_M_PLAYOUT_DELAY],
				      fixture_delay(i, k));
			cli_histo_add(&r->metrics[CLI_M_PLAYOUT_TARGET],
				      fixture_delay(i, k) + 20000);
			row.concealed_ms += fixture_concealed(i, k);
			r->counts.concealed_ms += fixture_concealed(i, k);
			r->per_call[fixture_index(r, i)].concealed_ms +=
				(uint32_t)fixture_concealed(i, k);
		}
		n = fixture_turns(i, from, end, turns);
		for (int t = 0; t < n; t++) {
			cli_histo_add(row.turn, turns[t]);
			cli_histo_add(&r->metrics[CLI_M_TURN], turns[t]);
		}
	}
	r->counts.frames_sent += row.frames_sent;
	if (row.calls_up > r->counts.calls_peak)
		r->counts.calls_peak = row.calls_up;
	if (!row.turn->count) {
		free(row.turn);
		row.turn = NULL;
	}
	if (!row.playout_delay->count) {
		free(row.playout_delay);
		row.playout_delay = NULL;
	}
	cli_load_report_add_row(r, &row);
}

static inline void fixture_call_figures(struct cli_load_report *r,
					unsigned i)
{
	struct fixture_call c = fixture_call(i);
	struct cli_load_call call;
	const char *close = i % 11 == 5 ? "1006" : "1000";

	memset(&call, 0, sizeof call);
	call.id = i;
	call.connect_ms = call.handshake_ms = call.start_ms = -1;
	call.first_audio_ms = call.turn_ms_mean = call.turn_ms_max = -1;
	call.lateness_ms_max = call.jitter_ms = -1;
	call.connect_ms = (5000 + 131.0 * i) / 1000;
	cli_histo_add(&r->metrics[CLI_M_CONNECT], 5000 + 131 * (uint64_t)i);
	r->counts.calls_planned++;
	r->counts.calls_started++;
	call.duration_ms = (double)(c.end - c.start);
	if (c.failed) {
		call.end = wv_end_reason_name(WV_END_ERROR);
		call.http_status = 503;
		snprintf(call.error, sizeof call.error, "%s",
			 i % 2 ? "refused: 503" : "timeout: connecting");
		cli_load_tally_add(&r->errors, &r->n_errors, call.error, 1);
		r->counts.calls_failed++;
		cli_load_report_add_call(r, &call);
		return;
	}
	snprintf(call.comm_id, sizeof call.comm_id, "comm-%04u", i);
	call.end = wv_end_reason_name(i % 2 ? WV_END_HANGUP : WV_END_REMOTE_STOP);
	call.close_code = atoi(close);
	call.http_status = 101;
	call.handshake_ms = (2000 + 17.0 * i) / 1000;
	call.start_ms = (8000 + 29.0 * i) / 1000;
	call.first_audio_ms = (150000 + 999.0 * i) / 1000;
	call.turn_ms_mean = (300000 + 12345.0 * i + 388.5) / 1000;
	call.turn_ms_max = (300000 + 12345.0 * i + 777) / 1000;
	call.turns = 2;
	call.barge_ins = i % 3 == 0;
	call.lateness_ms_max = 12.5;
	call.jitter_ms = 0.25 * (i % 8);
	call.frames_sent = (uint32_t)(c.end - c.start) / 20;
	call.frames_received = 90 + i;
	call.underruns = i % 4 == 0;
	call.gaps = i % 9 == 0;
	call.marks_answered = 2;
	call.script_timeouts = i == 13;
	call.playout_target_ms = 60 + i;
	call.playout_target_ms_max = 120 + 2 * i;
	call.playout_delay_ms = 50 + i;
	call.silence_inserted_ms = 20 * (i % 3);
	call.silence_dropped_ms = 20 * (i % 5);
	call.late_arrivals = i % 4 == 0 ? 2 : 0;
	cli_histo_add(&r->metrics[CLI_M_HANDSHAKE], 2000 + 17 * (uint64_t)i);
	cli_histo_add(&r->metrics[CLI_M_START], 8000 + 29 * (uint64_t)i);
	cli_histo_add(&r->metrics[CLI_M_FIRST_AUDIO],
		      150000 + 999 * (uint64_t)i);
	cli_histo_add(&r->metrics[CLI_M_MARK_RTT], 400 + 3 * (uint64_t)i);
	cli_histo_add(&r->metrics[CLI_M_MARK_RTT], 800 + 5 * (uint64_t)i);
	cli_histo_add(&r->metrics[CLI_M_JITTER], 250 * (uint64_t)(i % 8));
	if (call.barge_ins) {
		cli_histo_add(&r->metrics[CLI_M_BARGE_CLEAR],
			      90000 + 100 * (uint64_t)i);
		cli_histo_add(&r->metrics[CLI_M_BARGE_SILENT],
			      140000 + 100 * (uint64_t)i);
	}
	cli_load_tally_add(&r->close_codes, &r->n_close_codes, close, 1);
	r->counts.calls_connected++;
	r->counts.calls_completed++;
	r->counts.frames_late += i % 3;
	r->counts.frames_received += call.frames_received;
	r->counts.audio_ms_received += 20 * (uint64_t)call.frames_received;
	r->counts.marks_received += 2;
	r->counts.marks_answered += 2;
	r->counts.clears_received += call.barge_ins;
	r->counts.dtmf_sent += 1;
	r->counts.underruns += call.underruns;
	r->counts.gaps += call.gaps;
	r->counts.script_timeouts += call.script_timeouts;
	r->counts.silence_inserted_ms += call.silence_inserted_ms;
	r->counts.silence_dropped_ms += call.silence_dropped_ms;
	r->counts.late_arrivals += call.late_arrivals;
	cli_load_report_add_call(r, &call);
}

/* The run, or its shard of the calls with id % mod == rem (mod 1: all):
   shard index rem of mod. */
static inline void fixture_report(struct cli_load_report *r, unsigned mod,
				  unsigned rem)
{
	int64_t first = -1, last = 0;

	cli_load_report_init(r);
	r->version = strdup("0.3.0-test");
	r->url = strdup("ws://127.0.0.1:8080/agent?x=<y>&z=\"</script>\"");
	r->agent = strdup("echo");
	r->script = strdup("talk.script");
	r->impair = strdup("loss=1%");
	r->playout = strdup("adaptive");
	r->calls = FIXTURE_CALLS;
	r->rate_cps = 4;
	r->ramp_s = 0.5;
	r->duration_s = 2;
	r->shard_index = rem;
	r->shard_count = mod;
	for (unsigned i = 0; i < FIXTURE_CALLS; i++) {
		struct fixture_call c = fixture_call(i);

		if (!fixture_has(i, mod, rem))
			continue;
		if (first < 0)
			first = c.start;
		if (c.end > last)
			last = c.end;
		fixture_call_figures(r, i);
	}
	/* Every shard starts with the run; rows end on whole seconds but
	   the last, at the shard's last call's end. */
	r->started_unix_ms = FIXTURE_T0;
	r->wall_s = (double)last / 1000;
	for (int64_t k = 1; (k - 1) * 1000 < last; k++)
		fixture_row(r, k, k * 1000 < last ? k * 1000 : last, mod, rem);
	r->bytes_per_call = 4096;
	r->peak_rss_kib = 10000 + 100 * rem;
	if (rem == 0)
		r->server_json = strdup("{\"calls_active\":0,\"calls_total\":40}");
}

#endif
