/*
 * The local agent server (wvoice serve's own code) in-process, on a thread
 * of its own, for the tests that place calls to it. It listens on
 * 127.0.0.1, on a free port, and logs nothing.
 */
#ifndef WV_TESTS_LOCALSERVER_H
#define WV_TESTS_LOCALSERVER_H

#include <pthread.h>

struct wvs_server_config;

struct local_server {
	struct wvs_server *srv;
	pthread_t thread;
	char url[160]; /* ws://127.0.0.1:PORT (wss:// with a certificate) */
	int port;
};

/* The configuration it starts with: *keys (one key, which must outlive
   wvs_server_create()) as its API key, port 0, silent. */
void local_server_config(struct wvs_server_config *cfg,
			 const char *const *keys);
/* Starts one that takes api_key; cert and key (both or neither, PEM
   files) make it wss://; max_calls 0 is the server's default. Fails the
   test if it cannot. */
void local_server_start(struct local_server *s, const char *api_key,
			const char *cert, const char *key, unsigned max_calls);
/* Stops it and waits for its thread; a server not started is a no-op. */
void local_server_stop(struct local_server *s);

#endif
