/*
 * The browser's API over libwvoice-core: what build-wasm/web/wvoice-core.wasm
 * exports, for JavaScript (web/core.js loads it).
 *
 * Flat on purpose: every argument and result is a 32-bit integer, a double
 * or a pointer into the module's linear memory (a 32-bit integer in
 * JavaScript), so no glue is needed and no 64-bit integer (BigInt) crosses
 * the boundary. Three contexts each instantiate the module and use a part:
 *
 *   the capture worklet   wvw_capture_*: the microphone at the context's
 *                         rate into 20 ms frames of 8 kHz int16;
 *   the playback worklet  wvw_playout_*: the agent's mu-law into the
 *                         playout buffer (its policy, fixed or adaptive,
 *                         marks, clear, cap, underruns), read as float at
 *                         the context's rate;
 *   the worker            wvw_call_*: the call state machine and the
 *                         protocol, with its playout buffer elsewhere (the
 *                         playback worklet's): what the call would have
 *                         done to a buffer comes out as records to forward.
 *
 * Conventions:
 *   - handles are pointers (> 0); a create returns a handle or a negative
 *     WV_ERR_* code (wvw_strerror() names it); 0 is never a handle;
 *   - memory: wvw_alloc()/wvw_free() give JavaScript buffers in linear
 *     memory. A function given a pointer reads it during the call and
 *     keeps nothing of it (strings are copied). A pointer returned by the
 *     module points into memory the module owns: read it at once (it says
 *     how long it stays valid) and never free it;
 *   - strings in and out are UTF-8, NUL-terminated unless a length is given;
 *   - times (`now`) are milliseconds as doubles on any monotonic clock
 *     (performance.now(), or a test's fake clock); the core counts whole
 *     microseconds (now * 1000, rounded);
 *   - 64-bit counters come out as doubles (exact up to 2^53);
 *   - memory may grow during any call: views on it (Float32Array and the
 *     like) must be made again after a call if memory.buffer changed.
 *
 * Threads: none. Each instance belongs to the JavaScript context that made
 * it.
 */
#ifndef WVOICE_WEB_API_H
#define WVOICE_WEB_API_H

#include <stddef.h>
#include <stdint.h>

#define WVW_API __attribute__((used, visibility("default")))

/* Memory, strings, version. */

/* n bytes, aligned for any type; 0 when out of memory. */
WVW_API void *wvw_alloc(size_t n);
WVW_API void wvw_free(void *p);
/* Seeds jansson's hash function: call once, before any call object, with a
 * random non-zero 32-bit number (crypto.getRandomValues()). Without it the
 * seed comes from the clock (the clock_time_get import). Only the worker
 * parses JSON; the worklets need not call it. */
WVW_API void wvw_init(uint32_t seed);
/* "0.3.0" */
WVW_API const char *wvw_version(void);
/* wv_strerror(), wv_error_name(), wv_status_name(), wv_end_reason_name():
 * static strings. */
WVW_API const char *wvw_strerror(int code);
WVW_API const char *wvw_error_name(int code);
WVW_API const char *wvw_status_name(int status);
WVW_API const char *wvw_end_reason_name(int reason);

/* Capture (the capture worklet). */

/* Frames of 8 kHz held for reading: 1 s. */
#define WVW_CAPTURE_FRAMES 50
#define WVW_FRAME_SAMPLES 160

struct wvw_capture;
/* A capture from rate (8000..192000) to 20 ms frames of 8 kHz, resampled
 * with quality (-1: the default). Returns a handle or WV_ERR_RATE,
 * WV_ERR_INVALID, WV_ERR_NOMEM. */
WVW_API intptr_t wvw_capture_create(unsigned rate, int quality);
WVW_API void wvw_capture_destroy(struct wvw_capture *h);
/* Feeds n float samples ([-1, 1]) at the capture's rate. Returns the
 * frames waiting to be read (see read()), or WV_ERR_INVALID. When more
 * than WVW_CAPTURE_FRAMES wait, the oldest are dropped (and counted). */
WVW_API int wvw_capture_write(struct wvw_capture *h, const float *samples,
			      size_t n);
/* Moves up to max_frames waiting frames, oldest first, to out as int16
 * (160 samples each, 320 bytes); returns how many. */
WVW_API int wvw_capture_read(struct wvw_capture *h, int16_t *out,
			     int max_frames);
/* The same as float (160 floats a frame), scaled so that
 * wvw_call_write_audio() sends each sample exactly as captured: negatives
 * v / 32768, positives (v + 0.5) / 32767, all within [-1, 1]. */
WVW_API int wvw_capture_read_float(struct wvw_capture *h, float *out,
				   int max_frames);
WVW_API int wvw_capture_available(const struct wvw_capture *h);
/* Zeros from the next write() on; audio written before still comes out. */
WVW_API void wvw_capture_set_muted(struct wvw_capture *h, int muted);
WVW_API int wvw_capture_muted(const struct wvw_capture *h);
/* Frames completed, ever; frames dropped because nobody read them. */
WVW_API double wvw_capture_frames(const struct wvw_capture *h);
WVW_API double wvw_capture_dropped(const struct wvw_capture *h);
/* The resampler's delay, in microseconds. */
WVW_API unsigned wvw_capture_latency_us(const struct wvw_capture *h);

/* Playout (the playback worklet). */

/* flags */
#define WVW_PLAYOUT_ANSWER_MARKS_ON_CLEAR 1
/* The adaptive policy (WV_PLAYOUT_ADAPTIVE: a target delay that follows
 * the arrivals, 40 to 500 ms) rather than the fixed one (prebuffer_ms
 * before each utterance). Without it the policy is the core's default,
 * fixed; the page's default is adaptive (web/wvoice.js asks for it). */
#define WVW_PLAYOUT_ADAPTIVE 2

struct wvw_playout;
/* A playout buffer read at rate (8000..192000), resampled up from 8 kHz.
 * prebuffer_ms, max_ms, burst_gap_ms, max_marks: -1 for the defaults
 * (300, 60000, 100, 1024; see <wvoice/playout.h>); prebuffer_ms is the
 * fixed policy's target only. flags: WVW_PLAYOUT_*. Returns a handle or
 * WV_ERR_RATE, WV_ERR_INVALID, WV_ERR_NOMEM. */
WVW_API intptr_t wvw_playout_create(unsigned rate, int prebuffer_ms,
				    int max_ms, int burst_gap_ms,
				    int max_marks, int flags);
WVW_API void wvw_playout_destroy(struct wvw_playout *h);
/* n mu-law bytes (or int16 samples) of 8 kHz audio; returns how many were
 * queued (the rest went over the cap). */
WVW_API int wvw_playout_push_ulaw(struct wvw_playout *h, const uint8_t *ulaw,
				  size_t n);
WVW_API int wvw_playout_push(struct wvw_playout *h, const int16_t *pcm,
			     size_t n);
/* Places mark id after the audio pushed so far. Returns 0, WV_ERR_FULL,
 * WV_ERR_INVALID, WV_ERR_NOMEM. */
WVW_API int wvw_playout_mark(struct wvw_playout *h, const char *id);
/* Barge-in: drops the queued audio and the marks not reached. */
WVW_API void wvw_playout_clear(struct wvw_playout *h);
/* Plays what is queued without waiting for the pre-buffer. */
WVW_API void wvw_playout_flush(struct wvw_playout *h);
/* Writes exactly n float samples at the playout's rate to out: the queued
 * audio resampled, or silence where the policy says. What the resampler
 * has not used of the 8 kHz audio taken from the buffer is kept for the
 * next call. Never allocates. */
WVW_API void wvw_playout_read(struct wvw_playout *h, float *out, size_t n);
/* The id of the next mark playback has reached, in order, or 0 when there
 * is none: call it until 0. The string stays valid until the next call on
 * h. */
WVW_API const char *wvw_playout_next_mark(struct wvw_playout *h);
/* With the flushed audio all played: 1 once per flush, when the last of
 * what was queued before wvw_playout_flush() has been read (or cleared);
 * else 0. (The worker answers it with wvw_call_playout_drained().) */
WVW_API int wvw_playout_drained(struct wvw_playout *h);
/* Writes the counters to out as doubles, in this order, and returns how
 * many (out may be 0, to ask):
 *   0 queued_samples   queued, not yet read (8 kHz samples)
 *   1 queued_ms        the same in milliseconds
 *   2 pushed_samples   3 played_samples   4 silence_samples
 *   5 underruns        6 overflow_samples 7 cleared_samples
 *   8 marks_pending    9 marks_reported  10 marks_refused
 *  11 playing (1) or buffering (0)
 *  12 resampler_pending: 8 kHz samples taken from the buffer and not yet
 *     resampled out
 * and since 0.5, the playout policy's (wv_playout_stats'; they read 0
 * where the policy does not keep them):
 *  13 target_ms        the delay the policy aims at now
 *  14 delay_ms         the delay it plays at now
 *  15 jitter_ms        RFC 3550 interarrival jitter of the pushes
 *  16 concealed_samples  silence handed out in underruns
 *  17 inserted_samples   silence inserted to grow the delay
 *  18 dropped_samples    silence dropped to shrink it
 *  19 late_arrivals    pushes made while concealing
 * Indexes never move: later counters are appended, so size out by asking
 * (out 0) rather than by this list. */
#define WVW_PLAYOUT_STATS 20
WVW_API int wvw_playout_stats(const struct wvw_playout *h, double *out);

/* The call (the worker), its playout buffer elsewhere. */

/* flags */
#define WVW_CALL_EVENTS 1 /* also emit WVW_OUT_EVENT records (an event log) */

/*
 * The output queue. What the call's callbacks and its remote playout
 * would have been told comes out as records, in the order it happened;
 * after each call into h, take them with wvw_call_next_output() until it
 * returns 0. A record is six 32-bit words in linear memory:
 *
 *   word 0  kind   one of WVW_OUT_* below
 *   word 1  a      a number (signed)
 *   word 2  b      a number (signed)
 *   word 3  data   pointer to bytes (NUL-terminated too), or 0
 *   word 4  len    their length in bytes
 *   word 5  text   pointer to a NUL-terminated string, or 0
 *
 *   kind                  a           b            data, len      text
 *   1 STATUS              new status  old status   -              -
 *   2 COMMUNICATION_ID    -           -            -              the id
 *   3 ERROR               WV_ERR_*    -            -              detail
 *   4 UNKNOWN_EVENT       -           -            the JSON       event name
 *   5 EVENT (flag)        0 in, 1 out event type   see below      event name
 *   6 PLAYOUT_AUDIO       -           -            mu-law bytes   -
 *   7 PLAYOUT_MARK        -           -            -              mark id
 *   8 PLAYOUT_CLEAR       -           -            -              -
 *   9 PLAYOUT_FLUSH       -           -            -              -
 *
 * Statuses are 0 idle, 1 connecting, 2 connected, 3 disconnected. EVENT's
 * type is enum wv_event_type (0 unknown, 1 start, 2 audio, 3 dtmf, 4 mark,
 * 5 stop, 6 clear); its data is the communication id (start), the digit
 * (dtmf), the mark id (mark), the whole JSON (unknown); for audio, data is
 * 0 and len the mu-law byte count. PLAYOUT_* are for the playback side, in
 * order: audio to push, a mark to place (answer with
 * wvw_call_mark_played() once reached), clear, flush (answer with
 * wvw_call_playout_drained() once what came before it has played).
 *
 * A record and what it points to stay valid until the next call on h
 * other than wvw_call_next_output(). At most 1 MiB of record data and
 * 4096 records wait; past that records are dropped and counted
 * (wvw_call_output_dropped()).
 */
enum wvw_out_kind {
	WVW_OUT_NONE = 0,
	WVW_OUT_STATUS = 1,
	WVW_OUT_COMMUNICATION_ID = 2,
	WVW_OUT_ERROR = 3,
	WVW_OUT_UNKNOWN_EVENT = 4,
	WVW_OUT_EVENT = 5,
	WVW_OUT_PLAYOUT_AUDIO = 6,
	WVW_OUT_PLAYOUT_MARK = 7,
	WVW_OUT_PLAYOUT_CLEAR = 8,
	WVW_OUT_PLAYOUT_FLUSH = 9,
};

struct wvw_record {
	int32_t kind;
	int32_t a;
	int32_t b;
	uint32_t data;
	uint32_t len;
	uint32_t text;
};

struct wvw_call;
/* A call whose audio is written at capture_rate (8000 when the capture
 * worklet sends 8 kHz frames), with its playout elsewhere.
 * start_timeout_ms, last_words_ms: -1 for the defaults (10000, 2000).
 * flags: WVW_CALL_EVENTS. Returns a handle or WV_ERR_RATE,
 * WV_ERR_INVALID, WV_ERR_NOMEM. */
WVW_API intptr_t wvw_call_create(unsigned capture_rate, int start_timeout_ms,
				 int last_words_ms, int flags);
WVW_API void wvw_call_destroy(struct wvw_call *h);
/* The next record (see above), or 0. */
WVW_API const struct wvw_record *wvw_call_next_output(struct wvw_call *h);
WVW_API double wvw_call_output_dropped(const struct wvw_call *h);

/* The transport's side: wv_call_connect(), _opened(), _receive() (text of
 * len bytes, UTF-8, as it came), _closed() (reason may be 0; error
 * non-zero when the socket failed rather than closed), _tick(). Return 0
 * or a negative WV_ERR_*. */
WVW_API int wvw_call_connect(struct wvw_call *h, double now);
WVW_API int wvw_call_opened(struct wvw_call *h, double now);
WVW_API int wvw_call_receive(struct wvw_call *h, const char *text, size_t len,
			     double now);
WVW_API void wvw_call_closed(struct wvw_call *h, int code, const char *reason,
			     int error, double now);
WVW_API void wvw_call_tick(struct wvw_call *h, double now);
/* When tick() must run next at the latest (same clock as now), or
 * Infinity when nothing is due. */
WVW_API double wvw_call_next_deadline(const struct wvw_call *h);
/* The next frame to send, a NUL-terminated JSON text (UTF-8) of
 * wvw_call_frame_len() bytes, or 0; valid until frame_sent() or any other
 * call on h. Send it as a text message, then call frame_sent(). */
WVW_API const char *wvw_call_peek_frame(struct wvw_call *h);
WVW_API int wvw_call_frame_len(const struct wvw_call *h);
WVW_API void wvw_call_frame_sent(struct wvw_call *h);
/* The close code (1000) once the call has ended and every frame has gone:
 * close the socket with it. 0 until then. */
WVW_API int wvw_call_should_close(const struct wvw_call *h);

/* The application's side. */
WVW_API int wvw_call_hangup(struct wvw_call *h, double now);
/* digit: a character code ('5'.charCodeAt(0)). WV_ERR_DTMF for one that is
 * not 0-9 * #, WV_ERR_STATE when not connected. */
WVW_API int wvw_call_send_dtmf(struct wvw_call *h, int digit, double now);
WVW_API void wvw_call_set_muted(struct wvw_call *h, int muted);
WVW_API int wvw_call_muted(const struct wvw_call *h);
/* n samples at capture_rate: float in [-1, 1] (wvw_capture_read_float()'s
 * go out exactly as captured), or int16 (the same, from
 * wvw_capture_read()). */
WVW_API int wvw_call_write_audio(struct wvw_call *h, const float *samples,
				 size_t n);
WVW_API int wvw_call_write_pcm(struct wvw_call *h, const int16_t *samples,
			       size_t n);
/* The playback side reached mark id / has played what came before the
 * flush. */
WVW_API int wvw_call_mark_played(struct wvw_call *h, const char *id,
				 double now);
WVW_API void wvw_call_playout_drained(struct wvw_call *h, double now);

/* State. Strings are the call's: valid until the next call on h. */
WVW_API int wvw_call_status(const struct wvw_call *h);
WVW_API int wvw_call_stopping(const struct wvw_call *h);
WVW_API int wvw_call_end_reason(const struct wvw_call *h);
WVW_API const char *wvw_call_communication_id(const struct wvw_call *h);
WVW_API double wvw_call_elapsed_ms(const struct wvw_call *h, double now);
WVW_API const char *wvw_call_last_error(const struct wvw_call *h);
WVW_API int wvw_call_close_code(const struct wvw_call *h);
WVW_API const char *wvw_call_close_reason(const struct wvw_call *h);
/* Writes the counters to out as doubles, in this order, and returns how
 * many (out may be 0, to ask):
 *   0 audio_frames_sent  1 audio_frames_dropped  2 audio_events_received
 *   3 audio_bytes_received  4 marks_received  5 marks_answered
 *   6 clears_received  7 dtmf_sent  8 unknown_events  9 bad_frames */
#define WVW_CALL_STATS 10
WVW_API int wvw_call_stats(const struct wvw_call *h, double *out);

#endif
