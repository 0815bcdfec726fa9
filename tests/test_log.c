/*
 * libwebsockets' log is the process's, not libwvoice's: a loop and its
 * calls leave an application's own settings alone, and wv_log_lws() routes
 * lws's lines where the application says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <libwebsockets.h>

#include <wvoice/wvoice.h>

struct heard {
	int lines, level;
	char last[256];
};

static struct heard app; /* what the application's own emitter got */

static void app_emit(int level, const char *line)
{
	app.lines++;
	app.level = level;
	snprintf(app.last, sizeof app.last, "%s", line);
}

static void route_to(void *user, int level, const char *line)
{
	struct heard *h = user;

	h->lines++;
	h->level = level;
	snprintf(h->last, sizeof h->last, "%s", line);
}

/* A call that fails to connect: lws works and logs through all of it. */
static void refused_call(void)
{
	struct wv_client_config cfg;
	struct wv_loop *loop;
	struct wv_client *c;

	wv_client_config_default(&cfg);
	cfg.url = "ws://127.0.0.1:1";
	cfg.api_key = "k";
	cfg.agent_id = "echo";
	assert_int_equal(wv_loop_create(&loop), 0);
	assert_int_equal(wv_client_create(&c, loop, &cfg), 0);
	assert_int_equal(wv_client_connect(c), 0);
	assert_int_equal(wv_loop_run(loop, 10000), 0);
	wv_client_destroy(c);
	wv_loop_destroy(loop);
}

static void test_log_a_call_leaves_the_applications_lws_log_alone(void **state)
{
	const int mine = LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO;

	(void)state;
	lws_set_log_level(mine, app_emit);
	refused_call();
	/* Its level and its emitter are still the application's. */
	assert_true(lwsl_visible(LLL_INFO));
	memset(&app, 0, sizeof app);
	_lws_log(LLL_NOTICE, "the application's own line\n");
	assert_int_equal(app.lines, 1);
	assert_int_equal(app.level, LLL_NOTICE);
}

static void test_log_routes_lws_lines_without_their_newline(void **state)
{
	struct heard h = { 0 };

	(void)state;
	assert_int_equal(wv_log_lws(WV_LOG_ERR | WV_LOG_WARN, route_to, &h), 0);
	_lws_log(LLL_ERR, "boom %d\n", 7);
	assert_int_equal(h.lines, 1);
	assert_int_equal(h.level, WV_LOG_ERR);
	assert_string_equal(h.last, "boom 7");
	/* Levels not asked for are not delivered. */
	_lws_log(LLL_NOTICE, "quiet\n");
	assert_int_equal(h.lines, 1);
	assert_false(lwsl_visible(LLL_NOTICE));
}

/* lws's INFO and lower levels can print the offered key. */
static void test_log_refuses_the_levels_that_print_keys(void **state)
{
	struct heard h = { 0 };

	(void)state;
	assert_int_equal(wv_log_lws(WV_LOG_ERR, route_to, &h), 0);
	assert_int_equal(wv_log_lws(WV_LOG_ERR | LLL_INFO, NULL, NULL),
			 WV_ERR_INVALID);
	assert_int_equal(wv_log_lws(LLL_PARSER, NULL, NULL), WV_ERR_INVALID);
	/* Nothing changed. */
	assert_false(lwsl_visible(LLL_INFO));
	_lws_log(LLL_ERR, "still routed\n");
	assert_string_equal(h.last, "still routed");
	assert_int_equal(wv_log_lws(0, NULL, NULL), 0);
	assert_false(lwsl_visible(LLL_ERR));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_a_call_leaves_the_applications_lws_log_alone),
		cmocka_unit_test(test_log_routes_lws_lines_without_their_newline),
		cmocka_unit_test(test_log_refuses_the_levels_that_print_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
