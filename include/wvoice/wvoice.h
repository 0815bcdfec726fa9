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
 *   calls happens on the thread that runs the loop, but for host names:
 *   a thread of the loop's looks them up (getaddrinfo() blocks), started
 *   with the first name that is not an address literal.
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
 * CA store, or against ca_file alone when given. A call that runs out of
 * memory on the way (an event or a mark it could not keep) ends with
 * WV_ERR_NOMEM and close 1011 rather than go on with the protocol broken.
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

#include <wvoice/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wvoice/call.h>
#include <wvoice/device.h>
#include <wvoice/error.h>
#include <wvoice/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How the API key is presented. */
enum wv_auth {
	WV_AUTH_SUBPROTOCOL, /* Sec-WebSocket-Protocol: apikey, KEY (default) */
	WV_AUTH_HEADER,	     /* X-API-Key: KEY */
};

/*
 * The caller's audio, pulled by the loop at real time: every 20 ms, n =
 * rate/50 samples (rates that 50 does not divide alternate, so that no
 * sample is gained or lost: at 11025 Hz, 220 and 221), never more than
 * rate/50 + 1. read() fills dst with exactly n mono samples (-1.0 to 1.0)
 * and returns 0, or 1 once the source has ended (dst then holds silence,
 * and it keeps being called: silence flows while the call lasts); a
 * negative return is read as silence. Runs on the loop's thread and must
 * not block: every call on the loop waits for it. Never called after
 * wv_client_destroy(). Never grows (see version.h).
 */
struct wv_source {
	unsigned rate;
	int (*read)(void *user, float *dst, size_t n);
	void *user;
};

/*
 * The agent's audio as it is played: every 20 ms, n = 160 samples at
 * 8 kHz, silence included, so marks are answered when the audio would be
 * heard (each answer is an outgoing mark event, see call.h). Runs on the
 * loop's thread and must not block: every call on the loop waits for it;
 * a slow file is better written from a thread of its own through a ring.
 * Not called while a speaker reads the playout (wv_client_open_audio()),
 * nor after wv_client_destroy(). Never grows (see version.h).
 */
struct wv_sink {
	void (*write)(void *user, const int16_t *pcm, size_t n);
	void *user;
};

/* Sized by the program's header: see "Structs and the ABI" in version.h. */
struct wv_client_config {
	size_t size;		 /* set by wv_client_config_default() */
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
	struct wv_sink sink;	 /* write == NULL: audio is discarded; a
				    speaker (wv_client_open_audio()) takes
				    its place */
	struct wv_call_callbacks cb; /* optional; run on the loop's thread */
	void *user;		 /* passed to every callback */
	/* Since 0.3: when the agent hangs up, play out at most this much of
	   what it said before ending (see "The agent's last words" in
	   call.h): 2000; 0: end at once. */
	unsigned last_words_ms;
	/* Since 0.4: each of the caller's audio frames as it is written to
	   the socket, with how late it went in microseconds against its
	   place on the call's 20 ms grid (see "The media clock" below). For
	   load generators and monitors; NULL: not told. Runs on the loop's
	   thread; must not block. */
	void (*audio_sent)(void *user, int64_t late_us);
	/* Since 0.4: a bad network to test with (see "Impairment" below);
	   NULL (default): none. Copied. */
	const struct wv_impairment *impair;
	/* Since 0.4: the playout buffer's cap, allocated up front (16 bytes
	   a millisecond): 60000; at least prebuffer_ms. Many calls in one
	   process want less. Marks waiting at once: one per 20 ms of it,
	   from 64 to 1024. */
	unsigned playout_max_ms;
	/* Since 0.5: the playout policy (see "Adaptive playout" in
	   <wvoice/playout.h>): WV_PLAYOUT_ADAPTIVE, which holds as little
	   as the arrivals need (40 to 500 ms); WV_PLAYOUT_FIXED holds
	   prebuffer_ms before each utterance, as the guide. */
	enum wv_playout_policy playout_policy;
};

/*
 * Impairment: seeded, reproducible delay, jitter and stalls applied to
 * what a call sends (frames leave the socket late) and to what it
 * receives (the server's messages reach the call, and so its playout,
 * late), as a bad network would, for testing how an agent and a client
 * behave on one. Order is kept both ways. Each message is held
 * delay_ms plus a uniform 0 to jitter_ms, and none leaves during a stall:
 * stall_ms out of every stall_period_ms (each call's stalls start at a
 * point of its period drawn from the seed). The same seed gives the same
 * holds. At most 60000 ms each; stall_ms less than stall_period_ms.
 * Never grows (see version.h).
 */
struct wv_impairment {
	unsigned delay_ms;
	unsigned jitter_ms;
	unsigned stall_ms, stall_period_ms; /* 0: no stalls */
	uint64_t seed;
};

/* The defaults in the comments above. */
WV_EXPORT void wv_client_config_default_sized(struct wv_client_config *cfg,
					      size_t size);
#define wv_client_config_default(cfg)                                          \
	wv_client_config_default_sized((cfg), sizeof(struct wv_client_config))

/* ---- libwebsockets' log ---- */

/*
 * libwebsockets 4.1 has one log level and one log function for the whole
 * process, shared with every other user of lws in it. libwvoice never
 * changes them by itself: an application that says nothing keeps lws's
 * defaults (errors, warnings and notices, time-stamped on stderr), and
 * one that uses lws itself keeps its own settings. At those levels lws
 * never prints the API key; its more verbose ones (INFO, PARSER, HEADER)
 * can print the offered subprotocols, the key among them, which is why
 * wv_log_lws() refuses them. lws 4.1 also formats every line in one static
 * buffer, unguarded: where lws runs on several threads (a wv_phone, loops
 * of your own, a server), lines logged at once can be garbled, so keep the
 * levels to what you need (wvoice's own tool keeps errors only).
 */
enum wv_log_level {
	WV_LOG_ERR = 1,
	WV_LOG_WARN = 2,
	WV_LOG_NOTICE = 4,
};

/* One line of lws's log, without its newline. */
typedef void wv_log_fn(void *user, int level, const char *line);

/*
 * Sets lws's process-wide log: the levels to keep (an OR of WV_LOG_*; 0:
 * none) and where lines go: fn(user, level, line), or with fn NULL lws's
 * own time-stamped stderr. WV_ERR_INVALID for any other level bit, and
 * nothing changes. Call before any loop or phone exists, while no other
 * thread uses lws; a later call replaces an earlier one.
 */
WV_EXPORT int wv_log_lws(unsigned levels, wv_log_fn *fn, void *user);

/* ---- embedded: a loop of calls, driven by the caller ----
 *
 * Everything here belongs to the thread that runs the loop. From a
 * callback on the loop a program may call any wv_client_* function of any
 * call on it (its own call's wv_client_destroy() included), and
 * wv_client_create(); not wv_loop_run(), wv_loop_destroy() or
 * wv_client_open_audio().
 */

struct wv_loop;
struct wv_client;

/* Returns 0, WV_ERR_NOMEM or WV_ERR_INTERNAL (no event loop). Every call
   is a socket, and libwebsockets sizes its tables from RLIMIT_NOFILE here:
   a program that makes many calls raises that limit first. */
WV_EXPORT int wv_loop_create(struct wv_loop **out);
/* Ends every call still on the loop (with a close), then frees it. The
   calls' handles stay valid (for their results) until wv_client_destroy(),
   which may come before or after this. Not from a callback. */
WV_EXPORT void wv_loop_destroy(struct wv_loop *loop);

/*
 * Runs the loop until every call on it has ended, or for timeout_ms
 * (-1: no limit; 0: what is ready now, without waiting). A call is going
 * while it is connecting or connected, or its socket is still closing.
 * Returns the number of calls still going, or a negative WV_ERR_*
 * (WV_ERR_STATE from a callback).
 */
WV_EXPORT int wv_loop_run(struct wv_loop *loop, int timeout_ms);

/*
 * Makes a call on the loop (not yet connected). cfg and the strings in it
 * are copied. Errors: WV_ERR_URL (no url, or one that is not ws:// or
 * wss:// with a host and a port from 1 to 65535), WV_ERR_JSON (metadata
 * that is not JSON), WV_ERR_NOT_OBJECT (metadata that is JSON but not an
 * object), WV_ERR_INVALID (no agent_id, no key or one that cannot go in a
 * header, an unknown auth, a call URL over 2000 bytes, a cfg not made by
 * wv_client_config_default()), WV_ERR_RATE (a source rate outside
 * 8000-192000), WV_ERR_NOMEM. wv_client_check_config() says which field
 * and why.
 */
WV_EXPORT int wv_client_create(struct wv_client **out, struct wv_loop *loop,
			       const struct wv_client_config *cfg);
/*
 * Checks cfg as wv_client_create() does, without making anything: returns
 * the same code and, in err (err_cap bytes; may be NULL), one line that
 * names the field and what is wrong with it: `url "http://h": a call's URL
 * is ws:// or wss:// (ws:// where it says http://)`, `metadata is a JSON
 * array; it must be an object, {"key": value, ...}`. The key is never
 * shown. Thread: any.
 */
WV_EXPORT int wv_client_check_config(const struct wv_client_config *cfg,
				     char *err, size_t err_cap);
/*
 * Closes the call if it is still open (stop, then close 1000), frees it.
 * No callback of the call runs after this, and its source and sink are
 * never called again. May be called from any callback on the loop, this
 * call's own included (free the call when its status says disconnected):
 * the memory is then released once the callback has returned. NULL is a
 * no-op. Thread: the loop's.
 */
WV_EXPORT void wv_client_destroy(struct wv_client *c);

/* Starts connecting; the loop does the rest. WV_ERR_STATE if not idle. */
WV_EXPORT int wv_client_connect(struct wv_client *c);
/* Sends stop and closes (1000). WV_ERR_STATE if not connecting/connected. */
WV_EXPORT int wv_client_hangup(struct wv_client *c);
/* WV_ERR_DTMF for a digit outside 0-9 * #, WV_ERR_STATE if not connected. */
WV_EXPORT int wv_client_send_dtmf(struct wv_client *c, char digit);
/* Silence (0xFF frames) flows while muted. */
WV_EXPORT void wv_client_set_muted(struct wv_client *c, bool muted);

WV_EXPORT enum wv_status wv_client_status(const struct wv_client *c);
WV_EXPORT enum wv_end_reason wv_client_end_reason(const struct wv_client *c);
/* NULL until the server's start. */
WV_EXPORT const char *wv_client_communication_id(const struct wv_client *c);
/* The URL the call requests, with its query (the key is never in it):
   "ws://h:8765/telephony/websocket/call?agent_id=echo". Valid until
   wv_client_destroy(). */
WV_EXPORT const char *wv_client_url(const struct wv_client *c);
/* Since the call was confirmed; 0 before. */
WV_EXPORT int64_t wv_client_elapsed_ms(const struct wv_client *c);
/* The last error, one line ("handshake refused: 401 Unauthorized"), or "". */
WV_EXPORT const char *wv_client_last_error(const struct wv_client *c);
/* The WV_ERR_* of the failure that ended the call, or 0. A refused
   handshake is WV_ERR_REFUSED, with its HTTP status from
   wv_client_http_status(). */
WV_EXPORT int wv_client_error(const struct wv_client *c);
/* The HTTP status of the answer to the handshake: 101 once the WebSocket
   is open, the refusal's (401, 404, 503...) when refused, 0 before an
   answer or with none. */
WV_EXPORT int wv_client_http_status(const struct wv_client *c);
/* The close code and reason (either side), 0 if none; *reason (may be
   NULL) points into the call, valid until the next loop turn. */
WV_EXPORT int wv_client_close_code(const struct wv_client *c, const char **reason);
/* Which end started the closing handshake: this client (its close code
   is what it sent: 1000 after a stop, 1009 for a message too big...),
   the server, or neither (the connection was lost, or never opened).
   Since 0.3. */
WV_EXPORT enum wv_closed_by wv_client_closed_by(const struct wv_client *c);
/*
 * The media clock. A loop clocks each open call every 20 ms on a grid of
 * the call's own, fixed when its WebSocket opens: frame k is due at the
 * grid's start + k x 20 ms, never drifting, and calls are spread over the
 * 20 ms (each joins the least used of 20 one-millisecond phases) so that
 * thousands of calls on a loop do not all send in the same millisecond.
 * After a stall the loop catches up at most 200 ms of a call's frames at
 * once; past that the frames are skipped (the grid stays where it was)
 * and counted in wv_client_timing.ticks_skipped.
 */

/* Since 0.4: when a call passed each step, in microseconds on the loop's
   clock (CLOCK_MONOTONIC: wv_now_us()); 0 for a step not (yet) reached. */
struct wv_client_timing {
	int64_t connect;   /* wv_client_connect() */
	int64_t tcp;	   /* connected (TCP, and TLS for wss://): the
			      handshake request goes out */
	int64_t open;	   /* the handshake answered 101 */
	int64_t start;	   /* the server's start */
	int64_t end;	   /* the call ended */
	int64_t grid;	   /* its media clock's first frame was due */
	uint64_t ticks_skipped; /* 20 ms frames skipped after stalls */
};
WV_EXPORT void wv_client_timing_sized(const struct wv_client *c,
				      struct wv_client_timing *t, size_t size);
#define wv_client_timing(c, t)                                                 \
	wv_client_timing_sized((c), (t), sizeof(struct wv_client_timing))
/* The loop's clock: monotonic microseconds. Since 0.4. Thread: any. */
WV_EXPORT int64_t wv_now_us(void);

/* The call's counters, and its playout buffer's; the macros pass the
   program's sizeof (see "Structs and the ABI" in version.h). */
WV_EXPORT void wv_client_stats_sized(const struct wv_client *c,
				     struct wv_call_stats *st, size_t size);
#define wv_client_stats(c, st)                                                 \
	wv_client_stats_sized((c), (st), sizeof(struct wv_call_stats))
WV_EXPORT void wv_client_playout_stats_sized(const struct wv_client *c,
					     struct wv_playout_stats *st,
					     size_t size);
#define wv_client_playout_stats(c, st)                                         \
	wv_client_playout_stats_sized((c), (st), sizeof(struct wv_playout_stats))

/*
 * Gives the call audio devices (see <wvoice/device.h>): opens the devices
 * of acfg as wv_audio_open() does and makes them the call's own.
 * - The speaker's callback becomes the one reader of the call's playout
 *   buffer, on the device's clock: the loop no longer reads it and the
 *   sink is not called; marks are answered as the device plays them.
 * - The microphone, processed (echo cancellation, noise suppression, gain
 *   control), becomes the call's source when cfg.source.read was NULL;
 *   a source of the application's own may read it instead with
 *   wv_audio_source_read(wv_client_audio(c), ...).
 * Without an output device the loop keeps reading the playout into the
 * sink. The devices close with the call (wv_client_destroy()).
 * On failure nothing changes and err (err_cap bytes, may be NULL) says
 * why, as from wv_audio_open(). Errors: those of wv_audio_open(), and
 * WV_ERR_STATE once the call has been connected or if it already has
 * devices. Thread: the loop's, not from a callback; it touches PortAudio's
 * process-wide state (see device.h).
 */
WV_EXPORT int wv_client_open_audio(struct wv_client *c, const struct wv_audio_config *acfg,
				   char *err, size_t err_cap);
/* The call's devices (for wv_audio_get_info(), wv_audio_stats() and the
   microphone), or NULL. Valid until wv_client_destroy(). */
WV_EXPORT struct wv_audio *wv_client_audio(struct wv_client *c);

/* ---- managed: one call on a network thread of its own ---- */

struct wv_phone;

/*
 * Makes the call and its thread. cfg as for wv_client_create(); the source
 * and sink are clocked on the network thread. Callbacks run there too.
 * Every wv_phone_* function is safe from any thread. From the network
 * thread (a callback), those that wait for it (connect, hangup, send_dtmf,
 * open_audio and the waits) return WV_ERR_STATE rather than wait for ever,
 * and wv_phone_destroy() must not be called; the getters and set_muted
 * work from anywhere.
 */
WV_EXPORT int wv_phone_create(struct wv_phone **out, const struct wv_client_config *cfg);
/* Hangs up if needed, stops the thread, frees. Not from a callback. */
WV_EXPORT void wv_phone_destroy(struct wv_phone *p);

WV_EXPORT int wv_phone_connect(struct wv_phone *p);
WV_EXPORT int wv_phone_hangup(struct wv_phone *p);
WV_EXPORT int wv_phone_send_dtmf(struct wv_phone *p, char digit);
WV_EXPORT void wv_phone_set_muted(struct wv_phone *p, bool muted);
/* Gives the call audio devices, as wv_client_open_audio() (run on the
   network thread): the speaker plays the agent, and the microphone is the
   caller's voice unless cfg.source was given. Before wv_phone_connect(). */
WV_EXPORT int wv_phone_open_audio(struct wv_phone *p, const struct wv_audio_config *acfg,
				  char *err, size_t err_cap);
/* The phone's devices (wv_audio_get_info() and wv_audio_stats() are safe
   from any thread), or NULL. Valid until wv_phone_destroy(). */
WV_EXPORT const struct wv_audio *wv_phone_audio(const struct wv_phone *p);
/* Waits until the call has ended or timeout_ms has passed (-1: no limit).
   Returns 1 if it has ended, 0 on timeout, WV_ERR_STATE from a callback. */
WV_EXPORT int wv_phone_wait(struct wv_phone *p, int timeout_ms);
/* Waits until the call's status has reached `status` or gone past it (the
   order is idle, connecting, connected, disconnected: waiting for
   WV_STATUS_CONNECTED ends on a call that failed to connect, too), or
   until timeout_ms has passed (-1: no limit). Returns the status then:
   compare it with the one asked for. WV_ERR_STATE from a callback. */
WV_EXPORT int wv_phone_wait_status(struct wv_phone *p, enum wv_status status,
				   int timeout_ms);

WV_EXPORT enum wv_status wv_phone_status(const struct wv_phone *p);
WV_EXPORT enum wv_end_reason wv_phone_end_reason(const struct wv_phone *p);
/* Copies the id into dst (cap bytes); returns its length, 0 before start. */
WV_EXPORT size_t wv_phone_communication_id(const struct wv_phone *p, char *dst,
					   size_t cap);
WV_EXPORT int64_t wv_phone_elapsed_ms(const struct wv_phone *p);
WV_EXPORT size_t wv_phone_last_error(const struct wv_phone *p, char *dst, size_t cap);
WV_EXPORT int wv_phone_error(const struct wv_phone *p);
/* As wv_client_http_status(). */
WV_EXPORT int wv_phone_http_status(const struct wv_phone *p);
/* The close code (0 if none) and its reason, copied into reason (cap
   bytes; may be NULL with cap 0). Known once the closing handshake is
   over, which can be a moment after the status says disconnected (a
   hang-up is over when stop is sent; the close follows). */
WV_EXPORT int wv_phone_close_code(const struct wv_phone *p, char *reason,
				  size_t cap);
/* As wv_client_closed_by(); known when wv_phone_close_code() is. Since
   0.3. */
WV_EXPORT enum wv_closed_by wv_phone_closed_by(const struct wv_phone *p);
/* As wv_client_stats() and wv_client_playout_stats(): a snapshot the
   network thread refreshes every 20 ms. */
WV_EXPORT void wv_phone_stats_sized(const struct wv_phone *p,
				    struct wv_call_stats *st, size_t size);
#define wv_phone_stats(p, st)                                                  \
	wv_phone_stats_sized((p), (st), sizeof(struct wv_call_stats))
WV_EXPORT void wv_phone_playout_stats_sized(const struct wv_phone *p,
					    struct wv_playout_stats *st,
					    size_t size);
#define wv_phone_playout_stats(p, st)                                          \
	wv_phone_playout_stats_sized((p), (st), sizeof(struct wv_playout_stats))

#ifdef __cplusplus
}
#endif
#endif
