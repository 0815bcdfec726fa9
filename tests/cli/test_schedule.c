/*
 * --dtmf, --mute and --hangup-after: specs parsed into what is written out
 * by hand here, bad specs refused with a message naming the item and the
 * reason, and the evaluator asked along a call's timeline.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wvoice/error.h>

#include "schedule.h"

#define MAX_ITEMS 8

/* ---- Seconds ---- */

struct seconds_case {
	const char *text;
	int64_t ms; /* -1: refused */
	const char *why;
};

static const struct seconds_case seconds_cases[] = {
	{ "0", 0, NULL },
	{ "4", 4000, NULL },
	{ "1.5", 1500, NULL },
	{ "0.020", 20, NULL },
	{ ".5", 500, NULL },
	{ "7.", 7000, NULL },
	{ "007.250", 7250, NULL },
	{ "1000000", 1000000000, NULL },
	{ "999999.999", 999999999, NULL },
	{ "", -1, "no time" },
	{ ".", -1, "not a number" },
	{ "-1", -1, "not a number" },
	{ "+1", -1, "not a number" },
	{ " 1", -1, "not a number" },
	{ "1 ", -1, "not a number" },
	{ "1e3", -1, "not a number" },
	{ "0x10", -1, "not a number" },
	{ "inf", -1, "not a number" },
	{ "nan", -1, "not a number" },
	{ "1.2.3", -1, "not a number" },
	{ "1,5", -1, "not a number" },
	{ "1.0005", -1, "more than 3 decimal places" },
	{ "1000000.001", -1, "over 1000000 seconds" },
	{ "1000001", -1, "over 1000000 seconds" },
	{ "99999999999999999999999", -1, "over 1000000 seconds" },
};

static void test_schedule_seconds_are_plain_decimals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof seconds_cases / sizeof seconds_cases[0];
	     i++) {
		const struct seconds_case *c = &seconds_cases[i];
		const char *why = NULL;
		int64_t ms = -7;
		int rc = cli_parse_seconds(c->text, strlen(c->text), &ms, &why);

		print_message("\"%s\"\n", c->text);
		if (c->ms >= 0) {
			assert_int_equal(rc, 0);
			assert_int_equal(ms, c->ms);
		} else {
			assert_int_equal(rc, WV_ERR_INVALID);
			assert_int_equal(ms, -7);
			assert_non_null(why);
			assert_non_null(strstr(why, c->why));
		}
	}
}

static void test_schedule_seconds_stop_at_the_given_length(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(cli_parse_seconds("2.5-9", 3, &ms, NULL), 0);
	assert_int_equal(ms, 2500);
	assert_int_equal(cli_parse_seconds("2.5-9", 4, &ms, NULL),
			 WV_ERR_INVALID);
}

/* ---- --dtmf ---- */

struct dtmf_case {
	const char *spec;
	const char *digits; /* in the order they fall due */
	int64_t at[MAX_ITEMS];
};

static const struct dtmf_case dtmf_cases[] = {
	{ "5@1.5,#@4", "5#", { 1500, 4000 } },
	{ "#@4,5@1.5", "5#", { 1500, 4000 } },
	{ "1@0", "1", { 0 } },
	{ "*@2,0@2,9@1", "9*0", { 1000, 2000, 2000 } },
	{ "1@3,2@2,3@1,4@0.5", "4321", { 500, 1000, 2000, 3000 } },
};

static void test_schedule_dtmf_sorted_by_time(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof dtmf_cases / sizeof dtmf_cases[0]; i++) {
		const struct dtmf_case *c = &dtmf_cases[i];
		struct cli_schedule s;
		char err[256] = "";

		cli_schedule_init(&s);
		print_message("%s\n", c->spec);
		assert_int_equal(
			cli_schedule_add_dtmf(&s, c->spec, err, sizeof err), 0);
		assert_string_equal(err, "");
		assert_int_equal(s.n_dtmf, strlen(c->digits));
		for (size_t j = 0; j < s.n_dtmf; j++) {
			assert_int_equal(s.dtmf[j].digit, c->digits[j]);
			assert_int_equal(s.dtmf[j].at_ms, c->at[j]);
		}
		cli_schedule_cleanup(&s);
	}
}

struct bad_case {
	const char *spec;
	const char *message; /* the whole message */
};

static const struct bad_case bad_dtmf[] = {
	{ "", "--dtmf item 1 \"\": empty item" },
	{ "5@1,", "--dtmf item 2 \"\": empty item" },
	{ "5@1,,6@2", "--dtmf item 2 \"\": empty item" },
	{ "5", "--dtmf item 1 \"5\": no '@' (write digit@seconds, like "
	       "5@1.5)" },
	{ "5@1,@2", "--dtmf item 2 \"@2\": no digit before '@'" },
	{ "1@1,2@2,55@3",
	  "--dtmf item 3 \"55@3\": more than one digit before '@'" },
	{ "x@4", "--dtmf item 1 \"x@4\": not a DTMF digit (0-9 * #)" },
	{ "A@4", "--dtmf item 1 \"A@4\": not a DTMF digit (0-9 * #)" },
	{ "5@", "--dtmf item 1 \"5@\": no time given" },
	{ "5@-1", "--dtmf item 1 \"5@-1\": not a number of seconds (like 4 "
		  "or 1.5)" },
	{ "5@1@2", "--dtmf item 1 \"5@1@2\": not a number of seconds (like "
		   "4 or 1.5)" },
	{ " 5@1", "--dtmf item 1 \" 5@1\": more than one digit before '@'" },
	{ "5@1.2345", "--dtmf item 1 \"5@1.2345\": more than 3 decimal "
		      "places" },
};

/* A bad spec leaves what was there before as it was. */
static void check_bad(int (*add)(struct cli_schedule *, const char *, char *,
				 size_t),
		      const struct bad_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct cli_schedule s;
		char err[256] = "";

		cli_schedule_init(&s);
		assert_int_equal(cli_schedule_add_dtmf(&s, "1@1", NULL, 0), 0);
		assert_int_equal(cli_schedule_add_mute(&s, "1-2", NULL, 0), 0);
		print_message("%s\n", cases[i].spec);
		assert_int_equal(add(&s, cases[i].spec, err, sizeof err),
				 WV_ERR_INVALID);
		assert_string_equal(err, cases[i].message);
		assert_int_equal(s.n_dtmf, 1);
		assert_int_equal(s.dtmf[0].at_ms, 1000);
		assert_int_equal(s.n_mute, 1);
		assert_int_equal(s.mute[0].end_ms, 2000);
		cli_schedule_cleanup(&s);
	}
}

static void test_schedule_dtmf_bad_items_named(void **state)
{
	(void)state;
	check_bad(cli_schedule_add_dtmf, bad_dtmf,
		  sizeof bad_dtmf / sizeof bad_dtmf[0]);
}

static void test_schedule_dtmf_long_item_quoted_short(void **state)
{
	char spec[200], err[256], want[256];
	struct cli_schedule s;

	(void)state;
	memset(spec, '9', sizeof spec - 1);
	spec[sizeof spec - 1] = '\0';
	cli_schedule_init(&s);
	assert_int_equal(cli_schedule_add_dtmf(&s, spec, err, sizeof err),
			 WV_ERR_INVALID);
	/* 64 characters of it, then "...". */
	snprintf(want, sizeof want, "--dtmf item 1 \"%.64s...\": no '@' "
		 "(write digit@seconds, like 5@1.5)", spec);
	assert_string_equal(err, want);
	cli_schedule_cleanup(&s);
}

static void test_schedule_dtmf_repeated_option_adds(void **state)
{
	struct cli_schedule s;

	(void)state;
	cli_schedule_init(&s);
	assert_int_equal(cli_schedule_add_dtmf(&s, "1@2,2@5", NULL, 0), 0);
	assert_int_equal(cli_schedule_add_dtmf(&s, "3@2,4@1", NULL, 0), 0);
	assert_int_equal(s.n_dtmf, 4);
	/* At 2 s the digit given first (1) goes first. */
	assert_int_equal(s.dtmf[0].digit, '4');
	assert_int_equal(s.dtmf[1].digit, '1');
	assert_int_equal(s.dtmf[2].digit, '3');
	assert_int_equal(s.dtmf[3].digit, '2');
	cli_schedule_cleanup(&s);
}

/* ---- --mute ---- */

struct mute_case {
	const char *spec;
	size_t n;
	struct cli_window w[MAX_ITEMS];
};

static const struct mute_case mute_cases[] = {
	{ "2-3.5,6-7", 2, { { 2000, 3500 }, { 6000, 7000 } } },
	{ "6-7,2-3.5", 2, { { 2000, 3500 }, { 6000, 7000 } } },
	{ "0-0.001", 1, { { 0, 1 } } },
	{ "2-4,3-5", 1, { { 2000, 5000 } } },
	{ "2-3,3-4", 1, { { 2000, 4000 } } },
	{ "1-10,2-3,4-5", 1, { { 1000, 10000 } } },
	{ "5-6,1-2,1.5-5", 1, { { 1000, 6000 } } },
	{ "1-2,2.001-3", 2, { { 1000, 2000 }, { 2001, 3000 } } },
};

static void test_schedule_mute_windows_sorted_and_merged(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof mute_cases / sizeof mute_cases[0]; i++) {
		const struct mute_case *c = &mute_cases[i];
		struct cli_schedule s;

		cli_schedule_init(&s);
		print_message("%s\n", c->spec);
		assert_int_equal(cli_schedule_add_mute(&s, c->spec, NULL, 0), 0);
		assert_int_equal(s.n_mute, c->n);
		for (size_t j = 0; j < c->n; j++) {
			assert_int_equal(s.mute[j].start_ms, c->w[j].start_ms);
			assert_int_equal(s.mute[j].end_ms, c->w[j].end_ms);
		}
		cli_schedule_cleanup(&s);
	}
}

static const struct bad_case bad_mute[] = {
	{ "", "--mute item 1 \"\": empty item" },
	{ "2-3,", "--mute item 2 \"\": empty item" },
	{ "2", "--mute item 1 \"2\": no '-' (write start-end, like 2-3.5)" },
	{ "3-2", "--mute item 1 \"3-2\": the end is not after the start" },
	{ "1-2,3-3", "--mute item 2 \"3-3\": the end is not after the start" },
	{ "-3", "--mute item 1 \"-3\": no time given" },
	{ "3-", "--mute item 1 \"3-\": no time given" },
	{ "1--3", "--mute item 1 \"1--3\": not a number of seconds (like 4 "
		  "or 1.5)" },
	{ "a-3", "--mute item 1 \"a-3\": not a number of seconds (like 4 or "
		 "1.5)" },
	{ "1-2-3", "--mute item 1 \"1-2-3\": not a number of seconds (like "
		   "4 or 1.5)" },
	{ "1-2000000", "--mute item 1 \"1-2000000\": over 1000000 seconds" },
};

static void test_schedule_mute_bad_items_named(void **state)
{
	(void)state;
	check_bad(cli_schedule_add_mute, bad_mute,
		  sizeof bad_mute / sizeof bad_mute[0]);
}

static void test_schedule_mute_repeated_option_merges(void **state)
{
	struct cli_schedule s;

	(void)state;
	cli_schedule_init(&s);
	assert_int_equal(cli_schedule_add_mute(&s, "1-2,8-9", NULL, 0), 0);
	assert_int_equal(cli_schedule_add_mute(&s, "1.5-3,5-6", NULL, 0), 0);
	assert_int_equal(s.n_mute, 3);
	assert_int_equal(s.mute[0].start_ms, 1000);
	assert_int_equal(s.mute[0].end_ms, 3000);
	assert_int_equal(s.mute[1].start_ms, 5000);
	assert_int_equal(s.mute[2].start_ms, 8000);
	cli_schedule_cleanup(&s);
}

/* ---- --hangup-after ---- */

static void test_schedule_hangup_after(void **state)
{
	struct cli_schedule s;
	char err[256];

	(void)state;
	cli_schedule_init(&s);
	assert_int_equal(s.hangup_ms, CLI_SCHEDULE_NEVER);
	assert_false(cli_schedule_hangup_due(&s, INT64_MAX - 1));
	assert_int_equal(cli_schedule_set_hangup(&s, "12.5", err, sizeof err),
			 0);
	assert_int_equal(s.hangup_ms, 12500);
	assert_int_equal(cli_schedule_set_hangup(&s, "3", err, sizeof err), 0);
	assert_int_equal(s.hangup_ms, 3000);
	assert_int_equal(cli_schedule_set_hangup(&s, "soon", err, sizeof err),
			 WV_ERR_INVALID);
	assert_string_equal(err, "--hangup-after \"soon\": not a number of "
				 "seconds (like 4 or 1.5)");
	assert_int_equal(s.hangup_ms, 3000);
	assert_false(cli_schedule_hangup_due(&s, 2999));
	assert_true(cli_schedule_hangup_due(&s, 3000));
	assert_true(cli_schedule_hangup_due(&s, 3001));
	cli_schedule_cleanup(&s);
}

/* ---- The evaluator along a call ---- */

static void test_schedule_due_digits_come_once(void **state)
{
	struct cli_schedule s;
	char d[8];

	(void)state;
	cli_schedule_init(&s);
	assert_int_equal(cli_schedule_add_dtmf(&s, "5@1.5,#@4,1@4", NULL, 0),
			 0);
	assert_int_equal(cli_schedule_due_dtmf(&s, 0, d, sizeof d), 0);
	assert_int_equal(cli_schedule_due_dtmf(&s, 1499, d, sizeof d), 0);
	assert_int_equal(cli_schedule_due_dtmf(&s, 1500, d, sizeof d), 1);
	assert_int_equal(d[0], '5');
	assert_int_equal(cli_schedule_due_dtmf(&s, 1520, d, sizeof d), 0);
	/* Late: both at once, in order. */
	assert_int_equal(cli_schedule_due_dtmf(&s, 9000, d, sizeof d), 2);
	assert_memory_equal(d, "#1", 2);
	assert_int_equal(cli_schedule_due_dtmf(&s, 9999, d, sizeof d), 0);
	cli_schedule_cleanup(&s);
}

static void test_schedule_due_digits_wait_for_room(void **state)
{
	struct cli_schedule s;
	char d[2];

	(void)state;
	cli_schedule_init(&s);
	assert_int_equal(cli_schedule_add_dtmf(&s, "1@1,2@1,3@1", NULL, 0), 0);
	assert_int_equal(cli_schedule_due_dtmf(&s, 1000, d, 2), 2);
	assert_memory_equal(d, "12", 2);
	assert_int_equal(cli_schedule_due_dtmf(&s, 1000, d, 2), 1);
	assert_int_equal(d[0], '3');
	assert_int_equal(cli_schedule_due_dtmf(&s, 1000, d, 0), 0);
	cli_schedule_cleanup(&s);
}

struct muted_case {
	int64_t t;
	bool muted;
	int64_t next;
};

/* --mute "2-3.5,6-7" --dtmf "5@1.5" --hangup-after 10 */
static const struct muted_case timeline[] = {
	{ 0, false, 1500 },     { 1500, false, 2000 }, { 1999, false, 2000 },
	{ 2000, true, 3500 },	{ 3499, true, 3500 },  { 3500, false, 6000 },
	{ 6500, true, 7000 },	{ 7000, false, 10000 }, { 10000, false,
							  CLI_SCHEDULE_NEVER },
};

static void test_schedule_mute_and_next_along_a_call(void **state)
{
	struct cli_schedule s;
	char d[4];

	(void)state;
	cli_schedule_init(&s);
	assert_int_equal(cli_schedule_add_mute(&s, "2-3.5,6-7", NULL, 0), 0);
	assert_int_equal(cli_schedule_add_dtmf(&s, "5@1.5", NULL, 0), 0);
	assert_int_equal(cli_schedule_set_hangup(&s, "10", NULL, 0), 0);
	for (size_t i = 0; i < sizeof timeline / sizeof timeline[0]; i++) {
		print_message("t=%lld\n", (long long)timeline[i].t);
		assert_int_equal(cli_schedule_muted(&s, timeline[i].t),
				 timeline[i].muted);
		/* The digit at 1.5 s is due from then until handed out. */
		if (timeline[i].t == 1500)
			assert_int_equal(cli_schedule_next_ms(&s, 1500), 1500);
		cli_schedule_due_dtmf(&s, timeline[i].t, d, sizeof d);
		assert_int_equal(cli_schedule_next_ms(&s, timeline[i].t),
				 timeline[i].next);
	}
	cli_schedule_cleanup(&s);
}

static void test_schedule_empty_has_nothing_due(void **state)
{
	struct cli_schedule s;
	char d[4];

	(void)state;
	cli_schedule_init(&s);
	assert_false(cli_schedule_muted(&s, 0));
	assert_int_equal(cli_schedule_due_dtmf(&s, INT64_MAX, d, sizeof d), 0);
	assert_int_equal(cli_schedule_next_ms(&s, 0), CLI_SCHEDULE_NEVER);
	cli_schedule_cleanup(&s);
	/* Cleanup leaves it ready for use again. */
	assert_int_equal(s.n_dtmf, 0);
	assert_int_equal(s.hangup_ms, CLI_SCHEDULE_NEVER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schedule_seconds_are_plain_decimals),
		cmocka_unit_test(test_schedule_seconds_stop_at_the_given_length),
		cmocka_unit_test(test_schedule_dtmf_sorted_by_time),
		cmocka_unit_test(test_schedule_dtmf_bad_items_named),
		cmocka_unit_test(test_schedule_dtmf_long_item_quoted_short),
		cmocka_unit_test(test_schedule_dtmf_repeated_option_adds),
		cmocka_unit_test(test_schedule_mute_windows_sorted_and_merged),
		cmocka_unit_test(test_schedule_mute_bad_items_named),
		cmocka_unit_test(test_schedule_mute_repeated_option_merges),
		cmocka_unit_test(test_schedule_hangup_after),
		cmocka_unit_test(test_schedule_due_digits_come_once),
		cmocka_unit_test(test_schedule_due_digits_wait_for_room),
		cmocka_unit_test(test_schedule_mute_and_next_along_a_call),
		cmocka_unit_test(test_schedule_empty_has_nothing_due),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
