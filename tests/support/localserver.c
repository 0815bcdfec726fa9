/* The local agent server in-process: see localserver.h. */
#include "localserver.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "server.h"

static void *serve(void *arg)
{
	wvs_server_run(arg);
	return NULL;
}

void local_server_config(struct wvs_server_config *cfg,
			 const char *const *keys)
{
	wvs_server_config_default(cfg);
	cfg->port = 0;
	cfg->api_keys = keys;
	cfg->n_api_keys = 1;
	cfg->silent = 1;
}

void local_server_start(struct local_server *s, const char *api_key,
			const char *cert, const char *key, unsigned max_calls)
{
	const char *keys[] = { api_key };
	struct wvs_server_config cfg;
	char err[256] = "";

	local_server_config(&cfg, keys);
	cfg.tls_cert = cert;
	cfg.tls_key = key;
	if (max_calls)
		cfg.max_calls = max_calls;
	if (wvs_server_create(&s->srv, &cfg, err, sizeof err) != 0)
		fail_msg("local server: %s", err);
	s->port = wvs_server_port(s->srv);
	snprintf(s->url, sizeof s->url, "%s", wvs_server_url(s->srv));
	if (pthread_create(&s->thread, NULL, serve, s->srv) != 0)
		fail_msg("local server: no thread");
}

void local_server_stop(struct local_server *s)
{
	if (!s->srv)
		return;
	wvs_server_stop(s->srv);
	pthread_join(s->thread, NULL);
	wvs_server_destroy(s->srv);
	s->srv = NULL;
}
