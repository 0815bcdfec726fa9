/*
 * The event log of `wvoice call --events FILE.jsonl`: one JSON object a
 * line, each with t, dir and event (doc/call-events.schema.json). dir is
 * "out" or "in" for every protocol event sent or received, and "call" for
 * the log's own lines, so that a reader keeping "in" sees only what the
 * server sent:
 *
 *   {"t":0.000,"dir":"out","event":"start"}
 *   {"t":0.012,"dir":"in","event":"start","communication_id":"c-1"}
 *   {"t":0.020,"dir":"out","event":"audio","bytes":160}
 *   {"t":1.480,"dir":"in","event":"mark","mark":"m1"}
 *   {"t":2.000,"dir":"out","event":"dtmf","dtmf":"5"}
 *   {"t":2.300,"dir":"in","event":"x-note","text":"hi"}
 *   {"t":2.310,"dir":"call","event":"error","error":"bad frame from ..."}
 *   {"t":2.500,"dir":"call","event":"playout","playout_target_ms":80,...}
 *   {"t":3.581,"dir":"call","event":"end","reason":"remote-stop",
 *    "close_code":1000,"close_reason":"stop","closed_by":"server",
 *    "playout":"adaptive",...}
 *
 * t is seconds since the socket opened, to the millisecond (times before
 * it read 0.000). Audio carries its decoded byte count, never the payload.
 * An event the protocol does not define is written whole, its members after
 * t and dir, except members of its own named "t" or "dir", which are left
 * out so that every reader finds the log's own t and dir. Text of the
 * server's that is not UTF-8 (a close reason) is kept with each such byte
 * written as \xNN. The last line, "end", says how the call ended (see
 * cli_events_write_end()).
 *
 * The file has a bound (cli_events_set_max()): the line that would take
 * it within 2 KiB of the bound is replaced by
 *   {"t":..,"dir":"call","event":"truncated","max_bytes":N}
 * and nothing more is written but the "end" line, so the file never
 * passes the bound and still says how the call ended.
 *
 * Each line is written with one write and flushed, so the file is whole up
 * to the last event even if the program is killed. After a write fails the
 * log stops writing and cli_events_close() reports why.
 *
 * Threads: one at a time (the thread running the call).
 */
#ifndef CLI_EVENTS_H
#define CLI_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include <wvoice/call.h>
#include <wvoice/protocol.h>

struct cli_events;

/* CLOCK_MONOTONIC in microseconds: the clock event times are taken on. */
int64_t cli_mono_us(void);

/* Creates (or truncates) path; "-" is standard output (left open by
 * close). Errors: WV_ERR_INVALID (cannot create it; err says why),
 * WV_ERR_NOMEM. */
int cli_events_open(struct cli_events **out, const char *path, char *err,
		    size_t errlen);

/*
 * Closes the log and frees it (NULL is fine). Returns 0, or WV_ERR_INTERNAL
 * if a write failed at any time, with "PATH: cannot write: ..." in err.
 */
int cli_events_close(struct cli_events *e, char *err, size_t errlen);

/*
 * Writes one event, t_us microseconds after the socket opened. Fits the
 * call core's `event` callback: audio events need only audio_len, unknown
 * ones json and json_len (or only name). Returns 0 (also for a line the
 * bound left out), WV_ERR_NOMEM, or WV_ERR_INTERNAL once a write has
 * failed.
 */
int cli_events_write(struct cli_events *e, int64_t t_us,
		     enum wv_direction dir, const struct wv_event *ev);

struct json_t;

/* Writes the last line: the call's end reason (wv_end_reason_name()), the
 * close code and reason (null, null when the socket never closed with
 * one: lost, or never open) and who started closing (wv_closed_by_name()),
 * then extra's members (an object, taken; NULL: none), such as the
 * playout's figures. Returns as cli_events_write(). */
int cli_events_write_end(struct cli_events *e, int64_t t_us,
			 const char *reason, int close_code,
			 const char *close_reason, enum wv_closed_by by,
			 struct json_t *extra);

/* Writes {"t":..,"dir":"call","event":event, then members' members}: a
 * line of the log's own that is no protocol event (members an object,
 * taken; NULL: none), such as "playout" (the playout's target moved).
 * Within the bound, as cli_events_write(), and returns as it does. */
int cli_events_write_own(struct cli_events *e, int64_t t_us,
			 const char *event, struct json_t *members);

/* Writes {"t":..,"dir":"call","event":"error","error":detail}: a problem
 * the call reported (a bad frame ignored, audio dropped at a full buffer,
 * what ended the call), as the server records bad frames. Returns as
 * cli_events_write(). */
int cli_events_write_error(struct cli_events *e, int64_t t_us,
			   const char *detail);

/* The least bound cli_events_set_max() takes: room for some events and
   the two last lines. */
#define CLI_EVENTS_MAX_LEAST 8192

/* Bounds the file to max_bytes (0: no bound; else at least
 * CLI_EVENTS_MAX_LEAST, which smaller values are raised to). Set before
 * the first line. */
void cli_events_set_max(struct cli_events *e, uint64_t max_bytes);

#endif
