/* --playout with --prebuffer-ms: which policy each combination means, and
   the one that is a usage error; the playout's figures as the summary and
   the event log give them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "playoutopt.h"

struct flags_case {
	const char *playout;	/* --playout's argument, or NULL: not given */
	bool prebuffer;		/* --prebuffer-ms given */
	int rc;			/* of cli_playout_resolve() */
	enum wv_playout_policy policy;
};

static const struct flags_case flags_cases[] = {
	{ NULL, false, 0, CLI_PLAYOUT_DEFAULT },
	{ NULL, true, 0, WV_PLAYOUT_FIXED }, /* as before 0.5 */
	{ "adaptive", false, 0, WV_PLAYOUT_ADAPTIVE },
	{ "fixed", false, 0, WV_PLAYOUT_FIXED },
	{ "fixed", true, 0, WV_PLAYOUT_FIXED },
	{ "adaptive", true, -1, WV_PLAYOUT_ADAPTIVE },
};

static void test_playoutopt_prebuffer_alone_means_fixed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof flags_cases / sizeof *flags_cases; i++) {
		const struct flags_case *c = &flags_cases[i];
		struct cli_playout p = { .policy = CLI_PLAYOUT_DEFAULT };

		if (c->playout)
			assert_int_equal(cli_playout_take(&p, c->playout), 0);
		p.prebuffer_given = c->prebuffer;
		if (cli_playout_resolve(&p) != c->rc || p.policy != c->policy)
			fail_msg("case %zu: rc %d policy %s", i,
				 cli_playout_resolve(&p),
				 cli_playout_name(p.policy));
	}
}

static void test_playoutopt_takes_two_words_only(void **state)
{
	static const char *const bad[] = { "", "Adaptive", "fixed ", "jitter",
					   "0" };
	struct cli_playout p = { .policy = WV_PLAYOUT_FIXED };

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(cli_playout_take(&p, bad[i]), -1);
	assert_false(p.given);
	assert_int_equal(p.policy, WV_PLAYOUT_FIXED);
	assert_string_equal(cli_playout_name(WV_PLAYOUT_ADAPTIVE), "adaptive");
	assert_string_equal(cli_playout_name(WV_PLAYOUT_FIXED), "fixed");
}

/* Samples at 8 kHz to the nearest millisecond: 8 a millisecond. */
static void test_playoutopt_samples_round_to_the_nearest_ms(void **state)
{
	(void)state;
	assert_int_equal(cli_samples_ms(0), 0);
	assert_int_equal(cli_samples_ms(3), 0);
	assert_int_equal(cli_samples_ms(4), 1);
	assert_int_equal(cli_samples_ms(160), 20);
	assert_int_equal(cli_samples_ms(8000 * 3600ull), 3600000);
}

static void test_playoutopt_json_members_in_order(void **state)
{
	const struct wv_playout_stats st = {
		.target_ms = 80,
		.delay_ms = 60,
		.jitter_ms = 7,
		.concealed_samples = 1600,
		.inserted_samples = 160,
		.dropped_samples = 323,
		.late_arrivals = 3,
	};
	json_t *o = cli_playout_json(WV_PLAYOUT_ADAPTIVE, &st);
	char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	(void)state;
	assert_string_equal(text,
			    "{\"playout\":\"adaptive\",\"playout_target_ms\":80,"
			    "\"playout_delay_ms\":60,\"jitter_ms\":7,"
			    "\"concealed_ms\":200,\"silence_inserted_ms\":20,"
			    "\"silence_dropped_ms\":40,\"late_arrivals\":3}");
	free(text);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_playoutopt_prebuffer_alone_means_fixed),
		cmocka_unit_test(test_playoutopt_takes_two_words_only),
		cmocka_unit_test(test_playoutopt_samples_round_to_the_nearest_ms),
		cmocka_unit_test(test_playoutopt_json_members_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
