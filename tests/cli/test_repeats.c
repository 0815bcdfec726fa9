/* Repeated problems on standard error, summarised (issue 13, item 5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "repeats.h"

#define SEC 1000000

/* The count in a summary line. */
static unsigned long more_in(const char *line)
{
	unsigned long n = 0;

	assert_int_equal(sscanf(line, "... and %lu more like it", &n), 1);
	return n;
}

static void test_repeats_one_line_a_second_then_the_count(void **state)
{
	struct cli_repeats r = { 0 };
	char line[256];
	int said = 0;

	(void)state;
	for (int i = 0; i < 1000; i++)
		said += cli_repeats_take(&r, "bad frame from server: not JSON: "
					 "'[' or '{' expected near 'x'", i * 100);
	assert_int_equal(said, 1);
	/* Not due while the second lasts. */
	assert_false(cli_repeats_summary(&r, SEC - 1, false, line,
					 sizeof line));
	assert_true(cli_repeats_summary(&r, SEC, false, line, sizeof line));
	assert_string_equal(line, "... and 999 more like it in the last "
				  "second (bad frame from server: not JSON)");
	assert_false(cli_repeats_summary(&r, SEC, true, line, sizeof line));
	/* A new second: said again. */
	assert_true(cli_repeats_take(&r, "bad frame from server: not JSON: "
				     "end of file expected", SEC + 5));
}

/* Quoted text and numbers do not make another kind; other words do. */
static void test_repeats_kinds(void **state)
{
	struct cli_repeats r = { 0 };
	char line[256];

	(void)state;
	assert_true(cli_repeats_take(&r, "mark \"a\" before start", 0));
	assert_false(cli_repeats_take(&r, "mark \"b\\n\" before start", 1));
	assert_true(cli_repeats_take(&r, "dtmf from server ignored", 2));
	assert_true(cli_repeats_take(&r, "second start from server ignored",
				     3));
	assert_true(cli_repeats_take(&r, "bad frame from server: field "
				     "\"payload\": bad base64 at offset 3", 4));
	assert_false(cli_repeats_take(&r, "bad frame from server: field "
				      "\"payload\": bad base64 at offset 12",
				      5));
	assert_false(cli_repeats_take(&r, "dtmf from server ignored", 6));
	assert_true(cli_repeats_summary(&r, 7, true, line, sizeof line));
	assert_string_equal(line, "... and 1 more like it in the last second "
				  "(mark \"\" before start)");
	assert_true(cli_repeats_summary(&r, 7, true, line, sizeof line));
	assert_true(cli_repeats_summary(&r, 7, true, line, sizeof line));
	assert_false(cli_repeats_summary(&r, 7, true, line, sizeof line));
}

/* Past the kinds told apart, every other message shares one count: no
   stream of ever new words gets past it. */
static void test_repeats_many_kinds_are_still_bounded(void **state)
{
	struct cli_repeats r = { 0 };
	char msg[64], line[256];
	unsigned long said = 0, counted = 0;

	(void)state;
	for (int i = 0; i < 10000; i++) {
		snprintf(msg, sizeof msg, "problem %c%c", 'a' + i % 26,
			 'a' + i / 26 % 26);
		said += cli_repeats_take(&r, msg, i);
	}
	assert_true(said <= CLI_REPEAT_KINDS + 1);
	while (cli_repeats_summary(&r, 10000, true, line, sizeof line))
		counted += more_in(line);
	assert_int_equal(said + counted, 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repeats_one_line_a_second_then_the_count),
		cmocka_unit_test(test_repeats_kinds),
		cmocka_unit_test(test_repeats_many_kinds_are_still_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
