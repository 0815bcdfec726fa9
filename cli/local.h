/*
 * The built-in agent server, run in-process on a thread of its own for
 * `wvoice call` without --url and for `wvoice demo`: a `wvoice serve` on a
 * free loopback port with a generated key, logging nothing (the call
 * reports what goes wrong from its side).
 */
#ifndef CLI_LOCAL_H
#define CLI_LOCAL_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct cli_local {
	struct wvs_server *srv;
	pthread_t thread;
	bool running;
};

/* Starts the server; returns 0, or -1 with the reason in err. */
int cli_local_start(struct cli_local *l, char *err, size_t errlen);
/* Its ws://127.0.0.1:PORT and the key it generated. */
const char *cli_local_url(const struct cli_local *l);
const char *cli_local_key(const struct cli_local *l);
/* Stops it (its calls end with a stop) and frees it; a zeroed or stopped
 * cli_local is fine. */
void cli_local_stop(struct cli_local *l);

#endif
