/*
 * Protocol decode and encode (src/protocol.c), both directions: the input
 * is one text frame, as either end receives it.
 *
 * Differential: what the decoder says of an audio frame (its error code,
 * or its bytes) is what jansson and the strict base64 decoder say of the
 * same text, and the allocation-free fast path, whenever it takes a frame,
 * agrees with them too. Round trips: an event decoded is encoded again and
 * decodes to the same event, and an encoded unknown event encodes to
 * itself; the input taken as a mark id or communication id encodes and
 * decodes back whenever it is a valid one. wv_escape() keeps to its buffer
 * and writes one printable line.
 */
#include <jansson.h>

#include <wvoice/base64.h>
#include <wvoice/error.h>
#include <wvoice/protocol.h>

#include "fuzz.h"
#include "protocol.h"

enum { NOT_AUDIO = 1 };

/* Reused from input to input, as a connection reuses its decoder. */
static struct wv_decoder *full, *fast, *again;
static uint8_t ref_audio[WV_MESSAGE_MAX];
static char encoded[6 * WV_MESSAGE_MAX + 64];

/* What an audio frame means, straight from jansson: 0 with the bytes in
   ref_audio, NOT_AUDIO for another event, or the decoder's error code. */
static int reference_audio(const char *text, size_t len, size_t *audio_len)
{
	json_error_t jerr;
	json_t *j, *ev, *payload;
	int rc;

	if (len > WV_MESSAGE_MAX)
		return WV_ERR_TOO_LARGE;
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
		       &jerr);
	if (!j)
		return WV_ERR_JSON;
	ev = json_object_get(j, "event");
	payload = json_object_get(j, "payload");
	if (!json_is_object(j))
		rc = WV_ERR_NOT_OBJECT;
	else if (!ev)
		rc = WV_ERR_NO_EVENT;
	else if (!json_is_string(ev))
		rc = WV_ERR_FIELD_TYPE;
	else if (strcmp(json_string_value(ev), "audio") != 0)
		rc = NOT_AUDIO;
	else if (!payload)
		rc = WV_ERR_FIELD_MISSING;
	else if (!json_is_string(payload))
		rc = WV_ERR_FIELD_TYPE;
	else if (wv_base64_decode(ref_audio, sizeof ref_audio, audio_len,
				  json_string_value(payload),
				  json_string_length(payload), NULL) < 0)
		rc = WV_ERR_BASE64;
	else
		rc = *audio_len > WV_AUDIO_PAYLOAD_MAX ? WV_ERR_TOO_LARGE : 0;
	json_decref(j);
	return rc;
}

static bool same_string(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_same_event(const struct wv_event *a,
			     const struct wv_event *b)
{
	FUZZ_CHECK(a->type == b->type);
	FUZZ_CHECK(strcmp(a->name, b->name) == 0);
	FUZZ_CHECK(same_string(a->communication_id, b->communication_id));
	FUZZ_CHECK(same_string(a->mark, b->mark));
	FUZZ_CHECK(a->dtmf == b->dtmf);
	FUZZ_CHECK(a->audio_len == b->audio_len);
	if (a->audio_len)
		FUZZ_CHECK(memcmp(a->audio, b->audio, a->audio_len) == 0);
}

/* ev (from `full`) encoded, decoded by `again`: the same event. */
static void check_round_trip(const struct wv_event *ev)
{
	struct wv_event back;
	int n = wv_encode_event(encoded, sizeof encoded, ev);

	FUZZ_CHECK(n > 0 && (size_t)n < sizeof encoded);
	FUZZ_CHECK(wv_decoder_decode(again, encoded, (size_t)n, &back) == 0);
	check_same_event(ev, &back);
	if (ev->type == WV_EVENT_UNKNOWN) {
		/* Compact already: encoding it again changes nothing. */
		static char twice[sizeof encoded];

		FUZZ_CHECK(wv_encode_event(twice, sizeof twice, &back) == n);
		FUZZ_CHECK(memcmp(twice, encoded, (size_t)n) == 0);
	}
	if (ev->type == WV_EVENT_AUDIO) {
		FUZZ_CHECK(wv_encode_audio(encoded, sizeof encoded, ev->audio,
					   ev->audio_len) ==
			   (int)WV_AUDIO_EVENT_LEN(ev->audio_len));
		FUZZ_CHECK(wv__decoder_decode_fast(fast, encoded, (size_t)n,
						   &back) == 0);
		check_same_event(ev, &back);
	}
}

static void check_decode(const char *text, size_t len)
{
	struct wv_event ev, quick;
	size_t ref_len = 0;
	int rc = wv_decoder_decode(full, text, len, &ev);
	int ref = reference_audio(text, len, &ref_len);

	if (ref == NOT_AUDIO)
		FUZZ_CHECK(rc < 0 || ev.type != WV_EVENT_AUDIO);
	else
		FUZZ_CHECK(rc == ref);
	if (rc == 0 && ev.type == WV_EVENT_AUDIO) {
		FUZZ_CHECK(ev.audio_len == ref_len);
		FUZZ_CHECK(memcmp(ev.audio, ref_audio, ref_len) == 0);
	}
	if (len <= WV_MESSAGE_MAX &&
	    wv__decoder_decode_fast(fast, text, len, &quick) == 0) {
		FUZZ_CHECK(ref == 0);
		FUZZ_CHECK(quick.type == WV_EVENT_AUDIO);
		FUZZ_CHECK(quick.audio_len == ref_len);
		FUZZ_CHECK(memcmp(quick.audio, ref_audio, ref_len) == 0);
	}
	if (rc == 0)
		check_round_trip(&ev);
	else
		FUZZ_CHECK(wv_decoder_error(full)[0] != '\0');
}

/* The input as the id of a mark and of a start: valid ids (UTF-8, no
   NUL, not too long) encode and come back unchanged; others are refused. */
static void check_ids(const char *data, size_t size)
{
	char *id = fuzz_strndup(data, size);
	bool valid = size <= WV_ID_MAX && !memchr(data, '\0', size) &&
		     wv_utf8_valid(data, size);
	struct wv_event mark = { .type = WV_EVENT_MARK, .name = "mark",
				 .mark = id };
	struct wv_event start = { .type = WV_EVENT_START, .name = "start",
				  .communication_id = id };

	FUZZ_CHECK(id);
	if (valid) {
		check_round_trip(&mark);
		check_round_trip(&start);
	} else if (!memchr(data, '\0', size)) {
		FUZZ_CHECK(wv_encode_event(encoded, sizeof encoded, &mark) ==
			   WV_ERR_INVALID);
	}
	free(id);
}

static void check_escape(const char *data, size_t size)
{
	char line[64];

	wv_escape(line, sizeof line, data, size);
	FUZZ_CHECK(strlen(line) < sizeof line);
	for (const char *c = line; *c; c++)
		FUZZ_CHECK(*c >= 0x20 && *c < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;

	if (!full) {
		FUZZ_CHECK(wv_decoder_create(&full, 0) == 0);
		FUZZ_CHECK(wv_decoder_create(&fast, 0) == 0);
		FUZZ_CHECK(wv_decoder_create(&again, 0) == 0);
	}
	check_decode(text, size);
	check_ids(text, size);
	check_escape(text, size);
	return 0;
}
