/*
 * Failure injection through the client (nghttp2's failmalloc): the i-th
 * allocation of libwvoice's (and jansson's, on the call's thread) fails,
 * for every i, while a loop and a call are made, the call connects to the
 * local agent server (in-process, on a thread whose allocations do not
 * fail), is hung up and everything is destroyed. Each run ends cleanly:
 * nothing crashes, nothing allocated is left over, and a run that does
 * not go as ever says WV_ERR_NOMEM (returned, or as the error that ended
 * the call), never some other error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <wvoice/wvoice.h>

#include "failalloc.h"
#include "localserver.h"

#define KEY "failmalloc-key"
#define SAFETY_MS 20000

static struct local_server ls;

static int group_setup(void **state)
{
	(void)state;
	local_server_start(&ls, KEY, NULL, NULL, 0);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	local_server_stop(&ls);
	return 0;
}

static bool nomem_reported;
static char outcome[300]; /* how the last call went, for a failure */

static void on_error(void *user, int code, const char *detail)
{
	(void)user;
	(void)detail;
	nomem_reported |= code == WV_ERR_NOMEM;
}

/* Runs the loop until the call's status is at least `until`. */
static void run_until(struct wv_loop *loop, struct wv_client *c,
		      enum wv_status until)
{
	for (int t = 0; t < SAFETY_MS && wv_client_status(c) < until; t += 20)
		if (wv_loop_run(loop, 20) == 0)
			break;
}

/* One call: the loop, the call, connected, hung up, all destroyed.
   Returns WV_ERR_NOMEM if a function returned it or the call ended with
   it, a negative WV_ERR_* for any other failure, 0 for a call that went
   as ever (the silent agent: confirmed, hung up, closed 1000). */
static int one_call(const char *url)
{
	struct wv_client_config cfg;
	struct wv_loop *loop;
	struct wv_client *c = NULL;
	const char *reason;
	int rc;

	nomem_reported = false;
	outcome[0] = '\0';
	rc = wv_loop_create(&loop);
	if (rc < 0)
		return rc;
	wv_client_config_default(&cfg);
	cfg.url = url;
	cfg.api_key = KEY;
	cfg.agent_id = "silent";
	cfg.cb.error = on_error;
	rc = wv_client_create(&c, loop, &cfg);
	if (rc == 0)
		rc = wv_client_connect(c);
	if (rc == 0) {
		run_until(loop, c, WV_STATUS_CONNECTED);
		if (wv_client_status(c) == WV_STATUS_CONNECTED)
			rc = wv_client_hangup(c);
		if (rc == 0 && wv_loop_run(loop, SAFETY_MS) != 0)
			rc = WV_ERR_TIMEOUT;
		if (rc == 0)
			rc = wv_client_error(c);
		if (rc == 0 && (wv_client_end_reason(c) != WV_END_HANGUP ||
				wv_client_close_code(c, &reason) != 1000))
			rc = WV_ERR_STATE;
	}
	if (c) {
		snprintf(outcome, sizeof outcome, "%s, ended %s, close %d, %s",
			 wv_status_name(wv_client_status(c)),
			 wv_end_reason_name(wv_client_end_reason(c)),
			 wv_client_close_code(c, &reason),
			 wv_client_last_error(c));
		wv_client_destroy(c);
	}
	wv_loop_destroy(loop);
	return nomem_reported && rc == 0 ? WV_ERR_NOMEM : rc;
}

static int run(void *url)
{
	return one_call(url);
}

static const char *judge(int rc, void *arg)
{
	static char why[400];

	(void)arg;
	if (rc == 0 || rc == WV_ERR_NOMEM)
		return NULL;
	snprintf(why, sizeof why, "the call said %s (%s)", wv_error_name(rc),
		 outcome);
	return why;
}

static void test_failmalloc_client_every_allocation_fails_cleanly(void **state)
{
	(void)state;
	assert_true(failalloc_each(run, ls.url, judge) > 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failmalloc_client_every_allocation_fails_cleanly),
	};

	failalloc_install();
	wv_log_lws(WV_LOG_ERR, NULL, NULL);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
