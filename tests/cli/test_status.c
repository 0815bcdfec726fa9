/* The status line fits the terminal: the most important fields that fit,
   in their order, never up to the last column. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "status.h"

static const struct cli_status call = {
	.state = "connected",
	.mmss = "01:07",
	.id = "3f2a9c1e-5b7d-4e0a-9c1e-5b7d4e0a9c1e",
	.muted = true,
	.digit = '5',
	.in_db = -31.2,
	.out_db = -18.0,
	.underruns = 2,
};

static const char *at(unsigned width, const struct cli_status *st)
{
	static char line[256];
	size_t n = cli_status_format(line, sizeof line, width, st);

	assert_int_equal(n, strlen(line));
	assert_true(n < width || width == 0);
	return line;
}

static void test_a_wide_terminal_shows_everything(void **state)
{
	(void)state;
	assert_string_equal(at(120, &call),
			    "connected 01:07 id 3f2a9c1e MUTED dtmf 5 "
			    "in  -31 dB out  -18 dB underruns 2");
}

static void test_a_narrow_terminal_keeps_what_matters_most(void **state)
{
	(void)state;
	/* The id goes first, then underruns, then the levels. */
	assert_string_equal(at(72, &call),
			    "connected 01:07 MUTED dtmf 5 in  -31 dB out  -18 dB "
			    "underruns 2");
	assert_string_equal(at(50, &call),
			    "connected 01:07 MUTED dtmf 5 in  -31 dB");
	assert_string_equal(at(30, &call), "connected 01:07 MUTED dtmf 5");
	assert_string_equal(at(16, &call), "connected 01:07");
	assert_string_equal(at(12, &call), "connected");
	assert_string_equal(at(6, &call), "conne");
	assert_string_equal(at(1, &call), "");
	assert_string_equal(at(0, &call), "");
}

static void test_no_digit_no_mute_no_id(void **state)
{
	struct cli_status st = call;

	(void)state;
	st.muted = false;
	st.digit = 0;
	st.id = NULL;
	assert_string_equal(at(120, &st),
			    "connected 01:07 id - in  -31 dB out  -18 dB "
			    "underruns 2");
	/* What has gone frees its room for the next field. */
	assert_string_equal(at(30, &st), "connected 01:07 in  -31 dB");
}

/* The playout's delay, where the call gives it, is the least of all. */
static void test_the_playout_delay_is_the_least_important(void **state)
{
	struct cli_status st = call;

	(void)state;
	st.playout = true;
	st.delay_ms = 60;
	assert_string_equal(at(120, &st),
			    "connected 01:07 id 3f2a9c1e MUTED dtmf 5 "
			    "in  -31 dB out  -18 dB underruns 2 delay 60 ms");
	assert_string_equal(at(80, &st),
			    "connected 01:07 id 3f2a9c1e MUTED dtmf 5 "
			    "in  -31 dB out  -18 dB underruns 2");
}

static void test_a_small_buffer_is_never_overrun(void **state)
{
	char line[8];

	(void)state;
	assert_int_equal(cli_status_format(line, sizeof line, 120, &call), 7);
	assert_int_equal(strlen(line), 7);
	assert_int_equal(cli_status_format(line, 0, 120, &call), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_wide_terminal_shows_everything),
		cmocka_unit_test(test_a_narrow_terminal_keeps_what_matters_most),
		cmocka_unit_test(test_no_digit_no_mute_no_id),
		cmocka_unit_test(test_the_playout_delay_is_the_least_important),
		cmocka_unit_test(test_a_small_buffer_is_never_overrun),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
