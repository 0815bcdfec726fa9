/*
 * The call state machine, sans I/O.
 *
 * A call takes in what happens (the socket opened, a text frame arrived, the
 * socket closed, the user hung up, time passed) and gives out what to do
 * (frames to send, whether to close the socket) and callbacks. It never
 * touches a socket, a thread or a clock: every function that needs the time
 * is given it, in microseconds on any monotonic clock. So one loop can drive
 * thousands of calls, and a test can drive one with a fake clock.
 *
 *   idle --connect()--> connecting --server start--> connected
 *     connecting/connected --server stop, hangup(), closed(), timeout-->
 *     disconnected
 *
 * On opened() the call queues `start`; audio from capture is sent from then
 * on, 20 ms a frame. The server's `start` confirms the call (status
 * connected, communication id reported, elapsed time starts). Server audio
 * and marks go into the playout buffer, `clear` clears it, and marks reached
 * by playback are answered with `mark` on the next tick(). A close ends the
 * call; hangup() queues `stop` and ends it. When the call has ended and
 * every queued frame has been sent, should_close() says to close the socket
 * (code 1000).
 *
 * The agent's last words. The server's `stop` ends the call once the
 * playout has played what it already holds (the agent's goodbye, which a
 * pre-buffer would otherwise throw away), for at most last_words_ms: the
 * segment is flushed so that it plays without waiting for the pre-buffer,
 * marks it reaches are answered while the socket is open, nothing more is
 * sent or taken from the server, and the socket may close meanwhile (the
 * server's own close does not cut the playout short). wv_call_stopping()
 * is true in between; hangup() ends it at once, sending nothing. The call
 * ends by tick() (see next_deadline()) with the reason remote-stop.
 *
 * A playout buffer elsewhere. Where the speaker's buffer cannot be shared
 * with the call (a browser's audio worklet, which shares no memory with the
 * worker that runs the call), the call is given a wv_playout_remote: server
 * audio, marks, clears and the flush of the last words go to it as they
 * come, in order, and the other side, with a playout buffer of its own,
 * reports back the marks it reaches (wv_call_mark_played()) and that it
 * has played out what it was sent before the flush
 * (wv_call_playout_drained()). The call's own buffer then stays empty.
 *
 * Threads: a call belongs to one thread (the network thread), except that
 * the playout buffer's read side (wv_call_playout(), wv_playout_read()) is
 * for the real-time audio thread and wv_call_set_muted() is safe from any
 * thread.
 */
#ifndef WVOICE_CALL_H
#define WVOICE_CALL_H

#include <wvoice/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wvoice/playout.h>
#include <wvoice/protocol.h>
#include <wvoice/version.h>

#ifdef __cplusplus
extern "C" {
#endif

enum wv_status {
	WV_STATUS_IDLE,
	WV_STATUS_CONNECTING,
	WV_STATUS_CONNECTED,
	WV_STATUS_DISCONNECTED,
};

/* Why a call ended. */
enum wv_end_reason {
	WV_END_NONE,	       /* not ended */
	WV_END_HANGUP,	       /* hangup() */
	WV_END_REMOTE_STOP,    /* the server sent stop */
	WV_END_CLOSED,	       /* the socket closed without a stop */
	WV_END_START_TIMEOUT,  /* the server never answered start */
	WV_END_ERROR,	       /* a transport error (see closed()) */
};

enum wv_direction { WV_DIR_IN, WV_DIR_OUT };

/* Which end started closing the socket (see wv_client_closed_by()). */
enum wv_closed_by {
	WV_CLOSED_BY_NONE,   /* neither: lost, or never open */
	WV_CLOSED_BY_CLIENT,
	WV_CLOSED_BY_SERVER,
};

/* "idle", "connecting", "connected", "disconnected". */
WV_EXPORT const char *wv_status_name(enum wv_status status);
/* "none", "hangup", "remote-stop", "closed", "start-timeout", "error". */
WV_EXPORT const char *wv_end_reason_name(enum wv_end_reason reason);
/* "none", "client", "server". Since 0.3. */
WV_EXPORT const char *wv_closed_by_name(enum wv_closed_by by);

/*
 * Every callback is optional and runs on the call's thread, from inside the
 * wv_call_* function that caused it, which goes on using the call after
 * the callback returns: a callback may call the call's controls (hangup,
 * send_dtmf, set_muted) but must not destroy it. (A wv_client's callbacks
 * may destroy theirs: see wvoice.h.) Never grows (see version.h): new
 * callbacks come as fields at the end of wv_call_config.
 */
struct wv_call_callbacks {
	void (*status)(void *user, enum wv_status from, enum wv_status to);
	void (*communication_id)(void *user, const char *id);
	/* An event the protocol does not define, whole. */
	void (*unknown_event)(void *user, const char *name, const char *json,
			      size_t len);
	/* Something went wrong; code is a WV_ERR_*, detail one line. Bad
	 * frames from the server are reported here and ignored. */
	void (*error)(void *user, int code, const char *detail);
	/* Every event in and out, for event logs. Audio events carry
	 * audio_len; the payload itself may not be set. The agent's audio
	 * having been played up to one of its marks shows here as an
	 * outgoing mark event (WV_DIR_OUT, WV_EVENT_MARK), sent when the
	 * playout reaches it. */
	void (*event)(void *user, enum wv_direction dir,
		      const struct wv_event *ev);
};

/* A playout buffer elsewhere (see above). Each runs inside the wv_call_*
 * function that caused it, and must not call back into the call. Never
 * grows: see version.h. */
struct wv_playout_remote {
	void (*audio)(void *user, const uint8_t *ulaw, size_t n);
	/* Place mark id after the audio sent so far; wv_call_mark_played()
	   once played. */
	void (*mark)(void *user, const char *id);
	/* Drop the audio queued and the marks not yet reached. */
	void (*clear)(void *user);
	/* The server's stop: play what is queued without waiting for the
	   pre-buffer; wv_call_playout_drained() once it has all played. */
	void (*flush)(void *user);
	void *user;
};

/* Sized by the program's header: see "Structs and the ABI" in version.h. */
struct wv_call_config {
	size_t size;		   /* set by wv_call_config_default() */
	unsigned capture_rate;	   /* rate of write_audio(); default 8000 */
	int resampler_quality;	   /* -1: default */
	/* The playout buffer's; NULL (default): its defaults. Copied. */
	const struct wv_playout_config *playout;
	unsigned start_timeout_ms; /* server start after opened(); 10000 */
	unsigned max_queued_audio; /* audio frames waiting to be sent; 50 */
	size_t max_audio_payload;  /* per server audio event; 0: default */
	struct wv_call_callbacks cb;
	void *user;
	/* Since 0.3: after the server's stop, play out at most this much of
	   what was received before ending; default 2000, 0: end at once. */
	unsigned last_words_ms;
	/* Since 0.3: a playout buffer elsewhere (copied); NULL: the call's
	   own. */
	const struct wv_playout_remote *remote_playout;
};

struct wv_call_stats {
	uint64_t audio_frames_sent;
	uint64_t audio_frames_dropped; /* send queue full: socket too slow */
	uint64_t audio_events_received;
	uint64_t audio_bytes_received;
	uint64_t marks_received;
	uint64_t marks_answered;
	uint64_t clears_received;
	uint64_t dtmf_sent;
	uint64_t unknown_events;
	uint64_t bad_frames; /* frames from the server reported and ignored */
};

struct wv_call;

/* The defaults above. */
WV_EXPORT void wv_call_config_default_sized(struct wv_call_config *cfg,
					    size_t size);
#define wv_call_config_default(cfg)                                            \
	wv_call_config_default_sized((cfg), sizeof(struct wv_call_config))

/* Errors: WV_ERR_INVALID, WV_ERR_RATE, WV_ERR_NOMEM. */
WV_EXPORT int wv_call_create(struct wv_call **out, const struct wv_call_config *cfg);
WV_EXPORT void wv_call_destroy(struct wv_call *c);

/* Transport side. */

/* idle -> connecting; the transport starts opening the socket.
 * Errors: WV_ERR_STATE (not idle). */
WV_EXPORT int wv_call_connect(struct wv_call *c, int64_t now_us);

/* The socket is open: queues `start`. Errors: WV_ERR_STATE. */
WV_EXPORT int wv_call_opened(struct wv_call *c, int64_t now_us);

/*
 * One text frame from the server. Returns 0, or the WV_ERR_* of a frame that
 * was reported (error callback) and ignored; the call goes on either way.
 */
WV_EXPORT int wv_call_receive(struct wv_call *c, const char *text, size_t len,
			      int64_t now_us);

/* The socket closed, with its close code (or 0 for none) and reason (may be
 * NULL); error is true when it failed rather than closed. Ends the call. */
WV_EXPORT void wv_call_closed(struct wv_call *c, int code, const char *reason,
			      bool error, int64_t now_us);

/* Answers marks that playback has reached and checks the start timeout.
 * Call it every loop turn, and at the latest by next_deadline(). */
WV_EXPORT void wv_call_tick(struct wv_call *c, int64_t now_us);

/* When tick() must next run at the latest, or INT64_MAX. */
WV_EXPORT int64_t wv_call_next_deadline(const struct wv_call *c);

/* The next frame to send (NUL-terminated, len bytes), or NULL. It stays
 * valid until frame_sent() or any other call on c. */
WV_EXPORT const char *wv_call_peek_frame(struct wv_call *c, size_t *len);
/* Whether the frame peek_frame() gives is a caller audio frame, rather
 * than a control frame (start, mark, dtmf, stop): a transport that paces
 * or times the audio tells them apart by it. Since 0.4. */
WV_EXPORT bool wv_call_peek_is_audio(const struct wv_call *c);
/* The frame from peek_frame() has been sent. */
WV_EXPORT void wv_call_frame_sent(struct wv_call *c);

/* True once the call has ended and every queued frame has gone: close the
 * socket with *code (1000) now. */
WV_EXPORT bool wv_call_should_close(const struct wv_call *c, int *code);

/* Application side. */

/* Queues `stop` and ends the call; while the agent's last words play out
 * (stopping()), ends it and sends nothing. Errors: WV_ERR_STATE (not
 * connecting or connected). */
WV_EXPORT int wv_call_hangup(struct wv_call *c, int64_t now_us);

/* Queues one DTMF digit. Errors: WV_ERR_DTMF, WV_ERR_STATE (not
 * connected). */
WV_EXPORT int wv_call_send_dtmf(struct wv_call *c, char digit, int64_t now_us);

/* With a remote playout: it has played mark id (in the order the marks
 * were sent to it), which is answered as the call's own buffer's marks
 * are. Errors: WV_ERR_STATE (no remote playout), WV_ERR_FULL, WV_ERR_NOMEM
 * (the answer could not be queued). After the end, nothing is sent. */
WV_EXPORT int wv_call_mark_played(struct wv_call *c, const char *id,
				  int64_t now_us);

/* With a remote playout: what it was sent before its flush() has played
 * (or was dropped), which ends a call whose agent hung up. Any other time,
 * nothing. */
WV_EXPORT void wv_call_playout_drained(struct wv_call *c, int64_t now_us);

/* Thread: any. */
WV_EXPORT void wv_call_set_muted(struct wv_call *c, bool muted);
WV_EXPORT bool wv_call_muted(const struct wv_call *c);

/* Captured audio at capture_rate; complete 20 ms frames are queued as
 * `audio` events once the socket is open (and dropped before). */
WV_EXPORT int wv_call_write_audio(struct wv_call *c, const float *samples, size_t n);

/* The playout buffer: its read side belongs to the audio thread. With a
   remote playout, it stays empty. */
WV_EXPORT struct wv_playout *wv_call_playout(struct wv_call *c);

WV_EXPORT enum wv_status wv_call_status(const struct wv_call *c);
/* True from the server's stop until the call ends: its last words are
 * playing out (see above). The status is still connecting or connected. */
WV_EXPORT bool wv_call_stopping(const struct wv_call *c);
WV_EXPORT enum wv_end_reason wv_call_end_reason(const struct wv_call *c);
/* The server's communication id, or NULL before it is known. */
WV_EXPORT const char *wv_call_communication_id(const struct wv_call *c);
/* Time since the server's start; frozen when the call ends; 0 before. */
WV_EXPORT int64_t wv_call_elapsed_ms(const struct wv_call *c, int64_t now_us);
/* The last error's detail, or "". */
WV_EXPORT const char *wv_call_last_error(const struct wv_call *c);
/* The close code and reason given to closed() (0 and "" before). */
WV_EXPORT int wv_call_close_code(const struct wv_call *c, const char **reason);
/* The call's counters, size bytes at most (the macro passes the program's
   sizeof); the playout buffer's own are wv_playout_stats() of
   wv_call_playout(). */
WV_EXPORT void wv_call_stats_sized(const struct wv_call *c,
				   struct wv_call_stats *st, size_t size);
#define wv_call_stats(c, st)                                                   \
	wv_call_stats_sized((c), (st), sizeof(struct wv_call_stats))

#ifdef __cplusplus
}
#endif
#endif
