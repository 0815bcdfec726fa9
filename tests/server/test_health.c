/*
 * GET /healthz, the answer: the counts as one JSON object, and the
 * refusals' names. The request over a socket is tests/serve/test_ops.py's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <wvoice/error.h>

#include "health.h"

static void test_health_answer_is_the_documented_object(void **state)
{
	struct wvs_server_stats st = {
		.calls = 7, .refused = 9, .active = 1,
		.refused_by = {
			[WVS_REFUSED_SHUTTING_DOWN] = 1,
			[WVS_REFUSED_WRONG_PATH] = 2,
			[WVS_REFUSED_ORIGIN] = 3,
			[WVS_REFUSED_UNAUTHORIZED] = 4,
			[WVS_REFUSED_UNKNOWN_AGENT] = 5,
			[WVS_REFUSED_AT_CAPACITY] = 6,
		},
	};
	char *body = NULL;

	(void)state;
	assert_int_equal(wvs_health_answer(&st, 0, &body), 200);
	assert_string_equal(body,
			    "{\"status\":\"ok\",\"calls_up\":1,\"calls_total\":7,"
			    "\"refused\":{\"shutting_down\":1,\"wrong_path\":2,"
			    "\"origin_not_allowed\":3,\"unauthorized\":4,"
			    "\"unknown_agent\":5,\"at_capacity\":6}}");
	free(body);
}

/* A supervisor that only reads the status sees a server going away. */
static void test_health_answer_while_stopping_is_503(void **state)
{
	struct wvs_server_stats st = { .calls = 2, .active = 2 };
	char *body = NULL;

	(void)state;
	assert_int_equal(wvs_health_answer(&st, 1, &body), 503);
	assert_non_null(strstr(body, "{\"status\":\"stopping\",\"calls_up\":2,"));
	free(body);
}

/* Counts past 2^32 stay exact (a long-lived server). */
static void test_health_answer_keeps_large_counts(void **state)
{
	struct wvs_server_stats st = { .calls = 5000000000ULL };
	char *body = NULL;

	(void)state;
	assert_int_equal(wvs_health_answer(&st, 0, &body), 200);
	assert_non_null(strstr(body, "\"calls_total\":5000000000,"));
	free(body);
}

static void test_refusal_names_are_unique_and_bounded(void **state)
{
	(void)state;
	for (int i = 0; i < WVS_REFUSAL_COUNT; i++) {
		const char *name = wvs_refusal_name((enum wvs_refusal)i);

		assert_non_null(name);
		assert_true(strspn(name, "abcdefghijklmnopqrstuvwxyz_") ==
			    strlen(name));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(
				name, wvs_refusal_name((enum wvs_refusal)j));
	}
	assert_null(wvs_refusal_name(WVS_REFUSAL_COUNT));
	assert_null(wvs_refusal_name((enum wvs_refusal)-1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health_answer_is_the_documented_object),
		cmocka_unit_test(test_health_answer_while_stopping_is_503),
		cmocka_unit_test(test_health_answer_keeps_large_counts),
		cmocka_unit_test(test_refusal_names_are_unique_and_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
