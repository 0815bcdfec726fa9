/*
 * `wvoice serve`: the local agent server. It speaks the server side of the
 * call protocol over libwebsockets, with built-in agents (demo, echo,
 * silent) and scripted ones, optional recordings, and the handshake checks
 * of the real service (path, key, agent, capacity). Plain HTTP on the same
 * port answers GET /healthz with the counts of wvs_server_stats as JSON,
 * without a key, and serves the browser client's files (web_dirs).
 * Server-internal, used by the command-line tool and, in-process, by
 * `wvoice call` and `wvoice demo`.
 *
 * Thread: wvs_server_run() is the network loop and owns everything; only
 * wvs_server_stop() may be called from another thread. For a signal, see
 * wvs_server_stop_on_signal().
 */
#ifndef WVS_SERVER_H
#define WVS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#define WVS_DEFAULT_HOST "127.0.0.1"
#define WVS_DEFAULT_PORT 8765
#define WVS_DEFAULT_MAX_CALLS 1000
#define WVS_KEY_MAX 512 /* longest API key accepted */
/* Longest key a client can offer as `apikey, KEY`: libwebsockets 4.1.6 reads
   Sec-WebSocket-Protocol into a 128-byte buffer. Longer keys work as
   X-API-Key only. */
#define WVS_SUBPROTOCOL_KEY_MAX 118

struct wvs_script_arg {
	const char *name; /* the agent_id that runs it */
	const char *path;
};

struct wvs_server_config {
	const char *host;	/* address to listen on */
	int port;		/* 0: any free port */
	const char *tls_cert;	/* both set: wss:// */
	const char *tls_key;
	const char *const *api_keys; /* none: one is generated */
	size_t n_api_keys;
	const char *const *origins; /* allowed browser origins; "*" any */
	size_t n_origins;
	const struct wvs_script_arg *scripts;
	size_t n_scripts;
	const char *record_dir; /* NULL: no recordings */
	/* The browser client's folders, served at / over plain HTTP on the
	   call port, first folder with the file wins; none: no files. A
	   folder missing is a start error, unless web_optional (the defaults
	   a program guessed): then it is skipped, with a line in the log. */
	const char *const *web_dirs;
	size_t n_web_dirs;
	int web_optional;
	unsigned max_calls;
	unsigned lead_ms;	/* agent audio sent this far ahead: 60 */
	/* After `start`, a call whose client sends no audio message (it
	   sends 50 a second) or answers no ping (one every half of it) for
	   this long is closed with 1008: 10000. */
	unsigned idle_timeout_ms;
	const char *voice;	/* espeak-ng voice: "en-us" */
	int verbose;		/* log every event but audio */
	int quiet;		/* log refusals and problems only */
	int silent;		/* log nothing: a server inside another program */
};

/* Why the server refused a handshake, in the order it checks: each with
   its name in GET /healthz, its HTTP status and the status's phrase. One
   table, so the names and the statuses cannot drift apart. */
#define WVS_REFUSALS(X)                                                      \
	X(SHUTTING_DOWN, "shutting_down", 503, "Service Unavailable")        \
	X(WRONG_PATH, "wrong_path", 404, "Not Found")                        \
	X(ORIGIN, "origin_not_allowed", 403, "Forbidden")                    \
	X(UNAUTHORIZED, "unauthorized", 401, "Unauthorized")                 \
	X(UNKNOWN_AGENT, "unknown_agent", 404, "Not Found")                  \
	X(AT_CAPACITY, "at_capacity", 503, "Service Unavailable")

enum wvs_refusal {
#define WVS_REFUSAL_ENUM(id, name, status, phrase) WVS_REFUSED_##id,
	WVS_REFUSALS(WVS_REFUSAL_ENUM)
#undef WVS_REFUSAL_ENUM
	WVS_REFUSAL_COUNT
};

/* "unauthorized", ...; NULL past the table. Thread: any. */
const char *wvs_refusal_name(enum wvs_refusal r);

struct wvs_server_stats {
	uint64_t calls, refused, active;
	uint64_t refused_by[WVS_REFUSAL_COUNT]; /* refused, by reason */
	uint64_t frames_in, frames_out, late_frames;
	int64_t max_send_delay_us;
};

struct wvs_server;

void wvs_server_config_default(struct wvs_server_config *cfg);

/*
 * Loads the agents (renders speech, reads scripts), then binds and listens.
 * Returns 0, or a negative WV_ERR_* with a message in err: for a script
 * with problems, one line each (see wvs_script_load(); err cuts them
 * short where it is full). WV_ERR_STATE if
 * libwebsockets logs notices (it would print a refused key there): the
 * program sets wv_log_lws() to errors and warnings at most first.
 */
int wvs_server_create(struct wvs_server **out,
		      const struct wvs_server_config *cfg, char *err,
		      size_t errlen);

/* The port it listens on, and its URL ("ws://127.0.0.1:8765"). */
int wvs_server_port(const struct wvs_server *srv);
const char *wvs_server_url(const struct wvs_server *srv);
/* The key generated when none was configured, else NULL. */
const char *wvs_server_generated_key(const struct wvs_server *srv);
/* The browser client's address ("http://127.0.0.1:8765/", https with
   TLS; a loopback address for a server listening on all of them), or
   NULL when no web folder is served. */
const char *wvs_server_page_url(const struct wvs_server *srv);

/* Serves until wvs_server_stop(); then ends the calls with `stop`, waits
   up to two seconds for them to close and flushes the recordings. */
int wvs_server_run(struct wvs_server *srv);

/* A wv_log_fn for lws's lines, in the server's log (with its time). */
void wvs_log_lws_line(void *user, int level, const char *line);

/* Asks the loop to stop. Thread: any but a signal handler's (it wakes
   libwebsockets, which is not async-signal-safe). */
void wvs_server_stop(struct wvs_server *srv);

/* The loop stops on signum (SIGINT, SIGTERM) as on wvs_server_stop():
   libev catches the signal and the stop runs on the loop's thread, so no
   library code runs in a signal handler. At most WVS_STOP_SIGNALS, one
   server per signal. WV_ERR_FULL past that. Before wvs_server_run(), on
   its thread. */
#define WVS_STOP_SIGNALS 4
int wvs_server_stop_on_signal(struct wvs_server *srv, int signum);

void wvs_server_get_stats(const struct wvs_server *srv,
			  struct wvs_server_stats *out);
void wvs_server_destroy(struct wvs_server *srv);

#endif
