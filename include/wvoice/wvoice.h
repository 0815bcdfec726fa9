/*
 * wvoice: real-time voice calls to a voice agent over its WebSocket.
 *
 * The client API, on top of the sans-I/O call core (<wvoice/call.h>): it
 * opens the WebSocket (ws:// or wss://, libwebsockets over OpenSSL),
 * authenticates, runs the call and moves the audio. Two ways to run it:
 *
 * - Embedded: the caller makes a wv_loop and drives it from one thread;
 *   any number of calls live on it, each with its own audio source and
 *   sink, which the loop clocks at real time (20 ms of source read, 20 ms
 *   of playout written to the sink, 50 times a second). This is what a
 *   load generator or a service wants. Everything about a loop and its
 *   calls happens on the thread that runs the loop.
 *
 * - Managed: wv_phone runs its own network thread (the browser guide's Web
 *   Worker) with one call on it; the controls (connect, hang up, DTMF,
 *   mute, status) are safe from any thread. Callbacks run on the network
 *   thread.
 *
 * A key never appears in an error message, a log line or an event.
 *
 * What the client holds a server to: with subprotocol auth the server must
 * select "apikey" (else WV_ERR_PROTOCOL); redirects are not followed (a
 * refusal); a message over WV_MESSAGE_MAX closes the call with 1009
 * (WV_ERR_TOO_LARGE); a binary frame is reported (WV_ERR_PROTOCOL) and
 * ignored; text that is not UTF-8 closes it (1007, WV_ERR_PROTOCOL). A
 * wss:// call checks the certificate and the host name against the system's
 * CA store, or against ca_file alone when given.
 *
 *	struct wv_client_config cfg;
 *	wv_client_config_default(&cfg);
 *	cfg.url = "ws://127.0.0.1:8765";
 *	cfg.api_key = key;
 *	cfg.agent_id = "echo";
 *	cfg.source = (struct wv_source){ 8000, read_mic, mic };
 *	cfg.sink = (struct wv_sink){ write_speaker, speaker };
 *	wv_loop_create(&loop);
 *	wv_client_create(&call, loop, &cfg);
 *	wv_client_connect(call);
 *	wv_loop_run(loop, -1);            // until the call has ended
 */
#ifndef WVOICE_WVOICE_H
#define WVOICE_WVOICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wvoice/call.h>
#include <wvoice/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How the API key is presented. */
enum wv_auth {
	WV_AUTH_SUBPROTOCOL, /* Sec-WebSocket-Protocol: apikey, KEY (default) */
	WV_AUTH_HEADER,	     /* X-API-Key: KEY */
};

/*
 * The caller's audio, pulled by the loop at real time. read() fills dst
 * with exactly n mono samples at `rate` (-1.0 to 1.0) and returns 0, or 1
 * once the source has ended (dst then holds silence, and it keeps being
 * called: silence flows while the call lasts). Runs on the loop's thread;
 * must not block.
 */
struct wv_source {
	unsigned rate;
	int (*read)(void *user, float *dst, size_t n);
	void *user;
};

/* The agent's audio as it is played: n samples at 8 kHz, silence included,
 * pushed at real time (so marks fire when the audio would be heard). */
struct wv_sink {
	void (*write)(void *user, const int16_t *pcm, size_t n);
	void *user;
};

struct wv_client_config {
	const char *url;	 /* base: "ws://host:port" or "wss://..." */
	const char *api_key;
	enum wv_auth auth;
	const char *agent_id;
	const char *from;	 /* NULL: none */
	const char *metadata;	 /* a JSON object as text, or NULL */
	bool synthetic;
	unsigned prebuffer_ms;	 /* 300, as the guide */
	const char *ca_file;	 /* PEM bundle for wss://; NULL: the system's */
	bool insecure;		 /* accept any certificate (tests only) */
	unsigned connect_timeout_ms; /* DNS, TCP, TLS and handshake: 10000
					(0: that; at most 60000) */
	unsigned ping_s;	 /* WebSocket ping this often: 20 (0: never);
				    no pong in ping_s + 10 s ends the call */
	struct wv_source source; /* read == NULL: silence at 8 kHz */
	struct wv_sink sink;	 /* write == NULL: audio is discarded */
	/* An audio device reads the playout buffer itself (wv_client_playout()
	   handed to wv_audio_open()): the loop then neither reads it nor
	   calls the sink, so the buffer has one reader on the device's clock. */
	bool device_playout;
	struct wv_call_callbacks cb; /* optional; run on the loop's thread */
	void *user;		 /* passed to every callback */
};

void wv_client_config_default(struct wv_client_config *cfg);

/* ---- embedded: a loop of calls, driven by the caller ---- */

struct wv_loop;
struct wv_client;

/* Returns 0, WV_ERR_NOMEM or WV_ERR_INTERNAL (no event loop). Every call
   is a socket, and libwebsockets sizes its tables from RLIMIT_NOFILE here:
   a program that makes many calls raises that limit first. */
int wv_loop_create(struct wv_loop **out);
/* Ends every call still on the loop (with a close), then frees it. The
   calls' handles stay valid (for their results) until wv_client_destroy(),
   which may come before or after this. Not from a callback. */
void wv_loop_destroy(struct wv_loop *loop);

/*
 * Runs the loop until every call on it has ended, or for timeout_ms
 * (-1: no limit; 0: what is ready now, without waiting). A call is going
 * while it is connecting or connected, or its socket is still closing.
 * Returns the number of calls still going, or a negative WV_ERR_*
 * (WV_ERR_STATE from a callback).
 */
int wv_loop_run(struct wv_loop *loop, int timeout_ms);

/*
 * Makes a call on the loop (not yet connected). cfg and the strings in it
 * are copied. Errors: WV_ERR_INVALID (no url, agent_id or key; a url that
 * is not ws:// or wss://; metadata that is not a JSON object), WV_ERR_RATE
 * (a source rate outside 8000-192000), WV_ERR_NOMEM.
 */
int wv_client_create(struct wv_client **out, struct wv_loop *loop,
		     const struct wv_client_config *cfg);
/*
 * Closes the call if it is still open (stop, then close 1000), frees it.
 * No callback of the call runs after this, and its source and sink are
 * never called again. May be called from any callback on the loop, this
 * call's own included (free the call when its status says disconnected):
 * the memory is then released once the callback has returned. NULL is a
 * no-op. Thread: the loop's.
 */
void wv_client_destroy(struct wv_client *c);

/* Starts connecting; the loop does the rest. WV_ERR_STATE if not idle. */
int wv_client_connect(struct wv_client *c);
/* Sends stop and closes (1000). WV_ERR_STATE if not connecting/connected. */
int wv_client_hangup(struct wv_client *c);
/* WV_ERR_DTMF for a digit outside 0-9 * #, WV_ERR_STATE if not connected. */
int wv_client_send_dtmf(struct wv_client *c, char digit);
/* Silence (0xFF frames) flows while muted. */
void wv_client_set_muted(struct wv_client *c, bool muted);

enum wv_status wv_client_status(const struct wv_client *c);
enum wv_end_reason wv_client_end_reason(const struct wv_client *c);
/* NULL until the server's start. */
const char *wv_client_communication_id(const struct wv_client *c);
/* Since the call was confirmed; 0 before. */
int64_t wv_client_elapsed_ms(const struct wv_client *c);
/* The last error, one line ("handshake refused: 401 Unauthorized"), or "". */
const char *wv_client_last_error(const struct wv_client *c);
/* The WV_ERR_* of the failure that ended the call, or 0. A refused
   handshake is WV_ERR_REFUSED, with its HTTP status from
   wv_client_http_status(). */
int wv_client_error(const struct wv_client *c);
int wv_client_http_status(const struct wv_client *c);
/* The close code and reason (either side), 0 if none. */
int wv_client_close_code(const struct wv_client *c, const char **reason);
void wv_client_stats(const struct wv_client *c, struct wv_call_stats *st);
/* The call's playout buffer, for an audio device's callback to read (its
   single consumer). Valid from create to destroy. */
struct wv_playout *wv_client_playout(struct wv_client *c);
/* Says, after create, whether a device reads the playout (as
   cfg.device_playout): for a device that could only be opened once the
   call existed. Before connect; loop thread. */
void wv_client_set_device_playout(struct wv_client *c, bool on);

/* ---- managed: one call on a network thread of its own ---- */

struct wv_phone;

/*
 * Makes the call and its thread. cfg as for wv_client_create(); the source
 * and sink are clocked on the network thread. Callbacks run there too.
 * Every wv_phone_* function is safe from any thread but the network thread
 * (that is: not from a callback), except wv_phone_destroy().
 */
int wv_phone_create(struct wv_phone **out, const struct wv_client_config *cfg);
/* Hangs up if needed, stops the thread, frees. Not from a callback. */
void wv_phone_destroy(struct wv_phone *p);

int wv_phone_connect(struct wv_phone *p);
int wv_phone_hangup(struct wv_phone *p);
int wv_phone_send_dtmf(struct wv_phone *p, char digit);
void wv_phone_set_muted(struct wv_phone *p, bool muted);
/* Waits until the call has ended or timeout_ms has passed (-1: no limit).
   Returns 1 if it has ended, 0 on timeout. */
int wv_phone_wait(struct wv_phone *p, int timeout_ms);

enum wv_status wv_phone_status(const struct wv_phone *p);
enum wv_end_reason wv_phone_end_reason(const struct wv_phone *p);
/* Copies the id into dst (cap bytes); returns its length, 0 before start. */
size_t wv_phone_communication_id(const struct wv_phone *p, char *dst,
				 size_t cap);
int64_t wv_phone_elapsed_ms(const struct wv_phone *p);
size_t wv_phone_last_error(const struct wv_phone *p, char *dst, size_t cap);
int wv_phone_error(const struct wv_phone *p);
int wv_phone_http_status(const struct wv_phone *p);
void wv_phone_stats(const struct wv_phone *p, struct wv_call_stats *st);

#ifdef __cplusplus
}
#endif
#endif
