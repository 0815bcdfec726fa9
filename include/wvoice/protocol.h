/*
 * The telephony WebSocket protocol's events: decoding the JSON text frames
 * that arrive, in either direction, and encoding the ones to send.
 *
 * Events (both directions share the names):
 *   start  {}                    client: right after the socket opens
 *          {communication_id}    server: the call is confirmed
 *   audio  {payload}             base64 of G.711 mu-law, 8 kHz mono
 *   dtmf   {dtmf}                one of 0-9 * #
 *   mark   {mark}                a position in the agent's audio
 *   stop   {}                    hang up
 *   clear  {}                    server: barge-in, drop queued audio
 *   other                        kept whole and passed to the application
 *
 * Fields that an event does not define are ignored, so either side can add
 * some. Decoding the one shape that arrives 50 times a second,
 * {"event":"audio","payload":"..."}, takes a fast path that never allocates;
 * everything else, and anything unusual about that shape, is parsed by
 * jansson, which stays the authority on what is valid JSON.
 */
#ifndef WVOICE_PROTOCOL_H
#define WVOICE_PROTOCOL_H

#include <wvoice/export.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest text frame either side accepts (RFC 6455 close 1009 above it). */
#define WV_MESSAGE_MAX 65536
/* Default cap on the decoded audio in one `audio` event: 4 s of mu-law. */
#define WV_AUDIO_PAYLOAD_MAX 32000
/* Longest `mark` id and `communication_id` accepted. */
#define WV_ID_MAX 1024

enum wv_event_type {
	WV_EVENT_UNKNOWN = 0,
	WV_EVENT_START,
	WV_EVENT_AUDIO,
	WV_EVENT_DTMF,
	WV_EVENT_MARK,
	WV_EVENT_STOP,
	WV_EVENT_CLEAR,
};

/*
 * One event. Which fields mean something depends on type; the others are
 * NULL or zero. When the event comes from wv_decoder_decode(), every pointer
 * points into the decoder and stays valid until the next decode or destroy.
 */
struct wv_event {
	enum wv_event_type type;
	const char *name;	      /* the `event` string, always set */
	const char *communication_id; /* start; NULL when absent */
	const char *mark;	      /* mark */
	char dtmf;		      /* dtmf: '0'-'9', '*' or '#' */
	const uint8_t *audio;	      /* audio: mu-law bytes */
	size_t audio_len;
	const char *json; /* unknown: the whole object as received */
	size_t json_len;
};

/* The event's name for a type ("audio"), or NULL for WV_EVENT_UNKNOWN. */
WV_EXPORT const char *wv_event_name(enum wv_event_type type);

/* True if c is a valid DTMF digit: 0-9, * or #. */
WV_EXPORT int wv_dtmf_valid(char c);

/* True if the n bytes of text are strict UTF-8: no overlong forms, no
   surrogates, nothing past U+10FFFF (RFC 6455 closes with 1007 on the
   rest). Thread: any. */
WV_EXPORT int wv_utf8_valid(const char *text, size_t n);

/*
 * Copies len bytes of s into dst (cap bytes, at least 4) as one line of
 * printable ASCII for an error message or a log: double quotes and
 * backslashes escaped with a backslash, other bytes outside 0x20-0x7E as
 * \xNN; what does not fit ends in "...". A hostile value can then neither
 * break the line nor crowd out the rest of the message. Returns dst.
 * Thread: any.
 */
WV_EXPORT const char *wv_escape(char *dst, size_t cap, const char *s, size_t len);

struct wv_decoder;

/*
 * Creates a decoder whose audio events may carry up to max_audio decoded
 * bytes (0 for WV_AUDIO_PAYLOAD_MAX). Its buffers are allocated here,
 * the audio's with room for 200 ms; a larger payload grows it once, to
 * max_audio (decode() then fails with WV_ERR_NOMEM if it cannot).
 * Errors: WV_ERR_NOMEM. Thread: a decoder belongs to one thread at a time.
 */
WV_EXPORT int wv_decoder_create(struct wv_decoder **out, size_t max_audio);
WV_EXPORT void wv_decoder_destroy(struct wv_decoder *d);

/*
 * Decodes one text frame of len bytes into *ev. Returns 0 on success, or:
 *   WV_ERR_TOO_LARGE     the frame is over WV_MESSAGE_MAX, the audio over
 *                        max_audio, or an id over WV_ID_MAX
 *   WV_ERR_JSON          not JSON (or not UTF-8)
 *   WV_ERR_NOT_OBJECT    JSON, but not an object
 *   WV_ERR_NO_EVENT      no `event` field
 *   WV_ERR_FIELD_TYPE    `event` or a field the event defines has the
 *                        wrong type
 *   WV_ERR_FIELD_MISSING audio without payload, mark without mark, dtmf
 *                        without dtmf
 *   WV_ERR_BASE64        the payload is not strict base64
 *   WV_ERR_DTMF          dtmf is not one of 0-9 * #
 *   WV_ERR_NOMEM         the audio buffer could not grow for a payload
 * wv_decoder_error() then says what was wrong and where, in one line
 * (a base64 offset counts characters of the payload string). A `mark` id
 * may be empty; a `communication_id` that is present must be a string.
 */
WV_EXPORT int wv_decoder_decode(struct wv_decoder *d, const char *text, size_t len,
				struct wv_event *ev);

/* The last error's detail ("field \"payload\": bad base64 at offset 12"),
 * or "" after a success. */
WV_EXPORT const char *wv_decoder_error(const struct wv_decoder *d);

/* Length of the `audio` event that wv_encode_audio() writes for n bytes. */
#define WV_AUDIO_EVENT_LEN(n)                                                  \
	(sizeof "{\"event\":\"audio\",\"payload\":\"\"}" - 1 +                 \
	 (((n) + 2) / 3) * 4)

/*
 * Writes the `audio` event for n mu-law bytes into dst (cap bytes, room for
 * a NUL included) and returns its length, or WV_ERR_NOSPACE. Allocates
 * nothing. Thread: any.
 */
WV_EXPORT int wv_encode_audio(char *dst, size_t cap, const uint8_t *ulaw, size_t n);

/*
 * Writes any event as compact JSON into dst (cap bytes, NUL included) and
 * returns its length. Strings are escaped as JSON requires. For
 * WV_EVENT_UNKNOWN, ev->json must hold a JSON object with a string `event`;
 * it is written back compact.
 * Errors: WV_ERR_NOSPACE, WV_ERR_DTMF, WV_ERR_INVALID (a field the type
 * needs is missing or too long), WV_ERR_JSON / WV_ERR_NOT_OBJECT /
 * WV_ERR_NO_EVENT (unknown event text), WV_ERR_NOMEM. Thread: any.
 */
WV_EXPORT int wv_encode_event(char *dst, size_t cap, const struct wv_event *ev);

#ifdef __cplusplus
}
#endif
#endif
