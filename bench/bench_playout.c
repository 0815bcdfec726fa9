/*
 * bench_playout: each playout policy on exactly the same arrivals (issue
 * 14). The traces and the measures are tests/support/playout_sim.h's: per
 * trace, one row per policy, the delay it adds to the agent's frames (mean,
 * p95), its underrun events and the silence it handed out inside speech
 * (concealed), the silence it inserted or dropped on purpose, and the
 * frames that arrived late (while it concealed; speexdsp: after their
 * time). "gap+" and "gap-" are the timeline's own view, wv_playout only:
 * silence added inside utterances (concealed + inserted) and taken out
 * (dropped), measured on what was handed out, netted between two loud
 * samples; "cuts" are the positive gaps inside a word, what a listener
 * hears, counted the same way for every wv_playout policy (the fixed
 * policy's counters miss the gaps after its end-of-burst rule starts an
 * utterance early; the adaptive policy's stretch pauses, which are not
 * cuts). "foresight" is the bound no buffer can pass: each utterance
 * played as late as its latest frame, so never underrunning.
 *
 * speexdsp's jitter buffer is given RTP-like timestamps from the sender's
 * media clock, which the telephony protocol does not carry: it knows more
 * than wv_playout can. Its underruns are runs of missing frames inside an
 * utterance, and dropped the frames it never played. It holds at most 200
 * packets (4 s) and skips ahead when its delay looks too long, so on the
 * burst trace it drops audio, and frames after a skip play before their
 * ideal time (a negative delay).
 *
 * Then the goals, PASS or FAIL. A fake clock: runs in seconds, and
 * the figures are the same on any machine. Always exits 0.
 *
 * Usage: bench_playout
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playout_sim.h"

struct row {
	const char *trace;
	unsigned longest_stall_ms;
	struct sim_result r[SIM_POLICIES];
};

static void print_header(void)
{
	printf("%-10s %-9s %7s %7s %5s %8s %7s %7s %5s | %7s %7s %4s %7s\n",
	       "trace", "policy", "mean ms", "p95 ms", "under", "conc ms",
	       "ins ms", "drop ms", "late", "gap+ ms", "gap- ms", "cuts",
	       "cut ms");
}

static void print_row(const char *trace, enum sim_policy pol,
		      const struct sim_result *r)
{
	printf("%-10s %-9s %7.1f %7.1f ", trace, sim_policy_name(pol),
	       r->mean_ms, r->p95_ms);
	if (pol == SIM_FORESIGHT) {
		printf("%5d %8s %7s %7s %5s | %7s %7s %4s %7s\n", 0, "-", "-",
		       "-", "-", "-", "-", "-", "-");
		return;
	}
	printf("%5llu %8.1f %7.1f %7.1f %5llu | ",
	       (unsigned long long)r->underruns, r->concealed_ms,
	       r->inserted_ms, r->dropped_ms, (unsigned long long)r->late);
	if (pol == SIM_SPEEX)
		printf("%7s %7s %4s %7s\n", "-", "-", "-", "-");
	else
		printf("%7.1f %7.1f %4llu %7.1f\n", r->gap_pos_ms,
		       r->gap_neg_ms, (unsigned long long)r->cut_events,
		       r->cut_ms);
}

/* Replays t through every policy and frees it. */
static int run_trace(struct sim_trace *t, struct row *row)
{
	int rc = 0;

	row->trace = t->spec.name;
	row->longest_stall_ms = t->longest_stall_ms;
	for (int pol = 0; pol < SIM_POLICIES && rc == 0; pol++) {
		rc = sim_replay(t, (enum sim_policy)pol, &row->r[pol]);
		if (rc == 0)
			print_row(t->spec.name, (enum sim_policy)pol,
				  &row->r[pol]);
	}
	sim_trace_free(t);
	return rc;
}

static void print_legend(void)
{
	puts("\nmean, p95: delay added to a frame: its first sample handed "
	     "out, minus its utterance's\n  first send + the network's least "
	     "delay + its offset in the utterance (frames with voice)\n"
	     "under: underrun events; conc: silence handed out inside speech "
	     "that the policy did not\n  insert on purpose; ins, drop: silence "
	     "inserted or dropped on purpose (speexdsp: drop is\n  the frames "
	     "it never played); late: frames that arrived while it concealed"
	     "\n  (speexdsp: after their time)\n"
	     "gap+, gap-: the same seen in what wv_playout handed out, net "
	     "between two loud samples;\n  cuts: the gaps inside a word "
	     "(what is heard), the same measure for every wv_playout policy"
	     "\nforesight: each utterance played from its worst lateness: "
	     "the least delay with no underrun");
}

static void verdict(bool ok, const char *what)
{
	printf("%s  %s\n", ok ? "PASS" : "FAIL", what);
}

static const struct row *find(const struct row *rows, size_t n,
			      const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (rows[i].trace && strcmp(rows[i].trace, name) == 0)
			return &rows[i];
	return NULL;
}

static void print_goals(const struct row *rows, size_t n)
{
	const struct row *lo = find(rows, n, "loopback");
	const struct row *j40 = find(rows, n, "jitter40");
	char what[160];

	printf("\n");
	if (lo) {
		const struct sim_result *a = &lo->r[SIM_ADAPTIVE];

		snprintf(what, sizeof(what),
			 "loopback: adaptive adds <= 60 ms (%.1f) with 0 "
			 "underruns (%llu)",
			 a->mean_ms, (unsigned long long)a->underruns);
		verdict(a->mean_ms <= 60 && a->underruns == 0, what);
	}
	if (j40) {
		const struct sim_result *a = &j40->r[SIM_ADAPTIVE];
		const struct sim_result *f = &j40->r[SIM_FIXED300];

		snprintf(what, sizeof(what),
			 "jitter40: adaptive underruns %llu < fixed 300's "
			 "%llu, mean %.1f ms < half of %.1f",
			 (unsigned long long)a->underruns,
			 (unsigned long long)f->underruns, a->mean_ms,
			 f->mean_ms);
		verdict(a->underruns < f->underruns &&
				a->mean_ms < f->mean_ms / 2,
			what);
		printf("      (foresight, never underrunning, adds %.1f ms: "
		       "half of fixed 300's delay is out of any buffer's "
		       "reach here)\n",
		       j40->r[SIM_FORESIGHT].mean_ms);
	}
	for (size_t i = 0; i < n; i++) {
		const struct sim_result *a = &rows[i].r[SIM_ADAPTIVE];
		const struct sim_result *f = &rows[i].r[SIM_FIXED300];

		if (!rows[i].trace || rows[i].longest_stall_ms > 300)
			continue;
		snprintf(what, sizeof(what),
			 "%s: adaptive underruns %llu <= fixed 300's %llu",
			 rows[i].trace, (unsigned long long)a->underruns,
			 (unsigned long long)f->underruns);
		verdict(a->underruns <= f->underruns, what);
	}
}

int main(void)
{
	size_t n;
	const struct sim_spec *specs = sim_standard_specs(&n);
	struct row *rows = calloc(n + 1, sizeof(*rows));
	struct sim_trace t;

	if (!rows)
		return 0;
	printf("bench_playout: %zu generated traces of %u s and one recorded, "
	       "20 ms reads on a fake clock\n(speexdsp is given the sender's "
	       "timestamps, which the protocol does not carry)\n\n",
	       n, specs[0].seconds);
	print_header();
	for (size_t i = 0; i < n; i++)
		if (sim_trace_make(&t, &specs[i]) < 0 ||
		    run_trace(&t, &rows[i]) < 0)
			printf("%s: out of memory\n", specs[i].name);
	if (sim_trace_recorded(&t) < 0 || run_trace(&t, &rows[n]) < 0)
		printf("recorded: cannot read %s\n", SIM_RECORDED);
	print_legend();
	print_goals(rows, n + 1);
	free(rows);
	return 0;
}
