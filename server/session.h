/*
 * The server side of one call, sans-I/O: client frames and time in, server
 * frames and a wish to close out. The agent that talks on the call drives
 * it through the wvs_session_* actions below. Server-internal.
 *
 * Agent audio is queued as clips and leaves as 20 ms frames paced at real
 * time: a frame goes out `lead_ms` before the moment the caller should hear
 * it, so a `clear` takes effect within that lead. Marks keep their place
 * among the audio. A `clear` drops queued audio and marks; marks already
 * sent that come back afterwards count as cleared, not played.
 *
 * Thread: one session belongs to one thread (the network loop).
 */
#ifndef WVS_SESSION_H
#define WVS_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <wvoice/protocol.h>

#include "clip.h"

struct wvs_session;
struct wvs_vad;

/* An agent: callbacks on what the caller does. Any may be NULL. */
struct wvs_agent {
	const char *name;
	const char *summary; /* one line for --help */
	int needs_vad;
	/* Per-call state: created when the client's `start` is answered. */
	void *(*create)(struct wvs_session *s, const void *arg);
	void (*destroy)(void *state);
	void (*on_start)(struct wvs_session *s, void *state, int64_t now);
	void (*on_speech_start)(struct wvs_session *s, void *state, int64_t now);
	void (*on_utterance)(struct wvs_session *s, void *state,
			     const int16_t *pcm, size_t n, int64_t now);
	void (*on_dtmf)(struct wvs_session *s, void *state, char digit,
			int64_t now);
	/* A mark came back: played, or cleared (it was sent before a clear). */
	void (*on_mark)(struct wvs_session *s, void *state, const char *mark,
			int cleared, int64_t now);
	/* The time asked for with wvs_session_wake_at() came. */
	void (*on_wake)(struct wvs_session *s, void *state, int64_t now);
};

/* Why the call ended, for the log line and the record. */
enum wvs_end {
	WVS_END_NONE = 0,
	WVS_END_CLIENT_STOP, /* the client sent `stop` */
	WVS_END_AGENT_STOP,  /* the agent hung up */
	WVS_END_CLOSED,	     /* the socket closed without a `stop` */
	WVS_END_PROTOCOL,    /* the client broke the protocol */
	WVS_END_NO_START,    /* no `start` in time */
	WVS_END_IDLE,	     /* no audio, or no pong, for idle_timeout_ms */
	WVS_END_SHUTDOWN,    /* the server is stopping */
};
const char *wvs_end_name(enum wvs_end end);

/* Direction of a traced event. */
enum wvs_dir { WVS_IN, WVS_OUT };

struct wvs_session_stats {
	uint64_t frames_in, frames_out;
	uint64_t bad_frames;	 /* ignored client frames */
	uint64_t marks_played, marks_cleared;
	uint64_t late_frames;	 /* agent frames that left after their time */
	int64_t max_send_delay;	 /* µs past the frame's send time, worst */
};

struct wvs_session_config {
	const struct wvs_agent *agent;
	const void *agent_arg;		/* passed to agent->create */
	const char *id;			/* communication id (a UUID) */
	unsigned lead_ms;		/* 60 */
	unsigned start_timeout_ms;	/* 10000 */
	/* After `start`: the longest the client may go without an audio
	   message (it sends 50 a second, silence included), or without
	   answering a ping, which goes out every half of it: 10000; 0:
	   no limit and no pings. */
	unsigned idle_timeout_ms;
	unsigned max_queue_ms;		/* agent audio queued at most: 120000 */
	unsigned max_bad_frames;	/* ignored bad frames before 1008: 100 */
	unsigned max_frames_per_s;	/* flood limit, sustained: 200 */
	unsigned flood_burst;		/* ... and burst: 1000 */
	unsigned early_us;		/* what is due this soon counts as due
					   now (a coarse event loop's timers): 0 */
	/* Every event in and out, and every bad frame (ev NULL, problem set). */
	void (*trace)(void *user, enum wvs_dir dir, const struct wv_event *ev,
		      const char *problem, int64_t now);
	/* Audio for the recording: caller (in) or agent (out), positioned in
	   8 kHz samples since the session was created. */
	void (*audio)(void *user, enum wvs_dir dir, uint64_t pos,
		      const int16_t *pcm, size_t n);
	/* One log line about this call (bad input, ends). */
	void (*log)(void *user, const char *line);
	void *user;
};

void wvs_session_config_default(struct wvs_session_config *cfg);

/* now: when the socket opened (µs, any monotonic clock). */
int wvs_session_create(struct wvs_session **out,
		       const struct wvs_session_config *cfg, int64_t now);
void wvs_session_destroy(struct wvs_session *s);

/* A complete text message from the client. */
void wvs_session_receive(struct wvs_session *s, const char *text, size_t len,
			 int64_t now);
/* A binary message, or a message over WV_MESSAGE_MAX, or not UTF-8: these
   close the call (1003, 1009, 1007). */
void wvs_session_reject(struct wvs_session *s, int close_code,
			const char *problem, int64_t now);

/* A piece of a message that is not yet whole (a fragment, an empty
   continuation), or a pong: counted by the flood limit as a frame. */
void wvs_session_piece(struct wvs_session *s, int64_t now);
/* Control frames the transport answered itself (pings), as counted from
   their bytes: n frames for the flood limit. */
void wvs_session_control_frames(struct wvs_session *s, uint64_t n,
				int64_t now);
/* Nonzero when a ping is due now: the caller sends it, and the session
   waits for its pong (wvs_session_pong()) at most idle_timeout_ms. */
int wvs_session_ping_due(struct wvs_session *s, int64_t now);
/* The client answered a ping. */
void wvs_session_pong(struct wvs_session *s, int64_t now);

/* Runs timers (start and idle timeouts, pings, agent wakes, hangup after
   audio). */
void wvs_session_tick(struct wvs_session *s, int64_t now);

/*
 * The next message due by now, written to dst. Returns its length, 0 when
 * nothing is due, or a negative WV_ERR_* (dst too small). Call again until
 * 0 when the socket can take more.
 */
int wvs_session_next(struct wvs_session *s, int64_t now, char *dst, size_t cap);

/* When the session next needs tick()/next(): INT64_MAX for never. */
int64_t wvs_session_deadline(const struct wvs_session *s);

/* Nonzero once the call should close, after next() has nothing left:
   sets the close code (1000, 1003, 1007, 1008, 1009) and reason, which
   lives as long as the session. */
int wvs_session_should_close(const struct wvs_session *s, int *code,
			     const char **reason);

/* The socket closed (either side). Ends the call if it had not ended. */
void wvs_session_closed(struct wvs_session *s, int64_t now);

/* The server is stopping: send `stop` now, then close with 1000. */
void wvs_session_shutdown(struct wvs_session *s, int64_t now);

enum wvs_end wvs_session_end(const struct wvs_session *s);
int wvs_session_started(const struct wvs_session *s);
const char *wvs_session_id(const struct wvs_session *s);
const struct wvs_session_stats *wvs_session_stats(const struct wvs_session *s);

/* ---- Agent actions (from agent callbacks, or any time on its thread) ---- */

/* Queues audio to play. The clip must outlive the call (shared prompts);
   wvs_session_play_copy() takes a copy instead. Returns 0, WV_ERR_FULL. */
int wvs_session_play(struct wvs_session *s, const struct wvs_clip *clip);
int wvs_session_play_copy(struct wvs_session *s, const int16_t *pcm, size_t n);
/* Queues a mark after the audio queued so far. */
int wvs_session_mark(struct wvs_session *s, const char *name);
/* Drops queued audio and marks and sends `clear`. */
void wvs_session_clear(struct wvs_session *s);
/* Ends the call once the queued audio has played: `stop`, then 1000.
   Once: a second hangup changes nothing. */
void wvs_session_hangup(struct wvs_session *s);
/* True while agent audio is queued or still playing at the caller. */
int wvs_session_talking(const struct wvs_session *s, int64_t now);
/* When the audio queued so far will have played out (now if none). */
int64_t wvs_session_talk_end(const struct wvs_session *s, int64_t now);
/* Calls agent->on_wake at (or just after) that time; one wake at a time. */
void wvs_session_wake_at(struct wvs_session *s, int64_t at);
/* Logs a line about this call through cfg->log (printf-style). */
void wvs_session_logf(struct wvs_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
