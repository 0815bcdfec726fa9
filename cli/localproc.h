/*
 * The built-in agent server in a process of its own, for `wvoice load`
 * without --url: `wvoice serve` (this same binary) on a free loopback
 * port with a generated key, so that the server and the generator each
 * have a core rather than sharing one.
 */
#ifndef CLI_LOCALPROC_H
#define CLI_LOCALPROC_H

#include <stddef.h>
#include <sys/types.h>

struct cli_serve_child {
	pid_t pid;	/* 0: not running */
	int out;	/* its standard output */
	char url[64];	/* ws://127.0.0.1:PORT */
	char key[40];
	unsigned short port;
};

/* Starts it, taking up to max_calls at once, and waits until it listens.
   Returns 0, or -1 with the reason in err. */
int cli_serve_child_start(struct cli_serve_child *s, unsigned max_calls,
			  char *err, size_t errlen);
/* Reads and drops what it printed since (it must never block on a full
   pipe). */
void cli_serve_child_drain(struct cli_serve_child *s);
/* Its GET /healthz, the JSON body (malloc'd), or NULL. */
char *cli_serve_child_health(const struct cli_serve_child *s);
/* Stops it (SIGTERM: its calls end with stop) and waits for it; a zeroed
   or stopped one is fine. Its last words, the line that sums up what it
   served ("wvoice serve: 5 calls, 0 refused; agent frames ..."), go to
   summary (cap bytes; "" if none) when summary is not NULL. */
void cli_serve_child_stop(struct cli_serve_child *s, char *summary,
			  size_t cap);

#endif
