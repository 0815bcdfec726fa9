/*
 * The server as a program embeds it: stopping it on a signal without any
 * library code in a signal handler.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libwebsockets.h>

#include <wvoice/wvoice.h>

#include "localserver.h"
#include "server.h"

static void *serve(void *arg)
{
	wvs_server_run(arg);
	return NULL;
}

static struct wvs_server *quiet_server(void)
{
	static const char *const keys[] = { "k" };
	struct wvs_server_config cfg;
	struct wvs_server *srv;
	char err[256] = "";

	local_server_config(&cfg, keys);
	if (wvs_server_create(&srv, &cfg, err, sizeof err) != 0)
		fail_msg("server: %s", err);
	return srv;
}

/* The loop catches the signal and stops from its own thread: run()
   returns, whichever thread the kernel gave the signal to. */
static void test_server_stops_on_a_watched_signal(void **state)
{
	struct wvs_server *srv = quiet_server();
	pthread_t thread;

	(void)state;
	assert_int_equal(wvs_server_stop_on_signal(srv, SIGUSR1), 0);
	assert_int_equal(wvs_server_stop_on_signal(srv, SIGUSR2), 0);
	assert_int_equal(pthread_create(&thread, NULL, serve, srv), 0);
	assert_int_equal(kill(getpid(), SIGUSR2), 0);
	assert_int_equal(pthread_join(thread, NULL), 0);
	wvs_server_destroy(srv);
}

static void test_server_watches_a_bounded_number_of_signals(void **state)
{
	static const int sigs[] = { SIGUSR1, SIGUSR2, SIGHUP, SIGALRM };
	struct wvs_server *srv = quiet_server();

	(void)state;
	for (size_t i = 0; i < WVS_STOP_SIGNALS; i++)
		assert_int_equal(wvs_server_stop_on_signal(srv, sigs[i]), 0);
	assert_int_equal(wvs_server_stop_on_signal(srv, SIGINT), WV_ERR_FULL);
	wvs_server_destroy(srv);
}

/* lws prints a refused subprotocol, the offered key, as a notice. */
static void test_server_refuses_to_start_while_lws_logs_notices(void **state)
{
	static const char *const keys[] = { "k" };
	struct wvs_server_config cfg;
	struct wvs_server *srv;
	char err[256] = "";

	(void)state;
	local_server_config(&cfg, keys);
	wv_log_lws(WV_LOG_ERR | WV_LOG_WARN | WV_LOG_NOTICE, NULL, NULL);
	assert_int_equal(wvs_server_create(&srv, &cfg, err, sizeof err),
			 WV_ERR_STATE);
	assert_null(srv);
	assert_non_null(strstr(err, "API key"));
	wv_log_lws(WV_LOG_ERR, NULL, NULL);
}

/* The server leaves the process's lws log as the program set it. */
static void test_server_leaves_the_lws_log_alone(void **state)
{
	struct wvs_server *srv;

	(void)state;
	wv_log_lws(WV_LOG_ERR | WV_LOG_WARN, NULL, NULL);
	srv = quiet_server();
	assert_true(lwsl_visible(LLL_WARN));
	wvs_server_destroy(srv);
	assert_true(lwsl_visible(LLL_WARN));
	wv_log_lws(WV_LOG_ERR, NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_stops_on_a_watched_signal),
		cmocka_unit_test(test_server_watches_a_bounded_number_of_signals),
		cmocka_unit_test(test_server_refuses_to_start_while_lws_logs_notices),
		cmocka_unit_test(test_server_leaves_the_lws_log_alone),
	};

	wv_log_lws(WV_LOG_ERR, NULL, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
