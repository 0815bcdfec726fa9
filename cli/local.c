/* The built-in agent server, in-process. See local.h. */
#include "local.h"

#include <stdio.h>

#include "server.h"

static void *serve_thread(void *arg)
{
	wvs_server_run(arg);
	return NULL;
}

int cli_local_start(struct cli_local *l, char *err, size_t errlen)
{
	struct wvs_server_config cfg;

	wvs_server_config_default(&cfg);
	cfg.port = 0;
	cfg.silent = true;
	if (wvs_server_create(&l->srv, &cfg, err, errlen) < 0)
		return -1;
	if (pthread_create(&l->thread, NULL, serve_thread, l->srv) != 0) {
		snprintf(err, errlen, "cannot start the local agent");
		wvs_server_destroy(l->srv);
		l->srv = NULL;
		return -1;
	}
	l->running = true;
	return 0;
}

const char *cli_local_url(const struct cli_local *l)
{
	return wvs_server_url(l->srv);
}

const char *cli_local_key(const struct cli_local *l)
{
	return wvs_server_generated_key(l->srv);
}

void cli_local_stop(struct cli_local *l)
{
	if (!l->running)
		return;
	wvs_server_stop(l->srv);
	pthread_join(l->thread, NULL);
	wvs_server_destroy(l->srv);
	l->running = false;
}
