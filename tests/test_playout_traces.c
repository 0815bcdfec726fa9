/*
 * The playout policies on the arrival traces of tests/support/playout_sim.h
 * (issue 14): the fixed 300 ms buffer and the adaptive policy replay each
 * trace in the same run, and the goals hold as ratios and counts
 * between them, never as wall-clock times (the clock is fake). On every
 * trace and for both: the policy's own counters agree with the gaps seen in
 * what it handed out, every loud sample (voice) is handed out unaltered and in
 * order, and every mark is reported in order, once the audio before it is
 * out and no later than that read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "playout_sim.h"

struct run {
	struct sim_trace t;
	struct sim_result fixed, adaptive, foresight;
};

static struct run *runs;
static size_t nruns;

static int setup(void **state)
{
	size_t n;
	const struct sim_spec *specs = sim_standard_specs(&n);

	(void)state;
	nruns = n + 1;
	runs = calloc(nruns, sizeof(*runs));
	if (!runs)
		return -1;
	for (size_t i = 0; i < nruns; i++) {
		struct run *r = &runs[i];
		int rc = i < n ? sim_trace_make(&r->t, &specs[i])
			       : sim_trace_recorded(&r->t);

		if (rc < 0 || sim_replay(&r->t, SIM_FIXED300, &r->fixed) < 0 ||
		    sim_replay(&r->t, SIM_ADAPTIVE, &r->adaptive) < 0 ||
		    sim_replay(&r->t, SIM_FORESIGHT, &r->foresight) < 0)
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < nruns; i++)
		sim_trace_free(&runs[i].t);
	free(runs);
	return 0;
}

static const struct run *find(const char *name)
{
	for (size_t i = 0; i < nruns; i++)
		if (strcmp(runs[i].t.spec.name, name) == 0)
			return &runs[i];
	fail_msg("no trace %s", name);
	return NULL;
}

static long long samples(double ms)
{
	return llround(ms * 8);
}

static void print_result(const char *trace, const struct sim_result *r)
{
	print_message("%-10s mean %6.1f p95 %6.1f ms, %llu underruns, "
		      "concealed %.1f inserted %.1f dropped %.1f ms, gaps "
		      "+%.1f -%.1f ms\n",
		      trace, r->mean_ms, r->p95_ms,
		      (unsigned long long)r->underruns, r->concealed_ms,
		      r->inserted_ms, r->dropped_ms, r->gap_pos_ms,
		      r->gap_neg_ms);
}

/* ---- the simulator itself ------------------------------------------- */

static void check_trace_shape(const struct sim_trace *t)
{
	const struct sim_spec *s = &t->spec;

	assert_true(t->nutts > 20);
	for (size_t i = 0; i < t->nframes; i++) {
		const struct sim_frame *f = &t->frames[i];

		assert_true(f->arrive_us >= f->send_us + s->base_us);
		if (i > 0)
			assert_true(f->arrive_us >= t->frames[i - 1].arrive_us);
		assert_int_equal(f->mark_after,
				 s->marks && f->offset + 1 ==
					 t->utts[f->utterance].frames);
	}
	for (size_t u = 0; u < t->nutts; u++) {
		const struct sim_utterance *ut = &t->utts[u];
		const struct sim_frame *a = &t->frames[ut->first];
		const struct sim_frame *z = a + ut->frames - 1;
		int64_t len = (int64_t)ut->frames * SIM_FRAME_US;

		assert_in_range(ut->frames, 50, 300);
		/* the paced sender spreads it over its duration (give or
		 * take the drift), a burst over 5-20% of it */
		if (s->burst)
			assert_in_range(z->send_us - a->send_us, len / 25,
					len / 5);
		else
			assert_true(llabs(z->send_us - a->send_us -
					  (len - SIM_FRAME_US)) <= 2000);
		if (u > 0) {
			const struct sim_frame *p = &t->frames[ut->first - 1];

			assert_in_range(a->media_us - p->media_us,
					500000 + SIM_FRAME_US,
					3000000 + SIM_FRAME_US);
		}
	}
}

static void check_same_frame(const struct sim_frame *a,
			     const struct sim_frame *b)
{
	assert_int_equal(a->utterance, b->utterance);
	assert_int_equal(a->offset, b->offset);
	assert_int_equal(a->send_us, b->send_us);
	assert_int_equal(a->arrive_us, b->arrive_us);
	assert_int_equal(a->media_us, b->media_us);
	assert_int_equal(a->mark_after, b->mark_after);
	assert_memory_equal(a->ulaw, b->ulaw, SIM_FRAME);
}

static void test_traces_are_reproducible_and_in_order(void **state)
{
	(void)state;
	for (size_t i = 0; i < nruns; i++) {
		struct sim_trace again;

		if (strcmp(runs[i].t.spec.name, "recorded") == 0) {
			assert_int_equal(sim_trace_recorded(&again), 0);
		} else {
			check_trace_shape(&runs[i].t);
			assert_int_equal(
				sim_trace_make(&again, &runs[i].t.spec), 0);
		}
		assert_int_equal(again.nframes, runs[i].t.nframes);
		for (size_t k = 0; k < again.nframes; k++)
			check_same_frame(&again.frames[k],
					 &runs[i].t.frames[k]);
		sim_trace_free(&again);
	}
}

static void test_traces_stalls_are_as_named(void **state)
{
	(void)state;
	assert_in_range(find("stalls")->t.longest_stall_ms, 301, 600);
	assert_in_range(find("stalls300")->t.longest_stall_ms, 200, 300);
	assert_int_equal(find("jitter80")->t.longest_stall_ms, 0);
}

/* The measure itself: on loopback a fixed buffer starts each utterance
 * once its pre-buffer is queued, which arrives a frame short of it, and the
 * next read takes it (0-20 ms). speexdsp, resynchronised after each pause,
 * plays a frame at the first read after it arrives. */
static void test_traces_measure_a_fixed_buffer_as_its_prebuffer(void **state)
{
	const struct run *r = find("loopback");
	struct sim_result f80, speex;

	(void)state;
	assert_in_range(llround(r->fixed.mean_ms), 280, 300);
	assert_true(r->fixed.p95_ms <= 300);
	assert_int_equal(sim_replay(&r->t, SIM_FIXED80, &f80), 0);
	assert_in_range(llround(f80.mean_ms), 60, 80);
	assert_int_equal(sim_replay(&r->t, SIM_SPEEX, &speex), 0);
	assert_in_range(llround(speex.mean_ms), 0, 20);
	assert_int_equal(speex.underruns, 0);
	assert_int_equal(speex.dropped_ms, 0);
}

/* ---- what every policy must keep ------------------------------------- */

static void check_voice(const struct sim_result *r)
{
	assert_true(r->loud_in > 0);
	assert_int_equal(r->loud_out, r->loud_in);
	assert_int_equal(r->loud_altered, 0);
}

static void check_marks(const struct sim_trace *t, const struct sim_result *r)
{
	assert_int_equal(r->marks_sent, t->spec.marks ? t->nutts : 0);
	assert_int_equal(r->marks_reported, r->marks_sent);
	assert_int_equal(r->marks_out_of_order, 0);
	assert_int_equal(r->marks_early, 0);
	assert_int_equal(r->marks_late, 0);
}

/*
 * Silence inside utterances, as seen in the output, is what the counters
 * say was concealed or inserted, less what they say was dropped. The
 * timeline sees one net gap between two loud samples, so a drop in the
 * silence after an underrun nets against it: the identity holds for the
 * sums, and each side alone is a bound. Without marks the buffer cannot
 * tell an utterance's end from an underrun (playout.h says so), and the
 * pause after it counts as concealed: there only the bounds hold.
 */
static void check_counters(const struct sim_trace *t,
			   const struct sim_result *r)
{
	long long pos = samples(r->gap_pos_ms), neg = samples(r->gap_neg_ms);
	long long conc = samples(r->concealed_ms);
	long long ins = samples(r->inserted_ms), drop = samples(r->dropped_ms);

	print_result(t->spec.name, r);
	assert_true(pos <= conc + ins);
	assert_true(neg <= drop);
	if (t->spec.marks) {
		assert_int_equal(pos - neg, conc + ins - drop);
		if (conc > 0 || pos > ins)
			assert_true(r->underruns > 0);
	} else {
		assert_true(r->underruns + 1 >= t->nutts);
	}
}

static void test_traces_voice_is_handed_out_whole_and_in_order(void **state)
{
	(void)state;
	for (size_t i = 0; i < nruns; i++) {
		check_voice(&runs[i].fixed);
		check_voice(&runs[i].adaptive);
	}
}

static void test_traces_marks_are_in_order_and_on_time(void **state)
{
	(void)state;
	for (size_t i = 0; i < nruns; i++) {
		check_marks(&runs[i].t, &runs[i].fixed);
		check_marks(&runs[i].t, &runs[i].adaptive);
	}
}

/* The fixed policy's end-of-burst rule can start an utterance before its
 * pre-buffer is full (a late lump at its start looks like its end), and
 * running dry there counts as neither underrun nor concealed: its
 * counters can miss silence the timeline sees, never invent it. */
static void test_traces_fixed_counters_never_overstate(void **state)
{
	(void)state;
	for (size_t i = 0; i < nruns; i++) {
		const struct sim_result *r = &runs[i].fixed;

		print_result(runs[i].t.spec.name, r);
		assert_true(r->concealed_ms <= r->gap_pos_ms ||
			    !runs[i].t.spec.marks);
		assert_true(r->inserted_ms == 0 && r->dropped_ms == 0);
		assert_true(r->gap_neg_ms == 0);
		assert_true(r->cut_events <= r->gap_events);
	}
}

static void test_traces_adaptive_counters_match_the_timeline(void **state)
{
	(void)state;
	for (size_t i = 0; i < nruns; i++)
		check_counters(&runs[i].t, &runs[i].adaptive);
}

/* ---- the goals ----------------------------------------------- */

static void test_traces_loopback_adaptive_adds_60ms(void **state)
{
	const struct run *r = find("loopback");

	(void)state;
	assert_true(r->adaptive.mean_ms <= 60);
	assert_int_equal(r->adaptive.underruns, 0);
}

/* Fewer underruns than the fixed 300 ms buffer. The issue asks for less
 * than half its mean delay too: on this trace that is less than a buffer
 * that knew each utterance's worst lateness in advance would need not to
 * underrun at all, so it is out of reach; that much is checked, so that a
 * trace that made it reachable would fail here. */
static void test_traces_jitter40_adaptive_fewer_underruns(void **state)
{
	const struct run *r = find("jitter40");

	(void)state;
	assert_true(r->adaptive.underruns < r->fixed.underruns);
	assert_true(r->foresight.mean_ms > r->fixed.mean_ms / 2);
}

/* On every trace without a stall over 300 ms. */
static void test_traces_adaptive_underruns_at_most_fixed(void **state)
{
	(void)state;
	for (size_t i = 0; i < nruns; i++) {
		if (runs[i].t.longest_stall_ms > 300)
			continue;
		print_message("%s: adaptive %llu, fixed 300 %llu underruns\n",
			      runs[i].t.spec.name,
			      (unsigned long long)runs[i].adaptive.underruns,
			      (unsigned long long)runs[i].fixed.underruns);
		assert_true(runs[i].adaptive.underruns <=
			    runs[i].fixed.underruns);
	}
}

/* What a listener hears: gaps inside a word, measured on the output the
 * same way for both, on every trace without a stall over 300 ms (events:
 * one cut may be longer, as on stalls300, 100 ms once against 20 ms
 * twice). */
static void test_traces_adaptive_cuts_at_most_fixed(void **state)
{
	(void)state;
	for (size_t i = 0; i < nruns; i++) {
		if (runs[i].t.longest_stall_ms > 300)
			continue;
		assert_true(runs[i].adaptive.cut_events <=
			    runs[i].fixed.cut_events);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_traces_are_reproducible_and_in_order),
		cmocka_unit_test(test_traces_stalls_are_as_named),
		cmocka_unit_test(
			test_traces_measure_a_fixed_buffer_as_its_prebuffer),
		cmocka_unit_test(
			test_traces_voice_is_handed_out_whole_and_in_order),
		cmocka_unit_test(test_traces_marks_are_in_order_and_on_time),
		cmocka_unit_test(test_traces_fixed_counters_never_overstate),
		cmocka_unit_test(
			test_traces_adaptive_counters_match_the_timeline),
		cmocka_unit_test(test_traces_loopback_adaptive_adds_60ms),
		cmocka_unit_test(test_traces_jitter40_adaptive_fewer_underruns),
		cmocka_unit_test(test_traces_adaptive_underruns_at_most_fixed),
		cmocka_unit_test(test_traces_adaptive_cuts_at_most_fixed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
